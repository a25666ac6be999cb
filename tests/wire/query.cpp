// sg::wire::encode_parameters / decode_parameters: a typed query's run-time values cross,
// and the node's query then answers as the coordinator's would.
#include <sg/agg/count.hpp>
#include <sg/agg/hyperloglog.hpp>
#include <sg/agg/kll.hpp>
#include <sg/agg/sum.hpp>
#include <sg/query/local.hpp>
#include <sg/query/order.hpp>
#include <sg/query/predicate.hpp>
#include <sg/query/query.hpp>
#include <sg/wire/query.hpp>

#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace {

struct order {
  std::int32_t region;
  std::string sku;
  std::int64_t cents;
  std::optional<double> discount;
};

std::vector<order> random_orders(std::mt19937_64& rng, std::size_t n) {
  std::vector<order> rows;
  for (std::size_t i = 0; i < n; ++i) {
    std::optional<double> d;
    if (rng() % 4 != 0) d = static_cast<double>(rng() % 100) / 100.0;
    rows.push_back({static_cast<std::int32_t>(rng() % 20), (rng() % 3 == 0 ? "TEST-" : "SKU-") + std::to_string(rng() % 50),
                    static_cast<std::int64_t>(rng() % 100000) - 20000, d});
  }
  return rows;
}

// One query type, its values chosen at run time.
auto make_query(std::vector<std::int32_t> regions, std::int64_t lo, std::int64_t hi, std::string pattern, double q,
                unsigned precision, std::size_t n, std::size_t offset) {
  return sg::query(sg::where(sg::in(&order::region, regions) && sg::between(&order::cents, lo, hi) &&
                             !sg::like(&order::sku, std::move(pattern)) &&
                             (sg::is_not_null(&order::discount) || sg::lt(&order::cents, lo + 1000))),
                   sg::group_by(&order::region),
                   sg::aggregate(sg::agg::count(), sg::agg::sum(&order::cents),
                                 sg::agg::approx_count_distinct(&order::sku, precision),
                                 sg::agg::approx_quantile(&order::cents, q, 64)),
                   sg::having(sg::gt(sg::col<1>, std::uint64_t{0})), sg::order_by(sg::desc(sg::col<2>), sg::col<0>),
                   sg::limit(n, offset));
}

auto any_query() { return make_query({}, 0, 0, "", 0.0, 4, 0, 0); }

std::string refusal(std::vector<std::byte> const& bytes) {
  try {
    (void)sg::wire::decode_parameters(bytes, any_query());
  } catch (std::system_error const& e) {
    CHECK(e.code() == sg::errc::bad_input);
    return e.what();
  }
  FAIL("decoded bytes that should have been refused");
  return {};
}

}  // namespace

TEST_CASE("wire: a query decoded from its parameters answers as the original does", "[wire][query][property]") {
  SG_SEEDED_RNG(rng);
  for (int round = 0; round < 40; ++round) {
    std::vector<std::int32_t> regions;
    for (std::uint64_t i = 0, n = rng() % 30; i < n; ++i) regions.push_back(static_cast<std::int32_t>(rng() % 25));
    const std::int64_t lo = static_cast<std::int64_t>(rng() % 50000) - 25000;
    const auto original = make_query(regions, lo, lo + static_cast<std::int64_t>(rng() % 80000),
                                     rng() % 2 == 0 ? "TEST%" : "%1_", static_cast<double>(rng() % 101) / 100.0,
                                     static_cast<unsigned>(4 + rng() % 15), rng() % 10, rng() % 3);
    const auto node = sg::wire::decode_parameters(sg::wire::encode_parameters(original), any_query());
    CHECK(node.where_part.predicate.left.left.left.values == original.where_part.predicate.left.left.left.values);
    CHECK(node.limit_part.count == original.limit_part.count);
    const auto rows = random_orders(rng, 1 + rng() % 2000);
    using table_t = decltype(sg::local::run(original, rows));
    const auto a = original(std::vector<table_t>{sg::local::run(original, rows)});
    const auto b = original(std::vector<table_t>{sg::local::run(node, rows)});
    CHECK(a == b);
  }
}

TEST_CASE("wire: query parameters of bad values, another query type or bad bytes are refused", "[wire][query]") {
  const auto good = make_query({1, 2, 3}, 10, 20, "x%", 0.5, 10, 5, 1);
  const auto bytes = sg::wire::encode_parameters(good);
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    INFO("the first " << n << " of " << bytes.size() << " bytes");
    CHECK_THROWS_AS(sg::wire::decode_parameters(std::span(bytes).first(n), any_query()), std::system_error);
  }
  auto bad_precision = make_query({1}, 0, 0, "", 0.5, 4, 0, 0);
  bad_precision.aggregate_part.aggregates[boost::hana::size_c<2>].precision = 40;
  CHECK_THAT(refusal(sg::wire::encode_parameters(bad_precision)), Catch::Contains("precision is outside [4, 18]"));
  auto bad_q = make_query({1}, 0, 0, "", 0.5, 4, 0, 0);
  bad_q.aggregate_part.aggregates[boost::hana::size_c<3>].q = 1.5;
  CHECK_THAT(refusal(sg::wire::encode_parameters(bad_q)), Catch::Contains("q is outside [0, 1]"));
  const auto other = sg::query(sg::where(sg::eq(&order::sku, "a")), sg::limit(3));
  CHECK_THAT(refusal(sg::wire::encode_parameters(other)), Catch::Contains("another query type"));
  auto longer = bytes;
  longer.push_back(std::byte{1});
  CHECK_THAT(refusal(longer), Catch::Contains("left over"));
  // A hostile IN list: unsorted and repeated values are rebuilt as sg::in builds them.
  auto hostile = good;
  hostile.where_part.predicate.left.left.left.values = {3, 1, 3, 2, 1};
  const auto node = sg::wire::decode_parameters(sg::wire::encode_parameters(hostile), any_query());
  CHECK(node.where_part.predicate.left.left.left.sorted);
  CHECK(node.where_part.predicate.left.left.left.values == std::vector<std::int32_t>{1, 2, 3});
}
