// Typed queries across processes with sg::wire: four node processes on loopback, each
// serving sg::local::run over its own rows, and a coordinator scattering typed queries to
// them over plain Asio TCP.
//
//   wire_node                      # the coordinator: starts 4 nodes, queries, checks, stops them
//   wire_node serve I N ROWS       # a node: holds the orders with id % N == I of ROWS orders;
//                                  # prints its port, then answers until killed
//
// What crosses: the coordinator sends a query's run-time values
// (sg::wire::encode_parameters); the node, compiled with the same query types, decodes them
// into its own query (decode_parameters), runs sg::local::run over its rows and answers the
// bytes of the result (sg::wire::encode): rows for a row query, the partial table — counts,
// 128-bit sums, HyperLogLog sketches — for a grouped one. The coordinator's shard decodes
// them (every byte checked) and sg's gather merges them as if the shards were local. A
// frame is one byte of kind (which query type; in answers 0 = result, 1 = the node's
// error text), a u64 length, then the sg::wire bytes.
// The checks: both queries, with two sets of parameters, equal sg::local::evaluate over
// every row in one process; then node 3 is killed, and the next answer is flagged partial,
// with shard 3's connection error, and equals the evaluation over nodes 0–2's rows.
// Exit status 0 when every check holds.
#include <sg/sg.hpp>
#include <sg/wire/agg.hpp>
#include <sg/wire/codec.hpp>
#include <sg/wire/query.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

extern char** environ;

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;

struct order {
  std::int64_t id;
  std::int64_t customer;
  std::string region;
  std::int64_t cents;
  std::int32_t day;
  friend bool operator==(order const&, order const&) = default;
};

// An order as bytes: its fields in this order (sg/wire/codec.hpp).
template <>
struct sg::wire::codec<order>
    : sg::wire::fields<order, &order::id, &order::customer, &order::region, &order::cents, &order::day> {};

// The orders a node holds: of `rows` orders, those with id % nodes == node.
std::vector<order> orders_of(std::size_t node, std::size_t nodes, std::int64_t rows) {
  static constexpr std::array<char const*, 5> regions{"eu", "us", "apac", "latam", "africa"};
  std::vector<order> out;
  for (std::int64_t id = 0; id < rows; ++id) {
    if (static_cast<std::size_t>(id) % nodes != node) continue;
    const auto h = sg::partition::mix64(static_cast<std::uint64_t>(id));
    out.push_back({id, static_cast<std::int64_t>(h % 5000), regions[(h >> 20) % regions.size()],
                   static_cast<std::int64_t>((h >> 32) % 100000), static_cast<std::int32_t>((h >> 8) % 365)});
  }
  return out;
}

// The two query types both programs are compiled with; the values vary per request.
auto revenue_query(std::int32_t from_day, std::vector<std::string> regions) {
  return sg::query(sg::where(sg::ge(&order::day, from_day) && sg::in(&order::region, regions)),
                   sg::group_by(&order::region),
                   sg::aggregate(sg::agg::count(), sg::agg::sum(&order::cents), sg::agg::avg(&order::cents),
                                 sg::agg::max(&order::cents), sg::agg::approx_count_distinct(&order::customer, 12)),
                   sg::order_by(sg::desc(sg::col<2>)));
}
auto top_query(std::int64_t min_cents, std::size_t n) {
  return sg::query(sg::where(sg::ge(&order::cents, min_cents)), sg::order_by(sg::desc(&order::cents), &order::id),
                   sg::limit(n));
}
using revenue_t = decltype(revenue_query(0, {}));
using top_t = decltype(top_query(0, 0));

template <class Q>
constexpr std::uint8_t kind_of = std::is_same_v<Q, revenue_t> ? 0 : 1;

// --- frames ---------------------------------------------------------------------------------

constexpr std::uint64_t max_frame = std::uint64_t{64} << 20;  // 64 MiB: more is refused

awaitable<void> write_frame(tcp::socket& s, std::uint8_t kind, std::vector<std::byte> const& payload) {
  std::array<std::byte, 9> head{};
  head[0] = static_cast<std::byte>(kind);
  for (std::size_t i = 0; i < 8; ++i) head[1 + i] = static_cast<std::byte>((payload.size() >> (8 * i)) & 0xff);
  std::array<asio::const_buffer, 2> buffers{asio::buffer(head), asio::buffer(payload)};
  co_await asio::async_write(s, buffers, use_awaitable);
}

awaitable<std::pair<std::uint8_t, std::vector<std::byte>>> read_frame(tcp::socket& s) {
  std::array<std::byte, 9> head{};
  co_await asio::async_read(s, asio::buffer(head), use_awaitable);
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < 8; ++i) n |= static_cast<std::uint64_t>(head[1 + i]) << (8 * i);
  if (n > max_frame)
    throw std::system_error(make_error_code(sg::errc::bad_input), "wire_node: a frame of " + std::to_string(n) + " bytes");
  std::vector<std::byte> payload(static_cast<std::size_t>(n));
  co_await asio::async_read(s, asio::buffer(payload), use_awaitable);
  co_return std::pair{static_cast<std::uint8_t>(head[0]), std::move(payload)};
}

// --- the node -------------------------------------------------------------------------------

// Answers one request's bytes: the query's result as sg::wire bytes.
std::vector<std::byte> answer(std::uint8_t kind, std::vector<std::byte> const& request, std::vector<order> const& rows) {
  if (kind == 0) return sg::wire::encode(sg::local::run(sg::wire::decode_parameters(request, revenue_query(0, {})), rows));
  if (kind == 1) return sg::wire::encode(sg::local::run(sg::wire::decode_parameters(request, top_query(0, 0)), rows));
  throw std::system_error(make_error_code(sg::errc::bad_input), "wire_node: no query of kind " + std::to_string(kind));
}

awaitable<void> serve_connection(tcp::socket s, std::vector<order> const& rows) {
  try {
    for (;;) {
      auto [kind, request] = co_await read_frame(s);
      std::vector<std::byte> reply;
      std::uint8_t status = 0;
      try {
        reply = answer(kind, request, rows);
      } catch (std::exception const& e) {  // bad bytes: the caller hears why
        const std::string what = e.what();
        reply.assign(reinterpret_cast<std::byte const*>(what.data()), reinterpret_cast<std::byte const*>(what.data()) + what.size());
        status = 1;
      }
      co_await write_frame(s, status, reply);
    }
  } catch (std::exception const&) {  // the coordinator hung up
  }
}

int serve(std::size_t node, std::size_t nodes, std::int64_t rows) {
  asio::io_context io;
  const auto mine = orders_of(node, nodes, rows);
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::printf("%u\n", static_cast<unsigned>(acceptor.local_endpoint().port()));
  std::fflush(stdout);
  asio::co_spawn(
      io,
      [&]() -> awaitable<void> {
        for (;;) asio::co_spawn(io, serve_connection(co_await acceptor.async_accept(use_awaitable), mine), asio::detached);
      },
      asio::detached);
  io.run();
  return 0;
}

// --- the coordinator's shard ----------------------------------------------------------------

// One request: connect, send the query's parameters, read the node's result bytes.
template <class Q>
awaitable<decltype(sg::local::run(std::declval<Q const&>(), std::vector<order>{}))> ask(tcp::endpoint node, Q q) {
  using result = decltype(sg::local::run(q, std::vector<order>{}));
  tcp::socket s(co_await asio::this_coro::executor);
  co_await s.async_connect(node, use_awaitable);
  co_await write_frame(s, kind_of<Q>, sg::wire::encode_parameters(q));
  auto [status, reply] = co_await read_frame(s);
  if (status != 0)
    throw std::system_error(make_error_code(sg::errc::bad_input),
                            "node refused: " + std::string(reinterpret_cast<char const*>(reply.data()), reply.size()));
  co_return sg::wire::decode<result>(std::span<std::byte const>(reply));  // bad bytes: sg::errc::bad_input, the shard's failure
}

// An async shard over a node process: an address and an executor.
struct remote_node {
  asio::any_io_executor executor;
  tcp::endpoint endpoint;
  template <class Q, class Token>
  auto async_execute(Q const& q, Token&& token) const {
    return asio::co_spawn(executor, ask(endpoint, q), std::forward<Token>(token));
  }
};

// --- the coordinator ------------------------------------------------------------------------

struct child {
  pid_t pid;
  unsigned short port;
};

child start_node(char const* self, std::size_t i, std::size_t n, std::int64_t rows) {
  int fds[2];
  if (pipe(fds) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  const std::string index = std::to_string(i), count = std::to_string(n), total = std::to_string(rows);
  char const* argv[] = {self, "serve", index.c_str(), count.c_str(), total.c_str(), nullptr};
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, self, &actions, nullptr, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) throw std::system_error(rc, std::generic_category(), "posix_spawn");
  char line[16] = {};
  std::size_t got = 0;
  while (got < sizeof line - 1) {  // the node's port, one line
    const auto r = read(fds[0], line + got, 1);
    if (r <= 0 || line[got] == '\n') break;
    ++got;
  }
  close(fds[0]);
  return {pid, static_cast<unsigned short>(std::atoi(line))};
}

void stop(child& c) {
  if (c.pid <= 0) return;
  kill(c.pid, SIGKILL);
  waitpid(c.pid, nullptr, 0);
  c.pid = -1;
}

// Runs a pipeline on the io_context and returns its answer.
template <class Pipe, class Q>
auto run(asio::io_context& io, Pipe& pipe, Q const& q) {
  using result = decltype(q(std::vector<decltype(sg::local::run(q, std::vector<order>{}))>{}));
  sg::gathered<result> out;
  pipe.async(q, [&](std::error_code, sg::gathered<result> r) { out = std::move(r); });
  io.restart();
  io.run();
  return out;
}

// Whether a gathered answer equals the query evaluated over `rows` in one process, with
// `answered` nodes answering.
template <class G, class Q>
bool check(char const* what, G const& got, Q const& q, std::vector<order> const& rows, std::size_t answered) {
  const auto want = sg::local::evaluate(q, rows);
  const bool ok = got.value == want && got.completeness.succeeded == answered;
  std::printf("%-44s %zu of %zu nodes answered, %zu rows: %s\n", what, got.completeness.succeeded,
              got.completeness.targeted, got.value.size(), ok ? "equal to one node's evaluation" : "WRONG");
  for (auto const& f : got.failures) std::printf("    node %zu failed: %s\n", f.shard, f.what.c_str());
  return ok;
}

int coordinate(char const* self) {
  constexpr std::size_t nodes = 4;
  constexpr std::int64_t rows = 40000;
  std::vector<child> children;
  for (std::size_t i = 0; i < nodes; ++i) children.push_back(start_node(self, i, nodes, rows));
  asio::io_context io;
  std::vector<remote_node> shards;
  for (auto const& c : children) {
    if (c.port == 0) {
      std::printf("a node did not start\n");
      for (auto& k : children) stop(k);
      return 1;
    }
    shards.push_back({io.get_executor(), tcp::endpoint(asio::ip::make_address("127.0.0.1"), c.port)});
  }
  std::vector<order> all, first_three;
  for (std::size_t i = 0; i < nodes; ++i) {
    auto mine = orders_of(i, nodes, rows);
    all.insert(all.end(), mine.begin(), mine.end());
    if (i < 3) first_three.insert(first_three.end(), mine.begin(), mine.end());
  }

  bool ok = true;
  {
    const auto q1 = revenue_query(100, {"eu", "us", "apac"});
    const auto q2 = revenue_query(300, {"latam", "africa", "eu"});
    auto pipe = sg::scatter(shards) | sg::with(sg::timeout{std::chrono::seconds(10)}) | sg::on(io.get_executor()) |
                sg::gather(q1);
    ok &= check("revenue by region, days >= 100, 3 regions:", run(io, pipe, q1), q1, all, nodes);
    ok &= check("revenue by region, days >= 300, 3 others:", run(io, pipe, q2), q2, all, nodes);
  }
  {
    const auto q = top_query(50000, 10);
    auto pipe = sg::scatter(shards) | sg::with(sg::timeout{std::chrono::seconds(10)}) | sg::on(io.get_executor()) |
                sg::gather(q);
    ok &= check("top 10 orders of at least 50000 cents:", run(io, pipe, q), q, all, nodes);
    stop(children[3]);
    const auto partial = run(io, pipe, q);
    ok &= check("the same with node 3 killed:", partial, q, first_three, 3);
    ok &= !partial.completeness.complete() && partial.failures.size() == 1 && partial.failures[0].shard == 3;
    if (!partial.completeness.complete()) std::printf("PARTIAL: 3 of 4 nodes answered, flagged\n");
  }
  for (auto& c : children) stop(c);
  std::printf("%s\n", ok ? "every answer across processes equals one node's evaluation" : "WRONG ANSWER");
  return ok ? 0 : 1;
}

int main(int argc, char** argv) {
  if (argc == 5 && std::strcmp(argv[1], "serve") == 0)
    return serve(std::strtoul(argv[2], nullptr, 10), std::strtoul(argv[3], nullptr, 10), std::strtoll(argv[4], nullptr, 10));
  if (argc == 1) return coordinate(argv[0]);
  std::fprintf(stderr, "usage: wire_node | wire_node serve I N ROWS\n");
  return 2;
}
