// sg/merge/sorted.hpp — sg::merge::sorted(comp, proj): k-way merge of sorted runs.
//
//   auto all = sg::merge::sorted()(runs);                            // ascending, a new vector
//   sg::merge::sorted()(runs, std::back_inserter(rows));             // into the caller's output
//   auto pipe = sg::scatter(shards)
//             | sg::gather(sg::merge::sorted(std::greater<>{}, &order::time));  // newest first
//
// The default comp is sg::total_less (sg/order.hpp): < but with floating-point NaN above
// every number and -0.0 equal to 0.0, a strict weak order even with NaN in the rows.
// Each shard answers a run (a forward range of rows) sorted by (comp, proj); the result is
// every row in that order. Stable: rows with equal keys come out in shard order, then in
// their order within the run — whatever order the answers arrived in. Arithmetic rows go
// through a tree of branch-free two-way merges (sg/merge/merge_tree.hpp), others through a
// loser tree (sg/merge/loser_tree.hpp): O(N log k) comparisons for N rows from k non-empty
// runs, each row moved or copied once.
//
// Called on a whole range of runs, m(runs) reads them where they are (no copy of a run:
// see sg/merge/output.hpp) and writes a new std::vector, the caller's output iterator or
// span. Called through the accumulator (the pipeline), it keeps each answer until finish().
//
// Bad input: an unsorted run is detected in every build, with one comparison per row, and
// throws std::system_error(sg::errc::bad_input) naming the shard and the position. Called
// on a whole range, the check is fused into the merge (each run is checked as it is
// consumed, no pass of its own) and the call throws: no result, though an output iterator
// or span may hold a prefix of the merged order. Through the accumulator, add() checks the
// answer and rejects it whole — in a pipeline that shard is then a failure, never a
// silently wrong order. Example: tests/merge/sorted.cpp, docs/merges.md.
#pragma once

#include <sg/error.hpp>
#include <sg/merge/loser_tree.hpp>
#include <sg/merge/merge_tree.hpp>
#include <sg/merge/output.hpp>
#include <sg/merge/protocol.hpp>
#include <sg/order.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <ranges>
#include <span>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace sg::merge {

namespace detail {

// An answer sorted can take: a multi-pass range of movable rows ordered by comp ∘ proj.
template <class Resp, class Comp, class Proj>
concept sorted_run =
    std::ranges::forward_range<Resp> && std::move_constructible<std::ranges::range_value_t<Resp>> &&
    std::indirect_strict_weak_order<Comp const&,
                                    std::projected<std::ranges::iterator_t<Resp>, Proj const&>>;

// A source of a k-way merge: the unread part of one run.
template <class It, class Sentinel>
struct merge_cursor {
  It at;
  Sentinel end;
};

// The cursors of a merge's kept runs (elements with `shard` and `rows`), after putting the
// runs in shard order: the tie-break between runs is their position.
template <class Runs>
auto cursors_in_shard_order(Runs& runs) {
  using rows_type = decltype(std::declval<std::ranges::range_value_t<Runs>&>().rows);
  if (!std::ranges::is_sorted(runs, {}, [](auto const& r) { return r.shard; }))
    std::ranges::stable_sort(runs, {}, [](auto const& r) { return r.shard; });
  std::vector<merge_cursor<std::ranges::iterator_t<rows_type>, std::ranges::sentinel_t<rows_type>>> src;
  src.reserve(std::ranges::size(runs));
  for (auto& r : runs) src.push_back({std::ranges::begin(r.rows), std::ranges::end(r.rows)});
  return src;
}

// kway_merge's order check: none (the runs were checked when added).
struct no_order_check {};

// Merges the cursors' runs with a loser tree (ties go to the lower cursor index: pass the
// runs in shard order for a stable merge), drops the first `skip` rows and hands at most
// `count` rows to emit(iterator) (which moves or copies *iterator out). O((skip + count)
// log k) comparisons; rows past the last one emitted are neither read nor compared. With
// an order check, each row taken is first compared with the next one of its run, and
// on_unsorted(cursor index, iterator to that next row) is called when that one goes
// before it (it must throw): the check is fused into the merge.
template <class It, class Sentinel, class Comp, class Proj, class Emit, class OnUnsorted = no_order_check>
void kway_merge(std::vector<merge_cursor<It, Sentinel>>& src, Comp const& comp, Proj const& proj,
                std::size_t skip, std::size_t count, Emit&& emit, OnUnsorted on_unsorted = {}) {
  auto before = [&](auto const& a, auto const& b) {
    return std::invoke(comp, std::invoke(proj, a), std::invoke(proj, b));
  };
  auto check = [&](merge_cursor<It, Sentinel> const& c, std::size_t index) {
    if constexpr (!std::is_same_v<OnUnsorted, no_order_check>) {
      auto next = std::ranges::next(c.at);
      if (next != c.end && before(*next, *c.at)) on_unsorted(index, next);
    }
  };
  // Emits (or skips) the head of source i and advances it; true when `count` is reached.
  auto take = [&](std::size_t i) {
    auto& c = src[i];
    check(c, i);
    if (skip != 0) {
      --skip;
    } else {
      emit(c.at);
      if (--count == 0) return true;
    }
    ++c.at;
    return false;
  };
  if (src.empty() || count == 0) return;
  if (src.size() == 1) {
    while (src[0].at != src[0].end)
      if (take(0)) return;
    return;
  }
  if constexpr (std::is_lvalue_reference_v<std::iter_reference_t<It>>) {
    // Each match keeps a pointer to the player's current row, so a match reads two rows
    // directly instead of through their cursors; an exhausted run plays as null (+∞).
    using row = std::remove_reference_t<std::iter_reference_t<It>>;
    struct player {
      row* at;
      std::uint32_t source;
    };
    // p goes out before q: smaller, or equal and from an earlier run.
    auto beats = [&](player const& p, player const& q) {
      if (p.at == nullptr) return false;
      if (q.at == nullptr) return true;
      // One comparison: against an earlier run p wins unless q is strictly smaller, against
      // a later one only if p is strictly smaller. The operands are selected, not branched on.
      const bool p_first = p.source < q.source;
      row* const x = p_first ? q.at : p.at;
      row* const y = p_first ? p.at : q.at;
      return before(*x, *y) != p_first;
    };
    auto head = [&](std::uint32_t i) { return player{src[i].at == src[i].end ? nullptr : &*src[i].at, i}; };
    const std::size_t k = src.size();
    std::vector<player> losers(k);  // losers[n] for inner nodes 1..k-1; leaves k..2k-1
    {
      std::vector<player> winners(2 * k);
      for (std::size_t i = 0; i < k; ++i) winners[k + i] = head(static_cast<std::uint32_t>(i));
      for (std::size_t n = k - 1; n >= 1; --n) {
        const bool left = beats(winners[2 * n], winners[2 * n + 1]);
        winners[n] = left ? winners[2 * n] : winners[2 * n + 1];
        losers[n] = left ? winners[2 * n + 1] : winners[2 * n];
      }
      losers[0] = winners[1];  // the overall winner
    }
    player current = losers[0];
    while (current.at != nullptr) {
      if (take(current.source)) return;
      current = head(current.source);
      // Which of the two goes on is data: selected, not branched on.
      for (std::size_t n = (k + current.source) / 2; n >= 1; n /= 2) {
        const player held = losers[n];
        const bool swap = beats(held, current);
        losers[n] = swap ? current : held;
        current = swap ? held : current;
      }
    }
  } else {
    // Rows that are not objects (a view's prvalues): matches go through the cursors.
    auto beats = stable_head_order(src, before);
    loser_tree tree;
    tree.build(src.size(), beats);
    for (;;) {
      if (src[tree.winner()].at == src[tree.winner()].end) return;  // so is every run
      if (take(tree.winner())) return;
      tree.replay(beats);
    }
  }
}

// Runs that take the merge tree: contiguous, sized runs of arithmetic rows compared with
// <, > through std::identity.
template <class Run, class Comp, class Proj>
concept tree_runs = merge_tree_eligible<std::ranges::range_value_t<Run>, Comp, Proj> &&
                    std::ranges::contiguous_range<Run> && std::ranges::sized_range<Run>;

// Whether a run of the merge tree's kind is in order; `at` is set to the first position
// out of order when it is not. One branch-free comparison per row.
template <class Comp, class Run>
bool tree_run_in_order(Run const& run, std::size_t& at) {
  using row = std::ranges::range_value_t<Run>;
  constexpr int order = arithmetic_order<Comp, row>;
  row const* p = std::ranges::data(run);
  const auto n = static_cast<std::size_t>(std::ranges::size(run));
  if (in_order<order>(p, n)) return true;
  at = first_out_of_order<order>(p, n);
  return false;
}

// m(runs) for runs read in place (runs_in_place): merges every row into out (an output of
// sg/merge/output.hpp), checking each run's order as it is consumed. Rows are moved when
// Move, copied otherwise. Throws unsorted_answer(merge, shard, position) for a run out of
// order, and the output's error when it is too small.
template <bool Move, class Runs, class Comp, class Proj, class Out>
void merge_in_place(char const* merge, Runs& runs, Comp const& comp, Proj const& proj, Out& out) {
  using run = run_t<Runs>;
  using row = std::ranges::range_value_t<run>;
  using iterator = std::ranges::iterator_t<run>;
  std::vector<merge_cursor<iterator, std::ranges::sentinel_t<run>>> src;  // the non-empty runs
  std::vector<std::size_t> shard_of;                                     // and whose they are
  if constexpr (std::ranges::sized_range<Runs>) {
    src.reserve(static_cast<std::size_t>(std::ranges::size(runs)));
    shard_of.reserve(src.capacity());
  }
  std::size_t shard = 0, total = 0;
  for (auto&& r : runs) {
    if constexpr (std::ranges::sized_range<run>) total += static_cast<std::size_t>(std::ranges::size(r));
    auto first = std::ranges::begin(r);
    auto last = std::ranges::end(r);
    if (first != last) {
      src.push_back({first, last});
      shard_of.push_back(shard);
    }
    ++shard;
  }
  if constexpr (std::ranges::sized_range<run>) out.expect(total);
  if constexpr (tree_runs<run, Comp, Proj>) {
    std::vector<std::span<row const>> spans;
    spans.reserve(src.size());
    for (auto const& c : src) spans.emplace_back(std::to_address(c.at), static_cast<std::size_t>(c.end - c.at));
    auto on_unsorted = [&](std::size_t i, std::size_t at) { throw unsorted_answer(merge, shard_of[i], at); };
    merge_tree<row, arithmetic_order<Comp, row>, decltype(on_unsorted)> tree(std::move(spans), on_unsorted);
    if (row* to = out.direct())
      out.advance(static_cast<std::size_t>(tree.run(to) - to));
    else
      tree.run_buffered([&](row const* p, std::size_t n) { out.put_n(p, n); });
  } else {
    std::vector<iterator> firsts;  // for the position in an error
    firsts.reserve(src.size());
    for (auto const& c : src) firsts.push_back(c.at);
    kway_merge(
        src, comp, proj, 0, static_cast<std::size_t>(-1), [&](iterator const& at) { out.put(take_row<Move>(at)); },
        [&](std::size_t i, iterator const& at) {
          throw unsorted_answer(merge, shard_of[i], static_cast<std::size_t>(std::ranges::distance(firsts[i], at)));
        });
  }
}

}  // namespace detail

template <class Resp, class Comp, class Proj>
class sorted_accumulator {
 public:
  using row_type = std::ranges::range_value_t<Resp>;
  using result_type = std::vector<row_type>;

  sorted_accumulator(Comp comp, Proj proj) : comp_(std::move(comp)), proj_(std::move(proj)) {}

  // Keeps the shard's run after checking that it is sorted (one comparison per row,
  // branch-free for arithmetic rows). Throws std::system_error with sg::errc::bad_input
  // (and keeps nothing) when it is not.
  void add(std::size_t shard, Resp&& run) {
    std::size_t at = 0;
    if constexpr (detail::tree_runs<Resp, Comp, Proj>) {
      if (!detail::tree_run_in_order<Comp>(run, at)) throw detail::unsorted_answer("sg::merge::sorted", shard, at);
    } else {
      auto bad = std::ranges::is_sorted_until(run, std::ref(comp_), std::ref(proj_));
      if (bad != std::ranges::end(run))
        throw detail::unsorted_answer("sg::merge::sorted", shard,
                                      static_cast<std::size_t>(std::ranges::distance(std::ranges::begin(run), bad)));
    }
    if (std::ranges::empty(run)) return;
    runs_.push_back(run_type{shard, std::move(run)});
  }

  // Every row of every run, merged. Stable as documented above. The result is reserved
  // and appended to, never zero-filled first.
  result_type finish() && {
    auto src = detail::cursors_in_shard_order(runs_);  // the runs, in shard order
    result_type out;
    if (runs_.empty()) return out;
    if constexpr (std::ranges::sized_range<Resp>) {
      std::size_t total = 0;
      for (auto const& r : runs_) total += static_cast<std::size_t>(std::ranges::size(r.rows));
      out.reserve(total);
    }
    if constexpr (detail::tree_runs<Resp, Comp, Proj>) {
      if (runs_.size() >= 2) {
        std::vector<std::span<row_type const>> spans;
        spans.reserve(runs_.size());
        for (auto const& c : src) spans.emplace_back(std::to_address(c.at), static_cast<std::size_t>(c.end - c.at));
        detail::merge_tree<row_type, detail::arithmetic_order<Comp, row_type>>(std::move(spans))
            .run_buffered([&](row_type const* p, std::size_t n) { out.insert(out.end(), p, p + n); });
        return out;
      }
    }
    if constexpr (std::is_same_v<Resp, result_type>) {
      if (runs_.size() == 1) return std::move(runs_.front().rows);  // already in order
    }
    detail::kway_merge(src, comp_, proj_, 0, static_cast<std::size_t>(-1),
                       [&](auto const& at) { out.push_back(std::ranges::iter_move(at)); });
    return out;
  }

 private:
  struct run_type {
    std::size_t shard;
    Resp rows;
  };

  Comp comp_;
  Proj proj_;
  std::vector<run_type> runs_;
};

// The sorted merge: a value holding the order.
template <class Comp = total_less_fn, class Proj = std::identity>
struct sorted_merge {
  Comp comp;
  Proj proj;

  template <class Resp>
    requires detail::sorted_run<Resp, Comp, Proj>
  sorted_accumulator<Resp, Comp, Proj> accumulator() const {
    return {comp, proj};
  }

  // Merges a range of per-shard runs (run i is shard i's) into a new std::vector. Runs
  // that stay put (detail::runs_in_place: a const std::vector<std::vector<Row>>&, spans,
  // any range of sorted ranges) are read where they are, each row copied once into the
  // result (moved from an rvalue container of runs); each run's order is checked as it is
  // consumed, and an unsorted one throws std::system_error(sg::errc::bad_input) naming the
  // shard and position. Other ranges (runs made on the fly) go through accumulator().
  template <std::ranges::input_range Runs>
    requires detail::sorted_run<detail::run_t<Runs>, Comp, Proj>
  auto operator()(Runs&& runs) const {
    if constexpr (detail::runs_in_place<Runs>) {
      detail::vector_output<std::ranges::range_value_t<detail::run_t<Runs>>> out;
      detail::merge_in_place<detail::moves_rows<Runs>>("sg::merge::sorted", runs, comp, proj, out);
      return std::move(out.rows);
    } else {
      return sg::detail::merge_all(*this, std::forward<Runs>(runs));
    }
  }

  // The same merge, written to the caller's output iterator (with room for every row, as
  // for std::copy); returns the iterator past the last row written. On bad input it
  // throws as above, after writing a prefix of the merged order.
  template <std::ranges::input_range Runs, std::weakly_incrementable Out>
    requires detail::runs_in_place<Runs> && detail::sorted_run<detail::run_t<Runs>, Comp, Proj> &&
             std::indirectly_writable<Out, detail::emitted_t<Runs>>
  Out operator()(Runs&& runs, Out out) const {
    detail::iterator_output<Out, std::ranges::range_value_t<detail::run_t<Runs>>> to{std::move(out)};
    detail::merge_in_place<detail::moves_rows<Runs>>("sg::merge::sorted", runs, comp, proj, to);
    return std::move(to.at);
  }

  // The same merge, written to the caller's span; returns the part of it written. A span
  // too small for every row throws std::system_error(sg::errc::bad_input) saying so —
  // before writing anything when the runs know their sizes.
  template <std::ranges::input_range Runs, class Row, std::size_t Extent>
    requires detail::runs_in_place<Runs> && detail::sorted_run<detail::run_t<Runs>, Comp, Proj> &&
             std::same_as<Row, std::ranges::range_value_t<detail::run_t<Runs>>>
  std::span<Row> operator()(Runs&& runs, std::span<Row, Extent> out) const {
    detail::span_output<Row> to{out, "sg::merge::sorted"};
    detail::merge_in_place<detail::moves_rows<Runs>>("sg::merge::sorted", runs, comp, proj, to);
    return to.written();
  }
};

// k-way merge of runs sorted by (comp, proj); see the top of this file.
template <class Comp = total_less_fn, class Proj = std::identity>
constexpr sorted_merge<Comp, Proj> sorted(Comp comp = {}, Proj proj = {}) {
  return {std::move(comp), std::move(proj)};
}

}  // namespace sg::merge
