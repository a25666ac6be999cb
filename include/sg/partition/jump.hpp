// sg/partition/jump.hpp — sg::partition::jump: Lamping & Veach's jump consistent hash.
//
//   sg::partition::jump p{16};
//   std::size_t shard = p.shard_of(key);
//
// When n grows to n + 1, exactly the keys that move go to the new shard, about 1/(n+1)
// of them; load is balanced to within the hash's randomness. No memory; O(ln n) time (a
// loop of about ln n steps, each a multiply and a division). Shards must be numbered
// 0..n-1 and only the last one can be removed: for arbitrary removal use ring or
// rendezvous. With identity_hash on 64-bit keys, shard_of(key) equals the published
// reference implementation's JumpConsistentHash(key, n) bit for bit (tested against its
// published values). At most 2³¹ - 1 shards, as in the reference.
// Example: tests/partition/jump.cpp.
#pragma once

#include <sg/partition/hash.hpp>
#include <sg/partition/partitioner.hpp>

#include <cstddef>
#include <cstdint>
#include <stdexcept>

namespace sg::partition {

template <class Hash = default_hash>
class jump {
 public:
  // Throws std::invalid_argument when n is 0 or above 2³¹ - 1.
  explicit constexpr jump(std::size_t n, Hash hash = {})
      : n_(static_cast<std::int32_t>(checked(n))), hash_(std::move(hash)) {}

  template <class K>
    requires key_hash<Hash, K>
  constexpr std::size_t shard_of(K const& key) const noexcept(noexcept(hash_(key))) {
    return static_cast<std::size_t>(bucket(static_cast<std::uint64_t>(hash_(key)), n_));
  }

  constexpr std::size_t shard_count() const noexcept { return static_cast<std::size_t>(n_); }

  // The algorithm of the paper, on a 64-bit key and a bucket count.
  static constexpr std::int32_t bucket(std::uint64_t key, std::int32_t buckets) noexcept {
    std::int64_t b = -1, j = 0;
    while (j < buckets) {
      b = j;
      key = key * 2862933555777941757ULL + 1;
      j = static_cast<std::int64_t>(static_cast<double>(b + 1) *
                                    (static_cast<double>(std::int64_t{1} << 31) /
                                     static_cast<double>((key >> 33) + 1)));
    }
    return static_cast<std::int32_t>(b);
  }

  friend constexpr bool operator==(jump const& a, jump const& b) noexcept { return a.n_ == b.n_; }

 private:
  static constexpr std::size_t checked(std::size_t n) {
    detail::checked_shard_count(n, "sg::partition::jump");
    if (n > 0x7fffffff) throw std::invalid_argument("sg::partition::jump: at most 2^31 - 1 shards");
    return n;
  }

  std::int32_t n_;
  Hash hash_;
};

}  // namespace sg::partition
