// The SQLite typed-query tests that run threads: one shard serving concurrent queries, and
// the docs/adapters.md snippet on a thread pool. Apart from sqlite_query.cpp so that the
// ThreadSanitizer build compiles these without the property tests' many query shapes.
#include <sg/adapters/sqlite_query.hpp>
#include <sg/agg/count.hpp>
#include <sg/agg/sum.hpp>
#include <sg/exec/on.hpp>
#include <sg/pipeline.hpp>
#include <sg/query/local.hpp>
#include <sg/query/query.hpp>

#include "adapters/sales.hpp"

#include <boost/asio/thread_pool.hpp>
#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <random>
#include <thread>
#include <tuple>
#include <vector>

using namespace sales_fixture;

TEST_CASE("sqlite typed queries: one table shard serves concurrent queries", "[adapters][sqlite][query][threads]") {
  std::mt19937_64 rng(7);
  const auto rows = random_sales(rng, 500);
  auto shard = memory_shard(rows);
  const auto grouped = sg::query(sg::group_by(&sale::store), sg::aggregate(sg::agg::count(), sg::agg::sum(&sale::cents)));
  const auto top = sg::query(sg::where(sg::predicate([](sale const& s) { return s.gift; })),
                             sg::order_by(sg::desc(&sale::cents)), sg::limit(5));
  const auto want_grouped = by_key(sg::local::run(grouped, rows));
  const auto want_top = sg::local::run(top, rows);
  std::vector<int> wrong(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        if (by_key(shard.execute(grouped)) != want_grouped) ++wrong[static_cast<std::size_t>(t)];
        if (shard.execute(top) != want_top) ++wrong[static_cast<std::size_t>(t)];
      }
    });
  for (auto& t : threads) t.join();
  CHECK(wrong == std::vector<int>(4, 0));
}

// The snippet of docs/adapters.md, "Typed queries on SQLite shards", compiled and run.
namespace docs {
struct order {
  std::int64_t id, customer;
  std::int32_t region;
  std::int64_t cents, ts;
};
}  // namespace docs

TEST_CASE("sqlite typed queries: the docs/adapters.md snippet runs", "[adapters][sqlite][query][docs]") {
  using docs::order;
  const sg::sqlite::table<order> orders("orders", {"id", "customer", "region", "cents", "ts"});
  std::vector<sg::sqlite::table_shard<order>> shards;
  for (int s = 0; s < 3; ++s) {
    shards.emplace_back(":memory:", orders);
    auto& c = shards.back().database().connection_unlocked();
    orders.create(c);
    std::vector<order> rows;
    for (std::int64_t i = 0; i < 30; ++i)
      rows.push_back({s * 100 + i, i % 7, static_cast<std::int32_t>(i % 3), 100 * (i % 5) + s, 1000 + i});
    orders.insert(c, rows);
  }
  const std::int64_t since = 1010;
  boost::asio::thread_pool pool(2);

  auto by_region = sg::query(sg::where(sg::ge(&order::ts, since)), sg::group_by(&order::region),
                             sg::aggregate(sg::agg::count(), sg::agg::avg(&order::cents)),
                             sg::order_by(sg::desc(sg::col<2>)));
  auto r = (sg::scatter(shards) | sg::on(pool) | sg::gather(by_region))(by_region);

  REQUIRE(r.value.size() == 3);
  CHECK(std::get<1>(r.value[0]) + std::get<1>(r.value[1]) + std::get<1>(r.value[2]) == 60u);
  CHECK(std::get<2>(r.value[0]) >= std::get<2>(r.value[1]));
  CHECK(std::get<2>(r.value[1]) >= std::get<2>(r.value[2]));
}
