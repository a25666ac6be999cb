// sg/partition/range.hpp — sg::partition::range: shards hold contiguous key ranges.
//
//   sg::partition::range p{std::vector<int>{100, 200, 300}};  // 4 shards:
//   // shard 0: keys < 100; 1: [100, 200); 2: [200, 300); 3: keys >= 300
//   p.shards_for(150, 250);   // shards 1 and 2: the only ones a query on [150, 250] needs
//
// n boundaries make n + 1 shards; shard i holds [b(i-1), b(i)). Boundaries must strictly
// increase under the comparator: the constructor throws std::invalid_argument naming the
// first pair that does not. shard_of is a binary search, O(log n); shards_for(lo, hi)
// returns exactly the shards the closed range [lo, hi] touches, as a range of indices
// (empty when hi < lo). Keys of any type ordered by `comp`.
// The default comp is sg::total_less (sg/order.hpp), so floating-point keys and boundaries
// are ordered as PostgreSQL orders them: -0.0 equals 0.0 and NaN is above every number.
// A NaN boundary is accepted and means exactly that: range<double>({NaN}) puts every
// number (±inf included) on shard 0 and every NaN key on shard 1, and a NaN boundary can
// only be the last one (nothing is above it; two NaN, or -0.0 then 0.0, are refused as
// not strictly increasing). Every NaN key goes to one shard, whatever its bits.
// Example: tests/partition/range.cpp.
#pragma once

#include <sg/order.hpp>
#include <sg/partition/partitioner.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <functional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace sg::partition {

template <class K, class Compare = total_less_fn>
class range {
 public:
  using key_type = K;

  explicit range(std::vector<K> boundaries, Compare comp = {})
      : bounds_(std::move(boundaries)), comp_(std::move(comp)) {
    for (std::size_t i = 1; i < bounds_.size(); ++i)
      if (!std::invoke(comp_, bounds_[i - 1], bounds_[i]))
        throw std::invalid_argument("sg::partition::range: boundaries must strictly increase, but boundary " +
                                    std::to_string(i) + describe(bounds_[i]) + " is not greater than boundary " +
                                    std::to_string(i - 1) + describe(bounds_[i - 1]));
  }

  template <class Key>
    requires std::strict_weak_order<Compare const&, K const&, Key const&>
  std::size_t shard_of(Key const& key) const {
    return static_cast<std::size_t>(
        std::upper_bound(bounds_.begin(), bounds_.end(), key,
                         [this](Key const& k, K const& b) { return std::invoke(comp_, k, b); }) -
        bounds_.begin());
  }

  // The shards whose ranges meet [lo, hi]: shard_of(lo) to shard_of(hi), or none when
  // hi < lo.
  template <class Key>
    requires std::strict_weak_order<Compare const&, K const&, Key const&>
  std::ranges::iota_view<std::size_t, std::size_t> shards_for(Key const& lo, Key const& hi) const {
    const std::size_t first = shard_of(lo);
    if (std::invoke(comp_, hi, lo)) return {first, first};
    return {first, shard_of(hi) + 1};
  }

  std::size_t shard_count() const noexcept { return bounds_.size() + 1; }
  std::vector<K> const& boundaries() const noexcept { return bounds_; }

  friend bool operator==(range const& a, range const& b)
    requires std::equality_comparable<K>
  {
    return a.bounds_ == b.bounds_;
  }

 private:
  static std::string describe(K const& k) {
    if constexpr (std::is_arithmetic_v<K>)
      return " (" + std::to_string(k) + ")";
    else if constexpr (std::convertible_to<K const&, std::string>)
      return " (\"" + std::string(k) + "\")";
    else
      return "";
  }

  std::vector<K> bounds_;
  Compare comp_;
};

template <class K>
range(std::vector<K>) -> range<K>;

}  // namespace sg::partition
