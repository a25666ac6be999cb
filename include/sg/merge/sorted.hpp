// sg/merge/sorted.hpp — sg::merge::sorted(comp, proj): k-way merge of sorted runs.
//
//   auto all = sg::merge::sorted()(runs);                            // ascending
//   auto pipe = sg::scatter(shards)
//             | sg::gather(sg::merge::sorted(std::greater<>{}, &order::time));  // newest first
//
// The default comp is sg::total_less (sg/order.hpp): < but with floating-point NaN above
// every number and -0.0 equal to 0.0, a strict weak order even with NaN in the rows.
// Each shard answers a run (a forward range of rows) sorted by (comp, proj); the result is
// a std::vector of every row in that order. Stable: rows with equal keys come out in shard
// order, then in their order within the run — whatever order the answers arrived in.
// A loser tree (sg/merge/loser_tree.hpp): O(N log k) comparisons for N rows from k
// non-empty runs, each row moved once; memory: the runs until finish(), then the result.
//
// Bad input: an unsorted run is detected when it is added, in every build, with one
// comparison per row (is_sorted_until; a small fraction of the merge's own cost), and
// rejected whole with std::system_error(sg::errc::bad_input) naming the shard and the
// position — in a pipeline that shard is then a failure, never a silently wrong order.
// Example: tests/merge/sorted.cpp, docs/merges.md.
#pragma once

#include <sg/error.hpp>
#include <sg/merge/loser_tree.hpp>
#include <sg/merge/merge_tree.hpp>
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
// runs in shard order for a stable merge), drops the first `skip` rows and moves at most
// `count` rows to out.push_back. O((skip + count) log k) comparisons; rows past the last
// one moved are neither moved nor compared. With an order check, each row taken is first
// compared with the next one of its run, and on_unsorted(cursor index) is called when
// that one goes before it (it must throw).
template <class It, class Sentinel, class Comp, class Proj, class Out, class OnUnsorted = no_order_check>
void kway_merge(std::vector<merge_cursor<It, Sentinel>>& src, Comp const& comp, Proj const& proj,
                std::size_t skip, std::size_t count, Out& out, OnUnsorted on_unsorted = {}) {
  auto before = [&](auto const& a, auto const& b) {
    return std::invoke(comp, std::invoke(proj, a), std::invoke(proj, b));
  };
  auto check = [&](merge_cursor<It, Sentinel> const& c, std::size_t index) {
    if constexpr (!std::is_same_v<OnUnsorted, no_order_check>) {
      auto next = std::ranges::next(c.at);
      if (next != c.end && before(*next, *c.at)) on_unsorted(index);
    }
  };
  // Emits (or skips) the head of source i and advances it; true when `count` is reached.
  auto take = [&](std::size_t i) {
    auto& c = src[i];
    check(c, i);
    if (skip != 0) {
      --skip;
    } else {
      out.push_back(std::ranges::iter_move(c.at));
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
      for (std::size_t n = (k + current.source) / 2; n >= 1; n /= 2)
        if (beats(losers[n], current)) std::swap(losers[n], current);
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

}  // namespace detail

template <class Resp, class Comp, class Proj>
class sorted_accumulator {
 public:
  using row_type = std::ranges::range_value_t<Resp>;
  using result_type = std::vector<row_type>;

  sorted_accumulator(Comp comp, Proj proj) : comp_(std::move(comp)), proj_(std::move(proj)) {}

  // Keeps the shard's run after checking that it is sorted. Throws std::system_error with
  // sg::errc::bad_input (and keeps nothing) when it is not.
  void add(std::size_t shard, Resp&& run) {
    auto bad = std::ranges::is_sorted_until(run, std::ref(comp_), std::ref(proj_));
    if (bad != std::ranges::end(run)) {
      const auto at = std::ranges::distance(std::ranges::begin(run), bad);
      throw std::system_error(make_error_code(errc::bad_input),
                              "sg::merge::sorted: the answer of shard " + std::to_string(shard) +
                                  " is not sorted: its element " + std::to_string(at) +
                                  " goes before element " + std::to_string(at - 1));
    }
    if (std::ranges::empty(run)) return;
    runs_.push_back(run_type{shard, std::move(run)});
  }

  // Every row of every run, merged. Stable as documented above.
  result_type finish() && {
    auto src = detail::cursors_in_shard_order(runs_);  // the runs, in shard order
    result_type out;
    if (runs_.empty()) return out;
    std::size_t total = 0;
    if constexpr (std::ranges::sized_range<Resp>) {
      for (auto const& r : runs_) total += static_cast<std::size_t>(std::ranges::size(r.rows));
      out.reserve(total);
    }
    if constexpr (detail::merge_tree_eligible<row_type, Comp, Proj> && std::ranges::contiguous_range<Resp> &&
                  std::ranges::sized_range<Resp>) {
      if (runs_.size() >= 2) {
        std::vector<std::span<row_type const>> spans;
        spans.reserve(runs_.size());
        for (auto const& c : src) spans.emplace_back(std::to_address(c.at), static_cast<std::size_t>(c.end - c.at));
        out.resize(total);
        detail::merge_tree<row_type, detail::arithmetic_order<Comp, row_type>>(std::move(spans)).run(out.data());
        return out;
      }
    }
    detail::kway_merge(src, comp_, proj_, 0, static_cast<std::size_t>(-1), out);
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

  // Merges a range of per-shard runs (run i is shard i's).
  template <std::ranges::input_range Runs>
    requires detail::sorted_run<std::ranges::range_value_t<Runs>, Comp, Proj>
  auto operator()(Runs&& runs) const {
    return sg::detail::merge_all(*this, std::forward<Runs>(runs));
  }
};

// k-way merge of runs sorted by (comp, proj); see the top of this file.
template <class Comp = total_less_fn, class Proj = std::identity>
constexpr sorted_merge<Comp, Proj> sorted(Comp comp = {}, Proj proj = {}) {
  return {std::move(comp), std::move(proj)};
}

}  // namespace sg::merge
