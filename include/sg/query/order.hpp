// sg/query/order.hpp — sort keys for sg::order_by: sg::asc(proj), sg::desc(proj), and
// sg::col<I>, the I-th column of a grouped query's result row.
//
//   sg::order_by(sg::desc(&order::cents), sg::asc(&order::id))       // rows
//   sg::order_by(sg::desc(sg::col<2>), sg::col<0>)                   // (region, day, n) groups
//
// A plain projection is ascending. Keys compare in sg's total order (sg/order.hpp,
// sg::total_less), lexicographically: the first key that differs decides. Floating point
// is ordered as PostgreSQL orders it: NaN above every number (last ascending, first
// descending), -0.0 equal to 0.0 (docs/reliability.md, "Floating-point order"). An empty
// std::optional (NULL) sorts before every value, so NULLs come first ascending and last
// descending. Any other key type uses its own <, which must be a strict weak order.
// Example: tests/query/query.cpp.
#pragma once

#include <sg/order.hpp>

#include <cstddef>
#include <functional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

namespace sg {

// The I-th element of a tuple-like row (std::get<I>): the columns of a grouped query's
// result are its group keys, then its aggregates, in the order they were given.
template <std::size_t I>
struct col_fn {
  static constexpr std::size_t index = I;
  template <class Row>
  constexpr decltype(auto) operator()(Row const& row) const {
    using std::get;
    return get<I>(row);
  }
};
template <std::size_t I>
inline constexpr col_fn<I> col{};

// One sort key: a projection and a direction.
template <class Proj, bool Descending>
struct sort_key {
  static constexpr bool descending = Descending;
  Proj proj;
};

// Ascending by proj (the default for a bare projection in sg::order_by).
template <class Proj>
constexpr sort_key<Proj, false> asc(Proj proj) {
  return {std::move(proj)};
}
// Descending by proj.
template <class Proj>
constexpr sort_key<Proj, true> desc(Proj proj) {
  return {std::move(proj)};
}

namespace detail {

template <class T>
inline constexpr bool is_sort_key = false;
template <class P, bool D>
inline constexpr bool is_sort_key<sort_key<P, D>> = true;

template <class K>
constexpr auto as_sort_key(K key) {
  if constexpr (is_sort_key<K>)
    return key;
  else
    return sort_key<K, false>{std::move(key)};
}

// The strict weak order of a list of sort keys over rows: lexicographic, each key
// ascending or descending in sg's total order.
template <class... Keys>
struct lexicographic_order {
  std::tuple<Keys...> keys;

  template <class Row>
  constexpr bool operator()(Row const& a, Row const& b) const {
    return less<0>(a, b);
  }

 private:
  template <std::size_t I, class Row>
  constexpr bool less(Row const& a, Row const& b) const {
    if constexpr (I == sizeof...(Keys)) {
      return false;
    } else {
      auto const& key = std::get<I>(keys);
      decltype(auto) x = std::invoke(key.proj, a);
      decltype(auto) y = std::invoke(key.proj, b);
      using key_type = std::remove_cvref_t<decltype(key)>;
      if constexpr (key_type::descending) {
        if (total_less(y, x)) return true;
        if (total_less(x, y)) return false;
      } else {
        if (total_less(x, y)) return true;
        if (total_less(y, x)) return false;
      }
      return less<I + 1>(a, b);
    }
  }
};

}  // namespace detail

// sg::for_each_sort_key(order, f): calls f(proj, descending) for each key of an order_by
// clause's order (q.order_by_part.order), first key first; `descending` is a
// std::bool_constant, so it is usable in if constexpr. The one walk of a sort-key list
// that sg::explain and the SQL renderer (sg/adapters/sql.hpp) share.
template <class... Keys, class F>
constexpr void for_each_sort_key(detail::lexicographic_order<Keys...> const& order, F&& f) {
  std::apply([&](auto const&... key) {
    (f(key.proj, std::bool_constant<std::remove_cvref_t<decltype(key)>::descending>{}), ...);
  }, order.keys);
}

}  // namespace sg
