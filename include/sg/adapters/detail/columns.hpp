// sg/adapters/detail/columns.hpp — what the SQL adapters (SQLite, PostgreSQL) share about
// rows: which C++ types are columns, which types are rows of columns, and how a row's
// fields are visited. Private to sg.
#pragma once

#include <sg/detail/type_traits.hpp>

#include <boost/pfr/core.hpp>

#include <concepts>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace sg::adapters::detail {

// A column's value as a database stores bytes (SQLite BLOB, PostgreSQL bytea).
using blob = std::vector<std::byte>;

// prefix + the number (not "literal" + std::to_string(n): GCC 12 warns falsely at -O3).
template <class N>
std::string numbered(std::string_view prefix, N n) {
  std::string out(prefix);
  out += std::to_string(n);
  return out;
}

// An integer, bool, float or double, std::string, blob, or std::optional of one (NULL).
template <class T>
inline constexpr bool is_column =
    std::is_same_v<T, bool> || std::is_integral_v<T> || std::is_floating_point_v<T> ||
    std::is_same_v<T, std::string> || std::is_same_v<T, blob>;
template <class T>
inline constexpr bool is_column<std::optional<T>> = is_column<T> && !sg::detail::is_optional<T>;

template <class T>
inline constexpr bool is_tuple = false;
template <class... T>
inline constexpr bool is_tuple<std::tuple<T...>> = true;

// The number of columns of a row type (tuple, aggregate struct, or one column).
template <class Row>
constexpr std::size_t column_count() {
  if constexpr (is_column<Row>)
    return 1;
  else if constexpr (is_tuple<Row>)
    return std::tuple_size_v<Row>;
  else
    return boost::pfr::tuple_size_v<Row>;
}

// Row is a std::tuple of columns, an aggregate struct of them (Boost.PFR), or one column.
template <class Row>
consteval bool row_type_fits() {
  if constexpr (is_column<Row>) {
    return true;
  } else if constexpr (is_tuple<Row>) {
    return []<std::size_t... I>(std::index_sequence<I...>) {
      return (true && ... && is_column<std::tuple_element_t<I, Row>>);
    }(std::make_index_sequence<std::tuple_size_v<Row>>{});
  } else if constexpr (std::is_aggregate_v<Row> && std::default_initializable<Row>) {
    return []<std::size_t... I>(std::index_sequence<I...>) {
      return (true && ... && is_column<boost::pfr::tuple_element_t<I, Row>>);
    }(std::make_index_sequence<boost::pfr::tuple_size_v<Row>>{});
  } else {
    return false;
  }
}

// Calls f(field, index) for each column of `row`, in order.
template <class Row, class F>
void for_each_column(Row& row, F&& f) {
  if constexpr (is_column<std::remove_const_t<Row>>) {
    f(row, std::size_t{0});
  } else if constexpr (is_tuple<std::remove_const_t<Row>>) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (f(std::get<I>(row), I), ...);
    }(std::make_index_sequence<std::tuple_size_v<std::remove_const_t<Row>>>{});
  } else {
    boost::pfr::for_each_field(row, [&](auto& field, std::size_t i) { f(field, i); });
  }
}

// A parameter as a request keeps it: strings owned, everything else as given.
template <class P>
using stored_param_t =
    std::conditional_t<std::is_convertible_v<P const&, std::string_view> && !std::is_same_v<std::decay_t<P>, std::nullptr_t>,
                       std::string, std::decay_t<P>>;

}  // namespace sg::adapters::detail
