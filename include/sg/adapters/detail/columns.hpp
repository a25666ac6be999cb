// sg/adapters/detail/columns.hpp — what the SQL adapters (SQLite, PostgreSQL) share about
// rows: which C++ types are columns, which types are rows of columns, and how a row's
// fields are visited. Private to sg.
#pragma once

#include <sg/detail/type_traits.hpp>

#include <boost/pfr/core.hpp>

#include <concepts>
#include <cstddef>
#include <functional>
#include <memory>
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

// A request of an SQL adapter: SQL text, its parameters (held by value; strings copied)
// and how a row is read — as Row, or through Map. Adapter is the adapter's tag, so one
// adapter's requests (its placeholders, its row_view) never reach another's shards; each
// adapter names this sql_request<Row, Map, P...> through an alias.
template <class Adapter, class Row, class Map, class... P>
struct sql_request {
  using row_type = Row;  // what each row of the answer becomes

  std::string text;
  std::tuple<P...> params;
  [[no_unique_address]] Map map;
};

// The Map of a request whose rows are read as Row.
struct no_map {};

// The request sql<Row>(text, params...) of an adapter.
template <class Adapter, class Row, class... P>
sql_request<Adapter, Row, no_map, stored_param_t<P>...> row_request(std::string text, P&&... params) {
  return {std::move(text), {std::forward<P>(params)...}, {}};
}

// The request sql(map, text, params...) of an adapter whose mapper takes a RowView.
template <class Adapter, class RowView, class Map, class... P>
auto mapped_request(Map map, std::string text, P&&... params) {
  using row = std::remove_cvref_t<std::invoke_result_t<Map const&, RowView const&>>;
  return sql_request<Adapter, row, Map, stored_param_t<P>...>{std::move(text), {std::forward<P>(params)...},
                                                              std::move(map)};
}

// The index of the field `member` names in an aggregate struct Row (the field at the
// member's address in a Row), or none for a tuple row or a member of another type.
template <class Row, class M, class C>
std::optional<std::size_t> field_of(M C::*member) {
  if constexpr (is_tuple<Row> || !std::is_same_v<C, Row>) {
    return std::nullopt;
  } else {
    const Row probe{};
    auto const* target = static_cast<void const*>(std::addressof(probe.*member));
    std::optional<std::size_t> found;
    boost::pfr::for_each_field(probe, [&](auto const& field, std::size_t i) {
      if constexpr (std::is_same_v<std::remove_cvref_t<decltype(field)>, M>)
        if (static_cast<void const*>(std::addressof(field)) == target) found = i;
    });
    return found;
  }
}

}  // namespace sg::adapters::detail
