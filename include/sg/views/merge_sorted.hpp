// sg/views/merge_sorted.hpp — sg::views::merge_sorted(runs, comp, proj): the lazy k-way merge.
//
//   for (auto const& o : sg::views::merge_sorted(answers, std::greater<>{}, &order::time)
//                          | ranges::views::take(100))   // the 100 newest; stops there
//     print(o);
//
// A range-v3 view over a range of runs (each a forward range sorted by (comp, proj)) that
// yields their elements in merged order, by reference, without moving or copying them —
// the same order as sg::merge::sorted: stable, ties in run order, then within the run.
// begin() builds a loser tree over the runs (one allocation of O(k)); each step after that
// costs ⌈log2 k⌉ comparisons and allocates nothing, so `| take(n)` does O(n log k) work
// however long the runs are. Single pass: an input range whose state lives in the view
// (like ranges::istream_view) — call begin() once, and keep the runs alive while iterating.
//
// Bad input: each step compares the element that follows in the same run with the one just
// passed (one comparison per element, in every build), and an element that goes before its
// predecessor throws std::system_error(sg::errc::bad_input) naming the run and the
// position — never a silently wrong order. Rows already produced stay produced.
// Example: tests/views/merge_sorted.cpp.
#pragma once

#include <sg/error.hpp>
#include <sg/merge/loser_tree.hpp>
#include <sg/order.hpp>

#include <range/v3/range/access.hpp>
#include <range/v3/range/concepts.hpp>
#include <range/v3/range/traits.hpp>
#include <range/v3/utility/semiregular_box.hpp>
#include <range/v3/view/all.hpp>
#include <range/v3/view/facade.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace sg::views {

template <class Runs, class Comp, class Proj>
class merge_sorted_view : public ranges::view_facade<merge_sorted_view<Runs, Comp, Proj>, ranges::finite> {
  using run_type = ranges::range_reference_t<Runs>;
  using iterator = ranges::iterator_t<std::remove_reference_t<run_type>>;
  using sentinel = ranges::sentinel_t<std::remove_reference_t<run_type>>;

 public:
  merge_sorted_view() = default;
  merge_sorted_view(Runs runs, Comp comp, Proj proj)
      : runs_(std::move(runs)), comp_(std::move(comp)), proj_(std::move(proj)) {}

 private:
  friend ranges::range_access;

  struct source {
    iterator at;
    sentinel end;
    std::size_t position;  // of `at` within its run, for the error message
  };

  struct cursor {
    using single_pass = std::true_type;
    merge_sorted_view* view = nullptr;

    decltype(auto) read() const { return *view->sources_[view->tree_.winner()].at; }
    void next() { view->next(); }
    bool equal(ranges::default_sentinel_t) const { return view->done(); }
  };

  cursor begin_cursor() {
    sources_.clear();
    for (auto&& run : runs_) sources_.push_back({ranges::begin(run), ranges::end(run), 0});
    if (!sources_.empty()) tree_.build(sources_.size(), beats());
    return cursor{this};
  }

  bool done() const { return sources_.empty() || sources_[tree_.winner()].at == sources_[tree_.winner()].end; }

  // Source a's head goes out before source b's: smaller, or equal and a comes first.
  auto beats() {
    return merge::detail::stable_head_order(sources_, [this](auto const& a, auto const& b) { return before(a, b); });
  }

  template <class A, class B>
  bool before(A const& a, B const& b) const {
    return std::invoke(comp_.get(), std::invoke(proj_.get(), a), std::invoke(proj_.get(), b));
  }

  void next() {
    const std::size_t w = tree_.winner();
    source& s = sources_[w];
    iterator previous = s.at;
    ++s.at;
    ++s.position;
    if (s.at != s.end && before(*s.at, *previous))
      throw std::system_error(make_error_code(errc::bad_input),
                              "sg::views::merge_sorted: run " + std::to_string(w) + " is not sorted: its element " +
                                  std::to_string(s.position) + " goes before element " +
                                  std::to_string(s.position - 1));
    tree_.replay(beats());
  }

  Runs runs_;
  ranges::semiregular_box<Comp> comp_;
  ranges::semiregular_box<Proj> proj_;
  std::vector<source> sources_;
  merge::detail::loser_tree tree_;
};

struct merge_sorted_fn {
  // runs: a range of forward ranges (e.g. std::vector<std::vector<T>>, by reference or
  // as a view), each sorted by (comp, proj).
  template <class Runs, class Comp = total_less_fn, class Proj = std::identity>
    requires ranges::viewable_range<Runs> && ranges::input_range<Runs> &&
             ranges::forward_range<ranges::range_reference_t<Runs>> &&
             (std::is_lvalue_reference_v<ranges::range_reference_t<Runs>> ||
              ranges::borrowed_range<ranges::range_reference_t<Runs>>) &&
             std::indirect_strict_weak_order<
                 Comp const&, std::projected<ranges::iterator_t<std::remove_reference_t<ranges::range_reference_t<Runs>>>,
                                             Proj const&>>
  auto operator()(Runs&& runs, Comp comp = {}, Proj proj = {}) const {
    using all = ranges::views::all_t<Runs>;
    return merge_sorted_view<all, Comp, Proj>(ranges::views::all(std::forward<Runs>(runs)), std::move(comp),
                                              std::move(proj));
  }
};

// The lazy stable k-way merge of sorted runs; see the top of this file.
inline constexpr merge_sorted_fn merge_sorted{};

}  // namespace sg::views
