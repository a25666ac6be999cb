// sg/adapters/postgres_query.hpp — typed queries (sg::query) answered by PostgreSQL: each
// server filters, groups into partial states, removes duplicates, sorts and limits in SQL
// written by sg::sql's PostgreSQL dialect (sg/adapters/sql.hpp), and sg merges the answers.
//
//   struct order { std::int64_t id; std::string region; std::int64_t cents; };
//   const sg::postgres::table<order> orders("orders", {"id", "region", "cents"}, "id");
//   std::vector<sg::postgres::table_shard<order>> shards;   // one per server
//   auto q = sg::query(sg::group_by(&order::region), sg::aggregate(sg::agg::count(), sg::agg::avg(&order::cents)));
//   auto pipe = sg::scatter(shards) | sg::on(io.get_executor()) | sg::gather(q);
//   pipe.async(q, [](std::error_code ec, auto r) { ... });   // r.value: (region, n, mean) rows
//
// The promise: a shard's answer to q is what sg::local::run(q, rows) gives for the table's
// rows read in its scan order (the `scan_order` SQL expression, e.g. a key column; without
// one, ties of ORDER BY, DISTINCT's survivors and a limit without order_by follow the
// server's order): the same rows in the same order for a row query, the same partial
// states for a grouped one — so a query gives the same answer on PostgreSQL shards as on
// in-memory ones (float sums up to rounding: the server adds in its own order).
// What is pushed down, in one statement a shard:
//  * WHERE: comparisons, BETWEEN, IN as = ANY(array), LIKE, IS NULL, AND / OR / NOT, in
//    sg's semantics (NULL, NaN, -0.0, text as bytes: see sg/adapters/sql.hpp).
//  * Row queries: DISTINCT (GROUP BY every column, each group at its first row's place),
//    ORDER BY (NULLs and NaN where sg puts them), LIMIT offset + n.
//  * Grouped queries: GROUP BY the keys, each aggregate as the partial state sg merges —
//    COUNT(*); SUM of an integer column as numeric, read exactly into sg's 128-bit total
//    (the int64 overflow check is the coordinator's, at finish); SUM of a float column;
//    AVG as SUM and COUNT(*); MIN / MAX (text with COLLATE "C"); variance and stddev of
//    an integer column as sg's (count, mean, M2), from exact numeric sums (mean = S1 / n,
//    M2 = (n·S2 − S1²) / n, each rounded once to float8). A global aggregate adds
//    HAVING COUNT(*) > 0, so no rows give no group, as in sg. HAVING, ORDER BY and LIMIT of
//    a grouped query are the coordinator's.
// Parameters go as text ($n::type), answers are read as text, exactly (shortest
// round-trip floats, NaN, ±Infinity, -0, numeric digits).
// Limits, each a compile-time sentence: every column a query reads must be a column of
// the table (a member pointer of Row, sg::named of one, or sg::col<I> of a tuple Row) —
// PostgreSQL cannot call a C++ projection or a custom predicate; variance of a float
// column (float8 to numeric is not exact), approx_count_distinct (HyperLogLog),
// approx_quantile (KLL: its state is not computed in SQL), MIN / MAX of a nullable
// column and groups_colocated() are not rendered here (yet): run those with
// sg::postgres::sql and SQL of your own (examples/orders_postgres.hpp computes HyperLogLog
// registers in SQL).
// Errors: a string constant holding a NUL byte (PostgreSQL text cannot) is
// std::system_error(sg::errc::bad_input); the server's errors are the shard's failure
// with their SQLSTATE, as for sg::postgres::sql. Example: tests/adapters/postgres.cpp,
// examples/postgres_explain.cpp; docs/adapters.md.
#pragma once

#include <sg/adapters/detail/columns.hpp>
#include <sg/adapters/postgres.hpp>
#include <sg/adapters/sql.hpp>
#include <sg/agg/count.hpp>
#include <sg/agg/sum.hpp>
#include <sg/agg/variance.hpp>
#include <sg/detail/type_traits.hpp>
#include <sg/merge/hash_aggregate.hpp>
#include <sg/query/local.hpp>
#include <sg/query/order.hpp>
#include <sg/query/predicate.hpp>
#include <sg/query/query.hpp>

#include <boost/asio/compose.hpp>
#include <boost/hana/tuple.hpp>
#include <boost/pfr/core.hpp>

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace sg::postgres {

// A table's description: its name, the names of its columns in the order of Row's fields
// (a std::tuple's elements or an aggregate struct's members), and the SQL expression that
// orders its rows as sg reads them ("" for none). Cheap to copy; immutable. Throws
// std::system_error(sg::errc::bad_input) when the names do not match Row's fields one for
// one (count, empty or repeated names).
template <class Row>
class table {
  static_assert(detail::row_type_fits<Row>() && !adapters::detail::is_column<Row>,
                "sg::postgres::table<Row>: Row must be a std::tuple or an aggregate struct of column types (an "
                "integer, bool, float, double, std::string, sg::postgres::blob, or std::optional of one)");

 public:
  table(std::string name, std::vector<std::string> columns, std::string scan_order = "")
      : name_(std::move(name)), columns_(std::move(columns)), scan_order_(std::move(scan_order)) {
    const std::string who = "sg::postgres::table \"" + name_ + "\": ";
    if (name_.empty()) detail::bad_input("sg::postgres::table: the table name is empty");
    if (columns_.size() != adapters::detail::column_count<Row>())
      detail::bad_input(who + std::to_string(columns_.size()) + " column names for a row of " +
                        std::to_string(adapters::detail::column_count<Row>()) + " fields");
    for (std::size_t i = 0; i < columns_.size(); ++i) {
      if (columns_[i].empty()) detail::bad_input(who + "the name of column " + std::to_string(i) + " is empty");
      for (std::size_t j = 0; j < i; ++j)
        if (columns_[j] == columns_[i]) detail::bad_input(who + "the column name \"" + columns_[i] + "\" is given twice");
    }
  }

  std::string const& name() const noexcept { return name_; }
  std::vector<std::string> const& columns() const noexcept { return columns_; }
  std::string const& scan_order() const noexcept { return scan_order_; }

  // The index of the field `member` is (an aggregate struct Row), or none.
  template <class M, class C>
  std::optional<std::size_t> field_of(M C::*member) const {
    return adapters::detail::field_of<Row>(member);
  }

 private:
  std::string name_;
  std::vector<std::string> columns_;
  std::string scan_order_;
};

namespace detail {

// Whether projection P reads one field of Row that SQL can name.
template <class Row, class P>
inline constexpr bool is_field = false;
template <class Row, class M>
  requires adapters::detail::is_column<M>
inline constexpr bool is_field<Row, M Row::*> = !adapters::detail::is_tuple<Row>;
template <class Row, class P>
inline constexpr bool is_field<Row, named_column<P>> = is_field<Row, P>;
template <class Row, std::size_t I>
inline constexpr bool is_field<Row, col_fn<I>> =
    adapters::detail::is_tuple<Row> && (I < adapters::detail::column_count<Row>());

// Whether a predicate node is rendered by the PostgreSQL dialect (else the query cannot
// run on PostgreSQL): a leaf on a field with constants it binds.
template <class Row, class N>
constexpr bool renders() {
  if constexpr (N::node == predicate_kind::custom) {
    return false;
  } else if constexpr (!is_field<Row, std::remove_cvref_t<decltype(std::declval<N const&>().column)>>) {
    return false;
  } else if constexpr (N::node == predicate_kind::compare) {
    return sql::is_bindable<std::remove_cvref_t<decltype(std::declval<N const&>().value)>>;
  } else if constexpr (N::node == predicate_kind::between) {
    return sql::is_bindable<std::remove_cvref_t<decltype(std::declval<N const&>().lo)>>;
  } else if constexpr (N::node == predicate_kind::in) {
    return sql::is_bindable<typename decltype(std::declval<N const&>().values)::value_type>;
  } else {
    return true;  // LIKE, IS NULL
  }
}

// sg::sql's host for a table on PostgreSQL: columns by field; nothing opaque.
template <class Row>
struct query_host {
  table<Row> const& t;

  template <class P>
  std::optional<std::string> column(P const& p) const {
    if constexpr (!is_field<Row, P>)
      return std::nullopt;
    else if constexpr (std::is_member_object_pointer_v<P>) {
      if (auto f = t.field_of(p)) return t.columns()[*f];
      return std::nullopt;
    } else if constexpr (requires { p.proj; })
      return column(p.proj);
    else
      return t.columns()[P::index];
  }

  template <class P>
  std::string projection(P const&) const {
    static_assert(is_field<Row, P>,
                  "sg::postgres: a sort key must be a column of the table (a member pointer of Row, sg::named of "
                  "one, or sg::col<I> of a tuple Row): PostgreSQL cannot call a C++ projection");
    // A member pointer into a base class, or one PFR cannot find: never rendered wrongly.
    detail::bad_input("a sort key reads a member that is not one of the table's columns");
  }

  template <class N>
  std::string opaque(N const&) const {
    static_assert(renders<Row, N>(),
                  "sg::postgres: a predicate of the query cannot run on PostgreSQL: every column it reads must be a "
                  "column of the table (a member pointer of Row, sg::named of one, or sg::col<I> of a tuple Row), "
                  "its constants numbers, bools or strings, and no custom predicate (sg::predicate(f), a lambda)");
    // A member pointer into a base class, or one PFR cannot find: never rendered wrongly.
    detail::bad_input("a predicate reads a member that is not one of the table's columns");
  }
};

inline std::string quoted_element(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

inline void refuse_nul(std::string_view s) {
  if (s.find('\0') != std::string_view::npos)
    detail::bad_input("a string constant holds a NUL byte, which PostgreSQL text cannot hold");
}

// A rendered parameter as libpq's text form; arrays as array literals ({...}).
inline text_param param_text(sql::param const& p) {
  return std::visit([](auto const& v) -> text_param {
    using V = std::remove_cvref_t<decltype(v)>;
    if constexpr (std::is_same_v<V, std::string>) {
      refuse_nul(v);
      return v;
    } else if constexpr (std::is_same_v<V, std::vector<std::string>>) {
      std::string out = "{";
      for (std::size_t i = 0; i < v.size(); ++i) {
        refuse_nul(v[i]);
        out += (i == 0 ? "" : ",") + quoted_element(v[i]);
      }
      return out + "}";
    } else if constexpr (std::is_same_v<V, std::vector<std::int64_t>> || std::is_same_v<V, std::vector<double>>) {
      std::string out = "{";
      for (std::size_t i = 0; i < v.size(); ++i) out += (i == 0 ? "" : ",") + *to_text(v[i]);
      return out + "}";
    } else {
      return to_text(v);  // bool, int64, double, bytea
    }
  }, p);
}

// --- grouped queries: partial states in SQL -----------------------------------------------

// Which sg::agg aggregates PostgreSQL computes, and as what: COUNT(*); SUM of a NOT NULL
// signed integer column (numeric, read exactly into sg's 128-bit total) or float column;
// AVG as SUM and COUNT(*); MIN / MAX of a NOT NULL column (text with COLLATE "C");
// variance and stddev of an integer column as sg's moments (count, mean, M2) from exact
// numeric sums.
enum class pg_aggregate { none, count, sum, avg, min, max, variance };

template <class Row, class A>
constexpr pg_aggregate pg_aggregate_of() {
  if constexpr (std::is_same_v<A, agg::count_fn>) {
    return pg_aggregate::count;
  } else if constexpr (requires { A::sql_name; std::declval<A const&>().proj; }) {
    using P = std::remove_cvref_t<decltype(std::declval<A const&>().proj)>;
    if constexpr (!is_field<Row, P>) {
      return pg_aggregate::none;
    } else {
      using V = agg::projected_t<P, Row>;
      constexpr std::string_view name = A::sql_name;
      constexpr bool number = (std::is_integral_v<V> && std::is_signed_v<V> && !std::is_same_v<V, bool>) ||
                              std::is_floating_point_v<V>;
      constexpr bool integer = std::is_integral_v<V> && !std::is_same_v<V, bool>;
      if constexpr (name == "SUM" && number)
        return pg_aggregate::sum;
      else if constexpr ((name == "VAR_SAMP" || name == "VAR_POP" || name == "STDDEV_SAMP" || name == "STDDEV_POP") &&
                         integer && std::is_same_v<agg::state_t<A, Row>, agg::moments>)
        return pg_aggregate::variance;
      else if constexpr (name == "AVG" && number)
        return pg_aggregate::avg;
      else if constexpr ((name == "MIN" || name == "MAX") && adapters::detail::is_column<V> &&
                         !sg::detail::is_optional<V> && !std::is_same_v<V, adapters::detail::blob>)
        return name == "MIN" ? pg_aggregate::min : pg_aggregate::max;
      else
        return pg_aggregate::none;
    }
  } else {
    return pg_aggregate::none;
  }
}

template <class Row, class Aggs>
inline constexpr bool pg_aggregates_fit = false;
template <class Row, class... A>
inline constexpr bool pg_aggregates_fit<Row, boost::hana::tuple<A...>> =
    (true && ... && (pg_aggregate_of<Row, A>() != pg_aggregate::none));

// A numeric's text ("-123", "45.000") as a 128-bit integer; bad_input when it is not one.
inline agg::detail::int128 parse_int128(std::string_view text, std::string const& label) {
  std::string_view digits = text;
  if (auto dot = digits.find('.'); dot != std::string_view::npos) {
    if (digits.find_first_not_of('0', dot + 1) != std::string_view::npos)
      bad_input(label + " holds " + std::string(text) + ", which is not an integer");
    digits = digits.substr(0, dot);
  }
  const bool negative = digits.starts_with('-');
  if (negative) digits.remove_prefix(1);
  if (digits.empty() || digits.size() > 38 || digits.find_first_not_of("0123456789") != std::string_view::npos)
    bad_input(label + " holds " + std::string(text) + ", which is not an integer of at most 38 digits");
  agg::detail::int128 v = 0;
  for (char c : digits) v = v * 10 + (c - '0');  // 38 digits < 2^127: no overflow
  return negative ? -v : v;
}

// The SQL of aggregate A (one or two columns).
template <class Row, class A>
std::string pg_aggregate_sql(query_host<Row> const& h, A const& a) {
  constexpr pg_aggregate k = pg_aggregate_of<Row, A>();
  if constexpr (k == pg_aggregate::count) {
    return "COUNT(*)";
  } else {
    auto c = h.column(a.proj);
    if (!c) bad_input("an aggregate reads a member that is not one of the table's columns");
    std::string col = sql::quote_identifier(*c);
    if constexpr (k == pg_aggregate::sum) return "SUM(" + col + ")";
    if constexpr (k == pg_aggregate::avg) return "SUM(" + col + "), COUNT(*)";
    if constexpr (k == pg_aggregate::variance) {
      // sg's moments from exact sums: mean = S1 / n and M2 = (n S2 − S1²) / n in numeric,
      // one rounding each, to float8.
      const std::string s1 = "SUM(" + col + "::numeric)", s2 = "SUM(" + col + "::numeric * " + col + ")";
      return "COUNT(*), (" + s1 + " / COUNT(*))::float8, ((COUNT(*) * " + s2 + " - " + s1 + " * " + s1 +
             ") / COUNT(*))::float8";
    }
    if constexpr (sql::detail::is_text<agg::projected_t<std::remove_cvref_t<decltype(a.proj)>, Row>>)
      col = sql::postgres_dialect::text_order(std::move(col));
    return std::string(k == pg_aggregate::min ? "MIN(" : "MAX(") + col + ")";
  }
}

// Reads aggregate A's state from the row's columns from `i` on, advancing `i`.
template <class Row, class A, class S>
void read_state(row_view const& r, int& i, S& s) {
  constexpr pg_aggregate k = pg_aggregate_of<Row, A>();
  auto total = [&](auto& t) {
    using T = std::remove_cvref_t<decltype(t)>;
    if constexpr (agg::detail::is_wide<T>)
      t.add(parse_int128(r.get<std::string>(i), "column " + std::to_string(i)));
    else
      t = r.get<T>(i);
    ++i;
  };
  if constexpr (k == pg_aggregate::count) {
    s = r.get<std::uint64_t>(i++);
  } else if constexpr (k == pg_aggregate::sum) {
    total(s);
  } else if constexpr (k == pg_aggregate::avg) {
    total(s.total);
    s.count = r.get<std::uint64_t>(i++);
  } else if constexpr (k == pg_aggregate::variance) {
    s.count = r.get<std::uint64_t>(i++);
    s.mean = r.get<double>(i++);
    s.m2 = r.get<double>(i++);
  } else {
    s = r.get<typename S::value_type>(i++);
  }
}

// Reads a row of a grouped statement (keys, then each aggregate's columns) as a group of
// the partial table.
template <class Row, class Key, class States, class Aggs>
struct group_reader;
template <class Row, class Key, class States, class... A>
struct group_reader<Row, Key, States, boost::hana::tuple<A...>> {
  merge::partial_group<Key, States> operator()(row_view const& r) const {
    merge::partial_group<Key, States> g{};
    int i = 0;
    std::apply([&](auto&... k) { ((k = r.get<std::remove_cvref_t<decltype(k)>>(i++)), ...); }, g.key);
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (read_state<Row, A>(r, i, std::get<I>(g.states)), ...);
    }(std::index_sequence_for<A...>{});
    return g;
  }
};

}  // namespace detail

// A shard over one PostgreSQL server that answers typed queries on one table (and raw SQL
// requests, as sg::postgres::shard does). Cheap to copy: copies share the pool.
// async_execute(q, token) completes with void(std::exception_ptr, Answer): Answer is
// std::vector<Row> for a row query, the partial table (std::vector of
// sg::merge::partial_group) for a grouped one — what sg::local::run gives.
template <class Row>
class table_shard {
 public:
  table_shard(shard s, table<Row> t) : shard_(std::move(s)), table_(std::move(t)) {}

  sg::postgres::table<Row> const& table() const noexcept { return table_; }
  shard const& server() const noexcept { return shard_; }
  boost::asio::any_io_executor get_executor() const noexcept { return shard_.get_executor(); }

  // A raw SQL request, as sg::postgres::shard answers it.
  template <class R, class Map, class... P, class Token>
  auto async_execute(sql_request<R, Map, P...> const& r, Token&& token) const {
    return shard_.async_execute(r, std::forward<Token>(token));
  }

  // What sg::local::run(q, rows) gives for this table's rows in its scan order.
  template <class Q, class Token>
    requires sg::is_query<Q>
  auto async_execute(Q const& q, Token&& token) const {
    check<Q>();
    auto [text, params] = sql_of(q);
    if constexpr (!Q::grouped) {
      return shard_.template async_query<Row>(std::move(text), std::move(params), std::forward<Token>(token));
    } else {
      using key = typename Q::template key_type<Row>;
      using states = typename Q::template states_type<Row>;
      return shard_.template async_query_mapped<merge::partial_group<key, states>>(
          std::move(text), std::move(params), detail::group_reader<Row, key, states, typename Q::aggregates_type>{},
          std::forward<Token>(token));
    }
  }

  // The SELECT that async_execute(q) sends and its parameters as text, for a log, a test
  // or EXPLAIN.
  template <class Q>
    requires sg::is_query<Q>
  std::pair<std::string, std::vector<detail::text_param>> sql_of(Q const& q) const {
    check<Q>();
    sql::writer<sql::postgres_dialect> w;
    detail::query_host<Row> h{table_};
    const sql::table_ref ref{table_.name(), table_.columns(), table_.scan_order()};
    std::string text;
    if constexpr (!Q::grouped) {
      text = w.template rows_select<Row>(h, q, ref);
    } else {
      text = w.template grouped_select<Row>(h, q, ref, [&](auto const& a, auto) { return detail::pg_aggregate_sql<Row>(h, a); });
      // A global aggregate of no rows: SQL's one row of NULLs is no group to sg.
      if constexpr (!has_clause<decltype(q.group_by_part)>) text += " HAVING COUNT(*) > 0";
    }
    std::vector<detail::text_param> params;
    for (auto const& p : w.params) params.push_back(detail::param_text(p));
    return {std::move(text), std::move(params)};
  }

 private:
  template <class Q>
  static constexpr void check() {
    static_assert(sg::local::detail::check<Q, Row>());
    if constexpr (Q::grouped) {
      static_assert(Q::two_phase,
                    "sg::postgres::table_shard: groups_colocated() queries are not finished on PostgreSQL shards yet; "
                    "drop groups_colocated() (the two-phase plan gives the same answer)");
      static_assert(detail::pg_aggregates_fit<Row, typename Q::aggregates_type>,
                    "sg::postgres::table_shard: an aggregate of the query has no state PostgreSQL's SQL computes "
                    "here: COUNT(*), SUM and AVG of a signed integer or float column, MIN and MAX of a NOT NULL "
                    "column, variance and stddev of an integer column are; those of a float column, "
                    "approx_count_distinct, approx_quantile and aggregates of a projection are not (yet): run those "
                    "with sg::postgres::sql and SQL of your own");
    }
  }

  shard shard_;
  sg::postgres::table<Row> table_;
};

}  // namespace sg::postgres
