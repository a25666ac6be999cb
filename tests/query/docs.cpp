// The snippets of docs/queries.md, compiled and run. Keep the two in step: each block here
// is marked with the heading it appears under.
#include <sg/agg/count.hpp>
#include <sg/agg/sum.hpp>
#include <sg/agg/variance.hpp>
#include <sg/pipeline.hpp>
#include <sg/query/explain.hpp>
#include <sg/query/local.hpp>
#include <sg/query/query.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

// ## A query, end to end
namespace docs_queries {

struct order {
  std::string region;
  int day;
  std::int64_t cents;
  std::optional<int> coupon;  // NULL when empty
};

// An in-memory shard: the query's shard half over its rows.
struct order_shard {
  std::vector<order> rows;
  auto execute(auto const& q) const { return sg::local::run(q, rows); }
};

auto revenue_by_region() {
  return sg::query(sg::where(sg::ge(&order::day, 100) && sg::is_null(&order::coupon)),
                   sg::group_by(sg::named("region", &order::region)),
                   sg::aggregate(sg::agg::count(), sg::agg::sum(sg::named("cents", &order::cents))),
                   sg::having(sg::ge(sg::col<1>, 2)),
                   sg::order_by(sg::desc(sg::col<2>)),
                   sg::limit(2));
}

}  // namespace docs_queries

TEST_CASE("docs/queries.md: a query, end to end", "[docs][query]") {
  using namespace docs_queries;
  std::vector<order_shard> shards{
      {{{"eu", 120, 500, {}}, {"us", 130, 900, {}}, {"eu", 90, 100, {}}}},
      {{{"eu", 140, 700, {}}, {"ap", 150, 300, {}}, {"us", 160, 200, 7}}},
      {{{"ap", 170, 400, {}}, {"us", 180, 100, {}}}},
  };
  auto q = revenue_by_region();
  auto pipe = sg::scatter(shards) | sg::gather(q);  // the query is its own merge...
  sg::gathered result = pipe();                     // ...and its own request: given once

  std::vector<std::tuple<std::string, std::uint64_t, std::int64_t>> want{{"eu", 2, 1200}, {"us", 2, 1000}};
  CHECK(result.value == want);
  for (auto const& [region, orders, cents] : result.value)  // the SELECT list
    CHECK(orders == 2u);
  CHECK(result.completeness.complete());
}

TEST_CASE("docs/queries.md: explain", "[docs][query]") {
  const std::string text = sg::explain(docs_queries::revenue_by_region());
  CHECK(text ==
        "shards:      keep rows where (order::<int> >= 100 AND order::<std::optional<int>> IS NULL); group them by "
        "region; fold each group into COUNT(*) as a count, SUM(cents) as a sum; answer one partial state per group, "
        "with no limit (a group's rows may be on several shards)\n"
        "coordinator: merge the partial states by group key (hash aggregate) and finish them; keep the groups where "
        "column 1 >= 2; sort by column 2 descending; keep 2 rows\n");
}

TEST_CASE("docs/queries.md: one node", "[docs][query]") {
  using docs_queries::order;
  std::vector<order> rows{{"eu", 1, 5, {}}, {"eu", 2, 7, {}}, {"us", 3, 1, {}}};
  auto q = sg::query(sg::group_by(&order::region), sg::aggregate(sg::agg::stddev_pop(&order::cents)),
                     sg::order_by(sg::col<0>));
  auto result = sg::local::evaluate(q, rows);  // the whole query, here
  REQUIRE(result.size() == 2);
  CHECK(std::get<1>(result[0]) == 1.0);
  CHECK(std::get<1>(result[1]) == 0.0);
}
