// sg/adapters/postgres.hpp — PostgreSQL as an asynchronous shard (CMake target
// sg::postgres, which links libpq). A shard is one server: a connection string and a
// small pool of connections, driven by libpq's non-blocking API on an Asio executor.
//
//   boost::asio::io_context io;
//   std::vector<sg::postgres::shard> shards;
//   for (auto const& c : conninfos) shards.emplace_back(io.get_executor(), c);
//   auto pipe = sg::scatter(shards) | sg::with(sg::timeout{500ms}) | sg::on(io.get_executor()) |
//               sg::gather(sg::merge::concat());
//   pipe.async(sg::postgres::sql<std::tuple<std::int64_t, double>>(
//                  "SELECT id, amount FROM orders WHERE amount > $1", 100.0),
//              [](std::error_code ec, auto r) { ... });
//   io.run();
//
// A query: PQsendQueryParams (parameters as text, $1, $2, ...), flushed and read with
// PQflush / PQconsumeInput / PQisBusy / PQgetResult while Asio waits on PQsocket; a new
// connection is made with PQconnectStartParams / PQconnectPoll the same way, so no call
// blocks the executor. async_execute(req, token) completes with
// void(std::exception_ptr, std::vector<Row>): the exception is a std::system_error whose
// code is the SQLSTATE (sg::postgres::category()) and whose text is the server's message,
// so a pipeline's failure says what the server said.
//
// Rows: as in sg/adapters/sqlite.hpp — a std::tuple of columns, an aggregate struct
// (Boost.PFR), one column, or a mapper Row(sg::postgres::row_view const&); a column is
// an integer, bool, float or double, std::string, blob (bytea), or std::optional of one.
// Text values are parsed exactly: "12.5" into an integer, a NULL into a non-optional, a
// value out of range or a column count that differs is sg::errc::bad_input naming the
// column. A NUMERIC (SUM of bigint) reads into an integer when it is one.
//
// Cancellation and timeouts: cancelling the operation (sg's timeout, deadline, a hedge
// that lost, the gather's cancellation) stops waiting at once, sends the server a cancel
// request (PQcancel, on a short-lived detached thread of its own, since PQcancel blocks
// until the server takes it), closes that connection and completes with
// std::errc::operation_canceled. A connection attempt has no time limit of its own
// (libpq ignores connect_timeout in non-blocking mode): put sg::timeout on the pipeline.
// libpq resolves a host name while it starts a connection, which blocks: give `hostaddr`
// (an IP address) where the executor must never wait.
//
// Errors are sorted for sg::retry: connection failures (class 08, admin and crash
// shutdown 57P01 / 57P02, cannot connect now 57P03) map to std::errc::connection_reset /
// connection_refused / connection_aborted, which sg::default_retryable already retries;
// sg::postgres::retryable(ec) adds serialization failure (40001), deadlock (40P01) and too
// many connections (53300). Syntax errors (42601), missing tables (42P01), permission
// denied (42501) and the rest are final.
//
// Notices (NOTICE, WARNING) are dropped, where libpq would print them to stderr.
// Pool and threads: a shard keeps up to `idle` healthy connections (default 4) and opens
// another when more queries run at once (PostgreSQL's max_connections is the limit, and
// 53300 is retryable); a connection that failed or was cancelled is closed, never reused,
// and an idle one whose server closed it meanwhile (a restart) is closed when next taken.
// The pool is thread-safe; each query's steps run on the shard's executor (or its strand).
// Example: tests/adapters/postgres.cpp, examples/orders_postgres.cpp; docs/adapters.md.
#pragma once

#include <sg/adapters/detail/columns.hpp>
#include <sg/detail/type_traits.hpp>
#include <sg/error.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/pfr/core.hpp>
#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <poll.h>
#include <unistd.h>

namespace sg::postgres {

// --- errors -----------------------------------------------------------------------------

namespace detail {

// A SQLSTATE (five characters of 0-9, A-Z) as a number, base 36.
constexpr int encode(std::string_view state) noexcept {
  int v = 0;
  for (char c : state) v = v * 36 + (c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'Z' ? c - 'A' + 10 : 0);
  return v;
}
inline std::string decode(int v) {
  std::string out(5, '0');
  for (int i = 4; i >= 0; --i) {
    const int d = v % 36;
    out[static_cast<std::size_t>(i)] = static_cast<char>(d < 10 ? '0' + d : 'A' + d - 10);
    v /= 36;
  }
  return out;
}

class category_impl final : public std::error_category {
 public:
  char const* name() const noexcept override { return "postgres"; }
  std::string message(int code) const override {
    const std::string state = decode(code);
    char const* what = nullptr;
    switch (code) {
      case encode("08000"): what = "connection exception"; break;
      case encode("08001"): what = "unable to establish the connection"; break;
      case encode("08006"): what = "connection failure"; break;
      case encode("57P01"): what = "admin shutdown"; break;
      case encode("57P02"): what = "crash shutdown"; break;
      case encode("57P03"): what = "cannot connect now"; break;
      case encode("57014"): what = "query canceled"; break;
      case encode("40001"): what = "serialization failure"; break;
      case encode("40P01"): what = "deadlock detected"; break;
      case encode("53300"): what = "too many connections"; break;
      case encode("42601"): what = "syntax error"; break;
      case encode("42501"): what = "insufficient privilege"; break;
      case encode("42P01"): what = "undefined table"; break;
      case encode("42703"): what = "undefined column"; break;
      case encode("22012"): what = "division by zero"; break;
      default: break;
    }
    return what != nullptr ? "SQLSTATE " + state + " (" + what + ")" : "SQLSTATE " + state;
  }
  std::error_condition default_error_condition(int code) const noexcept override {
    switch (code) {
      case encode("08001"):
      case encode("08004"):
      case encode("57P03"): return std::errc::connection_refused;
      case encode("57P01"):
      case encode("57P02"): return std::errc::connection_aborted;
      case encode("57014"): return std::errc::operation_canceled;
      case encode("42501"): return std::errc::permission_denied;
      default: break;
    }
    if (code / (36 * 36 * 36) == encode("08")) return std::errc::connection_reset;  // class 08
    return {code, *this};
  }
};

}  // namespace detail

// The category of SQLSTATE codes (each code is the five characters read base 36).
inline std::error_category const& category() noexcept {
  static const detail::category_impl instance;
  return instance;
}

// The error code of a SQLSTATE such as "40001".
inline std::error_code make_error_code(std::string_view sqlstate) noexcept {
  return {detail::encode(sqlstate.substr(0, 5)), category()};
}

// The SQLSTATE of a code of category(), or "".
inline std::string sqlstate(std::error_code const& ec) {
  return ec.category() == category() ? detail::decode(ec.value()) : std::string();
}

// Whether retrying can help: what sg::default_retryable retries (connection failures and
// shutdowns map to its conditions), plus serialization failure, deadlock, too many
// connections. Pass as sg::retry's `retryable`.
inline bool retryable(std::error_code const& ec) noexcept {
  if (ec.category() == category()) {
    const int c = ec.value();
    if (c == detail::encode("40001") || c == detail::encode("40P01") || c == detail::encode("53300")) return true;
    if (c == detail::encode("57014")) return false;  // cancelled: sg cancelled it
  }
  return ec == std::errc::connection_reset || ec == std::errc::connection_refused ||
         ec == std::errc::connection_aborted || ec == std::errc::timed_out || ec == sg::errc::timeout;
}

using blob = adapters::detail::blob;

namespace detail {

using adapters::detail::column_count;
using adapters::detail::is_column;
using adapters::detail::numbered;
using adapters::detail::row_type_fits;

// The tag of this adapter's requests.
struct adapter_tag {};

[[noreturn]] inline void bad_input(std::string text) {
  throw std::system_error(sg::make_error_code(errc::bad_input), "sg::postgres: " + text);
}

// The connection's own last message, trimmed.
inline std::string message_of(::PGconn* pg) {
  std::string m = pg != nullptr ? ::PQerrorMessage(pg) : "out of memory";
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

[[noreturn]] inline void connection_failed(::PGconn* pg, std::string_view what, char const* state = "08006") {
  throw std::system_error(make_error_code(state), "postgres: " + std::string(what) + ": " + message_of(pg));
}

// --- reading text values ------------------------------------------------------------------

template <class T>
void parse(std::string_view text, T& out, std::string const& label) {
  auto wrong = [&](char const* want) {
    bad_input(label + " holds \"" + std::string(text.substr(0, 64)) + "\", which is not " + want);
  };
  if constexpr (std::is_same_v<T, bool>) {
    if (text == "t" || text == "true")
      out = true;
    else if (text == "f" || text == "false")
      out = false;
    else
      wrong("a bool (t or f)");
  } else if constexpr (std::is_integral_v<T>) {
    std::string_view digits = text;
    // A NUMERIC that is an integer ("12" or "12.000") reads into an integer.
    if (auto dot = digits.find('.'); dot != std::string_view::npos) {
      if (digits.find_first_not_of('0', dot + 1) != std::string_view::npos) wrong("an integer");
      digits = digits.substr(0, dot);
    }
    auto out_of_range = [&] {
      bad_input(label + " holds " + std::string(text) + ", out of the range of its integer type");
    };
    if constexpr (std::is_unsigned_v<T>) {
      if (digits.starts_with('-')) {  // below zero, unless it is "-0"
        if (digits != "-0") out_of_range();
        digits.remove_prefix(1);
      }
    }
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
    if (ec == std::errc::result_out_of_range) out_of_range();
    if (ec != std::errc{} || p != digits.data() + digits.size()) wrong("an integer");
  } else if constexpr (std::is_floating_point_v<T>) {
    if (text == "NaN")
      out = std::numeric_limits<T>::quiet_NaN();
    else if (text == "Infinity")
      out = std::numeric_limits<T>::infinity();
    else if (text == "-Infinity")
      out = -std::numeric_limits<T>::infinity();
    else {
      auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
      if (ec != std::errc{} || p != text.data() + text.size()) wrong("a floating-point number");
    }
  } else if constexpr (std::is_same_v<T, std::string>) {
    out.assign(text);
  } else {
    static_assert(std::is_same_v<T, blob>);
    // bytea in hex: \x followed by two hex digits a byte.
    if (!text.starts_with("\\x") || text.size() % 2 != 0) wrong("bytea in hex (\\x...)");
    out.clear();
    out.reserve((text.size() - 2) / 2);
    for (std::size_t i = 2; i < text.size(); i += 2) {
      unsigned v = 0;
      auto [p, ec] = std::from_chars(text.data() + i, text.data() + i + 2, v, 16);
      if (ec != std::errc{} || p != text.data() + i + 2) wrong("bytea in hex (\\x...)");
      out.push_back(static_cast<std::byte>(v));
    }
  }
}

inline std::string column_label(::PGresult const* res, int i) {
  char const* name = ::PQfname(res, i);
  return numbered("column ", i) + (name != nullptr ? std::string(" (") + name + ")" : std::string());
}

template <class T>
void read(::PGresult const* res, int row, int i, T& out) {
  const bool null = ::PQgetisnull(res, row, i) != 0;
  if constexpr (sg::detail::is_optional<T>) {
    if (null) {
      out.reset();
    } else {
      typename T::value_type v{};
      read(res, row, i, v);
      out = std::move(v);
    }
  } else {
    if (null) bad_input(column_label(res, i) + " holds NULL, which a non-optional cannot hold (read it into a std::optional)");
    parse(std::string_view(::PQgetvalue(res, row, i), static_cast<std::size_t>(::PQgetlength(res, row, i))), out,
          column_label(res, i));
  }
}

// --- parameters as text -------------------------------------------------------------------

using text_param = std::optional<std::string>;  // nullopt: NULL

template <class T>
text_param to_text(T const& v) {
  if constexpr (std::is_same_v<T, std::nullopt_t> || std::is_same_v<T, std::nullptr_t>) {
    return std::nullopt;
  } else if constexpr (sg::detail::is_optional<T>) {
    if (!v) return std::nullopt;
    return to_text(*v);
  } else if constexpr (std::is_same_v<T, bool>) {
    return std::string(v ? "t" : "f");
  } else if constexpr (std::is_arithmetic_v<T>) {
    if constexpr (std::is_floating_point_v<T>) {
      if (v != v) return std::string("NaN");
      if (v == std::numeric_limits<T>::infinity()) return std::string("Infinity");
      if (v == -std::numeric_limits<T>::infinity()) return std::string("-Infinity");
    }
    char buf[64];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
    return std::string(buf, p);
  } else if constexpr (std::is_convertible_v<T const&, std::string_view>) {
    return std::string(std::string_view(v));
  } else if constexpr (std::is_same_v<T, blob>) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out = "\\x";
    for (std::byte b : v) {
      out += hex[static_cast<unsigned>(b) >> 4];
      out += hex[static_cast<unsigned>(b) & 15];
    }
    return out;
  } else {
    static_assert(sg::detail::always_false<T>,
                  "sg::postgres: a parameter must be an integer, bool, floating point, string, "
                  "sg::postgres::blob, std::nullopt, nullptr or std::optional of one");
    return std::nullopt;
  }
}

}  // namespace detail

// The current row of a result, for a row mapper: get<T>(i) reads column i as T.
class row_view {
 public:
  row_view(::PGresult const* res, int row) noexcept : res_(res), row_(row) {}
  int size() const noexcept { return ::PQnfields(res_); }
  bool is_null(int i) const noexcept { return ::PQgetisnull(res_, row_, i) != 0; }
  std::string_view name(int i) const noexcept {
    char const* n = ::PQfname(res_, i);
    return n != nullptr ? n : "";
  }
  template <class T>
  T get(int i) const {
    static_assert(detail::is_column<T>, "sg::postgres::row_view::get<T>: T is not a column type (an integer, bool, "
                                        "float, double, std::string, sg::postgres::blob, or std::optional of one)");
    if (i < 0 || i >= size()) detail::bad_input(detail::numbered("no column ", i) + " in a row of " + std::to_string(size()));
    T out{};
    detail::read(res_, row_, i, out);
    return out;
  }

 private:
  ::PGresult const* res_;
  int row_;
};

// --- requests -----------------------------------------------------------------------------

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
                "sg::postgres::sql<Row>: Row must be a std::tuple of column types, an aggregate struct of them, or "
                "one column type (an integer, bool, float, double, std::string, sg::postgres::blob, or "
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

namespace detail {

// One libpq connection and the Asio descriptor Asio waits on (a dup of PQsocket, so that
// closing ours never closes libpq's).
struct connection {
  ::PGconn* pg = nullptr;
  boost::asio::posix::stream_descriptor socket;
  int watched = -1;  // the PQsocket the descriptor duplicates

  explicit connection(boost::asio::any_io_executor ex) : socket(std::move(ex)) {}
  connection(connection const&) = delete;
  connection& operator=(connection const&) = delete;
  ~connection() {
    boost::system::error_code ignored;
    socket.close(ignored);
    if (pg != nullptr) ::PQfinish(pg);
  }

  // Watches PQsocket; again (`renew`) while connecting, when libpq may have opened a new
  // socket (another host, or a retry without SSL) that can reuse the old number.
  void watch(bool renew = false) {
    const int fd = ::PQsocket(pg);
    if (fd == watched && !renew) return;
    boost::system::error_code ignored;
    socket.close(ignored);
    watched = -1;
    if (fd < 0) connection_failed(pg, "the connection has no socket");
    const int copy = ::dup(fd);
    if (copy < 0) throw std::system_error(errno, std::generic_category(), "postgres: dup of the connection's socket");
    socket.assign(copy);
    watched = fd;
  }

  bool reusable() const {
    return pg != nullptr && ::PQstatus(pg) == CONNECTION_OK && ::PQtransactionStatus(pg) == PQTRANS_IDLE;
  }

  // Whether an idle connection is as it was left, as far as can be told without a round
  // trip: nothing to read. Input on a connection that asked nothing means the server closed
  // it (EOF: it stopped or restarted), is closing it (a FATAL message comes first), or said
  // something unasked; in each case a new connection is the safe choice. Never blocks.
  bool still_alive() const {
    ::pollfd p{::PQsocket(pg), POLLIN, 0};
    return p.fd >= 0 && ::poll(&p, 1, 0) == 0;
  }
};

// What a shard's copies share: the connection string, the executor, the idle connections.
struct server {
  boost::asio::any_io_executor executor;
  std::vector<std::string> keys, values;  // connection parameters (PQconnectStartParams)
  std::size_t max_idle = 4;
  std::mutex mutex;
  std::vector<std::unique_ptr<connection>> idle;
  std::size_t opened = 0;  // connections made so far

  // An idle connection that still works, or null. Dead ones (the server went away while
  // they idled) are closed here rather than failing the next query.
  std::unique_ptr<connection> take() {
    for (;;) {
      std::unique_ptr<connection> c;
      {
        std::lock_guard lock(mutex);
        if (idle.empty()) return nullptr;
        c = std::move(idle.back());
        idle.pop_back();
      }
      if (c->still_alive()) return c;
    }
  }
  void give_back(std::unique_ptr<connection> c) {
    if (!c || !c->reusable()) return;
    std::lock_guard lock(mutex);
    if (idle.size() < max_idle) idle.push_back(std::move(c));
  }
};

// Sends the server a cancel request for `pg`'s running query. PQcancel blocks until the
// server takes the request, so it runs on a thread of its own with its own PGcancel.
inline void send_cancel(::PGconn* pg) {
  ::PGcancel* cancel = ::PQgetCancel(pg);
  if (cancel == nullptr) return;
  try {
    std::thread([cancel] {
      char ignored[256];
      ::PQcancel(cancel, ignored, sizeof ignored);
      ::PQfreeCancel(cancel);
    }).detach();
  } catch (...) {
    ::PQfreeCancel(cancel);  // no thread: the query runs on until the server ends it
  }
}

// The asynchronous query: take or open a connection, send, read every result.
template <class Row, class Map>
struct query_op {
  std::shared_ptr<server> srv;
  std::string text;
  std::vector<text_param> params;
  Map map;
  std::unique_ptr<connection> conn{};
  std::vector<Row> rows{};
  std::exception_ptr failure{};
  enum class stage { start, begin, connecting, flushing, reading } at = stage::start;
  ::PostgresPollingStatusType poll = PGRES_POLLING_WRITING;

  using wait = boost::asio::posix::descriptor_base::wait_type;

  template <class Self>
  void operator()(Self& self, boost::system::error_code ec = {}) {
    try {
      if (ec) {
        if (self.cancelled() != boost::asio::cancellation_type::none) {
          if (at != stage::connecting && conn && conn->pg != nullptr) send_cancel(conn->pg);
          conn.reset();  // mid-query: never reused
          throw std::system_error(std::make_error_code(std::errc::operation_canceled),
                                  "postgres: the query was cancelled (a cancel request went to the server)");
        }
        throw std::system_error(std::error_code(ec), "postgres: waiting on the connection's socket");
      }
      switch (at) {
        case stage::start:
          // Every kind of cancellation stops a query: sg's timeouts, hedges and gathers.
          self.reset_cancellation_state(boost::asio::enable_total_cancellation());
          // Nothing happens inside the initiating call, so the operation never completes
          // there (Asio 1.81's async_compose would call the handler directly).
          at = stage::begin;
          return boost::asio::post(std::move(self));
        case stage::begin:
          conn = srv->take();
          if (!conn) {
            open();
            at = stage::connecting;
            return wait_for(self, wait::wait_write);
          }
          return send(self);
        case stage::connecting:
          poll = ::PQconnectPoll(conn->pg);
          if (poll == PGRES_POLLING_OK) {
            if (::PQsetnonblocking(conn->pg, 1) != 0) connection_failed(conn->pg, "setting the connection non-blocking");
            return send(self);
          }
          if (poll == PGRES_POLLING_FAILED) connection_failed(conn->pg, "connecting", "08001");
          conn->watch(true);
          return wait_for(self, poll == PGRES_POLLING_READING ? wait::wait_read : wait::wait_write);
        case stage::flushing:
          return flush(self);
        case stage::reading:
          return read(self);
      }
    } catch (...) {
      conn.reset();
      finish(self, std::current_exception());
    }
  }

 private:
  void open() {
    std::vector<char const*> k, v;
    for (std::size_t i = 0; i < srv->keys.size(); ++i) {
      k.push_back(srv->keys[i].c_str());
      v.push_back(srv->values[i].c_str());
    }
    k.push_back(nullptr);
    v.push_back(nullptr);
    conn = std::make_unique<connection>(srv->executor);
    conn->pg = ::PQconnectStartParams(k.data(), v.data(), 0);
    if (conn->pg == nullptr || ::PQstatus(conn->pg) == CONNECTION_BAD)
      connection_failed(conn->pg, "connecting", "08001");
    // Notices and warnings are the server's chatter; libpq would print them to stderr.
    ::PQsetNoticeProcessor(conn->pg, [](void*, char const*) {}, nullptr);
    {
      std::lock_guard lock(srv->mutex);
      ++srv->opened;
    }
    conn->watch();
  }

  template <class Self>
  void wait_for(Self& self, wait w) {
    conn->socket.async_wait(w, std::move(self));
  }

  template <class Self>
  void send(Self& self) {
    std::vector<char const*> values;
    values.reserve(params.size());
    for (auto const& p : params) values.push_back(p ? p->c_str() : nullptr);
    if (::PQsendQueryParams(conn->pg, text.c_str(), static_cast<int>(params.size()), nullptr, values.data(), nullptr,
                            nullptr, 0) == 0)
      connection_failed(conn->pg, "sending the query");
    conn->watch();
    at = stage::flushing;
    flush(self);
  }

  template <class Self>
  void flush(Self& self) {
    const int r = ::PQflush(conn->pg);
    if (r < 0) connection_failed(conn->pg, "sending the query");
    if (r == 1) return wait_for(self, wait::wait_write);
    at = stage::reading;
    read(self);
  }

  template <class Self>
  void read(Self& self) {
    if (::PQconsumeInput(conn->pg) == 0) connection_failed(conn->pg, "reading the answer");
    while (::PQisBusy(conn->pg) == 0) {
      ::PGresult* res = ::PQgetResult(conn->pg);
      if (res == nullptr) {  // every result read: the connection is free again
        srv->give_back(std::move(conn));
        return finish(self, std::exchange(failure, nullptr));
      }
      std::unique_ptr<::PGresult, void (*)(::PGresult*)> owned(res, ::PQclear);
      take(res);
    }
    wait_for(self, wait::wait_read);
  }

  void take(::PGresult* res) {
    const auto status = ::PQresultStatus(res);
    if (status == PGRES_TUPLES_OK || status == PGRES_SINGLE_TUPLE) {
      if (failure) return;
      try {
        const int n = ::PQntuples(res);
        if constexpr (std::is_same_v<Map, no_map>) {
          const int want = static_cast<int>(column_count<Row>());
          if (::PQnfields(res) != want)
            bad_input("the query \"" + text + "\" gives " + std::to_string(::PQnfields(res)) +
                      " columns, but the row type has " + std::to_string(want));
        }
        rows.reserve(rows.size() + static_cast<std::size_t>(n));
        for (int r = 0; r < n; ++r) {
          if constexpr (std::is_same_v<Map, no_map>) {
            Row row{};
            adapters::detail::for_each_column(row, [&](auto& field, std::size_t i) { detail::read(res, r, static_cast<int>(i), field); });
            rows.push_back(std::move(row));
          } else {
            rows.push_back(std::invoke(map, row_view(res, r)));
          }
        }
      } catch (...) {
        failure = std::current_exception();  // read the other results, so the connection stays usable
      }
    } else if (status == PGRES_COMMAND_OK || status == PGRES_EMPTY_QUERY) {
    } else if (!failure) {
      char const* state = ::PQresultErrorField(res, PG_DIAG_SQLSTATE);
      std::string m = ::PQresultErrorMessage(res);
      while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
      failure = std::make_exception_ptr(
          std::system_error(make_error_code(state != nullptr ? state : "XX000"), "postgres: " + m));
    }
  }

  template <class Self>
  void finish(Self& self, std::exception_ptr e) {
    if (e)
      self.complete(std::move(e), std::vector<Row>{});
    else
      self.complete(nullptr, std::move(rows));
  }
};

}  // namespace detail

// How a shard keeps its connections.
struct options {
  std::size_t idle_connections = 4;  // connections kept for reuse
};

// A PostgreSQL server as an async shard (see the top of this file). Cheap to copy: copies
// share the pool. async_execute(sql_request, token) completes with
// void(std::exception_ptr, std::vector<Row>).
class shard {
 public:
  // `conninfo`: a libpq connection string ("host=127.0.0.1 port=5432 dbname=app") or URI.
  // Throws std::system_error(sg::errc::bad_input) when libpq cannot parse it.
  shard(boost::asio::any_io_executor ex, std::string const& conninfo, options const& o = {})
      : srv_(std::make_shared<detail::server>()) {
    srv_->executor = std::move(ex);
    srv_->max_idle = o.idle_connections;
    char* error = nullptr;
    ::PQconninfoOption* parsed = ::PQconninfoParse(conninfo.c_str(), &error);
    if (parsed == nullptr) {
      std::string text = error != nullptr ? error : "out of memory";
      ::PQfreemem(error);
      while (!text.empty() && text.back() == '\n') text.pop_back();
      detail::bad_input("the connection string \"" + conninfo + "\" does not parse: " + text);
    }
    for (auto* p = parsed; p->keyword != nullptr; ++p) {
      if (p->val == nullptr) continue;
      srv_->keys.emplace_back(p->keyword);
      srv_->values.emplace_back(p->val);
    }
    ::PQconninfoFree(parsed);
  }

  template <class Row, class Map, class... P, class Token>
  auto async_execute(sql_request<Row, Map, P...> const& r, Token&& token) const {
    std::vector<detail::text_param> params;
    std::apply([&](auto const&... p) { (params.push_back(detail::to_text(p)), ...); }, r.params);
    return boost::asio::async_compose<Token, void(std::exception_ptr, std::vector<Row>)>(
        detail::query_op<Row, Map>{srv_, r.text, std::move(params), r.map}, token, srv_->executor);
  }

  // Runs SQL text with parameters already in libpq's text form (nullopt: NULL), reading
  // rows of Row as async_execute does: the way in for SQL sg writes itself (typed queries,
  // sg/adapters/postgres_query.hpp). Completes with void(std::exception_ptr, std::vector<Row>).
  template <class Row, class Token>
  auto async_query(std::string text, std::vector<detail::text_param> params, Token&& token) const {
    static_assert(detail::row_type_fits<Row>(),
                  "sg::postgres::shard::async_query: Row must be a column type, a std::tuple or an aggregate struct "
                  "of column types");
    return boost::asio::async_compose<Token, void(std::exception_ptr, std::vector<Row>)>(
        detail::query_op<Row, no_map>{srv_, std::move(text), std::move(params), {}}, token, srv_->executor);
  }

  // async_query, each row read through map(row_view) into a Row.
  template <class Row, class Map, class Token>
  auto async_query_mapped(std::string text, std::vector<detail::text_param> params, Map map, Token&& token) const {
    return boost::asio::async_compose<Token, void(std::exception_ptr, std::vector<Row>)>(
        detail::query_op<Row, Map>{srv_, std::move(text), std::move(params), std::move(map)}, token, srv_->executor);
  }

  boost::asio::any_io_executor get_executor() const noexcept { return srv_->executor; }

  // Connections made so far, and kept idle now (for tests and metrics).
  std::size_t connections_opened() const {
    std::lock_guard lock(srv_->mutex);
    return srv_->opened;
  }
  std::size_t idle_connections() const {
    std::lock_guard lock(srv_->mutex);
    return srv_->idle.size();
  }
  // Closes the idle connections; the next query opens a new one. (Taking a connection
  // already skips those a restarted server closed.)
  void drop_idle() {
    std::vector<std::unique_ptr<detail::connection>> gone;
    std::lock_guard lock(srv_->mutex);
    gone.swap(srv_->idle);
  }

 private:
  std::shared_ptr<detail::server> srv_;
};

}  // namespace sg::postgres
