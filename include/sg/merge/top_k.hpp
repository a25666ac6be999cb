// sg/merge/top_k.hpp — sg::merge::top_k(k, [offset,] comp, proj): the exact global first k.
//
//   auto top = sg::merge::top_k(10, std::greater<>{}, &row::price);    // the 10 highest prices
//   auto page = sg::merge::top_k(10, sg::merge::offset{20}, std::less<>{}, &row::time);  // rows 20..29
//   // on each shard: answer top.partial(rows), or ask the store for its first top.shard_limit()
//   auto pipe = sg::scatter(shards) | sg::gather(top);
//
// The default comp is sg::total_less (sg/order.hpp: NaN above every number, -0.0 = 0.0).
// The result is the rows at positions [offset, offset + k) of the stable sorted merge of
// all answers (sg/merge/sorted.hpp): ties in shard order, then in answer order. It is
// exact as long as each shard answers at least its own first offset + k rows — the
// shard-side rewrite, which the merge exposes as shard_limit() and performs itself in
// partial(rows) so that a pipeline or a store can push the limit down.
//
// Fast when answers arrive sorted: add() checks the order (one comparison per row) and
// keeps only the first offset + k rows; finish() merges them with a loser tree and stops
// after offset + k, so O(S·(offset + k)) work for S shards however long the answers are.
// Correct when they do not: an unsorted answer is not an error here — its first offset + k
// are selected (nth_element, then a sort of those, ties by position) in O(n + L log L).
// Memory: at most offset + k rows per shard. k = 0 gives nothing; offset + k saturates.
// When the shards are known to sort, presorted_answers() skips the full check (below).
// Example: tests/merge/top_k.cpp.
#pragma once

#include <sg/error.hpp>
#include <sg/merge/output.hpp>
#include <sg/merge/protocol.hpp>
#include <sg/merge/sorted.hpp>
#include <sg/order.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <limits>
#include <numeric>
#include <ranges>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace sg::merge {

// How many leading rows of the merged order a top_k skips (SQL OFFSET).
struct offset {
  std::size_t rows = 0;
};

namespace detail {

// offset + k, or the largest size_t when that would wrap.
constexpr std::size_t saturating_sum(std::size_t a, std::size_t b) noexcept {
  return a > std::numeric_limits<std::size_t>::max() - b ? std::numeric_limits<std::size_t>::max() : a + b;
}

// The error of a presorted_answers() merge that finds a taken row out of order.
inline std::system_error unsorted_presorted(std::size_t shard) {
  return std::system_error(make_error_code(errc::bad_input),
                           "sg::merge::top_k: the answer of shard " + std::to_string(shard) +
                               " is not sorted, though the merge was told (presorted) that it is");
}

// Whether an answer is sorted by (comp, proj): one comparison per row, branch-free for
// arithmetic rows in contiguous memory (sorted.hpp's tree_runs).
template <class Comp, class Proj, class Run>
bool answer_sorted(Run const& run, Comp const& comp, Proj const& proj) {
  if constexpr (tree_runs<Run, Comp, Proj>) {
    std::size_t at = 0;
    return tree_run_in_order<Comp>(run, at);
  } else {
    return std::ranges::is_sorted(run, std::ref(comp), std::ref(proj));
  }
}

// The first `limit` rows of `rows` in (comp, proj) order, stable: ties keep their order.
template <class Row, class Comp, class Proj>
std::vector<Row> first_rows(std::vector<Row>&& rows, std::size_t limit, Comp const& comp, Proj const& proj) {
  auto key_less = [&](Row const& a, Row const& b) {
    return std::invoke(comp, std::invoke(proj, a), std::invoke(proj, b));
  };
  if (answer_sorted(rows, comp, proj)) {
    if (rows.size() > limit) rows.erase(rows.begin() + static_cast<std::ptrdiff_t>(limit), rows.end());
    return std::move(rows);
  }
  // Positions, ordered by (key, position): a strict total order, so selection is stable.
  std::vector<std::size_t> at(rows.size());
  std::iota(at.begin(), at.end(), std::size_t{0});
  auto before = [&](std::size_t a, std::size_t b) {
    if (key_less(rows[a], rows[b])) return true;
    if (key_less(rows[b], rows[a])) return false;
    return a < b;
  };
  if (at.size() > limit) {
    std::nth_element(at.begin(), at.begin() + static_cast<std::ptrdiff_t>(limit), at.end(), before);
    at.resize(limit);
  }
  std::sort(at.begin(), at.end(), before);
  std::vector<Row> out;
  out.reserve(at.size());
  for (std::size_t i : at) out.push_back(std::move(rows[i]));
  return out;
}

template <class Row, class Rows>
std::vector<Row> to_vector(Rows&& rows) {
  if constexpr (std::is_same_v<std::remove_cvref_t<Rows>, std::vector<Row>> && !std::is_lvalue_reference_v<Rows>) {
    return std::move(rows);
  } else {
    std::vector<Row> out;
    if constexpr (std::ranges::sized_range<Rows>) out.reserve(static_cast<std::size_t>(std::ranges::size(rows)));
    for (auto&& r : rows) out.push_back(sg::detail::forward_element<Rows>(r));
    return out;
  }
}

}  // namespace detail

template <class Resp, class Comp, class Proj>
class top_k_accumulator {
 public:
  using row_type = std::ranges::range_value_t<Resp>;
  using result_type = std::vector<row_type>;

  top_k_accumulator(std::size_t k, std::size_t skip, bool presorted, Comp comp, Proj proj)
      : k_(k), skip_(skip), presorted_(presorted), comp_(std::move(comp)), proj_(std::move(proj)) {}

  // Keeps the answer's first offset + k rows (selecting them if it is not sorted; taking
  // them as they come when the merge was told the answers are sorted).
  void add(std::size_t shard, Resp&& answer) {
    if (k_ == 0) return;
    auto rows = detail::to_vector<row_type>(std::move(answer));
    if (presorted_) {
      if (rows.size() > limit()) rows.erase(rows.begin() + static_cast<std::ptrdiff_t>(limit()), rows.end());
    } else {
      rows = detail::first_rows(std::move(rows), limit(), comp_, proj_);
    }
    if (rows.empty()) return;
    runs_.push_back({shard, std::move(rows)});
  }

  // Rows [offset, offset + k) of the stable merged order (fewer when the data runs out).
  result_type finish() && {
    auto src = detail::cursors_in_shard_order(runs_);
    std::size_t available = 0;
    for (auto const& r : runs_) available += r.rows.size();
    result_type out;
    if (available > skip_) out.reserve(std::min(k_, available - skip_));
    auto emit = [&](auto const& at) { out.push_back(std::ranges::iter_move(at)); };
    if (presorted_)
      detail::kway_merge(src, comp_, proj_, skip_, k_, emit, [&](std::size_t i, auto const&) {
        throw detail::unsorted_presorted(runs_[i].shard);
      });
    else
      detail::kway_merge(src, comp_, proj_, skip_, k_, emit);
    return out;
  }

 private:
  struct run {
    std::size_t shard;
    std::vector<row_type> rows;
  };

  std::size_t limit() const noexcept { return detail::saturating_sum(skip_, k_); }

  std::size_t k_, skip_;
  bool presorted_;
  Comp comp_;
  Proj proj_;
  std::vector<run> runs_;
};

template <class Comp = total_less_fn, class Proj = std::identity>
struct top_k_merge {
  std::size_t k = 0;
  std::size_t skip = 0;     // the offset
  bool presorted = false;  // trust that answers arrive sorted (see presorted_answers())
  Comp comp;
  Proj proj;

  // The same merge, told that every answer arrives sorted (a store that ran ORDER BY, or
  // partial()): add() then keeps the first offset + k rows without looking at the rest,
  // and finish() checks the order only of the rows it takes — one comparison each. That
  // makes the merge O(S + (offset + k) log S) instead of O(S·(offset + k)), but a row out
  // of order beyond the taken ones goes unseen: use it only when the shards do sort. A
  // row out of order among the taken ones throws std::system_error(sg::errc::bad_input)
  // from finish() (an error of the whole query).
  constexpr top_k_merge presorted_answers() const {
    top_k_merge m = *this;
    m.presorted = true;
    return m;
  }

  // The shard-side rewrite: how many rows each shard must return, in order, for the merge
  // to be exact (offset + k, saturating).
  constexpr std::size_t shard_limit() const noexcept { return detail::saturating_sum(skip, k); }

  // What a shard answers: its own first shard_limit() rows, sorted, stable.
  template <std::ranges::input_range Rows>
    requires std::indirect_strict_weak_order<Comp const&, std::projected<std::ranges::iterator_t<Rows>, Proj const&>>
  auto partial(Rows&& rows) const {
    using row = std::ranges::range_value_t<Rows>;
    if (k == 0) return std::vector<row>{};
    return detail::first_rows(detail::to_vector<row>(std::forward<Rows>(rows)), shard_limit(), comp, proj);
  }

  template <class Resp>
    requires detail::sorted_run<Resp, Comp, Proj>
  top_k_accumulator<Resp, Comp, Proj> accumulator() const {
    return {k, skip, presorted, comp, proj};
  }

  // Merges a range of per-shard answers (answer i is shard i's) into a new std::vector.
  // Answers that stay put (detail::runs_in_place: a const std::vector<std::vector<Row>>&,
  // spans, …) are read where they are: each sorted answer is checked (one comparison per
  // row, branch-free for arithmetic rows) and merged in place, and only the rows taken are
  // copied. When an answer is not sorted, the call selects from it as add() does.
  template <std::ranges::input_range Responses>
    requires detail::sorted_run<detail::run_t<Responses>, Comp, Proj>
  auto operator()(Responses&& responses) const {
    using row = std::ranges::range_value_t<detail::run_t<Responses>>;
    if constexpr (detail::runs_in_place<Responses>) {
      detail::vector_output<row> out;
      if (merge_in_place<detail::moves_rows<Responses>>(responses, out)) return std::move(out.rows);
    }
    return sg::detail::merge_all(*this, std::forward<Responses>(responses));
  }

  // The same rows, written to the caller's output iterator; returns the iterator past the
  // last row written.
  template <std::ranges::input_range Responses, std::weakly_incrementable Out>
    requires detail::runs_in_place<Responses> && detail::sorted_run<detail::run_t<Responses>, Comp, Proj> &&
             std::indirectly_writable<Out, detail::emitted_t<Responses>> &&
             std::indirectly_writable<Out, std::ranges::range_value_t<detail::run_t<Responses>>&&>
  Out operator()(Responses&& responses, Out out) const {
    using row = std::ranges::range_value_t<detail::run_t<Responses>>;
    detail::iterator_output<Out, row> to{std::move(out)};
    if (merge_in_place<detail::moves_rows<Responses>>(responses, to)) return std::move(to.at);
    for (auto& r : sg::detail::merge_all(*this, std::forward<Responses>(responses))) to.put(std::move(r));
    return std::move(to.at);
  }

  // The same rows, written to the caller's span; returns the part written. A span too
  // small for them throws std::system_error(sg::errc::bad_input) saying so.
  template <std::ranges::input_range Responses, class Row, std::size_t Extent>
    requires detail::runs_in_place<Responses> && detail::sorted_run<detail::run_t<Responses>, Comp, Proj> &&
             std::same_as<Row, std::ranges::range_value_t<detail::run_t<Responses>>>
  std::span<Row> operator()(Responses&& responses, std::span<Row, Extent> out) const {
    detail::span_output<Row> to{out, "sg::merge::top_k"};
    if (merge_in_place<detail::moves_rows<Responses>>(responses, to)) return to.written();
    auto rows = sg::detail::merge_all(*this, std::forward<Responses>(responses));
    to.expect(rows.size());
    for (auto& r : rows) to.put(std::move(r));
    return to.written();
  }

 private:
  // m(answers) on answers read in place: merges the first offset + k rows of the sorted
  // answers into out and returns true, or returns false (having written nothing) when an
  // answer is not sorted and must be selected from (unless presorted).
  template <bool Move, class Responses, class Out>
  bool merge_in_place(Responses& responses, Out& out) const {
    using run = detail::run_t<Responses>;
    using iterator = std::ranges::iterator_t<run>;
    if (k == 0) return true;
    const std::size_t limit = shard_limit();
    std::vector<detail::merge_cursor<iterator, iterator>> src;
    std::vector<std::size_t> shard_of;
    if constexpr (std::ranges::sized_range<Responses>) {
      src.reserve(static_cast<std::size_t>(std::ranges::size(responses)));
      shard_of.reserve(src.capacity());
    }
    std::size_t shard = 0, available = 0;
    for (auto&& r : responses) {
      if (!presorted && !detail::answer_sorted(r, comp, proj)) return false;
      auto first = std::ranges::begin(r);
      auto last = std::ranges::next(first, static_cast<std::iter_difference_t<iterator>>(
                                               std::min<std::size_t>(limit, PTRDIFF_MAX)),
                                    std::ranges::end(r));
      if (first != last) {
        if constexpr (std::ranges::sized_range<run>)
          available += std::min(limit, static_cast<std::size_t>(std::ranges::size(r)));
        src.push_back({first, last});
        shard_of.push_back(shard);
      }
      ++shard;
    }
    if constexpr (std::ranges::sized_range<run>) out.expect(available > skip ? std::min(k, available - skip) : 0);
    auto emit = [&](iterator const& at) { out.put(detail::take_row<Move>(at)); };
    if (presorted)
      detail::kway_merge(src, comp, proj, skip, k, emit,
                         [&](std::size_t i, iterator const&) { throw detail::unsorted_presorted(shard_of[i]); });
    else
      detail::kway_merge(src, comp, proj, skip, k, emit);
    return true;
  }
};

// The first k rows in (comp, proj) order; see the top of this file.
template <class Comp = total_less_fn, class Proj = std::identity>
constexpr top_k_merge<Comp, Proj> top_k(std::size_t k, Comp comp = {}, Proj proj = {}) {
  return {k, 0, false, std::move(comp), std::move(proj)};
}

// Rows [skip.rows, skip.rows + k) in (comp, proj) order (SQL ORDER BY … LIMIT k OFFSET n).
template <class Comp = total_less_fn, class Proj = std::identity>
constexpr top_k_merge<Comp, Proj> top_k(std::size_t k, offset skip, Comp comp = {}, Proj proj = {}) {
  return {k, skip.rows, false, std::move(comp), std::move(proj)};
}

}  // namespace sg::merge
