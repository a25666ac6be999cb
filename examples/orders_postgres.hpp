// The orders on PostgreSQL shards, shared by examples/orders_postgres.cpp and
// benchmarks/postgres.cpp: where each shard lives, how it is loaded, and the five queries,
// each as the request every shard runs and the merge sg applies to the answers.
#pragma once

#include "orders_data.hpp"

#include <sg/adapters/postgres.hpp>
#include <sg/agg/hyperloglog.hpp>
#include <sg/agg/sum.hpp>
#include <sg/merge/concat.hpp>
#include <sg/merge/distinct.hpp>
#include <sg/merge/hash_aggregate.hpp>
#include <sg/merge/top_k.hpp>
#include <sg/partition/jump.hpp>
#include <sg/partition/split.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

namespace shop::on_postgres {

namespace asio = boost::asio;
namespace pg = sg::postgres;
using asio::awaitable;
using asio::use_awaitable;

// The rows of one query on one server.
template <class Row>
awaitable<std::vector<Row>> rows_of(pg::shard const& s, std::string sql) {
  co_return co_await s.async_execute(pg::sql<Row>(std::move(sql)), use_awaitable);
}

// Runs one statement that returns no rows.
inline awaitable<void> exec(pg::shard const& s, std::string sql) {
  co_await s.async_execute(pg::sql<std::tuple<>>(std::move(sql)), use_awaitable);
}

// A PostgreSQL array literal of one column of rows[from, to): {1,2,3}.
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
// table: 50,000 rows a statement, as arrays the server unnests.
inline awaitable<void> load(pg::shard const& s, std::string const& schema, std::vector<order> const& rows) {
  co_await exec(s, "DROP SCHEMA IF EXISTS " + schema + " CASCADE");
  co_await exec(s, "CREATE SCHEMA " + schema);
  co_await exec(s, "CREATE TABLE " + schema +
                       ".orders (id bigint PRIMARY KEY, customer bigint NOT NULL, region int NOT NULL, "
                       "cents bigint NOT NULL, ts bigint NOT NULL)");
  co_await exec(s, "CREATE TABLE " + schema + ".regions (id int PRIMARY KEY, name text NOT NULL, vat_percent int NOT NULL)");
  for (auto const& r : regions)
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

// The shards and the one database to check against. Shard i lives in schema sg_shard_i on
// server i mod servers (a connection option sets its search_path, so every shard runs the
// same SQL); every row also lives in schema sg_all on the first server.
struct cluster {
  std::vector<pg::shard> shards;
  std::vector<pg::shard> one;  // sg_all, alone

  cluster(asio::any_io_executor ex, std::vector<std::string> const& servers, std::size_t shard_count) {
    auto at = [&](std::size_t server, std::string const& schema) {
      return pg::shard(ex, servers.at(server % servers.size()) + " options='-csearch_path=" + schema + "'");
    };
    for (std::size_t s = 0; s < shard_count; ++s) shards.push_back(at(s, "sg_shard_" + std::to_string(s)));
    one.push_back(at(0, "sg_all"));
    for (std::size_t s = 0; s < shard_count; ++s) loaders_.push_back(at(s, "public"));
  }

  // Splits `rows` by customer with a jump consistent hash and loads each shard's part, and
  // every row into sg_all. (By value: a coroutine must not hold a reference to a temporary.)
  awaitable<void> load(std::vector<order> rows) const {
    const auto buckets = sg::partition::split(rows, sg::partition::jump(shards.size()), &order::customer);
    for (std::size_t s = 0; s < shards.size(); ++s)
      co_await on_postgres::load(loaders_[s], "sg_shard_" + std::to_string(s), buckets[s]);
    co_await on_postgres::load(loaders_[0], "sg_all", rows);
  }

 private:
  std::vector<pg::shard> loaders_;  // the same servers, on the default schema
};

// --- the five queries: what every shard runs, and how sg merges the answers -----------------

// 1. Total and average amount by region: each shard counts and sums its regions; sg sums
//    the counts and the sums by region (two-phase aggregation). Rows: region, orders, cents.
struct region_part {
  std::int32_t region;
  std::int64_t orders;
  std::int64_t cents;
};
inline auto by_region() {
  return std::pair{pg::sql<region_part>("SELECT region, count(*), sum(cents) FROM orders GROUP BY region"),
                   sg::merge::hash_aggregate(&region_part::region, sg::agg::sum(&region_part::orders),
                                             sg::agg::sum(&region_part::cents))};
}

// 2. Top 10 customers by spend. Partitioned by customer, so each shard ranks its own
//    customers and sends its 10 best; sg merges them into the global 10 (top-k).
using spender = std::tuple<std::int64_t, std::int64_t>;  // customer, spend
inline auto top_spenders() {
  auto more_spent = [](spender const& a, spender const& b) {
    return std::get<1>(a) != std::get<1>(b) ? std::get<1>(a) > std::get<1>(b) : std::get<0>(a) < std::get<0>(b);
  };
  return std::pair{pg::sql<spender>("SELECT customer, sum(cents) AS spend FROM orders GROUP BY customer "
                                    "ORDER BY spend DESC, customer LIMIT 10"),
                   sg::merge::top_k(10, more_spent)};
}

// 3. The latest 100 orders: each shard sends its latest 100 (from an index); sg merges the
//    sorted lists and stops at 100.
inline auto latest() {
  auto later = [](order const& a, order const& b) { return std::tie(b.ts, b.id) < std::tie(a.ts, a.id); };
  return std::pair{pg::sql<order>("SELECT id, customer, region, cents, ts FROM orders ORDER BY ts DESC, id DESC LIMIT 100"),
                   sg::merge::top_k(100, later)};
}

// 4a. Distinct customers, exact: each shard's distinct customers, merged distinct.
inline auto distinct_customers() {
  return std::pair{pg::sql<std::int64_t>("SELECT DISTINCT customer FROM orders"), sg::merge::distinct()};
}

// 4b. Distinct customers, approximate: each shard hashes its customers (hashint8extended,
//     64 bits) and sends only its non-empty HyperLogLog registers, at most 16,384 rows
//     however many customers: (index, rank) under sg::agg::hyperloglog::add_hash's rule at
//     precision 14, index = the top 14 bits, rank = 51 − the bit length of the low 50 bits
//     (the number of powers of two up to them, which width_bucket finds by binary search).
//     sg concatenates them; sketch_of keeps the highest rank of each register.
using hll_register = std::tuple<std::int64_t, std::int32_t>;
inline auto customer_registers() {
  std::string powers = "{1";
  for (int i = 1; i < 50; ++i) {
    powers += ',';
    powers += std::to_string(std::int64_t{1} << i);
  }
  return std::pair{pg::sql<hll_register>("SELECT (h >> 50) & 16383, max(51 - width_bucket(h & 1125899906842623, '" +
                                         powers +
                                         "}'::bigint[])) FROM (SELECT hashint8extended(customer, 0) AS h FROM orders) "
                                         "AS hashed GROUP BY 1"),
                   sg::merge::concat()};
}
inline sg::agg::hyperloglog sketch_of(std::vector<hll_register> const& registers) {
  sg::agg::hyperloglog h(14);
  for (auto const& [index, rank] : registers) h.raise(static_cast<std::size_t>(index), static_cast<unsigned>(rank));
  return h;
}

// 5. Revenue and VAT (in cent-percent) by region name: each shard joins its orders with its
//    copy of the small regions table (a broadcast join, in SQL); sg sums the partial sums.
struct region_revenue {
  std::string name;
  std::int64_t cents;
  std::int64_t vat;
};
inline auto revenue_by_name() {
  return std::pair{pg::sql<region_revenue>("SELECT r.name, sum(o.cents), sum(o.cents * r.vat_percent) FROM orders o "
                                           "JOIN regions r ON r.id = o.region GROUP BY r.name"),
                   sg::merge::hash_aggregate(&region_revenue::name, sg::agg::sum(&region_revenue::cents),
                                             sg::agg::sum(&region_revenue::vat))};
}

}  // namespace shop::on_postgres
