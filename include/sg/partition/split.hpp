// sg/partition/split.hpp — sg::partition::split: distribute a batch of rows to shards.
//
//   auto buckets = sg::partition::split(rows, sg::partition::jump{8}, &order::customer);
//   // buckets.size() == 8; buckets[i] holds, in input order, the rows of shard i
//
//   std::vector<std::vector<order>> reused;      // keeps its capacity across batches
//   sg::partition::split_into(rows, p, &order::customer, reused);   // appends
//
// Two passes, as an exchange operator does: the first computes every row's shard (once —
// the key is projected and hashed a single time) and counts rows per shard; the second
// places each row in its bucket, whose size is then known, so every bucket is allocated
// exactly once and never grows. Stable: a bucket keeps the input order. Rows are moved
// from an rvalue container and copied from an lvalue one or a view. A partitioner index outside
// [0, shard_count()) throws std::out_of_range naming the row and the index. Temporary
// memory: one 32-bit shard index per row. Example: tests/partition/split.cpp.
#pragma once

#include <sg/partition/partitioner.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <ranges>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace sg::partition {

namespace detail {

template <class Rows, class P, class Proj>
concept splittable =
    std::ranges::input_range<Rows> &&
    requires(P& p, Proj& proj, std::ranges::range_reference_t<Rows> row) {
      { p.shard_of(std::invoke(proj, row)) } -> std::convertible_to<std::size_t>;
      { p.shard_count() } -> std::convertible_to<std::size_t>;
    };

template <class Rows, class P, class Proj>
std::vector<std::uint32_t> shard_indices(Rows& rows, P& p, Proj& proj, std::size_t n,
                                         std::vector<std::size_t>& counts) {
  std::vector<std::uint32_t> ids;
  if constexpr (std::ranges::sized_range<Rows>) ids.reserve(static_cast<std::size_t>(std::ranges::size(rows)));
  for (auto&& row : rows) {
    const std::size_t s = static_cast<std::size_t>(p.shard_of(std::invoke(proj, row)));
    if (s >= n)
      throw std::out_of_range("sg::partition::split: the partitioner put row " + std::to_string(ids.size()) +
                              " on shard " + std::to_string(s) + ", but there are " + std::to_string(n) +
                              " shards");
    ++counts[s];
    ids.push_back(static_cast<std::uint32_t>(s));
  }
  return ids;
}

}  // namespace detail

// Appends each row of `rows` to buckets[p.shard_of(proj(row))], resizing `buckets` to
// p.shard_count() first. Each bucket grows at most once (by exactly its new rows).
template <std::ranges::forward_range Rows, class P, class Proj = std::identity,
          class Row = std::ranges::range_value_t<Rows>>
  requires detail::splittable<Rows, P, Proj>
void split_into(Rows&& rows, P&& p, Proj proj, std::vector<std::vector<Row>>& buckets) {
  const std::size_t n = static_cast<std::size_t>(p.shard_count());
  if (n > 0xffffffffu) throw std::invalid_argument("sg::partition::split: more than 2^32 - 1 shards");
  std::vector<std::size_t> counts(n, 0);
  const std::vector<std::uint32_t> ids = detail::shard_indices(rows, p, proj, n, counts);
  if (buckets.size() < n) buckets.resize(n);
  for (std::size_t s = 0; s < n; ++s) buckets[s].reserve(buckets[s].size() + counts[s]);
  std::size_t i = 0;
  for (auto&& row : rows) {
    // Move only out of a container the caller gave up (an rvalue that is not a view:
    // a view's elements belong to someone else).
    if constexpr (std::is_lvalue_reference_v<Rows> || std::ranges::view<std::remove_cvref_t<Rows>>)
      buckets[ids[i]].push_back(row);
    else
      buckets[ids[i]].push_back(std::move(row));
    ++i;
  }
}

// One bucket of rows per shard, in shard order; see the top of this file.
template <std::ranges::forward_range Rows, class P, class Proj = std::identity>
  requires detail::splittable<Rows, P, Proj>
std::vector<std::vector<std::ranges::range_value_t<Rows>>> split(Rows&& rows, P&& p, Proj proj = {}) {
  std::vector<std::vector<std::ranges::range_value_t<Rows>>> buckets;
  split_into(std::forward<Rows>(rows), std::forward<P>(p), std::move(proj), buckets);
  return buckets;
}

}  // namespace sg::partition
