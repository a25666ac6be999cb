// sg on SQLite: generated orders hash-partitioned by customer over four SQLite shard files,
// queried with typed queries that each database answers in SQL (its shard-side half) and
// sg merges. Every answer is checked against the same SQL on one database holding all the
// rows: exact for integers, 1e-9 relative for averages, and 3 standard errors (2.4 %) for
// HyperLogLog's estimate.
//
//   orders_sqlite [orders = 1000000] [shards = 4] [--keep]
//
// The databases go to a fresh temporary directory, removed at the end unless --keep.
// Exit status 0 when every answer matches, 1 otherwise. Build and run: ./scripts/demo.sh.
#include "orders_data.hpp"

#include <sg/adapters/sqlite_query.hpp>
#include <sg/sg.hpp>

#include <boost/asio/thread_pool.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <tuple>
#include <vector>

#include <unistd.h>

namespace shop {

// A row of the view that joins an order with the broadcast regions table.
struct order_in_region {
  std::int64_t id;
  std::int64_t customer;
  std::string region;
  std::int64_t cents;
  std::int64_t vat_percent;
};

const sg::sqlite::table<order> orders_table("orders", {"id", "customer", "region", "cents", "ts"});
// A view has no rowid: no scan order, so ties would follow each database (none are asked).
const sg::sqlite::table<order_in_region> joined_table("orders_in_regions",
                                                      {"id", "customer", "region", "cents", "vat_percent"}, "");

// The regions table (every shard holds a copy) and a view joining it with the orders.
std::string regions_sql() {
  std::string sql =
      "CREATE TABLE regions (id INTEGER PRIMARY KEY, name TEXT NOT NULL, vat_percent INTEGER NOT NULL);"
      "CREATE VIEW orders_in_regions AS SELECT o.id AS id, o.customer AS customer, r.name AS region,"
      "  o.cents AS cents, r.vat_percent AS vat_percent FROM orders o JOIN regions r ON r.id = o.region;"
      "INSERT INTO regions VALUES ";
  for (auto const& r : regions)
    sql += (r.id == 0 ? "(" : ", (") + std::to_string(r.id) + ", '" + r.name + "', " + std::to_string(r.vat_percent) + ")";
  return sql;
}

// Loads `rows` into a new database file holding the orders table and the regions table.
void load(std::string const& path, std::vector<order> const& rows) {
  sg::sqlite::connection c(path);
  c.exec("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF");
  orders_table.create(c);
  c.exec(regions_sql());
  orders_table.insert(c, rows);
}

}  // namespace shop

int main(int argc, char** argv) {
  using shop::order;
  std::size_t n = 1'000'000, shard_count = 4;
  bool keep = false;
  int positional = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--keep")
      keep = true;
    else if (positional++ == 0)
      n = std::stoul(a);
    else
      shard_count = std::max<std::size_t>(1, std::stoul(a));
  }

  std::string dir_template = (std::filesystem::temp_directory_path() / "sg-orders-XXXXXX").string();
  if (::mkdtemp(dir_template.data()) == nullptr) {
    std::perror("mkdtemp");
    return 2;
  }
  const std::filesystem::path dir = dir_template;

  // Generate, split by customer with a jump consistent hash, load one file per shard
  // (and one file with every row, to check the answers against).
  shop::checker check;
  const auto rows = shop::generate(n);
  const auto buckets = sg::partition::split(rows, sg::partition::jump(shard_count), &order::customer);
  std::vector<sg::sqlite::table_shard<order>> shards;
  std::vector<sg::sqlite::table_shard<shop::order_in_region>> joined;
  for (std::size_t s = 0; s < buckets.size(); ++s) {
    const std::string path = (dir / ("shard-" + std::to_string(s) + ".db")).string();
    shop::load(path, buckets[s]);
    shards.emplace_back(path, shop::orders_table);
    joined.emplace_back(path, shop::joined_table);
  }
  shop::load((dir / "all.db").string(), rows);
  sg::sqlite::connection one((dir / "all.db").string());
  std::printf("%zu orders over %zu SQLite shards in %s (loaded in %.0f ms)\n\n", n, shard_count, dir.c_str(),
              check.ms());

  boost::asio::thread_pool pool(shard_count);  // the shards answer in parallel

  {  // 1. Total and average amount by region: partial sums and counts, merged by region.
    auto q = sg::query(sg::group_by(&order::region),
                       sg::aggregate(sg::agg::count(), sg::agg::sum(&order::cents), sg::agg::avg(&order::cents)),
                       sg::order_by(sg::col<0>));
    check.start();
    auto r = (sg::scatter(shards) | sg::on(pool) | sg::gather(q))();
    const double ms = check.ms();
    auto want = one.rows<std::tuple<std::int32_t, std::int64_t, std::int64_t, double>>(
        "SELECT region, COUNT(*), SUM(cents), AVG(cents) FROM orders GROUP BY region ORDER BY region");
    bool match = r.value.size() == want.size();
    std::printf("1. orders, total and average by region (two-phase aggregation)\n");
    for (std::size_t i = 0; i < r.value.size(); ++i) {
      auto const& [region, count, total, mean] = r.value[i];
      std::printf("  region %d  %7llu orders  %14.2f total  %8.2f average\n", region,
                  static_cast<unsigned long long>(count), static_cast<double>(total) / 100, mean / 100);
      if (i < want.size())
        match = match && region == std::get<0>(want[i]) && count == static_cast<std::uint64_t>(std::get<1>(want[i])) &&
                total == std::get<2>(want[i]) && shop::near(mean, std::get<3>(want[i]), 1e-9);
    }
    check.footer(r, ms, match);
  }

  {  // 2. Top 10 customers by spend. Partitioned by customer, so each shard can rank its own
     //    customers and send only its 10 best (groups_colocated()); sg merges the top-k.
    auto q = sg::query(sg::group_by(&order::customer), sg::aggregate(sg::agg::sum(&order::cents)),
                       sg::groups_colocated(), sg::order_by(sg::desc(sg::col<1>), sg::col<0>), sg::limit(10));
    check.start();
    auto r = (sg::scatter(shards) | sg::on(pool) | sg::gather(q))();
    const double ms = check.ms();
    auto want = one.rows<std::tuple<std::int64_t, std::int64_t>>(
        "SELECT customer, SUM(cents) AS spend FROM orders GROUP BY customer ORDER BY spend DESC, customer LIMIT 10");
    std::printf("2. top 10 customers by spend (aggregate, then top-k)\n");
    for (auto const& [customer, spend] : r.value)
      std::printf("  customer %7lld  %12.2f\n", static_cast<long long>(customer), static_cast<double>(spend) / 100);
    check.footer(r, ms, r.value == want);
  }

  {  // 3. The latest 100 orders: each shard sends its latest 100, sg merges the sorted lists.
    auto q = sg::query(sg::order_by(sg::desc(&order::ts), sg::desc(&order::id)), sg::limit(100));
    check.start();
    auto r = (sg::scatter(shards) | sg::on(pool) | sg::gather(q))();
    const double ms = check.ms();
    auto want = one.rows<order>("SELECT id, customer, region, cents, ts FROM orders ORDER BY ts DESC, id DESC LIMIT 100");
    check.footer(r, ms, shop::report_latest(r.value, want));
  }

  const auto exact_customers = one.rows<std::int64_t>("SELECT COUNT(DISTINCT customer) FROM orders").at(0);
  {  // 4a. Distinct customers, exact: each customer lives on one shard.
    auto q = sg::query(sg::group_by(&order::customer), sg::aggregate(sg::agg::count()), sg::groups_colocated());
    check.start();
    auto r = (sg::scatter(shards) | sg::on(pool) | sg::gather(q))();
    const double ms = check.ms();
    std::printf("4a. distinct customers, exact: %zu\n", r.value.size());
    check.footer(r, ms, static_cast<std::int64_t>(r.value.size()) == exact_customers);
  }
  {  // 4b. Distinct customers, approximate: one HyperLogLog sketch per shard, merged.
    auto q = sg::query(sg::aggregate(sg::agg::approx_count_distinct(&order::customer)));
    check.start();
    auto r = (sg::scatter(shards) | sg::on(pool) | sg::gather(q))();
    const double ms = check.ms();
    const double estimate = r.value.empty() ? 0.0 : static_cast<double>(std::get<0>(r.value[0]));
    const double error = exact_customers == 0 ? 0 : estimate / static_cast<double>(exact_customers) - 1;
    std::printf("4b. distinct customers, HyperLogLog (2^14 registers): %.0f (%+.2f %% off)\n", estimate, 100 * error);
    check.footer(r, ms, shop::within_hll_error(estimate, static_cast<double>(exact_customers)));
  }

  {  // 5. Revenue and VAT by region name: each shard joins its orders with its copy of the
     //    small regions table (a broadcast join, in SQL); sg merges the partial sums.
    auto q = sg::query(sg::group_by(&shop::order_in_region::region),
                       sg::aggregate(sg::agg::sum(&shop::order_in_region::cents),
                                     sg::agg::sum([](shop::order_in_region const& o) { return o.cents * o.vat_percent; })),
                       sg::order_by(sg::col<0>));
    check.start();
    auto r = (sg::scatter(joined) | sg::on(pool) | sg::gather(q))();
    const double ms = check.ms();
    auto want = one.rows<std::tuple<std::string, std::int64_t, std::int64_t>>(
        "SELECT r.name, SUM(o.cents), SUM(o.cents * r.vat_percent) FROM orders o JOIN regions r ON r.id = o.region "
        "GROUP BY r.name ORDER BY r.name");
    std::printf("5. revenue and VAT by region name (orders joined with a broadcast table)\n");
    for (auto const& [region, cents, vat] : r.value)
      std::printf("  %-10s %14.2f revenue  %12.2f VAT\n", region.c_str(), static_cast<double>(cents) / 100,
                  static_cast<double>(vat) / 10'000);
    check.footer(r, ms, r.value == want);
  }

  pool.join();
  shards.clear();
  joined.clear();
  if (keep)
    std::printf("kept %s\n", dir.c_str());
  else
    std::filesystem::remove_all(dir);
  return check.verdict();
}
