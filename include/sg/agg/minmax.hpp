// sg/agg/minmax.hpp — sg::agg::min(proj) and sg::agg::max(proj).
//
//   sg::merge::hash_aggregate(&order::customer, sg::agg::min(&order::time), sg::agg::max(&order::time))
//
// State: std::optional of the column's type (empty for no rows), compared in sg's total
// order (sg/order.hpp, sg::total_less): for floating point, PostgreSQL's — NaN above every
// number, -0.0 equal to 0.0. So, as PostgreSQL's min/max on float8, MIN ignores nothing
// and is NaN only when every value is NaN, MAX is NaN as soon as one value is, and both
// are the same for every split of the rows and every order the states merge in. Between
// the two zeros MIN gives -0.0 and MAX 0.0 when both occur, and a NaN result is
// std::numeric_limits<T>::quiet_NaN(): the bits too are independent of the order.
// finish() of an empty state throws std::system_error(sg::errc::bad_input): a group
// always has a row, so this only happens when a state is finished by hand.
// Example: tests/agg/aggregates.cpp.
#pragma once

#include <sg/agg/aggregate.hpp>
#include <sg/error.hpp>
#include <sg/order.hpp>

#include <cmath>
#include <concepts>
#include <functional>
#include <limits>
#include <optional>
#include <system_error>
#include <type_traits>
#include <utility>

namespace sg::agg {

namespace detail {

// Keeps the value that goes first by `before` (total_less for min, total_greater for max),
// a zero of the sign that goes first too (-0.0 for min), and NaN as the quiet NaN.
template <class Proj, class Before>
struct extreme_fn {
  static constexpr bool is_min = std::is_same_v<Before, total_less_fn>;
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
    if (!best || goes_first(v, *best)) best = keep(v);
  }
  template <class V, class Other>
    requires std::same_as<std::remove_cvref_t<Other>, std::optional<V>>
  constexpr void merge(std::optional<V>& best, Other&& other) const {
    if (other && (!best || goes_first(*other, *best))) best = keep(*std::forward<Other>(other));
  }
  template <class V>
  constexpr V const& finish(std::optional<V> const& best) const {
    if (!best)
      throw std::system_error(make_error_code(errc::bad_input),
                              "sg::agg::min/max: no rows, so no extreme value");
    return *best;
  }

 private:
  // The floating-point number a value is (itself, or an engaged optional's), or null.
  template <class A>
  static constexpr auto number_of(A const& a) {
    if constexpr (std::floating_point<A>)
      return &a;
    else if constexpr (sg::detail::is_std_optional_v<A>)
      return a ? number_of(*a) : decltype(number_of(*a)){};
    else
      return static_cast<double const*>(nullptr);
  }
  // v strictly before best in the order, or the zero of the preferred sign against the
  // other zero.
  template <class A, class B>
  static constexpr bool goes_first(A const& v, B const& best) {
    if (Before{}(v, best)) return true;
    auto const* x = number_of(v);
    auto const* y = number_of(best);
    if (x != nullptr && y != nullptr && *x == 0 && *y == 0)
      return std::signbit(*x) != std::signbit(*y) && std::signbit(*x) == is_min;
    return false;
  }
  // v as kept: a NaN (also inside an optional) as the quiet NaN.
  template <class A>
  static constexpr A keep(A v) {
    if constexpr (std::floating_point<A> || sg::detail::is_std_optional_v<A>) {
      if (number_of(v) != nullptr && sg::detail::is_nan(*number_of(v))) return canonical(std::move(v));
    }
    return v;
  }
};

}  // namespace detail

template <class Proj>
using min_fn = detail::extreme_fn<Proj, total_less_fn>;
template <class Proj>
using max_fn = detail::extreme_fn<Proj, total_greater_fn>;

// The smallest proj(row) in sg's total order (SQL MIN; NaN only when every value is NaN).
template <class Proj>
constexpr min_fn<Proj> min(Proj proj) {
  return {std::move(proj)};
}

// The largest proj(row) in sg's total order (SQL MAX; NaN when any value is NaN).
template <class Proj>
constexpr max_fn<Proj> max(Proj proj) {
  return {std::move(proj)};
}

}  // namespace sg::agg
