// Tests of sg::postgres on real servers: CTest starts three with scripts/pg-cluster.sh
// (the `pg` fixture) and passes their directory in SG_PG_DIR.
#include <sg/adapters/postgres.hpp>
#include <sg/exec/async.hpp>
#include <sg/merge/concat.hpp>
#include <sg/merge/sorted.hpp>
#include <sg/pipeline.hpp>
#include <sg/policy/circuit_breaker.hpp>
#include <sg/policy/hedge.hpp>
#include <sg/policy/partial.hpp>
#include <sg/policy/retry.hpp>
#include <sg/policy/time.hpp>
#include <sg/replicas.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <tuple>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace pg = sg::postgres;
using namespace std::chrono_literals;

std::string pg_dir() {
  char const* d = std::getenv("SG_PG_DIR");
  if (d == nullptr) FAIL("SG_PG_DIR is not set: run through ctest (the pg fixture), or scripts/pg-cluster.sh start DIR 3");
  return d;
}

std::vector<std::string> conninfos() {
  std::ifstream in(pg_dir() + "/conninfo");
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  REQUIRE(out.size() >= 3);
  return out;
}

// Runs `pipe.async(req)` to completion on `io`; the merged rows are std::vector<Row>.
template <class Row, class Pipe, class Req>
auto run(asio::io_context& io, Pipe& pipe, Req const& req) {
  using result = sg::gathered<std::vector<Row>>;
  std::pair<std::error_code, std::optional<result>> out;
  pipe.async(req, [&](std::error_code ec, result r) {
    out.first = ec;
    out.second = std::move(r);
  });
  io.restart();
  io.run();
  return out;
}

// One query on one server, its rows or its exception.
template <class Row, class Map, class... P>
std::vector<Row> one(asio::io_context& io, pg::shard const& s, pg::sql_request<Row, Map, P...> const& req) {
  std::exception_ptr error;
  std::vector<Row> rows;
  s.async_execute(req, [&](std::exception_ptr e, std::vector<Row> r) {
    error = e;
    rows = std::move(r);
  });
  io.restart();
  io.run();
  if (error) std::rethrow_exception(error);
  return rows;
}

void script(std::string const& args) {
  const std::string cmd = std::string(SG_SOURCE_DIR) + "/scripts/pg-cluster.sh " + args + " >/dev/null";
  REQUIRE(std::system(cmd.c_str()) == 0);
}

struct value_row {
  std::int64_t i;
  std::string s;
  double d;
  bool b;
  std::optional<std::int32_t> null;
  pg::blob bytes;
};

}  // namespace

TEST_CASE("postgres: every column type reads back as a tuple, a struct, or through a mapper", "[adapters][postgres]") {
  asio::io_context io;
  pg::shard s(io.get_executor(), conninfos()[0]);
  const pg::blob bytes{std::byte{0xde}, std::byte{0xad}, std::byte{0x00}, std::byte{0x7f}};
  auto rows = one(io, s, pg::sql<value_row>("SELECT $1::bigint, $2::text, $3::float8, $4::bool, NULL::int, $5::bytea",
                                             std::int64_t{-9'000'000'000'000}, "é and \"quotes\"", 0.1, true, bytes));
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].i == -9'000'000'000'000);
  CHECK(rows[0].s == "é and \"quotes\"");
  CHECK(rows[0].d == 0.1);  // shortest round-trip text both ways
  CHECK(rows[0].b);
  CHECK(!rows[0].null);
  CHECK(rows[0].bytes == bytes);

  auto tuples = one(io, s, pg::sql<std::tuple<std::int32_t, std::optional<std::string>>>(
                               "SELECT g, CASE WHEN g % 2 = 0 THEN g::text END FROM generate_series(1, $1) g ORDER BY g", 4));
  CHECK(tuples == std::vector<std::tuple<std::int32_t, std::optional<std::string>>>{
                      {1, std::nullopt}, {2, "2"}, {3, std::nullopt}, {4, "4"}});
  auto sums = one(io, s, pg::sql<std::int64_t>("SELECT sum(g) FROM generate_series(1, 100000) g"));  // a NUMERIC
  CHECK(sums == std::vector<std::int64_t>{5'000'050'000});
  auto mapped = one(io, s, pg::sql([](pg::row_view const& r) { return std::string(r.name(0)) + "=" + r.get<std::string>(0); },
                                   "SELECT 'x' AS label"));
  CHECK(mapped == std::vector<std::string>{"label=x"});
  CHECK(s.connections_opened() == 1);  // one connection, reused by every query
  CHECK(s.idle_connections() == 1);
}

TEST_CASE("postgres: errors keep the SQLSTATE and the server's words, and retryable ones are told apart", "[adapters][postgres]") {
  asio::io_context io;
  pg::shard s(io.get_executor(), conninfos()[0]);
  auto fails = [&](auto const& req, std::string const& state, std::string const& words) {
    try {
      one(io, s, req);
      FAIL("no error; expected SQLSTATE " << state);
    } catch (std::system_error const& e) {
      CHECK(pg::sqlstate(e.code()) == state);
      CHECK_THAT(e.what(), Catch::Contains(words));
      return e.code();
    }
    return std::error_code{};
  };
  CHECK(!pg::retryable(fails(pg::sql<int>("SELEC 1"), "42601", "syntax error")));
  CHECK(!pg::retryable(fails(pg::sql<int>("SELECT * FROM no_such_table"), "42P01", "\"no_such_table\" does not exist")));
  CHECK(!pg::retryable(fails(pg::sql<int>("SELECT 1 / 0"), "22012", "division by zero")));
  CHECK(s.connections_opened() == 1);  // a failed query leaves the connection usable

  try {
    one(io, s, pg::sql<int>("SELECT NULL::int"));
    FAIL("no error");
  } catch (std::system_error const& e) {
    CHECK(e.code() == sg::errc::bad_input);
    CHECK_THAT(e.what(), Catch::Contains("column 0 (int4) holds NULL"));
  }
  try {
    one(io, s, pg::sql<std::int16_t>("SELECT 70000"));
    FAIL("no error");
  } catch (std::system_error const& e) {
    CHECK_THAT(e.what(), Catch::Contains("holds 70000, out of the range of its integer type"));
  }
  try {
    one(io, s, pg::sql<std::tuple<int, int>>("SELECT 1"));
    FAIL("no error");
  } catch (std::system_error const& e) {
    CHECK_THAT(e.what(), Catch::Contains("gives 1 columns, but the row type has 2"));
  }

  pg::shard nobody(io.get_executor(), "host=127.0.0.1 port=1 user=postgres");
  try {
    one(io, nobody, pg::sql<int>("SELECT 1"));
    FAIL("no error");
  } catch (std::system_error const& e) {
    CHECK(pg::sqlstate(e.code()) == "08001");
    CHECK(e.code() == std::errc::connection_refused);
    CHECK(pg::retryable(e.code()));
    CHECK(sg::default_retryable(e.code()));
  }
  CHECK(pg::retryable(pg::make_error_code("40001")));
  CHECK(pg::retryable(pg::make_error_code("40P01")));
  CHECK(pg::retryable(pg::make_error_code("53300")));
  CHECK(pg::make_error_code("57P01") == std::errc::connection_aborted);
  CHECK(pg::make_error_code("08006") == std::errc::connection_reset);
  CHECK(!pg::retryable(pg::make_error_code("42501")));
  CHECK_THROWS_WITH(pg::shard(io.get_executor(), "host=127.0.0.1 bogus_key=1"), Catch::Contains("does not parse"));
}

namespace {

// The same table on every server: rows with id % n == i on server i, and every row in
// table orders_all on server 0, to check answers against.
void load(asio::io_context& io, std::vector<pg::shard>& shards, std::int64_t rows) {
  const auto n = static_cast<std::int64_t>(shards.size());
  for (std::int64_t i = 0; i < n; ++i) {
    auto& s = shards[static_cast<std::size_t>(i)];
    one(io, s, pg::sql<std::tuple<>>("DROP TABLE IF EXISTS orders"));
    one(io, s, pg::sql<std::tuple<>>("CREATE TABLE orders (id bigint PRIMARY KEY, region text NOT NULL, cents bigint NOT NULL)"));
    one(io, s, pg::sql<std::tuple<>>(
                   "INSERT INTO orders SELECT g, 'r' || (g * 7 % 5), g * 37 % 1000 FROM generate_series(1, $1) g "
                   "WHERE g % $2 = $3",
                   rows, n, i));
  }
  one(io, shards[0], pg::sql<std::tuple<>>("DROP TABLE IF EXISTS orders_all"));
  one(io, shards[0], pg::sql<std::tuple<>>(
                         "CREATE TABLE orders_all AS SELECT g AS id, 'r' || (g * 7 % 5) AS region, g * 37 % 1000 AS cents "
                         "FROM generate_series(1, $1) g",
                         rows));
}

// Whether, within 5 s, no backend on the server runs a query whose text holds `marker`.
bool stops_running(asio::io_context& io, std::string const& server, std::string const& marker) {
  pg::shard watcher(io.get_executor(), server);
  for (int i = 0; i < 50; ++i) {
    const auto running = one(io, watcher, pg::sql<std::int64_t>("SELECT count(*) FROM pg_stat_activity WHERE "
                                                                "strpos(query, $1) > 0 AND state = 'active' "
                                                                "AND pid <> pg_backend_pid()",
                                                                marker));
    if (running == std::vector<std::int64_t>{0}) return true;
    asio::steady_timer t(io, 100ms);
    t.wait();
  }
  return false;
}

// Shards over the first three servers, loaded with `rows` orders.
std::vector<pg::shard> loaded_shards(asio::io_context& io, std::int64_t rows) {
  std::vector<pg::shard> shards;
  for (auto const& c : conninfos()) shards.emplace_back(io.get_executor(), c);
  shards.resize(3, shards[0]);
  load(io, shards, rows);
  return shards;
}

using order = std::tuple<std::int64_t, std::string, std::int64_t>;

}  // namespace

TEST_CASE("postgres: shards split over three servers answer as one database would", "[adapters][postgres]") {
  asio::io_context io;
  auto shards = loaded_shards(io, 5000);

  auto by_cents = [](order const& a, order const& b) {
    return std::tie(std::get<2>(a), std::get<0>(a)) < std::tie(std::get<2>(b), std::get<0>(b));
  };
  auto pipe = sg::scatter(shards) | sg::on(io.get_executor()) | sg::gather(sg::merge::sorted(by_cents));
  auto [ec, r] = run<order>(io, pipe, pg::sql<order>("SELECT id, region, cents FROM orders WHERE cents < $1 ORDER BY cents, id", 200));
  REQUIRE(!ec);
  CHECK(r->completeness.complete());
  const auto want = one(io, shards[0], pg::sql<order>("SELECT id, region, cents FROM orders_all WHERE cents < $1 ORDER BY cents, id", 200));
  CHECK(want.size() > 500);
  CHECK(r->value == want);
}

TEST_CASE("postgres: a timeout cancels the query on the server too", "[adapters][postgres]") {
  asio::io_context io;
  const auto servers = conninfos();
  pg::shard s(io.get_executor(), servers[1]);
  std::vector<pg::shard> shards{s};
  auto pipe = sg::scatter(shards) | sg::with(sg::timeout{300ms}) | sg::on(io.get_executor()) |
              sg::gather(sg::merge::concat());
  const auto t0 = std::chrono::steady_clock::now();
  auto [ec, r] = run<std::string>(io, pipe, pg::sql<std::string>("SELECT pg_sleep(30)::text || 'sg-timeout-probe'"));
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
  REQUIRE(ec);
  REQUIRE(r->failures.size() == 1);
  CHECK(r->failures[0].error == sg::errc::timeout);
  // The server stops the query: no backend runs it a moment later.
  CHECK(stops_running(io, servers[1], "sg-timeout-probe"));
}

TEST_CASE("postgres: a server stopped mid-query fails that shard, never duplicating a row", "[adapters][postgres][fault]") {
  asio::io_context io;
  auto shards = loaded_shards(io, 3000);
  const auto req = pg::sql<order>("SELECT id, region, cents FROM orders, pg_sleep(0.8) ORDER BY id");
  auto by_id = [](order const& a, order const& b) { return std::get<0>(a) < std::get<0>(b); };

  // Stop server 2 once every query is under way.
  auto kill_soon = [&] {
    auto t = std::make_shared<asio::steady_timer>(io, 300ms);
    t->async_wait([t](boost::system::error_code) { script("kill " + pg_dir() + " 2"); });
  };
  {
    auto strict = sg::scatter(shards) | sg::on(io.get_executor()) | sg::gather(sg::merge::sorted(by_id));
    kill_soon();
    auto [ec, r] = run<order>(io, strict, req);
    CHECK(ec);
    REQUIRE(r->failures.size() == 1);
    CHECK(r->failures[0].shard == 2);
    CHECK(sg::default_retryable(r->failures[0].error));  // a lost connection: worth a retry elsewhere
    script("restart " + pg_dir() + " 2");
  }
  {
    auto partial = sg::scatter(shards) | sg::with(sg::partial{.min_success_ratio = 0.5}) | sg::on(io.get_executor()) |
                   sg::gather(sg::merge::sorted(by_id));
    kill_soon();
    auto [ec, r] = run<order>(io, partial, req);
    CHECK(!ec);
    CHECK(!r->completeness.complete());
    CHECK(r->completeness.failed == 1);
    std::set<std::int64_t> ids;
    for (auto const& o : r->value) {
      CHECK(std::get<0>(o) % 3 != 2);  // only the servers that answered
      CHECK(ids.insert(std::get<0>(o)).second);  // each row once
    }
    CHECK(ids.size() == 2000);
    script("restart " + pg_dir() + " 2");
  }
  // Back up: the pool closes its idle connections to the old server, and a new one answers.
  CHECK(one(io, shards[2], pg::sql<std::int64_t>("SELECT count(*) FROM orders")) == std::vector<std::int64_t>{1000});
}

namespace {

// Table `rep` on the first three servers: servers 0 and 1 are replicas of shard 0 (even
// ids), server 2 is shard 1 (odd ids). Returns one pg::shard per server.
std::vector<pg::shard> replicated(asio::io_context& io, std::int64_t rows) {
  std::vector<pg::shard> servers;
  for (auto const& c : conninfos()) servers.emplace_back(io.get_executor(), c);
  servers.resize(3, servers[0]);
  for (std::int64_t i = 0; i < 3; ++i) {
    auto& s = servers[static_cast<std::size_t>(i)];
    one(io, s, pg::sql<std::tuple<>>("DROP TABLE IF EXISTS rep"));
    one(io, s, pg::sql<std::tuple<>>("CREATE TABLE rep (id bigint PRIMARY KEY, region text NOT NULL, cents bigint NOT NULL)"));
    one(io, s, pg::sql<std::tuple<>>("INSERT INTO rep SELECT g, 'r' || (g * 7 % 5), g * 37 % 1000 "
                                     "FROM generate_series(1, $1) g WHERE g % 2 = $2",
                                     rows, i == 2 ? 1 : 0));
  }
  return servers;
}

using replica_shards = std::vector<decltype(sg::replicas_of(std::vector<pg::shard>{}))>;

// Shard 0 over servers 0 and 1 (round-robin, so a fresh set asks server 0 first), shard 1
// over server 2.
replica_shards replica_sets(std::vector<pg::shard> const& servers) {
  replica_shards shards;
  shards.push_back(sg::replicas_of(std::vector<pg::shard>{servers[0], servers[1]}));
  shards.push_back(sg::replicas_of(std::vector<pg::shard>{servers[2]}));
  return shards;
}

// Each id from 1 to n once, in order.
bool every_id_once(std::vector<order> const& rows, std::int64_t n) {
  if (rows.size() != static_cast<std::size_t>(n)) return false;
  for (std::int64_t i = 0; i < n; ++i)
    if (std::get<0>(rows[static_cast<std::size_t>(i)]) != i + 1) return false;
  return true;
}

}  // namespace

TEST_CASE("postgres: with a replica, a server stopped mid-query still gives the full answer, and its breaker opens and closes after the restart",
          "[adapters][postgres][fault][replicas]") {
  asio::io_context io;
  constexpr std::int64_t n = 2000;
  const auto servers = replicated(io, n);
  auto shards = replica_sets(servers);
  sg::breaker_registry<> breakers({.window_size = 4,
                                   .minimum_calls = 1,
                                   .wait_in_open = 2s,
                                   .permitted_calls_in_half_open = 1});
  auto by_id = [](order const& a, order const& b) { return std::get<0>(a) < std::get<0>(b); };
  auto pipe = sg::scatter(shards) |
              sg::with(sg::retry{.max_attempts = 2, .backoff = {.initial = 10ms}}, sg::breaker{breakers}) |
              sg::on(io.get_executor()) | sg::gather(sg::merge::sorted(by_id));

  // Server 0 answers shard 0's first attempt; it stops 300 ms into the query.
  auto t = std::make_shared<asio::steady_timer>(io, 300ms);
  t->async_wait([t](boost::system::error_code) { script("kill " + pg_dir() + " 0"); });
  const auto slow = pg::sql<order>("SELECT id, region, cents FROM rep, pg_sleep(0.8) ORDER BY id");
  {
    auto [ec, r] = run<order>(io, pipe, slow);
    REQUIRE(!ec);
    CHECK(r->completeness.complete());
    CHECK(every_id_once(r->value, n));  // the retry on server 1 answered shard 0, no row twice
  }
  CHECK(breakers.state(0, 0) == sg::breaker_state::open);
  CHECK(breakers.state(0, 1) == sg::breaker_state::closed);

  // While it is open, server 0 is not even tried.
  const auto fast = pg::sql<order>("SELECT id, region, cents FROM rep ORDER BY id");
  const auto opened = servers[0].connections_opened();
  for (int i = 0; i < 3; ++i) {
    auto [ec, r] = run<order>(io, pipe, fast);
    REQUIRE(!ec);
    CHECK(every_id_once(r->value, n));
  }
  CHECK(servers[0].connections_opened() == opened);

  // Restarted, and the wait in open over: a trial call closes the breaker again.
  script("restart " + pg_dir() + " 0");
  asio::steady_timer pause(io, 2s);
  pause.wait();
  for (int i = 0; i < 4 && breakers.state(0, 0) != sg::breaker_state::closed; ++i) {
    auto [ec, r] = run<order>(io, pipe, fast);
    REQUIRE(!ec);
    CHECK(every_id_once(r->value, n));
  }
  CHECK(breakers.state(0, 0) == sg::breaker_state::closed);
  CHECK(servers[0].connections_opened() > opened);
}

TEST_CASE("postgres: a slow replica is hedged to the other, and the loser's query is cancelled on its server",
          "[adapters][postgres][replicas]") {
  asio::io_context io;
  constexpr std::int64_t n = 500;
  const auto servers = replicated(io, n);
  // sg_delay() sleeps 5 s on server 0 and not at all on its replica, server 1.
  for (std::size_t i = 0; i < 3; ++i)
    one(io, servers[i],
        pg::sql<std::tuple<>>(std::string("CREATE OR REPLACE FUNCTION sg_delay() RETURNS int LANGUAGE sql AS ") +
                              (i == 0 ? "'SELECT 1 FROM pg_sleep(5)'" : "'SELECT 1'")));
  auto shards = replica_sets(servers);
  auto by_id = [](order const& a, order const& b) { return std::get<0>(a) < std::get<0>(b); };
  auto pipe = sg::scatter(shards) | sg::with(sg::hedge{.delay = 150ms}) | sg::on(io.get_executor()) |
              sg::gather(sg::merge::sorted(by_id));
  // Round-robin: of two queries, at least one asks server 0 first.
  for (int i = 0; i < 2; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    auto [ec, r] = run<order>(io, pipe, pg::sql<order>("SELECT id, region, cents FROM rep, sg_delay() ORDER BY id"));
    CHECK(std::chrono::steady_clock::now() - t0 < 3s);
    REQUIRE(!ec);
    CHECK(every_id_once(r->value, n));
  }
  const auto names = conninfos();
  CHECK(stops_running(io, names[0], "sg_delay()"));
}
