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
#include <sg/merge/output.hpp>
#include <sg/merge/protocol.hpp>
#include <sg/order.hpp>

#include <boost/container_hash/hash.hpp>
#include <boost/unordered/unordered_flat_set.hpp>

#include <cstddef>
#include <functional>
#include <ranges>
#include <span>
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

  // Merges a range of per-shard answers (answer i is shard i's) into a new std::vector.
  // Answers that stay put (detail::runs_in_place) are read where they are and only the
  // rows kept are copied (moved from an rvalue container of answers).
  template <std::ranges::input_range Responses>
    requires detail::row_batch<std::ranges::range_value_t<Responses>>
  auto operator()(Responses&& responses) const {
    if constexpr (detail::runs_in_place<Responses> && std::ranges::forward_range<detail::run_t<Responses>>) {
      detail::vector_output<std::ranges::range_value_t<detail::run_t<Responses>>> out;
      in_place<detail::moves_rows<Responses>>(responses, out);
      return std::move(out.rows);
    } else {
      return sg::detail::merge_all(*this, std::forward<Responses>(responses));
    }
  }

  // The same rows, written to the caller's output iterator; returns its end.
  template <std::ranges::input_range Responses, std::weakly_incrementable Out>
    requires detail::runs_in_place<Responses> && detail::row_batch<detail::run_t<Responses>> &&
             std::indirectly_writable<Out, detail::emitted_t<Responses>>
  Out operator()(Responses&& responses, Out out) const {
    detail::iterator_output<Out, std::ranges::range_value_t<detail::run_t<Responses>>> to{std::move(out)};
    in_place<detail::moves_rows<Responses>>(responses, to);
    return std::move(to.at);
  }

  // The same rows, written to the caller's span; returns the part written. A span too
  // small for them throws std::system_error(sg::errc::bad_input) saying so (when the row
  // that does not fit comes: how many rows are distinct is not known before).
  template <std::ranges::input_range Responses, class Row, std::size_t Extent>
    requires detail::runs_in_place<Responses> && detail::row_batch<detail::run_t<Responses>> &&
             std::same_as<Row, std::ranges::range_value_t<detail::run_t<Responses>>>
  std::span<Row> operator()(Responses&& responses, std::span<Row, Extent> out) const {
    detail::span_output<Row> to{out, "sg::merge::distinct"};
    in_place<detail::moves_rows<Responses>>(responses, to);
    return to.written();
  }

 private:
  template <bool Move, class Responses, class Out>
  void in_place(Responses& responses, Out& out) const {
    using run = detail::run_t<Responses>;
    using row = std::ranges::range_value_t<run>;
    using key_type = std::remove_cvref_t<std::invoke_result_t<Proj const&, row const&>>;
    boost::unordered_flat_set<key_type, boost::hash<key_type>> seen;
    if constexpr (std::ranges::sized_range<run> && std::ranges::forward_range<Responses>)
      seen.reserve(detail::total_rows(responses));
    for (auto&& r : responses)
      for (auto it = std::ranges::begin(r); it != std::ranges::end(r); ++it) {
        auto&& row_at = *it;
        if (seen.insert(std::invoke(proj, std::as_const(row_at))).second) out.put(detail::take_row<Move>(it));
      }
  }
};

// Union distinct by proj(row), first occurrence in shard order; see the top of this file.
template <class Proj = std::identity>
constexpr distinct_merge<Proj> distinct(Proj proj = {}) {
  return {std::move(proj)};
}

}  // namespace sg::merge
