// sg/agg/minmax.hpp — sg::agg::min(proj) and sg::agg::max(proj).
//
//   sg::merge::hash_aggregate(&order::customer, sg::agg::min(&order::time), sg::agg::max(&order::time))
//
// State: std::optional of the column's type (empty for no rows), compared with <. finish()
// of an empty state throws std::system_error(sg::errc::bad_input): a group always has a
// row, so this only happens when a state is finished by hand. NaN compares false both ways
// and is kept only when it is the first value seen. Example: tests/agg/aggregates.cpp.
#pragma once

#include <sg/agg/aggregate.hpp>
#include <sg/error.hpp>

#include <concepts>
#include <functional>
#include <optional>
#include <system_error>
#include <type_traits>
#include <utility>

namespace sg::agg {

namespace detail {

// Keeps the value that goes first by `before` (less for min, greater for max).
template <class Proj, class Before>
struct extreme_fn {
  static constexpr bool is_min = std::is_same_v<Before, std::ranges::less>;
  static constexpr char const* sql_name = is_min ? "MIN" : "MAX";
  static constexpr char const* state_name = is_min ? "the smallest value" : "the largest value";
  Proj proj;

  template <class Row>
    requires std::totally_ordered<projected_t<Proj, Row>> && std::copy_constructible<projected_t<Proj, Row>>
  constexpr std::optional<projected_t<Proj, Row>> init() const {
    return std::nullopt;
  }
  template <class V, class Row>
  constexpr void update(std::optional<V>& best, Row const& row) const {
    decltype(auto) v = std::invoke(proj, row);
    if (!best || Before{}(v, *best)) best = v;
  }
  template <class V, class Other>
    requires std::same_as<std::remove_cvref_t<Other>, std::optional<V>>
  constexpr void merge(std::optional<V>& best, Other&& other) const {
    if (other && (!best || Before{}(*other, *best))) best = std::forward<Other>(other);
  }
  template <class V>
  constexpr V const& finish(std::optional<V> const& best) const {
    if (!best)
      throw std::system_error(make_error_code(errc::bad_input),
                              "sg::agg::min/max: no rows, so no extreme value");
    return *best;
  }
};

}  // namespace detail

template <class Proj>
using min_fn = detail::extreme_fn<Proj, std::ranges::less>;
template <class Proj>
using max_fn = detail::extreme_fn<Proj, std::ranges::greater>;

// The smallest proj(row) (SQL MIN).
template <class Proj>
constexpr min_fn<Proj> min(Proj proj) {
  return {std::move(proj)};
}

// The largest proj(row) (SQL MAX).
template <class Proj>
constexpr max_fn<Proj> max(Proj proj) {
  return {std::move(proj)};
}

}  // namespace sg::agg
