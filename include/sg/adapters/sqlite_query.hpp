// sg/adapters/sqlite_query.hpp — typed queries (sg::query) answered by SQLite: each shard's
// database does the shard-side work (filter, grouping with partial aggregation, order,
// distinct, limit) and sg merges the answers.
//
//   struct order { std::int64_t id, customer; std::string region; std::int64_t cents; };
//   const sg::sqlite::table<order> orders("orders", {"id", "customer", "region", "cents"});
//   std::vector<sg::sqlite::table_shard<order>> shards;   // one per database file
//   auto q = sg::query(sg::where(sg::ge(&order::cents, 100)), sg::group_by(&order::region),
//                      sg::aggregate(sg::agg::count(), sg::agg::avg(&order::cents)));
//   auto r = (sg::scatter(shards) | sg::gather(q))(q);    // r.value: (region, n, mean) rows
//
// The promise: shard.execute(q) returns exactly what sg::local::run(q, rows) returns for
// the table's rows read in its scan order (rowid by default) — the same type, the same
// rows, in the same order where run gives one — so a query gives the same answer on
// SQLite shards as on in-memory ones (doubles up to rounding: SQLite may fold a group's
// rows in another order). The SQL is written by sg::sql's SQLite dialect
// (sg/adapters/sql.hpp); this header is its host: it names the table's columns and
// registers the functions that run sg's code where SQL cannot. How each part becomes SQL:
//  * A column is a member pointer of Row (found among Row's fields by Boost.PFR),
//    sg::named(name, member pointer), or sg::col<I> of a tuple row: it is read as the
//    table's column. Any other projection (a lambda) is computed by sg inside SQLite: a
//    function sg registers on the connection reads the row's columns into a Row and calls
//    the projection. sg::named's name is only for sg::explain.
//  * WHERE: comparisons, BETWEEN, IN, IS NULL and AND / OR / NOT become SQL with bound
//    parameters (SQL's three-valued logic is sg's), except a comparison with a NaN
//    constant (SQLite has no NaN) or with an unsigned constant above INT64_MAX that no
//    double holds (SQLite would compare the rounded double), which sg evaluates; LIKE becomes a case-sensitive GLOB
//    where GLOB is exact: an ASCII pattern without '_' (GLOB's '?' is one UTF-8
//    character, sg's '_' one byte), on a value without a NUL byte (GLOB reads a C
//    string); sg matches the rest — a value with a NUL, any other pattern — in SQLite
//    (see sg::sql::glob_is_exact). IN lists are bound parameters unless the WHERE would
//    bind more than the connection's SQLITE_LIMIT_VARIABLE_NUMBER, when sg matches them
//    (SQLite would refuse the statement). Any other predicate is called by sg in SQLite.
//  * Aggregates: every sg::agg aggregate (and any user aggregate) folds its rows in
//    SQLite through an aggregate function sg registers, which calls the aggregate's own
//    init and update: the states are exactly sg's (128-bit sums, Welford moments,
//    sketches), never a second implementation in SQL. A grouped query answers the partial
//    table (GROUP BY in SQLite); groups_colocated() finishes it, applies HAVING, order and
//    limit as run does.
//  * Row queries: ORDER BY the sort keys then the scan order (so ties keep run's order),
//    DISTINCT as GROUP BY every column ordered by each group's first row, LIMIT offset + n.
// Floating point (docs/reliability.md, "Floating-point order"): SQLite has no NaN — it
// binds and stores a NaN as NULL — so a NaN never enters or leaves SQLite through sg:
// inserting one is refused (std::system_error(sg::errc::bad_input)), a projection that
// gives one fails the query, and a NaN constant in WHERE is compared by sg. What a table
// holds is therefore NaN-free, and on it ORDER BY, GROUP BY, DISTINCT and MIN/MAX agree
// with sg's order (±inf order as numbers; -0.0 equals 0.0). One difference is left: a REAL
// column stores -0.0 as 0.0, so a value read back has lost the sign of its zero (equal in
// sg's order, not in its bits).
// Errors: a table whose column names the database lacks is refused on the first query,
// naming the column; an error inside a projection, predicate or aggregate (a NULL where
// the row type has no std::optional, an exception of the user's) is rethrown as it was
// thrown; SQLite's own errors are std::system_error in sg::sqlite::category(). In a
// pipeline, each is the shard's failure.
// Threads: a table_shard takes its shard's lock for each query. Example:
// tests/adapters/sqlite_query.cpp, examples/orders_sqlite.cpp; docs/adapters.md.
#pragma once

#include <sg/adapters/sql.hpp>
#include <sg/adapters/sqlite.hpp>
#include <sg/merge/hash_aggregate.hpp>
#include <sg/query/local.hpp>
#include <sg/query/order.hpp>
#include <sg/query/predicate.hpp>
#include <sg/query/query.hpp>

#include <boost/hana/at.hpp>
#include <boost/pfr/core.hpp>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

namespace sg::sqlite {

namespace detail {

// "name" with any " doubled: an SQL identifier.
inline std::string sql_identifier(std::string_view name) { return sql::quote_identifier(name); }

template <class T>
constexpr char const* sql_type_of() {
  if constexpr (sg::detail::is_optional<T>)
    return sql_type_of<typename T::value_type>();
  else if constexpr (std::is_integral_v<T>)
    return "INTEGER";
  else if constexpr (std::is_floating_point_v<T>)
    return "REAL";
  else if constexpr (std::is_same_v<T, std::string>)
    return "TEXT";
  else
    return "BLOB";
}

template <std::size_t I, class Row, bool Tuple = is_tuple<Row>>
struct field_type {
  using type = std::tuple_element_t<I, Row>;
};
template <std::size_t I, class Row>
struct field_type<I, Row, false> {
  using type = boost::pfr::tuple_element_t<I, Row>;
};
template <std::size_t I, class Row>
using field_t = typename field_type<I, Row>::type;

template <class Row>
constexpr auto field_indices = std::make_index_sequence<column_count<Row>()>{};

}  // namespace detail

// A table's description: its name and the names of its columns, in the order of Row's
// fields (a std::tuple's elements or an aggregate struct's members). `scan_order` is the
// SQL expression that orders the table's rows as sg reads them ("rowid": insertion order
// for a table sg filled; "" for none — then ties and a limit without order_by follow the
// database's order). Cheap to copy; immutable.
template <class Row>
class table {
  static_assert(detail::row_type_fits<Row>() && !detail::is_column<Row>,
                "sg::sqlite::table<Row>: Row must be a std::tuple or an aggregate struct of column types (an "
                "integer, bool, float, double, std::string, sg::sqlite::blob, or std::optional of one)");

 public:
  // Throws std::system_error(sg::errc::bad_input) when the names do not match Row's
  // fields one for one (count, empty or repeated names).
  table(std::string name, std::vector<std::string> columns, std::string scan_order = "rowid")
      : name_(std::move(name)), columns_(std::move(columns)), scan_order_(std::move(scan_order)) {
    const std::string who = "sg::sqlite::table \"" + name_ + "\": ";
    if (name_.empty()) detail::bad_input("sg::sqlite::table: the table name is empty");
    if (columns_.size() != detail::column_count<Row>())
      detail::bad_input(who + std::to_string(columns_.size()) + " column names for a row of " +
                        std::to_string(detail::column_count<Row>()) + " fields");
    for (std::size_t i = 0; i < columns_.size(); ++i) {
      if (columns_[i].empty()) detail::bad_input(who + detail::numbered("the name of column ", i) + " is empty");
      for (std::size_t j = 0; j < i; ++j)
        if (columns_[j] == columns_[i]) detail::bad_input(who + "the column name \"" + columns_[i] + "\" is given twice");
    }
  }

  std::string const& name() const noexcept { return name_; }
  std::vector<std::string> const& columns() const noexcept { return columns_; }
  std::string const& scan_order() const noexcept { return scan_order_; }

  // CREATE TABLE IF NOT EXISTS with each column's type from Row (INTEGER, REAL, TEXT or
  // BLOB; NOT NULL unless the field is a std::optional).
  std::string create_sql() const {
    std::string out = "CREATE TABLE IF NOT EXISTS " + detail::sql_identifier(name_) + " (";
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((out += (I == 0 ? "" : ", ") + detail::sql_identifier(columns_[I]) + " " +
               detail::sql_type_of<detail::field_t<I, Row>>() +
               (sg::detail::is_optional<detail::field_t<I, Row>> ? "" : " NOT NULL")),
       ...);
    }(detail::field_indices<Row>);
    return out + ")";
  }
  // INSERT INTO the table, one ? per column.
  std::string insert_sql() const {
    std::string out = "INSERT INTO " + detail::sql_identifier(name_) + " (";
    for (std::size_t i = 0; i < columns_.size(); ++i) out += (i == 0 ? "" : ", ") + detail::sql_identifier(columns_[i]);
    out += ") VALUES (";
    for (std::size_t i = 0; i < columns_.size(); ++i) out += i == 0 ? "?" : ", ?";
    return out + ")";
  }
  // Creates the table when missing.
  void create(connection& c) const { c.exec(create_sql()); }
  // Inserts `rows` (of type Row), all or none (connection::insert_all); how many.
  template <std::ranges::input_range Rows>
  std::size_t insert(connection& c, Rows&& rows) const {
    return c.insert_all(insert_sql(), std::forward<Rows>(rows));
  }

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

// --- functions sg registers in SQLite -----------------------------------------------------

// What a registered function reads while a query runs: set before each statement.
struct function_slot {
  void const* object = nullptr;          // the projection, predicate or aggregate
  void* sink = nullptr;                  // an aggregate's std::vector<State>
  void* scratch = nullptr;               // the Row the arguments are read into
  std::span<std::string const> names;    // the columns the arguments are
  std::exception_ptr error;              // what the C++ side threw
};

using scalar_fn = void (*)(::sqlite3_context*, int, ::sqlite3_value**);
using final_fn = void (*)(::sqlite3_context*);

// A function a rendered statement calls, with what its slot must hold.
struct function_binding {
  std::string name;
  int arguments = 0;
  scalar_fn func = nullptr;   // a scalar function, or
  scalar_fn step = nullptr;   // an aggregate's step
  final_fn final = nullptr;   // and final
  function_slot slot;
};

inline std::size_t next_function_type() {
  static std::atomic<std::size_t> n{0};
  return n.fetch_add(1, std::memory_order_relaxed);
}
// A number for each callback type, so each registered name stands for one C++ function.
template <class Tag>
std::size_t function_type() {
  static const std::size_t id = next_function_type();
  return id;
}

inline function_slot& slot_of(::sqlite3_context* ctx) noexcept {
  return *static_cast<function_slot*>(::sqlite3_user_data(ctx));
}

inline void failed_in(::sqlite3_context* ctx) noexcept {
  slot_of(ctx).error = std::current_exception();
  ::sqlite3_result_error(ctx, "sg: a projection, predicate or aggregate failed", -1);
}

// A C++ value as a function's SQL result.
template <class T>
void set_result(::sqlite3_context* ctx, T const& v) {
  if constexpr (sg::detail::is_optional<T>) {
    if (!v)
      ::sqlite3_result_null(ctx);
    else
      set_result(ctx, *v);
  } else if constexpr (std::is_same_v<T, bool>) {
    ::sqlite3_result_int64(ctx, v ? 1 : 0);
  } else if constexpr (std::is_integral_v<T>) {
    reject_character<T>();
    if (!std::in_range<std::int64_t>(v))
      bad_input("a projection gave " + std::to_string(v) + ", which does not fit SQLite's 64-bit signed integer");
    ::sqlite3_result_int64(ctx, static_cast<std::int64_t>(v));
  } else if constexpr (std::is_floating_point_v<T>) {
    if (v != v) bad_input("a projection gave NaN, which SQLite cannot hold (it would be NULL)");
    ::sqlite3_result_double(ctx, static_cast<double>(v));
  } else if constexpr (std::is_same_v<T, std::string>) {
    ::sqlite3_result_text64(ctx, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  } else {
    static_assert(std::is_same_v<T, blob>);
    ::sqlite3_result_blob64(ctx, v.data(), v.size(), SQLITE_TRANSIENT);
  }
}

// Reads a function's arguments — the row's columns — into the slot's Row and calls
// f(slot, row); what f throws becomes the function's error.
template <class Row, class F>
void with_row(::sqlite3_context* ctx, ::sqlite3_value** argv, F&& f) {
  function_slot& slot = slot_of(ctx);
  try {
    Row& row = *static_cast<Row*>(slot.scratch);
    read_row(argument_source{argv, slot.names}, row);
    f(slot, std::as_const(row));
  } catch (...) {
    failed_in(ctx);
  }
}

// A projection of the whole row, as an SQL value.
template <class Row, class P>
void call_projection(::sqlite3_context* ctx, int, ::sqlite3_value** argv) {
  with_row<Row>(ctx, argv, [&](function_slot const& slot, Row const& row) {
    set_result(ctx, std::invoke(*static_cast<P const*>(slot.object), row));
  });
}

// A predicate of the whole row: 1, 0, or NULL for UNKNOWN.
template <class Row, class P>
void call_predicate(::sqlite3_context* ctx, int, ::sqlite3_value** argv) {
  with_row<Row>(ctx, argv, [&](function_slot const& slot, Row const& row) {
    const truth t = static_cast<P const*>(slot.object)->truth_of(row);
    if (t == truth::unknown)
      ::sqlite3_result_null(ctx);
    else
      ::sqlite3_result_int64(ctx, t == truth::yes ? 1 : 0);
  });
}

// Whether projection P reads one field of Row that SQL can name.
template <class Row, class P>
inline constexpr bool is_field = false;
template <class Row, class M>
  requires is_column<M>
inline constexpr bool is_field<Row, M Row::*> = !is_tuple<Row>;
template <class Row, class P>
inline constexpr bool is_field<Row, named_column<P>> = is_field<Row, P>;
template <class Row, std::size_t I>
inline constexpr bool is_field<Row, col_fn<I>> = is_tuple<Row> && (I < column_count<Row>());

template <class Row, class P>
std::optional<std::size_t> field_index(table<Row> const& t, P const& p) {
  if constexpr (!is_field<Row, P>)
    return std::nullopt;
  else if constexpr (std::is_member_object_pointer_v<P>)
    return t.field_of(p);
  else if constexpr (requires { p.proj; })
    return field_index(t, p.proj);
  else
    return P::index;
}

// Reads argument i into the field p reads (is_field<Row, P>).
template <class Row, class P>
void read_field(argument_source const& src, int i, Row& row, P const& p) {
  if constexpr (std::is_member_object_pointer_v<P>)
    read(src, i, row.*p);
  else if constexpr (requires { p.proj; })
    read_field(src, i, row, p.proj);
  else
    read(src, i, std::get<P::index>(row));
}

// How an aggregate's function gets its rows: no column, the one field it reads, or all.
enum class fold_input { none, field, row };

template <class Row, class A>
constexpr fold_input input_of() {
  if constexpr (!requires(A const& a) { a.proj; })
    return fold_input::none;
  else if constexpr (is_field<Row, std::remove_cvref_t<decltype(std::declval<A const&>().proj)>>)
    return fold_input::field;
  else
    return fold_input::row;
}

// An aggregate function: the group's state is the aggregate's own, kept in the slot's
// vector of states; the SQL result is its index there.
template <class Row, class A, fold_input Input>
void fold_step(::sqlite3_context* ctx, int, ::sqlite3_value** argv) {
  using state = agg::state_t<A, Row>;
  function_slot& slot = slot_of(ctx);
  try {
    auto* cell = static_cast<std::int64_t*>(::sqlite3_aggregate_context(ctx, sizeof(std::int64_t)));
    if (cell == nullptr) {
      ::sqlite3_result_error_nomem(ctx);
      return;
    }
    auto& states = *static_cast<std::vector<state>*>(slot.sink);
    A const& a = *static_cast<A const*>(slot.object);
    if (*cell == 0) {
      states.push_back(a.template init<Row>());
      *cell = static_cast<std::int64_t>(states.size());
    }
    Row& row = *static_cast<Row*>(slot.scratch);
    if constexpr (Input == fold_input::field)
      read_field(argument_source{argv, slot.names}, 0, row, a.proj);
    else if constexpr (Input == fold_input::row)
      read_row(argument_source{argv, slot.names}, row);
    a.update(states[static_cast<std::size_t>(*cell - 1)], std::as_const(row));
  } catch (...) {
    failed_in(ctx);
  }
}

inline void fold_final(::sqlite3_context* ctx) {
  auto* cell = static_cast<std::int64_t*>(::sqlite3_aggregate_context(ctx, 0));
  if (cell == nullptr || *cell == 0)
    ::sqlite3_result_null(ctx);
  else
    ::sqlite3_result_int64(ctx, *cell - 1);
}

template <class Kind, class Row, class X, fold_input Input = fold_input::row>
struct callback_tag {};

// --- rendering ----------------------------------------------------------------------------

// A bound parameter (sg/adapters/sql.hpp).
using param = sql::param;

struct kind_projection {};
struct kind_predicate {};
struct kind_fold {};

// The host of sg::sql::writer for a query over one table: which projections are the
// table's columns, and the functions (projections, predicates, aggregates) sg registers
// for what SQL cannot say. One per statement, with the statement's writer.
template <class Row>
class renderer {
 public:
  renderer(table<Row> const& t, Row* scratch) : table_(t), scratch_(scratch) {}

  // The statement's parameters and SQL text (SQLite's dialect of sg::sql).
  sql::writer<sql::sqlite_dialect> w;
  std::vector<function_binding> functions;

  sql::table_ref table_ref() const { return {table_.name(), table_.columns(), table_.scan_order()}; }

  std::string all_columns() const { return sql::writer<sql::sqlite_dialect>::column_list(table_ref()); }

  // sg::sql's host: the column a projection reads, if it is one of the table's.
  template <class P>
  std::optional<std::string> column(P const& p) const {
    if (auto f = field_index(table_, p)) return table_.columns()[*f];
    return std::nullopt;
  }

  // sg::sql's host: a projection that is no column, as a function computing it.
  template <class P>
  std::string projection(P const& p) {
    using value = agg::projected_t<P, Row>;
    static_assert(is_column<value>,
                  "sg::sqlite: a projection that is not a column must give a column type (an integer, bool, "
                  "float, double, std::string, sg::sqlite::blob, or std::optional of one)");
    return call<kind_projection, P>(&call_projection<Row, P>, nullptr, nullptr, &p, nullptr, fold_input::row);
  }

  // sg::sql's host: a predicate node SQL cannot express here, as a function sg evaluates.
  template <class P>
  std::string opaque(P const& p) {
    return leaf(p);
  }

  // A predicate as an SQL condition.
  template <class P>
  std::string condition(P const& p) {
    return w.condition<Row>(*this, p);
  }

  // An aggregate as an SQL aggregate function giving the index of its state in `sink`.
  template <class A>
  std::string fold(A const& a, std::vector<agg::state_t<A, Row>>* sink) {
    constexpr fold_input input = input_of<Row, A>();
    std::optional<std::size_t> field;
    if constexpr (input == fold_input::field) field = field_index(table_, a.proj);
    if (input == fold_input::field && !field) return call<kind_fold, A>(nullptr, &fold_step<Row, A, fold_input::row>, &fold_final, &a, sink, fold_input::row);
    return call<kind_fold, A>(nullptr, &fold_step<Row, A, input>, &fold_final, &a, sink, input, field);
  }

 private:
  template <class P>
  std::string leaf(P const& p) {
    return call<kind_predicate, P>(&call_predicate<Row, P>, nullptr, nullptr, &p, nullptr, fold_input::row);
  }

  // name(arguments) for a function of this statement, recorded in `functions`.
  template <class Kind, class X>
  std::string call(scalar_fn func, scalar_fn step, final_fn final, void const* object, void* sink, fold_input input,
                   std::optional<std::size_t> field = std::nullopt) {
    function_binding b;
    const std::size_t type =
        input == fold_input::row     ? function_type<callback_tag<Kind, Row, X, fold_input::row>>()
        : input == fold_input::field ? function_type<callback_tag<Kind, Row, X, fold_input::field>>()
                                     : function_type<callback_tag<Kind, Row, X, fold_input::none>>();
    b.name = numbered("sg_f", type);
    b.name += numbered("_", functions.size());
    b.func = func;
    b.step = step;
    b.final = final;
    b.slot.object = object;
    b.slot.sink = sink;
    b.slot.scratch = scratch_;
    std::string args;
    if (input == fold_input::row) {
      b.arguments = static_cast<int>(table_.columns().size());
      b.slot.names = table_.columns();
      args = all_columns();
    } else if (input == fold_input::field) {
      b.arguments = 1;
      b.slot.names = std::span<std::string const>(table_.columns()).subspan(*field, 1);
      args = sql_identifier(table_.columns()[*field]);
    }
    std::string out = b.name + "(" + args + ")";
    functions.push_back(std::move(b));
    return out;
  }

  table<Row> const& table_;
  Row* scratch_;
};

template <class States>
struct sinks_of;
template <class... S>
struct sinks_of<std::tuple<S...>> {
  using type = std::tuple<std::vector<S>...>;
};

// Binds `params` to the statement's ?1, ?2, ... (SQLite's dialect writes only scalars).
inline void bind_params(statement& st, std::vector<param> const& params) {
  ::sqlite3_stmt* stmt = st.native_handle();
  ::sqlite3_reset(stmt);
  ::sqlite3_clear_bindings(stmt);
  int i = 0;
  for (auto const& p : params) {
    ++i;
    std::visit([&](auto const& v) {
      using V = std::remove_cvref_t<decltype(v)>;
      if constexpr (std::is_same_v<V, bool>)
        bind_one(::sqlite3_db_handle(stmt), stmt, i, std::int64_t{v ? 1 : 0});
      else if constexpr (std::is_same_v<V, std::int64_t> || std::is_same_v<V, double> || std::is_same_v<V, std::string> ||
                         std::is_same_v<V, blob>)
        bind_one(::sqlite3_db_handle(stmt), stmt, i, v);
      else
        bad_input(numbered("parameter ", i) + " is an array, which SQLite cannot bind");
    }, p);
  }
}

}  // namespace detail

// A shard over one SQLite database that answers typed queries on one table (and raw SQL
// requests, as sg::sqlite::shard does). Movable (not while a query may use it).
template <class Row>
class table_shard {
 public:
  table_shard(shard s, table<Row> t) : shard_(std::move(s)), table_(std::move(t)) {}
  table_shard(std::string const& path, table<Row> t, open_options const& o = {})
      : shard_(path, o), table_(std::move(t)) {}

  sg::sqlite::table<Row> const& table() const noexcept { return table_; }
  shard& database() noexcept { return shard_; }

  // A raw SQL request, as sg::sqlite::shard answers it.
  template <class R, class Map, class... P>
  std::vector<R> execute(sql_request<R, Map, P...> const& r) {
    return shard_.execute(r);
  }

  // What sg::local::run(q, rows) gives for this table's rows in its scan order: rows for
  // a row query, the partial table of a grouped one, finished rows for groups_colocated().
  template <class Q>
    requires sg::is_query<Q>
  auto execute(Q const& q) {
    if constexpr (sg::local::detail::check<Q, Row>()) {
      return shard_.with_connection([&](connection& c) { return run(c, q); });
    }
  }

  // The SELECT that execute(q) runs (its functions named sg_f...), for a log or a test.
  template <class Q>
    requires sg::is_query<Q>
  std::string sql_of(Q const& q) const {
    Row scratch{};
    detail::renderer<Row> r(table_, &scratch);
    if constexpr (Q::grouped) {
      typename detail::sinks_of<typename Q::template states_type<Row>>::type sinks;
      return grouped_sql(q, r, sinks);
    } else {
      return rows_sql(q, r);
    }
  }

 private:
  // Row queries: ORDER BY the sort keys then the scan order, DISTINCT as GROUP BY every
  // column ordered by each group's first row, LIMIT offset + n (sg::sql::writer).
  template <class Q>
  std::string rows_sql(Q const& q, detail::renderer<Row>& r) const {
    return r.w.template rows_select<Row>(r, q, r.table_ref());
  }

  // Grouped queries: the keys, then each aggregate's state index from sg's own fold.
  template <class Q, class Sinks>
  std::string grouped_sql(Q const& q, detail::renderer<Row>& r, Sinks& sinks) const {
    return r.w.template grouped_select<Row>(r, q, r.table_ref(), [&](auto const& a, auto i) {
      return r.fold(a, &std::get<decltype(i)::value>(sinks));
    });
  }

  template <class Q>
  auto run(connection& c, Q const& q) {
    check_columns(c);
    Row scratch{};
    detail::renderer<Row> r(table_, &scratch);
    if constexpr (has_clause<decltype(q.where_part)>) {
      // A WHERE whose IN lists would bind more parameters than the connection takes
      // (SQLite refuses the statement: "too many SQL variables") has sg match its lists.
      detail::renderer<Row> probe(table_, &scratch);
      (void)probe.condition(q.where_part.predicate);
      const int limit = ::sqlite3_limit(c.native_handle(), SQLITE_LIMIT_VARIABLE_NUMBER, -1);
      r.w.bind_lists = probe.w.params.size() + 1 <= static_cast<std::size_t>(std::max(limit, 0));  // + LIMIT's
    }
    if constexpr (!Q::grouped) {
      const std::string sql = rows_sql(q, r);
      return step(c, sql, r, [](statement& st) { return st.template rows<Row>(); });
    } else {
      using key = typename Q::template key_type<Row>;
      using states = typename Q::template states_type<Row>;
      static_assert([]<class... K>(std::type_identity<std::tuple<K...>>) {
        return (true && ... && detail::is_column<K>);
      }(std::type_identity<key>{}), "sg::sqlite: each sg::group_by key must give a column type (an integer, bool, "
                                    "float, double, std::string, sg::sqlite::blob, or std::optional of one)");
      typename detail::sinks_of<states>::type sinks;
      const std::string sql = grouped_sql(q, r, sinks);
      auto table = step(c, sql, r, [&](statement& st) { return read_groups<key, states>(st, sinks); });
      if constexpr (Q::two_phase) {
        return table;
      } else {
        auto acc = sg::local::detail::owner_accumulator<key, states>(q);
        acc.add(0, std::move(table));
        return std::move(acc).finish();
      }
    }
  }

  // Prepares and binds `sql`, registers its functions, and reads it with `read`; an
  // exception a function caught is rethrown in place of SQLite's report of it.
  template <class Read>
  auto step(connection& c, std::string const& sql, detail::renderer<Row>& r, Read&& read) {
    std::vector<detail::function_slot*> used;
    for (auto& b : r.functions) {
      auto& slot = functions_[b.name];
      if (!slot) {
        slot = std::make_unique<detail::function_slot>();
        const int rc = ::sqlite3_create_function_v2(
            c.native_handle(), b.name.c_str(), b.arguments,
            SQLITE_UTF8 | (b.func != nullptr ? SQLITE_DETERMINISTIC : 0), slot.get(), b.func, b.step, b.final, nullptr);
        if (rc != SQLITE_OK) {
          functions_.erase(b.name);
          detail::fail(c.native_handle(), rc, "registering the function " + b.name);
        }
      }
      *slot = b.slot;
      used.push_back(slot.get());
    }
    statement& st = c.prepare(sql);
    detail::bind_params(st, r.w.params);
    try {
      return read(st);
    } catch (std::system_error const&) {
      for (auto* s : used)
        if (s->error) std::rethrow_exception(std::exchange(s->error, nullptr));
      throw;
    }
  }

  template <class Key, class States, class Sinks>
  static std::vector<merge::partial_group<Key, States>> read_groups(statement& st, Sinks& sinks) {
    constexpr std::size_t keys = std::tuple_size_v<Key>;
    constexpr std::size_t aggs = std::tuple_size_v<States>;
    ::sqlite3_stmt* stmt = st.native_handle();
    const detail::column_source src{stmt};
    std::vector<merge::partial_group<Key, States>> out;
    st.each_row([&] {
      if constexpr (keys == 0) {
        if (::sqlite3_column_int64(stmt, static_cast<int>(aggs)) == 0) return;
      }
      auto state = [&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
        auto& sink = std::get<I>(sinks);
        const int col = static_cast<int>(keys + I);
        const std::int64_t at = ::sqlite3_column_int64(stmt, col);
        if (::sqlite3_column_type(stmt, col) != SQLITE_INTEGER || at < 0 || static_cast<std::size_t>(at) >= sink.size())
          detail::bad_input("an aggregate's function gave no state for a group");
        return std::move(sink[static_cast<std::size_t>(at)]);
      };
      Key key;
      [&]<std::size_t... I>(std::index_sequence<I...>) {
        (detail::read(src, static_cast<int>(I), std::get<I>(key)), ...);
      }(std::make_index_sequence<keys>{});
      out.push_back({std::move(key), [&]<std::size_t... I>(std::index_sequence<I...>) {
                       return States(state(std::integral_constant<std::size_t, I>{})...);
                     }(std::make_index_sequence<aggs>{})});
    });
    return out;
  }

  // Refuses, once, a table description naming a column the database lacks: SQLite would
  // read a double-quoted unknown name as a string.
  void check_columns(connection& c) {
    if (checked_) return;
    auto have = c.rows<std::string>("SELECT name FROM pragma_table_info(?)", table_.name());
    const std::string who = "sg::sqlite::table \"" + table_.name() + "\": ";
    if (have.empty()) detail::bad_input(who + "the database has no table or view of that name");
    for (auto const& col : table_.columns()) {
      if (std::find(have.begin(), have.end(), col) == have.end()) {
        std::string list;
        for (auto const& h : have) list += (list.empty() ? "" : ", ") + h;
        detail::bad_input(who + "the database has no column \"" + col + "\" (its columns: " + list + ")");
      }
    }
    checked_ = true;
  }

  shard shard_;
  sg::sqlite::table<Row> table_;
  std::unordered_map<std::string, std::unique_ptr<detail::function_slot>> functions_;
  bool checked_ = false;
};

}  // namespace sg::sqlite
