// sg/adapters/sqlite.hpp — SQLite as a shard store (CMake target sg::sqlite, which links
// libsqlite3). A shard over one SQLite database (a file or ":memory:") answers SQL text
// with bound parameters as typed rows:
//
//   sg::sqlite::shard east("east.db"), west("west.db");
//   std::vector<sg::sqlite::shard*> shards{&east, &west};
//   auto pipe = sg::scatter(shards) | sg::gather(sg::merge::concat());
//   auto r = pipe(sg::sqlite::sql<std::tuple<std::int64_t, double>>(
//       "SELECT id, amount FROM orders WHERE amount > ?", 100.0));
//
// Rows. A row type is a std::tuple of column types, an aggregate struct whose fields are
// the columns in order (read through Boost.PFR), or a single column type; or a mapper
// `Row(sg::sqlite::row_view const&)` passed first to sql(). A column type is an integer
// (range-checked), bool, float or double, std::string, sg::sqlite::blob, or std::optional
// of one of those for a column that may be NULL. A NULL into a non-optional, a REAL into an
// integer, TEXT into a number, a value out of the type's range, or a column count that
// differs from the row type's is an error that names the column — never a silent default.
// Parameters bind integers, bool, floating point, strings, blobs, std::nullopt / nullptr
// (NULL) and std::optional; an unsigned value above INT64_MAX is an error, and so is a
// NaN: SQLite has no NaN (it binds and stores one as NULL, which would change a value
// into a missing one; docs/reliability.md, "Floating-point order"). ±inf bind as they
// are; -0.0 binds, but a REAL column stores it as 0.0.
//
// Errors. Every SQLite failure throws std::system_error with a code in
// sg::sqlite::category() (the extended result code) and SQLite's own message; in a
// pipeline it becomes the shard's sg::shard_failure. is_busy(ec) says whether a retry can
// help (SQLITE_BUSY, SQLITE_LOCKED): pass
//   [](std::error_code ec) { return sg::sqlite::is_busy(ec) || sg::default_retryable(ec); }
// as sg::retry's retryable predicate.
//
// Threads. A connection is used by one thread at a time (SQLite's multi-thread mode, no
// library-wide mutex). A shard owns one connection and a mutex: calls to one shard from
// concurrent queries take turns; different shards (different connections) run in
// parallel on a pool. Prepared statements are cached per connection (up to 64).
// Example: tests/adapters/sqlite.cpp, examples/orders_sqlite.cpp; docs/adapters.md.
#pragma once

#include <sg/adapters/detail/columns.hpp>
#include <sg/detail/type_traits.hpp>
#include <sg/error.hpp>

#include <boost/pfr/core.hpp>
#include <sqlite3.h>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace sg::sqlite {

// --- errors -----------------------------------------------------------------------------

namespace detail {

// A character type is neither an INTEGER nor TEXT for certain, so sg does not guess.
template <class T>
constexpr void reject_character() {
  static_assert(!sg::detail::is_character<T>,
                "sg::sqlite: a char (or wchar_t, char8_t, char16_t, char32_t) column or value could be an INTEGER "
                "or TEXT: use std::int8_t or std::uint8_t for a number, std::string for text");
}

class category_impl final : public std::error_category {
 public:
  char const* name() const noexcept override { return "sqlite"; }
  std::string message(int code) const override { return ::sqlite3_errstr(code); }
  std::error_condition default_error_condition(int code) const noexcept override {
    switch (code & 0xff) {
      case SQLITE_BUSY:
      case SQLITE_LOCKED: return std::errc::device_or_resource_busy;
      case SQLITE_NOMEM: return std::errc::not_enough_memory;
      case SQLITE_PERM:
      case SQLITE_AUTH:
      case SQLITE_READONLY: return std::errc::permission_denied;
      case SQLITE_FULL: return std::errc::no_space_on_device;
      case SQLITE_INTERRUPT: return std::errc::operation_canceled;
      case SQLITE_IOERR: return std::errc::io_error;
      default: return {code, *this};
    }
  }
};

}  // namespace detail

// The category of SQLite's result codes (extended codes included).
inline std::error_category const& category() noexcept {
  static const detail::category_impl instance;
  return instance;
}

inline std::error_code make_error_code(int sqlite_result) noexcept { return {sqlite_result, category()}; }

// SQLITE_BUSY or SQLITE_LOCKED (another connection holds a lock): worth a retry.
inline bool is_busy(std::error_code const& ec) noexcept {
  return ec.category() == category() && ((ec.value() & 0xff) == SQLITE_BUSY || (ec.value() & 0xff) == SQLITE_LOCKED);
}

// A column's value as SQLite stores it: bytes.
using blob = adapters::detail::blob;

namespace detail {

using adapters::detail::column_count;
using adapters::detail::is_column;
using adapters::detail::is_tuple;
using adapters::detail::numbered;
using adapters::detail::row_type_fits;

// The tag of this adapter's requests.
struct adapter_tag {};

[[noreturn]] inline void fail(::sqlite3* db, int rc, std::string_view what) {
  std::string text(what);
  text += ": ";
  text += db != nullptr ? ::sqlite3_errmsg(db) : ::sqlite3_errstr(rc);
  throw std::system_error(make_error_code(db != nullptr ? ::sqlite3_extended_errcode(db) : rc), text);
}

[[noreturn]] inline void bad_input(std::string text) {
  throw std::system_error(sg::make_error_code(errc::bad_input), "sg::sqlite: " + text);
}

inline std::string column_label(::sqlite3_stmt* stmt, int i) {
  char const* name = ::sqlite3_column_name(stmt, i);
  return numbered("column ", i) + (name != nullptr ? std::string(" (") + name + ")" : std::string());
}

// Where values are read from: the columns of a statement's current row, or the arguments
// of a function sg registers in SQLite (sg/adapters/sqlite_query.hpp). Each names value i
// for an error message.
struct column_source {
  ::sqlite3_stmt* stmt;
  int type(int i) const noexcept { return ::sqlite3_column_type(stmt, i); }
  std::int64_t integer(int i) const noexcept { return ::sqlite3_column_int64(stmt, i); }
  double real(int i) const noexcept { return ::sqlite3_column_double(stmt, i); }
  std::string_view text(int i) const noexcept {
    auto const* p = reinterpret_cast<char const*>(::sqlite3_column_text(stmt, i));
    return {p, static_cast<std::size_t>(::sqlite3_column_bytes(stmt, i))};
  }
  std::span<std::byte const> bytes(int i) const noexcept {
    auto const* p = static_cast<std::byte const*>(::sqlite3_column_blob(stmt, i));
    return {p, static_cast<std::size_t>(::sqlite3_column_bytes(stmt, i))};
  }
  std::string label(int i) const { return column_label(stmt, i); }
};

struct argument_source {
  ::sqlite3_value** argv;
  std::span<std::string const> names;  // the columns the arguments are, in order
  int type(int i) const noexcept { return ::sqlite3_value_type(argv[i]); }
  std::int64_t integer(int i) const noexcept { return ::sqlite3_value_int64(argv[i]); }
  double real(int i) const noexcept { return ::sqlite3_value_double(argv[i]); }
  std::string_view text(int i) const noexcept {
    auto const* p = reinterpret_cast<char const*>(::sqlite3_value_text(argv[i]));
    return {p, static_cast<std::size_t>(::sqlite3_value_bytes(argv[i]))};
  }
  std::span<std::byte const> bytes(int i) const noexcept {
    auto const* p = static_cast<std::byte const*>(::sqlite3_value_blob(argv[i]));
    return {p, static_cast<std::size_t>(::sqlite3_value_bytes(argv[i]))};
  }
  std::string label(int i) const {
    return static_cast<std::size_t>(i) < names.size() ? "column " + names[static_cast<std::size_t>(i)]
                                                       : numbered("argument ", i);
  }
};

// Reads value i of `src` into `out` (the column rules at the top of this file).
template <class Source, class T>
void read(Source const& src, int i, T& out) {
  const int type = src.type(i);
  if constexpr (sg::detail::is_optional<T>) {
    if (type == SQLITE_NULL) {
      out.reset();
    } else {
      typename T::value_type v{};
      read(src, i, v);
      out = std::move(v);
    }
    return;
  } else {
    auto wrong = [&](char const* want) {
      static constexpr char const* names[] = {"", "an INTEGER", "a REAL", "TEXT", "a BLOB", "NULL"};
      bad_input(src.label(i) + " holds " + names[type] + ", which does not convert to " + want +
                (type == SQLITE_NULL ? " (read it into a std::optional)" : ""));
    };
    if constexpr (std::is_same_v<T, bool>) {
      if (type != SQLITE_INTEGER) wrong("bool");
      const auto v = src.integer(i);
      if (v != 0 && v != 1) bad_input(src.label(i) + " holds " + std::to_string(v) + ", not a bool (0 or 1)");
      out = v == 1;
    } else if constexpr (std::is_integral_v<T>) {
      reject_character<T>();
      if (type != SQLITE_INTEGER) wrong("an integer");
      const std::int64_t v = src.integer(i);
      if (!std::in_range<T>(v))
        bad_input(src.label(i) + " holds " + std::to_string(v) + ", out of the range of its integer type");
      out = static_cast<T>(v);
    } else if constexpr (std::is_floating_point_v<T>) {
      if (type != SQLITE_FLOAT && type != SQLITE_INTEGER) wrong("a floating-point number");
      out = static_cast<T>(src.real(i));
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (type != SQLITE_TEXT) wrong("a string");
      out.assign(src.text(i));
    } else {
      static_assert(std::is_same_v<T, blob>);
      if (type != SQLITE_BLOB && type != SQLITE_TEXT) wrong("a blob");
      const auto b = src.bytes(i);
      out.assign(b.begin(), b.end());
    }
  }
}

}  // namespace detail

// The current row of a statement, for a row mapper: get<T>(i) reads column i as T (the
// column rules at the top of this file).
class row_view {
 public:
  explicit row_view(::sqlite3_stmt* stmt) noexcept : stmt_(stmt) {}
  int size() const noexcept { return ::sqlite3_column_count(stmt_); }
  bool is_null(int i) const noexcept { return ::sqlite3_column_type(stmt_, i) == SQLITE_NULL; }
  std::string_view name(int i) const noexcept {
    char const* n = ::sqlite3_column_name(stmt_, i);
    return n != nullptr ? n : "";
  }
  template <class T>
  T get(int i) const {
    static_assert(detail::is_column<T>, "sg::sqlite::row_view::get<T>: T is not a column type (an integer, bool, "
                                        "float, double, std::string, sg::sqlite::blob, or std::optional of one)");
    if (i < 0 || i >= size()) detail::bad_input(detail::numbered("no column ", i) + " in a row of " + std::to_string(size()));
    T out{};
    detail::read(detail::column_source{stmt_}, i, out);
    return out;
  }

 private:
  ::sqlite3_stmt* stmt_;
};

namespace detail {

// Reads values 0, 1, ... of `src` into the fields of `row`.
template <class Source, class Row>
void read_row(Source const& src, Row& row) {
  adapters::detail::for_each_column(row, [&](auto& field, std::size_t i) { read(src, static_cast<int>(i), field); });
}

template <class Row>
Row read_row(::sqlite3_stmt* stmt) {
  Row row{};
  read_row(column_source{stmt}, row);
  return row;
}

// --- binding ----------------------------------------------------------------------------

template <class T>
void bind_one(::sqlite3* db, ::sqlite3_stmt* stmt, int i, T const& v) {
  int rc = SQLITE_OK;
  if constexpr (std::is_same_v<T, std::nullopt_t> || std::is_same_v<T, std::nullptr_t>) {
    rc = ::sqlite3_bind_null(stmt, i);
  } else if constexpr (sg::detail::is_optional<T>) {
    if (!v) {
      rc = ::sqlite3_bind_null(stmt, i);
    } else {
      bind_one(db, stmt, i, *v);
      return;
    }
  } else if constexpr (std::is_same_v<T, bool>) {
    rc = ::sqlite3_bind_int64(stmt, i, v ? 1 : 0);
  } else if constexpr (std::is_integral_v<T>) {
    reject_character<T>();
    if (!std::in_range<std::int64_t>(v))
      bad_input(numbered("parameter ", i) + " (" + std::to_string(v) +
                ") does not fit SQLite's 64-bit signed integer");
    rc = ::sqlite3_bind_int64(stmt, i, static_cast<std::int64_t>(v));
  } else if constexpr (std::is_floating_point_v<T>) {
    if (v != v)
      bad_input(numbered("parameter ", i) +
                " is NaN, which SQLite cannot hold: it would bind (and store) NULL instead");
    rc = ::sqlite3_bind_double(stmt, i, static_cast<double>(v));
  } else if constexpr (std::is_convertible_v<T const&, std::string_view>) {
    const std::string_view s = v;
    rc = ::sqlite3_bind_text64(stmt, i, s.data(), s.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  } else if constexpr (std::is_same_v<T, blob>) {
    rc = ::sqlite3_bind_blob64(stmt, i, v.data(), v.size(), SQLITE_TRANSIENT);
  } else {
    static_assert(sg::detail::always_false<T>,
                  "sg::sqlite: a parameter must be an integer, bool, floating point, string, "
                  "sg::sqlite::blob, std::nullopt, nullptr or std::optional of one");
  }
  if (rc != SQLITE_OK) fail(db, rc, numbered("binding parameter ", i));
}

}  // namespace detail

// --- statements and connections -----------------------------------------------------------

// One prepared statement (move-only). Bind, then read rows or run it to the end.
class statement {
 public:
  statement() = default;
  statement(::sqlite3* db, std::string_view text) : db_(db) {
    char const* tail = nullptr;
    int rc = ::sqlite3_prepare_v3(db, text.data(), static_cast<int>(text.size()), SQLITE_PREPARE_PERSISTENT, &stmt_,
                                  &tail);
    if (rc != SQLITE_OK) detail::fail(db, rc, "preparing \"" + std::string(text) + "\"");
    if (stmt_ == nullptr) detail::bad_input("the SQL text \"" + std::string(text) + "\" holds no statement");
    // A second statement would be ignored silently: refuse it (connection::exec runs scripts).
    const std::string_view rest = text.substr(static_cast<std::size_t>(tail - text.data()));
    if (rest.find_first_not_of(" \t\r\n;") != std::string_view::npos) {
      ::sqlite3_finalize(std::exchange(stmt_, nullptr));
      detail::bad_input("the SQL text \"" + std::string(text) +
                        "\" holds more than one statement (connection::exec runs several)");
    }
  }
  statement(statement&& o) noexcept : db_(std::exchange(o.db_, nullptr)), stmt_(std::exchange(o.stmt_, nullptr)) {}
  statement& operator=(statement&& o) noexcept {
    if (this != &o) {
      ::sqlite3_finalize(stmt_);
      db_ = std::exchange(o.db_, nullptr);
      stmt_ = std::exchange(o.stmt_, nullptr);
    }
    return *this;
  }
  ~statement() { ::sqlite3_finalize(stmt_); }

  // Resets the statement and binds `params` to ?1, ?2, ... (their count must match).
  template <class... P>
  statement& bind(P const&... params) {
    ::sqlite3_reset(stmt_);
    ::sqlite3_clear_bindings(stmt_);
    const int want = ::sqlite3_bind_parameter_count(stmt_);
    if (want != static_cast<int>(sizeof...(P)))
      detail::bad_input("the statement \"" + std::string(::sqlite3_sql(stmt_)) + "\" takes " + std::to_string(want) +
                        " parameters, but " + std::to_string(sizeof...(P)) + " were given");
    int i = 0;
    (detail::bind_one(db_, stmt_, ++i, params), ...);
    return *this;
  }

  // Runs the bound statement to its end; the rows it changed (INSERT, UPDATE, DELETE).
  std::int64_t run() {
    while (step()) {
    }
    return ::sqlite3_changes64(db_);
  }

  // Every row of the bound statement, each read as Row (see the top of this file).
  template <class Row>
  std::vector<Row> rows() {
    static_assert(detail::row_type_fits<Row>(),
                  "sg::sqlite: Row must be a std::tuple of column types, an aggregate struct of them, or one "
                  "column type (an integer, bool, float, double, std::string, sg::sqlite::blob, or std::optional "
                  "of one)");
    check_columns(detail::column_count<Row>());
    std::vector<Row> out;
    each_row([&] { out.push_back(detail::read_row<Row>(stmt_)); });
    return out;
  }

  // Every row, each mapped by `map(row_view const&)`.
  template <class Map>
  auto rows(Map const& map) {
    std::vector<std::remove_cvref_t<std::invoke_result_t<Map const&, row_view const&>>> out;
    each_row([&] { out.push_back(std::invoke(map, row_view(stmt_))); });
    return out;
  }

  // Calls f() at each row of the bound statement. When f throws, the statement is reset
  // first (so it holds no read transaction open), then the exception goes on.
  template <class F>
  void each_row(F&& f) {
    try {
      while (step()) f();
    } catch (...) {
      ::sqlite3_reset(stmt_);
      throw;
    }
  }

  // Steps once: true when a row is ready.
  bool step() {
    const int rc = ::sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    ::sqlite3_reset(stmt_);
    detail::fail(db_, rc, "running \"" + std::string(::sqlite3_sql(stmt_)) + "\"");
  }

  ::sqlite3_stmt* native_handle() const noexcept { return stmt_; }

 private:
  void check_columns(std::size_t want) const {
    const int got = ::sqlite3_column_count(stmt_);
    if (static_cast<std::size_t>(got) != want)
      detail::bad_input("the statement \"" + std::string(::sqlite3_sql(stmt_)) + "\" gives " + std::to_string(got) +
                        " columns, but the row type has " + std::to_string(want));
  }

  ::sqlite3* db_ = nullptr;
  ::sqlite3_stmt* stmt_ = nullptr;
};

// How a connection opens its database.
struct open_options {
  bool read_only = false;
  bool create = true;                     // create the file when missing (not with read_only)
  int busy_timeout_ms = 5000;             // wait this long for another connection's lock
  bool wal = false;                       // PRAGMA journal_mode = WAL (readers beside a writer)
};

// One SQLite connection (move-only; one thread at a time — see the top of this file).
class connection {
 public:
  explicit connection(std::string const& path, open_options const& o = {}) {
    int flags = SQLITE_OPEN_NOMUTEX | (o.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE);
    if (o.create && !o.read_only) flags |= SQLITE_OPEN_CREATE;
    const int rc = ::sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
      std::string text = "opening \"" + path + "\": " + (db_ != nullptr ? ::sqlite3_errmsg(db_) : ::sqlite3_errstr(rc));
      ::sqlite3_close_v2(db_);
      db_ = nullptr;
      throw std::system_error(make_error_code(rc), text);
    }
    ::sqlite3_extended_result_codes(db_, 1);
    ::sqlite3_busy_timeout(db_, o.busy_timeout_ms);
    if (o.wal) exec("PRAGMA journal_mode = WAL");
  }
  connection(connection&& o) noexcept : db_(std::exchange(o.db_, nullptr)), cache_(std::move(o.cache_)) {}
  connection& operator=(connection&& o) noexcept {
    if (this != &o) {
      close();
      db_ = std::exchange(o.db_, nullptr);
      cache_ = std::move(o.cache_);
    }
    return *this;
  }
  ~connection() { close(); }

  // Runs SQL text that may hold several statements and gives no rows (DDL, PRAGMA).
  void exec(std::string const& sql) {
    char* message = nullptr;
    const int rc = ::sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
    if (rc != SQLITE_OK) {
      std::string text = "running \"" + sql + "\": " + (message != nullptr ? message : ::sqlite3_errstr(rc));
      ::sqlite3_free(message);
      throw std::system_error(make_error_code(::sqlite3_extended_errcode(db_)), text);
    }
  }

  // The cached prepared statement for `sql` (prepared on first use). The reference is
  // valid until this connection prepares another text or closes.
  statement& prepare(std::string const& sql) {
    if (auto at = cache_.find(sql); at != cache_.end()) return at->second;
    if (cache_.size() >= cache_limit) cache_.clear();
    return cache_.emplace(sql, statement(db_, sql)).first->second;
  }

  // Runs one statement with parameters; the rows it changed.
  template <class... P>
  std::int64_t run(std::string const& sql, P const&... params) {
    return prepare(sql).bind(params...).run();
  }

  // One statement's rows, each read as Row.
  template <class Row, class... P>
  std::vector<Row> rows(std::string const& sql, P const&... params) {
    return prepare(sql).bind(params...).template rows<Row>();
  }

  // Inserts every row of `rows` (tuples or aggregate structs) with the statement
  // `insert_sql` (one ? per field), all rows or none: in a savepoint, so also inside a
  // transaction of the caller's (whose own COMMIT or ROLLBACK then decides).
  template <std::ranges::input_range Rows>
  std::size_t insert_all(std::string const& insert_sql, Rows&& rows) {
    statement& st = prepare(insert_sql);
    exec("SAVEPOINT sg_insert_all");
    std::size_t n = 0;
    try {
      for (auto const& r : rows) {
        using row = std::remove_cvref_t<decltype(r)>;
        if constexpr (detail::is_tuple<row>)
          std::apply([&](auto const&... f) { st.bind(f...); }, r);
        else
          [&]<std::size_t... I>(std::index_sequence<I...>) {
            st.bind(boost::pfr::get<I>(r)...);
          }(std::make_index_sequence<boost::pfr::tuple_size_v<row>>{});
        st.run();
        ++n;
      }
      exec("RELEASE sg_insert_all");
    } catch (...) {
      ::sqlite3_exec(db_, "ROLLBACK TO sg_insert_all; RELEASE sg_insert_all", nullptr, nullptr, nullptr);
      throw;
    }
    return n;
  }

  ::sqlite3* native_handle() const noexcept { return db_; }

 private:
  static constexpr std::size_t cache_limit = 64;

  void close() noexcept {
    cache_.clear();  // statements first: a connection with live statements does not close
    ::sqlite3_close_v2(db_);
    db_ = nullptr;
  }

  ::sqlite3* db_ = nullptr;
  std::unordered_map<std::string, statement> cache_;
};

// --- requests and the shard -------------------------------------------------------------

// A request: SQL text, its parameters (held by value; strings copied) bound to the
// placeholders in order, and how a row is read — as Row, or through Map. Build it with
// sql<Row>(text, params...) or sql(map, text, params...).
template <class Row, class Map, class... P>
using sql_request = adapters::detail::sql_request<detail::adapter_tag, Row, Map, P...>;
using no_map = adapters::detail::no_map;

// A request whose rows are read as Row (a tuple, an aggregate struct, or one column).
template <class Row, class... P>
auto sql(std::string text, P&&... params) {
  static_assert(detail::row_type_fits<Row>(),
                "sg::sqlite::sql<Row>: Row must be a std::tuple of column types, an aggregate struct of them, or "
                "one column type (an integer, bool, float, double, std::string, sg::sqlite::blob, or "
                "std::optional of one)");
  return adapters::detail::row_request<detail::adapter_tag, Row>(std::move(text), std::forward<P>(params)...);
}

// A request whose rows are map(row_view const&).
template <class Map, class... P>
  requires std::invocable<Map const&, row_view const&>
auto sql(Map map, std::string text, P&&... params) {
  return adapters::detail::mapped_request<detail::adapter_tag, row_view>(std::move(map), std::move(text),
                                                                         std::forward<P>(params)...);
}

// A shard over one SQLite database: sg::execute(shard, sql<Row>(...)) gives the rows as a
// std::vector<Row>. Thread-safe (calls take turns on the one connection); movable, so
// shards live in a std::vector, but not while a query may use it.
class shard {
 public:
  explicit shard(std::string const& path, open_options const& o = {}) : conn_(path, o) {}
  explicit shard(connection conn) : conn_(std::move(conn)) {}

  template <class Row, class Map, class... P>
  std::vector<Row> execute(sql_request<Row, Map, P...> const& r) {
    std::lock_guard lock(*mutex_);
    statement& st = std::apply([&](auto const&... p) -> statement& { return conn_.prepare(r.text).bind(p...); },
                               r.params);
    if constexpr (std::is_same_v<Map, no_map>)
      return st.template rows<Row>();
    else
      return st.rows(r.map);
  }

  // f(connection&) under the shard's lock: what f returns. For work the requests above do
  // not cover (a transaction of several statements, a typed query's SQL).
  template <class F>
  decltype(auto) with_connection(F&& f) {
    std::lock_guard lock(*mutex_);
    return std::invoke(std::forward<F>(f), conn_);
  }

  // The connection, for loading and setup; not while the shard may be in a query.
  connection& connection_unlocked() noexcept { return conn_; }

 private:
  connection conn_;
  std::unique_ptr<std::mutex> mutex_ = std::make_unique<std::mutex>();
};

}  // namespace sg::sqlite
