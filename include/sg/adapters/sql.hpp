// sg/adapters/sql.hpp — the shard-side half of a typed query (sg::query) as SQL text with
// bound parameters, in one of two dialects: sg::sql::sqlite_dialect and
// sg::sql::postgres_dialect. It needs no database library (no sqlite3.h, no libpq-fe.h);
// the adapters (sg/adapters/sqlite_query.hpp, ...) run what it writes.
//
//   sg::sql::writer<sg::sql::postgres_dialect> w;
//   std::string where = w.condition<order>(host, sg::eq(&order::region, "eu") && sg::in(&order::id, {1, 2}));
//   // ("region" = $1::text AND "id" = ANY($2::int8[])), w.params: "eu", {1, 2}
//
// The walk is sg::fold_predicate (sg/query/predicate.hpp) and sg::for_each_sort_key; what
// the table is comes from a host, the adapter's object that knows the table:
//   h.column(proj)     -> std::optional<std::string>: the table's column proj reads, or none
//   h.projection(proj) -> std::string: SQL computing a projection that is no column
//   h.opaque(node)     -> std::string: SQL evaluating a predicate node the dialect cannot
//                         express (SQLite: a function sg registers; an adapter without one
//                         refuses such a query at compile time)
// How sg's semantics become each dialect's SQL (docs/queries.md, "SQL"):
//  * Identifiers in double quotes, a " doubled. Parameters: `?` (SQLite, numbered by
//    position) or `$n::type` (PostgreSQL: int8, float8, text, bool, bytea, arrays of the
//    first three), so a statement needs no parameter types beside it.
//  * NULL and three-valued logic are SQL's in both, as in sg. ORDER BY puts NULL first
//    ascending and last descending as sg does: SQLite does so already; PostgreSQL gets
//    NULLS FIRST / NULLS LAST on a key whose type is a std::optional (only there, so an
//    index on a NOT NULL column still serves the order).
//  * Floating point in sg's total order (sg/order.hpp: NaN = NaN, NaN above every number,
//    -0.0 = 0.0): PostgreSQL's float8 operators, ORDER BY and GROUP BY already order so, and
//    NaN binds as a value. SQLite has no NaN (it binds NaN as NULL): a comparison with a
//    NaN constant is the host's (opaque), and SQLite tables hold no NaN (sg refuses them).
//  * Text compares as bytes, as std::string does: SQLite's default BINARY collation does;
//    PostgreSQL's ordering comparisons (<, <=, >, >=, BETWEEN) and ORDER BY on text add
//    COLLATE "C" (equality needs none: deterministic collations are byte-equal).
//  * LIKE (sg: '%' any run of bytes, '_' one byte, no escape): SQLite, a case-sensitive
//    GLOB where GLOB is exact (an ASCII pattern without '_', on a value without a NUL byte;
//    see glob_is_exact), else the host's. PostgreSQL: `col LIKE $n ESCAPE '\'` for an
//    ASCII pattern without '_' (its backslashes escaped; ASCII literals fall on character
//    boundaries of UTF-8 text, so characters and bytes agree), any other pattern as bytea
//    LIKE of the value's UTF-8 bytes, byte for byte.
//  * IN lists: SQLite `col IN (?, ?, ...)` (an empty list: FALSE, UNKNOWN for NULL);
//    PostgreSQL `col = ANY($n::int8[])`, one array parameter whatever the list's length.
//  * LIMIT n OFFSET m with bound values; a count beyond INT64_MAX is no limit.
// Errors: a value that is neither a number, a bool nor a std::string is the host's
// (opaque); a char constant is a compile-time sentence (a number or text?).
// Example: tests/adapters/sql.cpp; docs/queries.md.
#pragma once

#include <sg/adapters/detail/columns.hpp>
#include <sg/agg/aggregate.hpp>
#include <sg/detail/type_traits.hpp>
#include <sg/query/order.hpp>
#include <sg/query/predicate.hpp>
#include <sg/query/query.hpp>

#include <boost/hana/at.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace sg::sql {

// A bound parameter: a scalar, an array (PostgreSQL's IN lists) or bytes (a bytea LIKE
// pattern). Each adapter binds these in its library's terms.
using param_blob = adapters::detail::blob;
using param = std::variant<bool, std::int64_t, double, std::string, std::vector<std::int64_t>, std::vector<double>,
                           std::vector<std::string>, param_blob>;

// Whether a constant of type V is bound as a parameter (else the host evaluates its node).
template <class V>
inline constexpr bool is_bindable = std::is_arithmetic_v<V> || std::is_same_v<V, std::string>;

// A constant as a parameter: bool as bool, an integer as int64 (one above INT64_MAX as the
// double it rounds to, which is above every int64 as the value is), a float as double.
template <class V>
param to_param(V const& v) {
  static_assert(!sg::detail::is_character<V>,
                "sg::sql: a char (or wchar_t, char8_t, char16_t, char32_t) constant could be a number or text: use "
                "std::int8_t or std::uint8_t for a number, std::string for text");
  if constexpr (std::is_same_v<V, bool>)
    return v;
  else if constexpr (std::is_integral_v<V>) {
    if (std::in_range<std::int64_t>(v)) return static_cast<std::int64_t>(v);
    return static_cast<double>(v);
  } else if constexpr (std::is_floating_point_v<V>)
    return static_cast<double>(v);
  else
    return v;
}

namespace detail {
// Whether the parameter to_param makes of a constant holds it exactly: an unsigned value
// above INT64_MAX becomes the double it rounds to, exact only when a double holds it.
// Bound inexactly it would equal a floating-point column holding that double, where sg
// compares exactly: a comparison with such a constant is evaluated by the host instead.
template <class V>
constexpr bool exact_param(V const& v) {
  if constexpr (std::is_integral_v<V> && !std::is_same_v<V, bool>) {
    if (std::in_range<std::int64_t>(v)) return true;
    constexpr double two64 = 18446744073709551616.0;
    const double d = static_cast<double>(v);
    return d < two64 && std::cmp_equal(static_cast<std::uint64_t>(d), v);
  } else {
    (void)v;
    return true;
  }
}
}  // namespace detail

// "name" with any " doubled: an SQL identifier, in both dialects.
inline std::string quote_identifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    out += c;
    if (c == '"') out += '"';
  }
  out += '"';
  return out;
}

// The table a statement reads: its name, its columns (in the order of the row type's
// fields) and the SQL expression that orders its rows as sg reads them ("" for none).
struct table_ref {
  std::string_view name;
  std::span<std::string const> columns;
  std::string_view scan_order;
};

namespace detail {

inline constexpr char const* compare_ops[] = {" = ", " <> ", " < ", " <= ", " > ", " >= "};

template <class V>
constexpr bool is_nan(V const& v) {
  if constexpr (std::is_floating_point_v<V>)
    return v != v;
  else
    return false;
}

template <class T>
struct unwrap_optional {
  using type = T;
};
template <class T>
struct unwrap_optional<std::optional<T>> {
  using type = T;
};

// Whether values of type T (a column's, std::optional or not) are text.
template <class T>
inline constexpr bool is_text = std::is_same_v<typename unwrap_optional<std::remove_cvref_t<T>>::type, std::string>;

}  // namespace detail

// --- SQLite -----------------------------------------------------------------------------

// SQLite refuses a LIKE or GLOB pattern longer than this ("pattern too complex"): its
// default SQLITE_MAX_LIKE_PATTERN_LENGTH.
inline constexpr std::size_t glob_pattern_limit = 50000;

// Whether SQLite's GLOB answers exactly as sg's LIKE does for this pattern, on a value
// without a NUL byte: GLOB reads value and pattern as C strings (they end at a NUL) and
// walks UTF-8 characters, while sg's LIKE walks bytes. For an ASCII pattern without '_'
// they agree on any bytes without a NUL, valid UTF-8 or not: an ASCII byte is always a
// character of its own in SQLite's decoding, so literal bytes line up and '%' ('*')
// spans the same runs. A pattern with '_' (one byte to sg, one character to GLOB's '?'),
// a byte above 0x7f or a NUL, or one too long for SQLite, is matched by sg instead.
inline bool glob_is_exact(std::string_view like, std::size_t glob_size) {
  if (glob_size > glob_pattern_limit) return false;
  return std::all_of(like.begin(), like.end(), [](char c) {
    const auto b = static_cast<unsigned char>(c);
    return b != 0 && b < 0x80 && c != '_';
  });
}

// sg's LIKE pattern as GLOB: '%' is '*', and GLOB's own wildcards are taken literally.
inline std::string glob_of(std::string_view like) {
  std::string out;
  for (char c : like) {
    if (c == '%')
      out += '*';
    else if (c == '*' || c == '?' || c == '[')
      (out += '[', out += c) += ']';
    else
      out += c;
  }
  return out;
}

// SQLite's SQL: `?` parameters, NaN never bound, LIKE as GLOB where exact, IN (?, ...).
struct sqlite_dialect {
  static constexpr std::string_view name = "SQLite";

  static std::string marker(std::size_t, param const&) { return "?"; }

  template <class V>
  static bool binds(V const& v) {
    return !detail::is_nan(v) && detail::exact_param(v);  // SQLite would bind NaN as NULL
  }

  // The expression a text column's ordering comparisons and sort keys use.
  static std::string text_order(std::string col) { return col; }

  // column IN (values): `values` are bindable and bound here.
  template <class W, class V>
  static std::string in_list(W& w, std::string const& col, std::vector<V> const& values) {
    if (values.empty()) return "(" + col + " IS NULL AND NULL)";  // FALSE, or UNKNOWN for NULL
    std::string out = "(" + col + " IN (";
    for (std::size_t i = 0; i < values.size(); ++i) out += (i == 0 ? "" : ", ") + w.bind(to_param(values[i]));
    return out + "))";
  }

  // column LIKE pattern; `fallback()` is the host's SQL for the node.
  template <class W, class Fallback>
  static std::string like(W& w, std::string const& col, std::string const& pattern, Fallback&& fallback) {
    std::string glob = glob_of(pattern);
    if (!glob_is_exact(pattern, glob.size())) return fallback();
    // GLOB stops at a NUL byte in the value: a value holding one (found as a byte of the
    // value as a BLOB, which is exact and costs one scan) is matched by the host.
    std::string out = "(CASE WHEN instr(CAST(" + col + " AS BLOB), x'00') > 0 THEN " + fallback() + " ELSE " + col +
                      " GLOB ";
    return out + w.bind(std::move(glob)) + " END)";
  }

  // One ORDER BY key: SQLite sorts NULL first ascending, last descending, as sg does.
  static std::string order_key(std::string expr, bool descending, bool /*nullable*/) {
    return descending ? expr + " DESC" : expr;
  }
};

// --- PostgreSQL -------------------------------------------------------------------------

// PostgreSQL's SQL: `$n::type` parameters, COLLATE "C" for text order, NULLS FIRST/LAST
// where a key can be NULL, LIKE with ESCAPE (bytea LIKE where characters are not bytes),
// IN as = ANY(array).
struct postgres_dialect {
  static constexpr std::string_view name = "PostgreSQL";

  static std::string marker(std::size_t n, param const& p) {
    static constexpr char const* types[] = {"bool", "int8", "float8", "text", "int8[]", "float8[]", "text[]", "bytea"};
    static_assert(std::size(types) == std::variant_size_v<param>);
    return "$" + std::to_string(n) + "::" + types[p.index()];
  }

  template <class V>
  static bool binds(V const& v) {
    return detail::exact_param(v);  // NaN is a float8 value
  }

  static std::string text_order(std::string col) { return col + " COLLATE \"C\""; }

  template <class W, class V>
  static std::string in_list(W& w, std::string const& col, std::vector<V> const& values) {
    if constexpr (std::is_same_v<V, bool>) {  // no bool arrays among the parameters: a short list
      if (values.empty()) return "(" + col + " IS NULL AND NULL)";
      std::string out = "(" + col + " IN (";
      for (std::size_t i = 0; i < values.size(); ++i) out += (i == 0 ? "" : ", ") + w.bind(values[i]);
      return out + "))";
    } else if constexpr (std::is_integral_v<V>) {
      if (std::ranges::all_of(values, [](V v) { return std::in_range<std::int64_t>(v); }))
        return "(" + col + " = ANY(" + w.bind(std::vector<std::int64_t>(values.begin(), values.end())) + "))";
      std::vector<double> d;  // beyond INT64_MAX: compared as doubles (above every int8)
      for (V v : values) d.push_back(static_cast<double>(v));
      return "(" + col + " = ANY(" + w.bind(std::move(d)) + "))";
    } else if constexpr (std::is_floating_point_v<V>) {
      return "(" + col + " = ANY(" + w.bind(std::vector<double>(values.begin(), values.end())) + "))";
    } else {
      return "(" + col + " = ANY(" + w.bind(std::vector<std::string>(values.begin(), values.end())) + "))";
    }
  }

  template <class W, class Fallback>
  static std::string like(W& w, std::string const& col, std::string const& pattern, Fallback&&) {
    std::string escaped;  // sg's LIKE has no escape character: a backslash is itself
    for (char c : pattern) {
      if (c == '\\') escaped += '\\';
      escaped += c;
    }
    const bool characters_are_bytes = std::ranges::all_of(pattern, [](char c) {
      const auto b = static_cast<unsigned char>(c);
      return b != 0 && b < 0x80 && c != '_';
    });
    if (characters_are_bytes) return "(" + col + " LIKE " + w.bind(std::move(escaped)) + " ESCAPE E'\\\\')";
    param_blob bytes(escaped.size());
    std::transform(escaped.begin(), escaped.end(), bytes.begin(), [](char c) { return static_cast<std::byte>(c); });
    return "(convert_to(" + col + ", 'UTF8') LIKE " + w.bind(std::move(bytes)) + ")";
  }

  // PostgreSQL sorts NULL last ascending: a key that can be NULL says where sg puts it.
  static std::string order_key(std::string expr, bool descending, bool nullable) {
    if (!nullable) return descending ? expr + " DESC" : expr;
    return expr + (descending ? " DESC NULLS LAST" : " NULLS FIRST");
  }
};

// --- the writer -------------------------------------------------------------------------

// Writes a query's shard-side SQL in Dialect (a stateless type of static functions, as
// the two above), collecting its parameters in text order. One writer per statement; not
// thread-safe (it appends to params).
template <class Dialect>
class writer {
 public:
  writer() = default;

  // The statement's parameters, in the order of their markers.
  std::vector<param> params;
  // Whether IN lists are bound (else each is the host's opaque node): SQLite turns this
  // off when a statement would bind more parameters than the connection takes.
  bool bind_lists = true;

  // Appends a parameter and gives its marker.
  std::string bind(param p) {
    params.push_back(std::move(p));
    return Dialect::marker(params.size(), params.back());
  }

  // A projection of Row as an SQL expression: its column, or the host's.
  template <class Row, class Host, class P>
  std::string expression(Host& h, P const& proj) {
    if (auto c = h.column(proj)) return quote_identifier(*c);
    return h.projection(proj);
  }

  // A predicate on Row as an SQL condition (sg::fold_predicate; see the top of the file).
  template <class Row, class Host, class P>
  std::string condition(Host& h, P const& p) {
    return fold_predicate(p, condition_visitor<Host>{*this, h});
  }

  // The sort keys of an order_by clause as an ORDER BY list (without the keywords).
  template <class Row, class Host, class Order>
  std::string order_list(Host& h, Order const& order) {
    std::string out;
    for_each_sort_key(order, [&](auto const& proj, auto descending) {
      using value = agg::projected_t<std::remove_cvref_t<decltype(proj)>, Row>;
      std::string e = expression<Row>(h, proj);
      if constexpr (detail::is_text<value>) e = Dialect::text_order(std::move(e));
      out += (out.empty() ? "" : ", ") + Dialect::order_key(std::move(e), descending, sg::detail::is_optional<value>);
    });
    return out;
  }

  // " LIMIT n[ OFFSET m]", or nothing for a count beyond INT64_MAX.
  std::string limit(std::size_t count, std::size_t offset = 0) {
    if (!std::in_range<std::int64_t>(count) || !std::in_range<std::int64_t>(offset)) return "";
    std::string out = " LIMIT " + bind(static_cast<std::int64_t>(count));
    if (offset != 0) out += " OFFSET " + bind(static_cast<std::int64_t>(offset));
    return out;
  }

  // The comma-separated quoted columns of a table.
  static std::string column_list(table_ref const& t) {
    std::string out;
    for (std::size_t i = 0; i < t.columns.size(); ++i) out += (i == 0 ? "" : ", ") + quote_identifier(t.columns[i]);
    return out;
  }

  // The SELECT of a row query (no grouping) over table t, its shard-side half:
  //   SELECT cols FROM t [WHERE ...] [ORDER BY keys, scan order] [LIMIT offset + n]
  // DISTINCT keeps each row's first occurrence in scan order: GROUP BY every column,
  // ordered by each group's MIN(scan order) (SELECT DISTINCT when there is no scan order).
  // Ties of ORDER BY follow the scan order, as sg's stable sort keeps them.
  template <class Row, class Host, class Q>
  std::string rows_select(Host& h, Q const& q, table_ref const& t) {
    constexpr bool distinct = has_clause<decltype(q.distinct_part)>;
    const bool scan = !t.scan_order.empty();
    std::string sql = std::string(distinct && !scan ? "SELECT DISTINCT " : "SELECT ") + column_list(t) + " FROM " +
                      quote_identifier(t.name);
    if constexpr (has_clause<decltype(q.where_part)>) sql += " WHERE " + condition<Row>(h, q.where_part.predicate);
    if (distinct && scan) sql += group_by_ordinals(t.columns.size());
    std::string order;
    if constexpr (has_clause<decltype(q.order_by_part)>) order = order_list<Row>(h, q.order_by_part.order);
    if (scan) order += (order.empty() ? "" : ", ") + (distinct ? "MIN(" + std::string(t.scan_order) + ")" : std::string(t.scan_order));
    if (!order.empty()) sql += " ORDER BY " + order;
    if constexpr (has_clause<decltype(q.limit_part)>)
      sql += limit(q.limit_part.count == 0 ? 0 : q.limit_part.shard_rows());
    return sql;
  }

  // The SELECT of a grouped query's partial table over table t:
  //   SELECT keys, agg(0), agg(1), ... [, COUNT(*)] FROM t [WHERE ...] [GROUP BY 1, ..., k]
  // agg(a, std::integral_constant<std::size_t, I>) writes aggregate I's columns (the
  // adapter's: the state it can read back). A global aggregate (no group_by) adds
  // COUNT(*) last, so that a reader drops the one row SQL gives for no rows.
  template <class Row, class Host, class Q, class Agg>
  std::string grouped_select(Host& h, Q const& q, table_ref const& t, Agg&& agg) {
    std::string select;
    std::size_t keys = 0;
    if constexpr (has_clause<decltype(q.group_by_part)>) {
      std::apply([&](auto const&... key) { ((select += (select.empty() ? "" : ", ") + expression<Row>(h, key)), ...); },
                 q.group_by_part.keys);
      keys = std::tuple_size_v<decltype(q.group_by_part.keys)>;
    }
    if constexpr (has_clause<decltype(q.aggregate_part)>) {
      auto const& aggs = q.aggregate_part.aggregates;
      [&]<std::size_t... I>(std::index_sequence<I...>) {
        ((select += (select.empty() ? "" : ", ") + agg(boost::hana::at_c<I>(aggs), std::integral_constant<std::size_t, I>{})),
         ...);
      }(std::make_index_sequence<std::tuple_size_v<typename Q::template states_type<Row>>>{});
    }
    if (keys == 0) select += ", COUNT(*)";
    std::string sql = "SELECT " + select + " FROM " + quote_identifier(t.name);
    if constexpr (has_clause<decltype(q.where_part)>) sql += " WHERE " + condition<Row>(h, q.where_part.predicate);
    if (keys > 0) sql += group_by_ordinals(keys);
    return sql;
  }

  // " GROUP BY 1, 2, ..., n": the first n columns of the result.
  static std::string group_by_ordinals(std::size_t n) {
    std::string out = " GROUP BY ";
    for (std::size_t i = 0; i < n; ++i) out += (i == 0 ? "" : ", ") + std::to_string(i + 1);
    return out;
  }

 private:
  template <class Host>
  struct condition_visitor {
    writer& w;
    Host& h;

    template <class N>
    std::string compare(N const& n) {
      using V = std::remove_cvref_t<decltype(n.value)>;
      if constexpr (is_bindable<V>) {
        if (auto c = h.column(n.column); c && Dialect::binds(n.value)) {
          std::string col = quote_identifier(*c);
          if constexpr (std::is_same_v<V, std::string>)
            if (N::op != compare_op::eq && N::op != compare_op::ne) col = Dialect::text_order(std::move(col));
          col += detail::compare_ops[static_cast<int>(N::op)];
          return "(" + col + w.bind(to_param(n.value)) + ")";
        }
      }
      return h.opaque(n);
    }
    template <class N>
    std::string between(N const& n) {
      using V = std::remove_cvref_t<decltype(n.lo)>;
      if constexpr (is_bindable<V>) {
        if (auto c = h.column(n.column); c && Dialect::binds(n.lo) && Dialect::binds(n.hi)) {
          std::string col = quote_identifier(*c);
          if constexpr (std::is_same_v<V, std::string>) col = Dialect::text_order(std::move(col));
          std::string out = "(" + col + " BETWEEN " + w.bind(to_param(n.lo));
          return out + " AND " + w.bind(to_param(n.hi)) + ")";
        }
      }
      return h.opaque(n);
    }
    template <class N>
    std::string in(N const& n) {
      using V = typename decltype(n.values)::value_type;
      if constexpr (is_bindable<V>) {
        if (auto c = h.column(n.column);
            c && w.bind_lists && std::ranges::all_of(n.values, [&](V const& v) { return Dialect::binds(v); }))
          return Dialect::in_list(w, quote_identifier(*c), n.values);
      }
      return h.opaque(n);
    }
    template <class N>
    std::string like(N const& n) {
      if (auto c = h.column(n.column))
        return Dialect::like(w, quote_identifier(*c), n.pattern, [&] { return h.opaque(n); });
      return h.opaque(n);
    }
    template <class N>
    std::string null_test(N const& n) {
      if (auto c = h.column(n.column)) return "(" + quote_identifier(*c) + (n.negated ? " IS NOT NULL)" : " IS NULL)");
      return h.opaque(n);
    }
    template <class N>
    std::string custom(N const& n) {
      return h.opaque(n);
    }
    template <class N>
    std::string logic(N const&, std::string left, std::string right) {
      return "(" + left + (N::op == logic_op::and_ ? " AND " : " OR ") + right + ")";
    }
    template <class N>
    std::string negation(N const&, std::string operand) {
      return "(NOT " + operand + ")";
    }
  };
};

}  // namespace sg::sql
