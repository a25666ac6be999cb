// sg on PostgreSQL: generated orders hash-partitioned by customer over four shards on local
// PostgreSQL servers. Each shard answers its half of a query in SQL; sg sends the requests
// concurrently on one thread (libpq's non-blocking API on Asio) and merges the answers.
// Every answer is checked against the same SQL on one database holding all the rows: exact
// for integers, 1e-9 relative for averages; the HyperLogLog sketch merged from the shards'
// registers equals the one database's sketch exactly, and is within 3 standard errors
// (2.4 %) of the exact count.
//
//   orders_postgres CONNINFO_FILE [orders = 1000000] [shards = 4]
//
// CONNINFO_FILE holds one libpq connection string a line, as scripts/pg-cluster.sh writes:
//   scripts/pg-cluster.sh start /tmp/pg 4 && orders_postgres /tmp/pg/conninfo
// Shard i lives in schema sg_shard_i on server i mod servers (a connection option sets its
// search_path, so every shard runs the same SQL), and every row also in schema sg_all on the
// first server, for the check. The schemas are replaced on each run.
// Exit status 0 when every answer matches, 1 otherwise, 2 on a usage or load error.
#include "orders_data.hpp"

#include <sg/adapters/postgres.hpp>
#include <sg/sg.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <string>
#include <tuple>
#include <vector>

namespace asio = boost::asio;
namespace pg = sg::postgres;
using asio::awaitable;
using asio::use_awaitable;
using shop::order;

namespace {

// The rows of one query on one server.
template <class Row>
awaitable<std::vector<Row>> rows_of(pg::shard const& s, std::string sql) {
  co_return co_await s.async_execute(pg::sql<Row>(std::move(sql)), use_awaitable);
}

// Runs one statement that returns no rows.
awaitable<void> exec(pg::shard const& s, std::string sql) {
  co_await s.async_execute(pg::sql<std::tuple<>>(std::move(sql)), use_awaitable);
}

// A PostgreSQL array literal of one column of `rows`: {1,2,3}.
template <class Field>
std::string array_of(std::vector<order> const& rows, std::size_t from, std::size_t to, Field order::*field) {
  std::string out = "{";
  for (std::size_t i = from; i < to; ++i) {
    if (i > from) out += ',';
    out += std::to_string(rows[i].*field);
  }
  return out + '}';
}

// Replaces `schema` on the server with the orders table holding `rows` and the regions
// table: 50,000 rows a statement, as arrays unnested by the server.
awaitable<void> load(pg::shard const& s, std::string const& schema, std::vector<order> const& rows) {
  co_await exec(s, "DROP SCHEMA IF EXISTS " + schema + " CASCADE");
  co_await exec(s, "CREATE SCHEMA " + schema);
  co_await exec(s, "CREATE TABLE " + schema +
                       ".orders (id bigint PRIMARY KEY, customer bigint NOT NULL, region int NOT NULL, "
                       "cents bigint NOT NULL, ts bigint NOT NULL)");
  co_await exec(s, "CREATE TABLE " + schema + ".regions (id int PRIMARY KEY, name text NOT NULL, vat_percent int NOT NULL)");
  for (auto const& r : shop::regions)
    co_await s.async_execute(pg::sql<std::tuple<>>("INSERT INTO " + schema + ".regions VALUES ($1, $2, $3)", r.id,
                                                   std::string(r.name), r.vat_percent),
                             use_awaitable);
  constexpr std::size_t chunk = 50'000;
  for (std::size_t from = 0; from < rows.size(); from += chunk) {
    const std::size_t to = std::min(rows.size(), from + chunk);
    co_await s.async_execute(
        pg::sql<std::tuple<>>("INSERT INTO " + schema +
                                  ".orders SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::bigint[], "
                                  "$5::bigint[])",
                              array_of(rows, from, to, &order::id), array_of(rows, from, to, &order::customer),
                              array_of(rows, from, to, &order::region), array_of(rows, from, to, &order::cents),
                              array_of(rows, from, to, &order::ts)),
        use_awaitable);
  }
  co_await exec(s, "CREATE INDEX ON " + schema + ".orders (ts DESC, id DESC)");
  co_await exec(s, "ANALYZE " + schema + ".orders");
}

// Query 1's shard answer: a region's order count and total, summed again by sg.
struct region_part {
  std::int32_t region;
  std::int64_t orders;
  std::int64_t cents;
};
// Query 5's: revenue and VAT (in cent-percent) by region name.
struct region_revenue {
  std::string name;
  std::int64_t cents;
  std::int64_t vat;
};

// HyperLogLog in SQL: each shard hashes its customers (hashint8extended, 64 bits) and sends
// only its non-empty registers, (index, rank) under sg::agg::hyperloglog::add_hash's rule at
// precision 14: index = the top 14 bits, rank = 51 − the bit length of the low 50 bits (the
// number of powers of two up to them, which width_bucket finds by binary search).
std::string hll_registers_sql() {
  std::string powers = "{1";
  for (int i = 1; i < 50; ++i) {
    powers += ',';
    powers += std::to_string(std::int64_t{1} << i);
  }
  return "SELECT (h >> 50) & 16383, max(51 - width_bucket(h & 1125899906842623, '" + powers +
         "}'::bigint[])) FROM (SELECT hashint8extended(customer, 0) AS h FROM orders) AS hashed GROUP BY 1";
}
using hll_register = std::tuple<std::int64_t, std::int32_t>;

sg::agg::hyperloglog sketch_of(std::vector<hll_register> const& registers) {
  sg::agg::hyperloglog h(14);
  for (auto const& [index, rank] : registers) h.raise(static_cast<std::size_t>(index), static_cast<unsigned>(rank));
  return h;
}

awaitable<void> run(std::vector<std::string> servers, std::size_t n, std::size_t shard_count, shop::checker& check) {
  auto ex = co_await asio::this_coro::executor;
  auto at = [&](std::size_t server, std::string const& schema) {
    return pg::shard(ex, servers[server % servers.size()] + " options='-csearch_path=" + schema + "'");
  };

  // Generate, split by customer with a jump consistent hash, load each shard (and all rows
  // into sg_all, to check the answers against).
  check.start();
  const auto rows = shop::generate(n);
  const auto buckets = sg::partition::split(rows, sg::partition::jump(shard_count), &order::customer);
  std::vector<pg::shard> shards;
  for (std::size_t s = 0; s < shard_count; ++s) {
    const std::string schema = "sg_shard_" + std::to_string(s);
    co_await load(at(s, "public"), schema, buckets[s]);
    shards.push_back(at(s, schema));
  }
  co_await load(at(0, "public"), "sg_all", rows);
  const pg::shard one = at(0, "sg_all");
  std::printf("%zu orders over %zu shards on %zu PostgreSQL servers (loaded in %.0f ms)\n\n", n, shard_count,
              std::min(servers.size(), shard_count), check.ms());

  {  // 1. Total and average amount by region: each shard counts and sums its regions; sg
     //    sums the counts and the sums by region (two-phase), and divides.
    const std::string sql = "SELECT region, count(*), sum(cents) FROM orders GROUP BY region";
    auto pipe = sg::scatter(shards) | sg::on(ex) |
                sg::gather(sg::merge::hash_aggregate(&region_part::region, sg::agg::sum(&region_part::orders),
                                                     sg::agg::sum(&region_part::cents)));
    check.start();
    auto [ec, r] = co_await pipe.async(pg::sql<region_part>(sql), use_awaitable);
    const double ms = check.ms();
    std::ranges::sort(r.value);
    auto want = co_await rows_of<std::tuple<std::int32_t, std::int64_t, std::int64_t, double>>(
        one, "SELECT region, count(*), sum(cents), avg(cents)::float8 FROM orders GROUP BY region ORDER BY region");
    bool match = r.value.size() == want.size();
    std::printf("1. orders, total and average by region (two-phase aggregation)\n");
    for (std::size_t i = 0; i < r.value.size(); ++i) {
      auto const& [region, count, total] = r.value[i];
      const double mean = static_cast<double>(total) / static_cast<double>(count);
      std::printf("  region %d  %7lld orders  %14.2f total  %8.2f average\n", region, static_cast<long long>(count),
                  static_cast<double>(total) / 100, mean / 100);
      if (i < want.size())
        match = match && region == std::get<0>(want[i]) && count == std::get<1>(want[i]) &&
                total == std::get<2>(want[i]) && shop::near(mean, std::get<3>(want[i]), 1e-9);
    }
    check.footer(r, ms, match);
  }

  {  // 2. Top 10 customers by spend. Partitioned by customer, so each shard ranks its own
     //    customers and sends its 10 best; sg merges them into the global 10 (top-k).
    using spender = std::tuple<std::int64_t, std::int64_t>;  // customer, spend
    const std::string sql =
        "SELECT customer, sum(cents) AS spend FROM orders GROUP BY customer ORDER BY spend DESC, customer LIMIT 10";
    auto more_spent = [](spender const& a, spender const& b) {
      return std::get<1>(a) != std::get<1>(b) ? std::get<1>(a) > std::get<1>(b) : std::get<0>(a) < std::get<0>(b);
    };
    auto pipe = sg::scatter(shards) | sg::on(ex) | sg::gather(sg::merge::top_k(10, more_spent));
    check.start();
    auto [ec, r] = co_await pipe.async(pg::sql<spender>(sql), use_awaitable);
    const double ms = check.ms();
    auto want = co_await rows_of<spender>(one, sql);
    std::printf("2. top 10 customers by spend (aggregate, then top-k)\n");
    for (auto const& [customer, spend] : r.value)
      std::printf("  customer %7lld  %12.2f\n", static_cast<long long>(customer), static_cast<double>(spend) / 100);
    check.footer(r, ms, r.value == want);
  }

  {  // 3. The latest 100 orders: each shard sends its latest 100 (from an index), sg merges
     //    the sorted lists and stops at 100.
    const std::string sql = "SELECT id, customer, region, cents, ts FROM orders ORDER BY ts DESC, id DESC LIMIT 100";
    auto later = [](order const& a, order const& b) { return std::tie(b.ts, b.id) < std::tie(a.ts, a.id); };
    auto pipe = sg::scatter(shards) | sg::on(ex) | sg::gather(sg::merge::top_k(100, later));
    check.start();
    auto [ec, r] = co_await pipe.async(pg::sql<order>(sql), use_awaitable);
    const double ms = check.ms();
    auto want = co_await rows_of<order>(one, sql);
    bool match = r.value.size() == want.size();
    for (std::size_t i = 0; match && i < want.size(); ++i)
      match = r.value[i].id == want[i].id && r.value[i].ts == want[i].ts && r.value[i].cents == want[i].cents;
    std::printf("3. latest 100 orders (sorted merge, limit pushed to every shard)\n");
    for (std::size_t i = 0; i < std::min<std::size_t>(3, r.value.size()); ++i)
      std::printf("  order %8lld  customer %7lld  at %lld\n", static_cast<long long>(r.value[i].id),
                  static_cast<long long>(r.value[i].customer), static_cast<long long>(r.value[i].ts));
    if (r.value.size() > 3) std::printf("  ... %zu more\n", r.value.size() - 3);
    check.footer(r, ms, match);
  }

  const auto exact = (co_await rows_of<std::int64_t>(one, "SELECT count(DISTINCT customer) FROM orders")).at(0);
  {  // 4a. Distinct customers, exact: each shard's distinct customers, merged distinct.
    auto pipe = sg::scatter(shards) | sg::on(ex) | sg::gather(sg::merge::distinct());
    check.start();
    auto [ec, r] = co_await pipe.async(pg::sql<std::int64_t>("SELECT DISTINCT customer FROM orders"), use_awaitable);
    const double ms = check.ms();
    std::printf("4a. distinct customers, exact: %zu\n", r.value.size());
    check.footer(r, ms, static_cast<std::int64_t>(r.value.size()) == exact);
  }
  {  // 4b. Distinct customers, approximate: each shard sends its HyperLogLog registers (at
     //    most 16,384 rows, however many customers); sg keeps the maximum of each.
    auto pipe = sg::scatter(shards) | sg::on(ex) | sg::gather(sg::merge::concat());
    check.start();
    auto [ec, r] = co_await pipe.async(pg::sql<hll_register>(hll_registers_sql()), use_awaitable);
    const auto merged = sketch_of(r.value);
    const double ms = check.ms();
    const auto whole = sketch_of(co_await rows_of<hll_register>(one, hll_registers_sql()));
    // The registers SQL computes are add_hash's: the same sketch as adding every hash here.
    sg::agg::hyperloglog here(14);
    for (std::int64_t h : co_await rows_of<std::int64_t>(one, "SELECT hashint8extended(customer, 0) FROM orders"))
      here.add_hash(static_cast<std::uint64_t>(h));
    const double estimate = merged.estimate();
    std::printf("4b. distinct customers, HyperLogLog (2^14 registers): %.0f (%+.2f %% off), from %zu registers\n",
                estimate, exact == 0 ? 0.0 : 100 * (estimate / static_cast<double>(exact) - 1), r.value.size());
    check.footer(r, ms, merged == whole && merged == here && shop::within_hll_error(estimate, static_cast<double>(exact)));
  }

  {  // 5. Revenue and VAT by region name: each shard joins its orders with its copy of the
     //    small regions table (a broadcast join, in SQL); sg sums the partial sums by name.
    const std::string sql =
        "SELECT r.name, sum(o.cents), sum(o.cents * r.vat_percent) FROM orders o JOIN regions r ON r.id = o.region "
        "GROUP BY r.name";
    auto pipe = sg::scatter(shards) | sg::on(ex) |
                sg::gather(sg::merge::hash_aggregate(&region_revenue::name, sg::agg::sum(&region_revenue::cents),
                                                     sg::agg::sum(&region_revenue::vat)));
    check.start();
    auto [ec, r] = co_await pipe.async(pg::sql<region_revenue>(sql), use_awaitable);
    const double ms = check.ms();
    std::ranges::sort(r.value);
    auto want = co_await rows_of<std::tuple<std::string, std::int64_t, std::int64_t>>(one, sql + " ORDER BY r.name");
    bool match = r.value.size() == want.size();
    std::printf("5. revenue and VAT by region name (orders joined with a broadcast table)\n");
    for (std::size_t i = 0; i < r.value.size(); ++i) {
      auto const& [name, cents, vat] = r.value[i];
      std::printf("  %-10s %14.2f revenue  %12.2f VAT\n", name.c_str(), static_cast<double>(cents) / 100,
                  static_cast<double>(vat) / 10'000);
      if (i < want.size())
        match = match && name == std::get<0>(want[i]) && cents == std::get<1>(want[i]) && vat == std::get<2>(want[i]);
    }
    check.footer(r, ms, match);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4) {
    std::fprintf(stderr, "usage: orders_postgres CONNINFO_FILE [orders = 1000000] [shards = 4]\n");
    return 2;
  }
  std::vector<std::string> servers;
  std::ifstream in(argv[1]);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) servers.push_back(line);
  if (servers.empty()) {
    std::fprintf(stderr, "orders_postgres: no connection string in %s\n", argv[1]);
    return 2;
  }
  const std::size_t n = argc > 2 ? std::stoul(argv[2]) : 1'000'000;
  const std::size_t shard_count = argc > 3 ? std::max<std::size_t>(1, std::stoul(argv[3])) : 4;

  asio::io_context io;
  shop::checker check;
  std::exception_ptr failure;
  asio::co_spawn(io, run(servers, n, shard_count, check), [&](std::exception_ptr e) { failure = e; });
  io.run();
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (std::exception const& e) {
      std::fprintf(stderr, "orders_postgres: %s\n", e.what());
      return 2;
    }
  }
  return check.verdict();
}
