// sg/partition/round_robin.hpp — sg::partition::round_robin and concurrent_round_robin:
// keyless distribution, shard 0, 1, …, n-1, 0, …
//
//   sg::partition::round_robin p{4};
//   p.next();                 // 0, then 1, 2, 3, 0, …
//   p.shard_of(anything);     // the same: the key is ignored
//
// round_robin is a plain value: one thread at a time. concurrent_round_robin is its
// thread-safe form, for one distributor shared by many threads: next() is a relaxed
// atomic increment, so every thread gets a shard, over any window of n·k calls each shard
// is handed out exactly k times (the counter is exact; only the interleaving is free),
// and it is not copyable (share it by reference). Example: tests/partition/round_robin.cpp.
#pragma once

#include <sg/partition/partitioner.hpp>

#include <atomic>
#include <cstddef>

namespace sg::partition {

class round_robin {
 public:
  // Throws std::invalid_argument when n is 0. The first shard handed out is `start % n`.
  explicit constexpr round_robin(std::size_t n, std::size_t start = 0)
      : n_(detail::checked_shard_count(n, "sg::partition::round_robin")), next_(start % n_) {}

  constexpr std::size_t next() noexcept {
    const std::size_t s = next_;
    next_ = next_ + 1 == n_ ? 0 : next_ + 1;
    return s;
  }
  template <class K>
  constexpr std::size_t shard_of(K const&) noexcept {
    return next();
  }
  constexpr std::size_t shard_count() const noexcept { return n_; }

 private:
  std::size_t n_;
  std::size_t next_;
};

class concurrent_round_robin {
 public:
  explicit concurrent_round_robin(std::size_t n, std::size_t start = 0)
      : n_(detail::checked_shard_count(n, "sg::partition::concurrent_round_robin")), counter_(start) {}
  concurrent_round_robin(concurrent_round_robin const&) = delete;
  concurrent_round_robin& operator=(concurrent_round_robin const&) = delete;

  std::size_t next() noexcept { return counter_.fetch_add(1, std::memory_order_relaxed) % n_; }
  template <class K>
  std::size_t shard_of(K const&) noexcept {
    return next();
  }
  std::size_t shard_count() const noexcept { return n_; }

 private:
  std::size_t n_;
  std::atomic<std::size_t> counter_;
};

}  // namespace sg::partition
