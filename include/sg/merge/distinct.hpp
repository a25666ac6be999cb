// sg/merge/distinct.hpp — sg::merge::distinct(proj): union distinct by key.
//
//   auto customers = sg::merge::distinct(&order::customer)(answers);
//   auto pipe = sg::scatter(shards) | sg::gather(sg::merge::distinct(&row::id));
//
// The result holds, for each distinct key proj(row), the first row with that key in shard
// order (then in the order within the shard's answer), whatever order the answers arrived
// in; rows keep that order. Keys are compared with sg::total_equal and hashed with
// sg::total_hash (== and boost::hash, but every floating-point NaN is one key and -0.0 is
// 0.0, also inside tuples, pairs and optionals: sg/order.hpp), in a
// boost::unordered_flat_map-family open-addressing set: O(total rows) expected time,
// memory for one key per distinct row. Example: tests/merge/distinct.cpp.
#pragma once

#include <sg/merge/concat.hpp>
#include <sg/merge/protocol.hpp>
#include <sg/order.hpp>

#include <boost/container_hash/hash.hpp>
#include <boost/unordered/unordered_flat_set.hpp>

#include <cstddef>
#include <functional>
#include <ranges>
#include <type_traits>
#include <utility>
#include <vector>

namespace sg::merge {

template <class Resp, class Proj>
class distinct_accumulator {
 public:
  using row_type = std::ranges::range_value_t<Resp>;
  using result_type = std::vector<row_type>;
  using key_type = std::remove_cvref_t<std::invoke_result_t<Proj const&, row_type const&>>;

  explicit distinct_accumulator(Proj proj) : proj_(std::move(proj)) {}

  // Keeps the answer; duplicates are dropped at finish(), where shard order is known.
  void add(std::size_t shard, Resp&& rows) { rows_.add(shard, std::move(rows)); }

  result_type finish() && {
    result_type all = std::move(rows_).finish();
    boost::unordered_flat_set<key_type, total_hash_fn, total_equal_fn> seen;
    seen.reserve(all.size());
    result_type out;
    for (auto& row : all)
      if (seen.insert(std::invoke(proj_, std::as_const(row))).second) out.push_back(std::move(row));
    return out;
  }

 private:
  Proj proj_;
  concat_accumulator<Resp> rows_;  // the answers, put in shard order
};

template <class Proj = std::identity>
struct distinct_merge {
  Proj proj;

  template <class Resp>
    requires detail::row_batch<Resp> &&
             std::regular_invocable<Proj const&, std::ranges::range_value_t<Resp> const&>
  distinct_accumulator<Resp, Proj> accumulator() const {
    return distinct_accumulator<Resp, Proj>(proj);
  }

  template <std::ranges::input_range Responses>
    requires detail::row_batch<std::ranges::range_value_t<Responses>>
  auto operator()(Responses&& responses) const {
    return sg::detail::merge_all(*this, std::forward<Responses>(responses));
  }
};

// Union distinct by proj(row), first occurrence in shard order; see the top of this file.
template <class Proj = std::identity>
constexpr distinct_merge<Proj> distinct(Proj proj = {}) {
  return {std::move(proj)};
}

}  // namespace sg::merge
