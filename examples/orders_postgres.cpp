// sg on PostgreSQL: generated orders hash-partitioned by customer over four shards on local
// PostgreSQL servers. Each shard answers its half of a query in SQL; sg sends the requests
// concurrently on one thread (libpq's non-blocking API on Asio) and merges the answers.
// Queries 1, 3 and 4a are typed queries (sg::query): sg::postgres::table_shard renders
// each shard's SQL (sg/adapters/postgres_query.hpp). Queries 2 (each shard ranks its own
// customers: groups_colocated, not rendered for PostgreSQL), 4b (HyperLogLog registers in
// SQL) and 5 (a join) are SQL written by hand, with sg's merges (orders_postgres.hpp).
// Every answer is checked against the same SQL on one database holding all the rows: exact
// for integers, 1e-9 relative for averages; the HyperLogLog sketch merged from the shards'
// registers equals the one database's sketch exactly, and is within 3 standard errors
// (2.4 %) of the exact count.
//
//   orders_postgres CONNINFO_FILE [orders = 1000000] [shards = 4]
//
// CONNINFO_FILE holds one libpq connection string a line, as scripts/pg-cluster.sh writes:
//   scripts/pg-cluster.sh start /tmp/pg 4 && orders_postgres /tmp/pg/conninfo
// Where the shards live, how they are loaded and the five queries: orders_postgres.hpp. The
// schemas it makes are replaced on each run.
// Exit status 0 when every answer matches, 1 otherwise, 2 on a usage or load error.
#include "orders_postgres.hpp"

#include <sg/adapters/postgres_query.hpp>
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
#include <utility>
#include <vector>

namespace asio = boost::asio;
namespace db = shop::on_postgres;
using asio::awaitable;
using asio::use_awaitable;
using shop::order;

namespace {

awaitable<void> run(std::vector<std::string> servers, std::size_t n, std::size_t shard_count, shop::checker& check) {
  auto ex = co_await asio::this_coro::executor;
  const db::cluster c(ex, servers, shard_count);
  check.start();
  co_await c.load(shop::generate(n));
  std::printf("%zu orders over %zu shards on %zu PostgreSQL servers (loaded in %.0f ms)\n\n", n, shard_count,
              std::min(servers.size(), shard_count), check.ms());
  auto const& one = c.one.front();
  // The same shards answering typed queries on their orders table.
  const sg::postgres::table<order> orders("orders", {"id", "customer", "region", "cents", "ts"}, "");
  std::vector<sg::postgres::table_shard<order>> typed;
  for (auto const& s : c.shards) typed.emplace_back(s, orders);

  {  // 1. Total and average amount by region (two-phase: the shards' counts and sums, merged).
    const auto by_region = sg::query(sg::group_by(&order::region),
                                     sg::aggregate(sg::agg::count(), sg::agg::sum(&order::cents), sg::agg::avg(&order::cents)),
                                     sg::order_by(sg::col<0>));
    auto pipe = sg::scatter(typed) | sg::on(ex) | sg::gather(by_region);
    check.start();
    auto [ec, r] = co_await pipe.async(by_region, use_awaitable);
    const double ms = check.ms();
    auto want = co_await db::rows_of<std::tuple<std::int32_t, std::int64_t, std::int64_t, double>>(
        one, "SELECT region, count(*), sum(cents), avg(cents)::float8 FROM orders GROUP BY region ORDER BY region");
    bool match = r.value.size() == want.size();
    std::printf("1. orders, total and average by region (two-phase aggregation)\n");
    for (std::size_t i = 0; i < r.value.size(); ++i) {
      auto const& [region, count, total, mean] = r.value[i];
      std::printf("  region %d  %7lld orders  %14.2f total  %8.2f average\n", region, static_cast<long long>(count),
                  static_cast<double>(total) / 100, mean / 100);
      if (i < want.size())
        match = match && region == std::get<0>(want[i]) && std::cmp_equal(count, std::get<1>(want[i])) &&
                total == std::get<2>(want[i]) && shop::near(mean, std::get<3>(want[i]), 1e-9);
    }
    check.footer(r, ms, match);
  }

  {  // 2. Top 10 customers by spend (each shard's 10 best, merged top-k).
    auto [request, merge] = db::top_spenders();
    auto pipe = sg::scatter(c.shards) | sg::on(ex) | sg::gather(merge);
    check.start();
    auto [ec, r] = co_await pipe.async(request, use_awaitable);
    const double ms = check.ms();
    auto want = co_await db::rows_of<db::spender>(one, request.text);
    std::printf("2. top 10 customers by spend (aggregate, then top-k)\n");
    for (auto const& [customer, spend] : r.value)
      std::printf("  customer %7lld  %12.2f\n", static_cast<long long>(customer), static_cast<double>(spend) / 100);
    check.footer(r, ms, r.value == want);
  }

  {  // 3. The latest 100 orders (each shard's latest 100, merged sorted).
    const auto latest = sg::query(sg::order_by(sg::desc(&order::ts), sg::desc(&order::id)), sg::limit(100));
    auto pipe = sg::scatter(typed) | sg::on(ex) | sg::gather(latest);
    check.start();
    auto [ec, r] = co_await pipe.async(latest, use_awaitable);
    const double ms = check.ms();
    auto want = co_await db::rows_of<order>(one, db::latest().first.text);
    check.footer(r, ms, shop::report_latest(r.value, want));
  }

  const auto exact = (co_await db::rows_of<std::int64_t>(one, "SELECT count(DISTINCT customer) FROM orders")).at(0);
  {  // 4a. Distinct customers, exact: each shard's customers (GROUP BY), merged by key.
    const auto customers = sg::query(sg::group_by(&order::customer));
    auto pipe = sg::scatter(typed) | sg::on(ex) | sg::gather(customers);
    check.start();
    auto [ec, r] = co_await pipe.async(customers, use_awaitable);
    const double ms = check.ms();
    std::printf("4a. distinct customers, exact: %zu\n", r.value.size());
    check.footer(r, ms, static_cast<std::int64_t>(r.value.size()) == exact);
  }
  {  // 4b. Distinct customers, approximate: HyperLogLog registers computed by each shard.
    auto [request, merge] = db::customer_registers();
    auto pipe = sg::scatter(c.shards) | sg::on(ex) | sg::gather(merge);
    check.start();
    auto [ec, r] = co_await pipe.async(request, use_awaitable);
    const auto merged = db::sketch_of(r.value);
    const double ms = check.ms();
    const auto whole = db::sketch_of(co_await db::rows_of<db::hll_register>(one, request.text));
    // The registers SQL computes are add_hash's: the same sketch as adding every hash here.
    sg::agg::hyperloglog here(14);
    for (std::int64_t h : co_await db::rows_of<std::int64_t>(one, "SELECT hashint8extended(customer, 0) FROM orders"))
      here.add_hash(static_cast<std::uint64_t>(h));
    const double estimate = merged.estimate();
    std::printf("4b. distinct customers, HyperLogLog (2^14 registers): %.0f (%+.2f %% off), from %zu registers\n",
                estimate, exact == 0 ? 0.0 : 100 * (estimate / static_cast<double>(exact) - 1), r.value.size());
    check.footer(r, ms, merged == whole && merged == here && shop::within_hll_error(estimate, static_cast<double>(exact)));
  }

  {  // 5. Revenue and VAT by region name (orders joined with each shard's copy of regions).
    auto [request, merge] = db::revenue_by_name();
    auto pipe = sg::scatter(c.shards) | sg::on(ex) | sg::gather(merge);
    check.start();
    auto [ec, r] = co_await pipe.async(request, use_awaitable);
    const double ms = check.ms();
    std::ranges::sort(r.value);
    auto want = co_await db::rows_of<std::tuple<std::string, std::int64_t, std::int64_t>>(one, request.text +
                                                                                              " ORDER BY r.name");
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
