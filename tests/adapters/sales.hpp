// Test fixtures shared by the SQLite typed-query tests: a row type with ties, NULLs and
// GLOB's wildcards in its strings, its table, random rows, and an in-memory shard.
#pragma once

#include <sg/adapters/sqlite_query.hpp>

#include <boost/container_hash/hash.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace sales_fixture {

namespace sq = sg::sqlite;

struct sale {
  std::int64_t id;
  std::int32_t store;
  std::string region;
  std::int64_t cents;
  double weight;
  std::optional<std::int64_t> coupon;
  bool gift;
  friend bool operator==(sale const&, sale const&) = default;
  friend std::size_t hash_value(sale const& s) {
    std::size_t h = 0;
    boost::hash_combine(h, s.id);
    boost::hash_combine(h, s.region);
    boost::hash_combine(h, s.cents);
    return h;
  }
};

inline sq::table<sale> sales_table() {
  return {"sales", {"id", "store", "region", "cents", "weight", "coupon", "gift"}};
}

// Rows with many ties (store, region) and NULLs (coupon); regions with GLOB's wildcards.
inline std::vector<sale> random_sales(std::mt19937_64& rng, std::size_t n) {
  static char const* const regions[] = {"eu", "us", "apac", "e*u", "e?u", "[eu]", "Eu", "eux"};
  std::vector<sale> out;
  for (std::size_t i = 0; i < n; ++i) {
    std::optional<std::int64_t> coupon;
    if (rng() % 3 == 0) coupon = static_cast<std::int64_t>(rng() % 5);
    out.push_back({static_cast<std::int64_t>(i), static_cast<std::int32_t>(rng() % 7), regions[rng() % 8],
                   static_cast<std::int64_t>(rng() % 20001) - 10000, static_cast<double>(rng() % 1000) / 8.0, coupon,
                   rng() % 2 == 0});
  }
  return out;
}

inline sq::table_shard<sale> memory_shard(std::vector<sale> const& rows) {
  sq::table_shard<sale> s(":memory:", sales_table());
  s.table().create(s.database().connection_unlocked());
  s.table().insert(s.database().connection_unlocked(), rows);
  return s;
}

// A partial table in key order (groups come in no order).
template <class Table>
Table by_key(Table t) {
  std::sort(t.begin(), t.end(), [](auto const& a, auto const& b) { return a.key < b.key; });
  return t;
}

}  // namespace sales_fixture
