// The plan PostgreSQL chooses for each typed query shape sg::postgres::table_shard sends:
// for each shape, the query, the SQL sg renders (sg/adapters/sql.hpp, PostgreSQL
// dialect) and the server's EXPLAIN of it, over a table of generated orders.
//
//   postgres_explain CONNINFO_FILE [ROWS]     # the first server of the file (one libpq string a line)
//
// scripts/pg-explain.sh starts a server, runs this and stops it; docs/adapters.md shows
// its output ("Typed queries on PostgreSQL shards").
#include <sg/adapters/postgres.hpp>
#include <sg/adapters/postgres_query.hpp>
#include <sg/agg/count.hpp>
#include <sg/agg/minmax.hpp>
#include <sg/agg/sum.hpp>
#include <sg/query/explain.hpp>
#include <sg/query/query.hpp>

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace {

namespace pg = sg::postgres;

struct order {
  std::int64_t id;
  std::int64_t customer;
  std::string region;
  std::int64_t cents;
  std::optional<std::int64_t> coupon;
  std::int64_t ts;
};

template <class Row>
std::vector<Row> run(boost::asio::io_context& io, pg::shard const& s, std::string text,
                     std::vector<std::optional<std::string>> params = {}) {
  std::exception_ptr error;
  std::vector<Row> rows;
  s.async_query<Row>(std::move(text), std::move(params), [&](std::exception_ptr e, std::vector<Row> r) {
    error = e;
    rows = std::move(r);
  });
  io.restart();
  io.run();
  if (error) std::rethrow_exception(error);
  return rows;
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc < 2) {
    std::cerr << "usage: postgres_explain CONNINFO_FILE [ROWS]\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  std::string conninfo;
  std::getline(in, conninfo);
  const long rows = argc > 2 ? std::atol(argv[2]) : 200000;

  boost::asio::io_context io;
  pg::shard server(io.get_executor(), conninfo);
  run<std::tuple<>>(io, server, "DROP TABLE IF EXISTS sg_explain_orders");
  run<std::tuple<>>(io, server,
                    "CREATE TABLE sg_explain_orders (id bigint PRIMARY KEY, customer bigint NOT NULL, region text NOT "
                    "NULL, cents bigint NOT NULL, coupon bigint, ts bigint NOT NULL)");
  run<std::tuple<>>(io, server,
                    "INSERT INTO sg_explain_orders SELECT g, g * 7919 % 50000, 'r' || (g % 5), g * 37 % 100000, "
                    "CASE WHEN g % 10 = 0 THEN g % 97 END, g FROM generate_series(1, $1) g",
                    {std::to_string(rows)});
  run<std::tuple<>>(io, server, "CREATE INDEX ON sg_explain_orders (ts)");
  run<std::tuple<>>(io, server, "CREATE INDEX ON sg_explain_orders (customer)");
  run<std::tuple<>>(io, server, "ANALYZE sg_explain_orders");

  const pg::table<order> orders("sg_explain_orders", {"id", "customer", "region", "cents", "coupon", "ts"}, "id");
  const pg::table_shard<order> shard(server, orders);

  auto show = [&](char const* shape, auto const& q) {
    auto [text, params] = shard.sql_of(q);
    std::cout << "-- " << shape << "\n" << sg::explain(q) << text << "\n";
    for (auto const& line : run<std::string>(io, server, "EXPLAIN " + text, params)) std::cout << "   " << line << "\n";
    std::cout << "\n";
  };
  const std::int64_t since = rows - 1000;
  show("a point lookup", sg::query(sg::where(sg::eq(&order::id, std::int64_t{4242}))));
  show("a filter", sg::query(sg::where(sg::eq(&order::region, "r3") && sg::ge(&order::cents, 99000))));
  show("an IN list", sg::query(sg::where(sg::in(&order::customer, {7, 11, 13, 4099}))));
  show("a range on an indexed column", sg::query(sg::where(sg::ge(&order::ts, since))));
  show("latest 100 orders (order by, limit)", sg::query(sg::order_by(sg::desc(&order::ts)), sg::limit(100)));
  show("cheapest 10 with a coupon (nullable key)",
       sg::query(sg::where(sg::is_not_null(&order::coupon)), sg::order_by(&order::coupon, &order::cents),
                 sg::limit(10)));
  show("LIKE, ASCII pattern", sg::query(sg::where(sg::like(&order::region, "r%"))));
  show("LIKE with '_' (bytes)", sg::query(sg::where(sg::like(&order::region, "r_"))));
  show("distinct", sg::query(sg::distinct(), sg::where(sg::lt(&order::id, std::int64_t{1000}))));
  show("a limit without order", sg::query(sg::limit(5)));
  show("group by region: count, sum, average",
       sg::query(sg::group_by(&order::region),
                 sg::aggregate(sg::agg::count(), sg::agg::sum(&order::cents), sg::agg::avg(&order::cents))));
  show("group by customer, recent orders (top 10 customers by spend)",
       sg::query(sg::where(sg::ge(&order::ts, since)), sg::group_by(&order::customer),
                 sg::aggregate(sg::agg::sum(&order::cents)), sg::order_by(sg::desc(sg::col<1>)), sg::limit(10)));
  show("a global aggregate", sg::query(sg::aggregate(sg::agg::count(), sg::agg::min(&order::ts), sg::agg::max(&order::ts))));
  run<std::tuple<>>(io, server, "DROP TABLE sg_explain_orders");
  std::cout << "EXPLAIN of every shape printed\n";
  return 0;
} catch (std::exception const& e) {
  std::cerr << "postgres_explain: " << e.what() << "\n";
  return 1;
}
