// Tests of sg::postgres on real servers: CTest starts three with scripts/pg-cluster.sh
// (the `pg` fixture) and passes their directory in SG_PG_DIR.
#include <sg/adapters/postgres.hpp>
#include <sg/adapters/postgres_query.hpp>
#include <sg/agg/count.hpp>
#include <sg/agg/minmax.hpp>
#include <sg/agg/sum.hpp>
#include <sg/agg/variance.hpp>
#include <sg/exec/async.hpp>
#include <sg/order.hpp>
#include <sg/merge/concat.hpp>
#include <sg/merge/sorted.hpp>
#include <sg/pipeline.hpp>
#include <sg/policy/circuit_breaker.hpp>
#include <sg/policy/hedge.hpp>
#include <sg/policy/partial.hpp>
#include <sg/policy/retry.hpp>
#include <sg/policy/time.hpp>
#include <sg/query/local.hpp>
#include <sg/query/query.hpp>
#include <sg/replicas.hpp>

#include "support/seed.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <limits>
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

// --- typed row queries (sg/adapters/postgres_query.hpp) -----------------------------------

namespace {

// Every column kind a typed query reads: NOT NULL and nullable integers, floats and text.
using typed_row = std::tuple<std::int64_t, std::optional<std::int64_t>, double, std::optional<double>, std::string,
                             std::optional<std::string>, bool, std::int32_t>;

bool same_rows(std::vector<typed_row> const& a, std::vector<typed_row> const& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!sg::total_equal(a[i], b[i])) return false;
  return true;
}

std::string show(std::vector<typed_row> const& rows) {
  std::string out;
  for (auto const& r : rows)
    out += "(" + std::to_string(std::get<0>(r)) + ", " + (std::get<1>(r) ? std::to_string(*std::get<1>(r)) : "NULL") +
           ", " + std::to_string(std::get<2>(r)) + ", " + (std::get<3>(r) ? std::to_string(*std::get<3>(r)) : "NULL") +
           ", '" + std::get<4>(r) + "', " + (std::get<5>(r) ? "'" + *std::get<5>(r) + "'" : "NULL") + ", " +
           (std::get<6>(r) ? "t" : "f") + ", " + std::to_string(std::get<7>(r)) + ")\n";
  return out;
}

}  // namespace

TEST_CASE("postgres: typed queries of rows and of groups answer as sg::local::run over all rows", "[adapters][postgres][property]") {
  asio::io_context io;
  const auto servers = conninfos();
  SG_SEEDED_RNG(rng);
  constexpr double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  constexpr std::int64_t lo = std::numeric_limits<std::int64_t>::min(), hi = std::numeric_limits<std::int64_t>::max();
  const std::vector<std::int64_t> ints{lo, hi, -1, 0, 1, 2, 3, 42};
  const std::vector<double> floats{nan, inf, -inf, -0.0, 0.0, 1.5, -2.25, 1e300, 2.0, 3.0};
  const std::vector<std::string> texts{"", "a", "B", "b", "é", "ä_x", "a%b", "back\\slash", "q\"uote", "z", "日本"};
  auto pick = [&](auto const& pool) { return pool[rng() % pool.size()]; };

  // Random rows over three servers, each in a table with a scan order (seq).
  const std::vector<std::int32_t> smalls{std::numeric_limits<std::int32_t>::min(), std::numeric_limits<std::int32_t>::max(),
                                         -7, 0, 1, 1000000};
  const std::vector<std::string> cols{"id", "n", "x", "y", "s", "t", "b", "h"};
  const pg::table<typed_row> tab("sg_typed", cols, "seq");
  std::vector<pg::table_shard<typed_row>> shards;
  std::vector<typed_row> all;
  for (std::size_t s = 0; s < 3; ++s) {
    pg::shard server(io.get_executor(), servers[s]);
    one(io, server, pg::sql<std::tuple<>>("DROP TABLE IF EXISTS sg_typed"));
    one(io, server, pg::sql<std::tuple<>>("CREATE TABLE sg_typed (seq bigserial PRIMARY KEY, id int8 NOT NULL, n int8, "
                                          "x float8 NOT NULL, y float8, s text NOT NULL, t text, b bool NOT NULL, "
                                          "h int4 NOT NULL)"));
    const std::size_t n = s == 1 ? 0 : 40 + rng() % 40;  // one server empty
    for (std::size_t i = 0; i < n; ++i) {
      typed_row r{pick(ints), rng() % 4 == 0 ? std::nullopt : std::optional(pick(ints)), pick(floats),
                  rng() % 4 == 0 ? std::nullopt : std::optional(pick(floats)), pick(texts),
                  rng() % 4 == 0 ? std::nullopt : std::optional(pick(texts)), rng() % 2 == 0, pick(smalls)};
      one(io, server, pg::sql<std::tuple<>>("INSERT INTO sg_typed (id, n, x, y, s, t, b, h) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                                            std::get<0>(r), std::get<1>(r), std::get<2>(r), std::get<3>(r), std::get<4>(r),
                                            std::get<5>(r), std::get<6>(r), std::get<7>(r)));
      all.push_back(r);
    }
    shards.emplace_back(server, tab);
  }

  auto check = [&](auto const& q, char const* what) {
    auto pipe = sg::scatter(shards) | sg::on(io.get_executor()) | sg::gather(q);
    auto [ec, r] = run<typed_row>(io, pipe, q);
    INFO(what << "\n" << shards[0].sql_of(q).first);
    REQUIRE(!ec);
    REQUIRE(r->completeness.complete());
    auto one_node = sg::local::run(q, all);
    const auto want = q(std::vector<decltype(one_node)>{std::move(one_node)});  // merged as a pipeline merges it
    INFO("got:\n" << show(r->value) << "want:\n" << show(want));
    CHECK(same_rows(r->value, want));
  };
  using sg::col;
  for (int round = 0; round < 4; ++round) {
    const std::int64_t k = pick(ints);
    const double f = pick(floats);
    const std::string t = pick(texts);
    INFO("round " << round << ": k " << k << ", f " << f << ", t '" << t << "'");
    check(sg::query(sg::where(sg::eq(col<0>, k))), "int =");
    check(sg::query(sg::where(sg::ge(col<1>, k) || sg::is_null(col<1>))), "nullable int >= OR IS NULL");
    check(sg::query(sg::where(sg::lt(col<2>, f)), sg::order_by(col<2>, sg::desc(col<0>))), "float < ordered");
    check(sg::query(sg::where(sg::gt(col<3>, f)), sg::order_by(sg::desc(col<3>))), "nullable float >");
    check(sg::query(sg::where(!sg::eq(col<2>, f))), "NOT float =");
    check(sg::query(sg::where(sg::between(col<4>, t, std::string("b")))), "text BETWEEN (bytes)");
    check(sg::query(sg::where(sg::le(col<5>, t)), sg::order_by(col<5>, col<4>)), "nullable text <= ordered");
    check(sg::query(sg::where(sg::in(col<0>, {k, hi, lo, std::int64_t{3}}))), "int IN");
    check(sg::query(sg::where(sg::in(col<2>, {f, nan, -0.0}))), "float IN with NaN");
    check(sg::query(sg::where(sg::in(col<5>, {t, std::string("q\"uote"), std::string("back\\slash")}))), "text IN");
    check(sg::query(sg::where(sg::in(col<0>, std::vector<std::int64_t>{}))), "empty IN");
    check(sg::query(sg::order_by(sg::desc(col<3>), col<5>, col<4>), sg::limit(7, 3)), "order, limit, offset");
    check(sg::query(sg::order_by(col<1>, sg::desc(col<5>)), sg::limit(5)), "NULLs first ascending, last descending");
    check(sg::query(sg::limit(9, 2)), "limit without order");
    check(sg::query(sg::where(sg::eq(col<6>, true)), sg::order_by(col<6>, col<0>)), "bool");
  }
  for (std::string pattern : {"a%", "%_x", "é%", "%\\%", "%\"%", "_", "__", "%", "", "B", "%b", "日_本", "日%"}) {
    INFO("LIKE '" << pattern << "'");
    check(sg::query(sg::where(sg::like(col<4>, pattern))), "LIKE");
    check(sg::query(sg::where(!sg::like(col<5>, pattern))), "NOT LIKE on a nullable column");
  }
  check(sg::query(sg::distinct()), "distinct");
  check(sg::query(sg::distinct(), sg::where(sg::ne(col<4>, "z"))), "distinct where");
  check(sg::query(sg::distinct(), sg::order_by(sg::desc(col<2>)), sg::limit(4)), "distinct ordered, limited");

  // Grouped queries: partial states in SQL, merged and finished by sg.
  auto check_groups = [&](auto const& g, char const* what) {
    auto pipe = sg::scatter(shards) | sg::on(io.get_executor()) | sg::gather(g);
    using result = sg::gathered<std::vector<typename std::remove_cvref_t<decltype(g)>::template result_row_type<typed_row>>>;
    std::optional<result> got;
    std::error_code error;
    pipe.async(g, [&](std::error_code ec, result r) {
      error = ec;
      got = std::move(r);
    });
    io.restart();
    io.run();
    INFO(what << "\n" << shards[0].sql_of(g).first);
    REQUIRE(!error);
    REQUIRE(got->completeness.complete());
    auto one_node = sg::local::run(g, all);
    const auto want = g(std::vector<decltype(one_node)>{std::move(one_node)});
    REQUIRE(got->value.size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
      INFO("row " << i);
      CHECK(sg::total_equal(got->value[i], want[i]));
    }
  };
  namespace agg = sg::agg;
  check_groups(sg::query(sg::group_by(col<4>), sg::aggregate(agg::count(), agg::sum(col<7>), agg::avg(col<0>),
                                                              agg::min(col<2>), agg::max(col<4>), agg::max(col<0>)),
                         sg::order_by(col<0>)),
               "by text: count, sum, avg, min, max");
  check_groups(sg::query(sg::where(sg::ne(col<4>, "z")), sg::group_by(col<1>, col<6>),
                         sg::aggregate(agg::count(), agg::avg(col<7>), agg::min(col<4>)), sg::order_by(col<0>, col<1>)),
               "by nullable int and bool");
  check_groups(sg::query(sg::group_by(col<3>), sg::aggregate(agg::count(), agg::sum(col<2>), agg::min(col<2>)),
                         sg::order_by(col<0>)),
               "by nullable float (NaN, -0.0): float sums");
  check_groups(sg::query(sg::group_by(col<5>), sg::aggregate(agg::count()), sg::having(sg::gt(col<1>, 2u)),
                         sg::order_by(sg::desc(col<1>), col<0>), sg::limit(3)),
               "having, order, limit");
  check_groups(sg::query(sg::aggregate(agg::count(), agg::sum(col<7>), agg::min(col<0>), agg::max(col<0>))),
               "a global aggregate");
  check_groups(sg::query(sg::where(sg::eq(col<4>, "no such text")), sg::aggregate(agg::count(), agg::sum(col<7>))),
               "a global aggregate of no rows: no row");
  {  // variance from exact numeric sums: equal to sg's Welford moments up to rounding
    const auto v = sg::query(sg::group_by(col<6>),
                             sg::aggregate(agg::count(), agg::variance(col<7>), agg::stddev_pop(col<0>), agg::variance_pop(col<0>)),
                             sg::order_by(col<0>));
    auto pipe = sg::scatter(shards) | sg::on(io.get_executor()) | sg::gather(v);
    using result = sg::gathered<std::vector<decltype(v)::result_row_type<typed_row>>>;
    std::optional<result> got;
    pipe.async(v, [&](std::error_code, result r) { got = std::move(r); });
    io.restart();
    io.run();
    INFO(shards[0].sql_of(v).first);
    REQUIRE(got);
    auto one_node = sg::local::run(v, all);
    const auto want = v(std::vector<decltype(one_node)>{std::move(one_node)});
    REQUIRE(got->value.size() == want.size());
    auto close = [](double a, double b) {
      if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
      return std::abs(a - b) <= 1e-9 * std::max({1.0, std::abs(a), std::abs(b)});
    };
    for (std::size_t i = 0; i < want.size(); ++i) {
      auto const& [gk, gn, gv, gs, gp] = got->value[i];
      auto const& [wk, wn, wv, ws, wp] = want[i];
      INFO("group " << gk << ": " << gv << " " << wv << ", " << gs << " " << ws << ", " << gp << " " << wp);
      CHECK(gk == wk);
      CHECK(gn == wn);
      CHECK(close(gv, wv));
      CHECK(close(gs, ws));
      CHECK(close(gp, wp));
    }
  }
  const auto q = sg::query(sg::where(sg::eq(col<4>, std::string("a\0b", 3))));
  CHECK_THROWS_WITH(shards[0].sql_of(q), Catch::Contains("NUL byte"));
}
