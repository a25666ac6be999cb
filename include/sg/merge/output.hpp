// sg/merge/output.hpp — private: how a merge called on a whole range of answers reads them
// where they are, and where it writes its rows.
//
//   sg::merge::sorted()(runs);               // a new std::vector, never zero-filled first
//   sg::merge::sorted()(runs, out_iterator); // the caller's output iterator; returns its end
//   sg::merge::sorted()(runs, std::span(buffer));  // the caller's span; returns the part written
//
// The runs are read in place when each stays put while the merge runs: a range of lvalue
// runs (a `std::vector<std::vector<Row>> const&`, an array of spans) or of borrowed views
// (spans made on the fly). Rows are copied once, into the output — moved instead when the
// range is an rvalue container that owns its runs, as the pipeline hands them over.
// Used by sorted.hpp, top_k.hpp, concat.hpp and distinct.hpp.
#pragma once

#include <sg/error.hpp>

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <memory>
#include <ranges>
#include <span>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace sg::merge::detail {

// A run of Runs, as read in place (const when the range is).
template <class Runs>
using run_t = std::remove_reference_t<std::ranges::range_reference_t<Runs>>;

// Runs whose runs stay where they are while the merge reads them: lvalues, or borrowed
// views (a span made on the fly stays valid after the temporary span is gone).
template <class Runs>
concept runs_in_place = std::ranges::input_range<Runs> &&
                        (std::is_lvalue_reference_v<std::ranges::range_reference_t<Runs>> ||
                         std::ranges::borrowed_range<std::ranges::range_reference_t<Runs>>);

// Rows are moved from the runs only when Runs is an rvalue container that owns its runs,
// and they own their rows (a std::vector<std::vector<Row>>&&); copied otherwise.
template <class Runs>
inline constexpr bool moves_rows =
    !std::is_lvalue_reference_v<Runs> && !std::ranges::view<std::remove_cvref_t<Runs>> &&
    std::is_lvalue_reference_v<std::ranges::range_reference_t<Runs>> && !std::is_const_v<run_t<Runs>> &&
    !std::ranges::view<std::remove_cvref_t<run_t<Runs>>>;

// What the merge writes to the output for one row: an rvalue when it moves rows.
template <class Runs>
using emitted_t = std::conditional_t<moves_rows<Runs>, std::ranges::range_rvalue_reference_t<run_t<Runs>>,
                                     std::ranges::range_reference_t<run_t<Runs>>>;

// The number of rows of all runs, when every run knows its size.
template <class Runs>
std::size_t total_rows(Runs& runs) {
  std::size_t total = 0;
  for (auto&& r : runs) total += static_cast<std::size_t>(std::ranges::size(r));
  return total;
}

// Takes one row from a run's iterator: moved or copied (see moves_rows).
template <bool Move, class It>
decltype(auto) take_row(It const& at) {
  if constexpr (Move)
    return std::ranges::iter_move(at);
  else
    return *at;
}

// A new std::vector: reserved, then appended to (never zero-filled and overwritten).
template <class T>
struct vector_output {
  std::vector<T> rows;

  void expect(std::size_t n) { rows.reserve(n); }
  template <class U>
  void put(U&& row) {
    rows.push_back(std::forward<U>(row));
  }
  void put_n(T const* p, std::size_t n) { rows.insert(rows.end(), p, p + n); }
  template <class It, class Sentinel>
  void put_range(It first, Sentinel last) {
    if constexpr (std::is_same_v<It, Sentinel> && std::forward_iterator<It>)
      rows.insert(rows.end(), first, last);
    else
      for (; first != last; ++first) rows.push_back(*first);
  }
  // Where a merge may write `expect`ed rows directly: nowhere (they would have to exist).
  T* direct() noexcept { return nullptr; }
  void advance(std::size_t) noexcept {}
};

// The caller's span: a span too small for the rows is bad input, detected before anything
// is written when the runs know their sizes, else when the row that does not fit comes.
template <class T>
struct span_output {
  std::span<T> to;
  char const* merge;
  std::size_t size = 0;

  [[noreturn]] void too_small(std::string const& needed) const {
    throw std::system_error(make_error_code(errc::bad_input),
                            std::string(merge) + ": the output span holds " + std::to_string(to.size()) +
                                " rows, but the merge has " + needed);
  }
  void expect(std::size_t n) const {
    if (n > to.size()) too_small(std::to_string(n));
  }
  template <class U>
  void put(U&& row) {
    if (size == to.size()) too_small("more");
    to[size++] = std::forward<U>(row);
  }
  void put_n(T const* p, std::size_t n) {
    if (n > to.size() - size) too_small("more");
    std::copy_n(p, n, to.data() + size);
    size += n;
  }
  template <class It, class Sentinel>
  void put_range(It first, Sentinel last) {
    for (; first != last; ++first) put(*first);
  }
  T* direct() noexcept { return to.data() + size; }  // after expect(total)
  void advance(std::size_t n) noexcept { size += n; }
  std::span<T> written() const noexcept { return to.first(size); }
};

// The caller's output iterator (room for every row is the caller's business, as for
// std::copy); a contiguous iterator of T is written through directly.
template <class It, class T>
struct iterator_output {
  It at;

  void expect(std::size_t) noexcept {}
  template <class U>
  void put(U&& row) {
    *at = std::forward<U>(row);
    ++at;
  }
  void put_n(T const* p, std::size_t n) { at = std::copy_n(p, n, std::move(at)); }
  template <class It2, class Sentinel>
  void put_range(It2 first, Sentinel last) {
    at = std::ranges::copy(std::move(first), std::move(last), std::move(at)).out;
  }
  T* direct() noexcept {
    if constexpr (std::contiguous_iterator<It>) {
      if constexpr (std::is_same_v<std::iter_reference_t<It>, T&>) return std::to_address(at);
    }
    return nullptr;
  }
  void advance(std::size_t n) { std::ranges::advance(at, static_cast<std::iter_difference_t<It>>(n)); }
};

// The error of an answer found out of order: its element `at` goes before element at - 1.
inline std::system_error unsorted_answer(char const* merge, std::size_t shard, std::size_t at) {
  return std::system_error(make_error_code(errc::bad_input),
                           std::string(merge) + ": the answer of shard " + std::to_string(shard) +
                               " is not sorted: its element " + std::to_string(at) + " goes before element " +
                               std::to_string(at - 1));
}

}  // namespace sg::merge::detail
