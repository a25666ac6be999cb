#include <sg/agg/kll.hpp>

#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace {

// How far q is from the true normalized rank interval [#(< x), #(≤ x)] / n of x.
double rank_error(std::vector<double> const& sorted, double x, double q) {
  const auto n = static_cast<double>(sorted.size());
  const double lo = static_cast<double>(std::lower_bound(sorted.begin(), sorted.end(), x) - sorted.begin()) / n;
  const double hi = static_cast<double>(std::upper_bound(sorted.begin(), sorted.end(), x) - sorted.begin()) / n;
  return q < lo ? lo - q : (q > hi ? q - hi : 0.0);
}

}  // namespace

TEST_CASE("kll: merged sketches stay within the documented rank error", "[agg][kll][property]") {
  SG_SEEDED_RNG(rng);
  const double bound = sg::agg::kll_sketch<double>::rank_error(200);
  CHECK(bound == Approx(0.0133).epsilon(0.02));
  int queries = 0, beyond = 0;
  double worst = 0;
  for (int trial = 0; trial < 12; ++trial) {
    const std::size_t n = 20000 + rng() % 60000;
    std::vector<double> values(n);
    std::lognormal_distribution<double> dist(0, 2);
    for (auto& v : values) v = dist(rng);
    if (trial % 4 == 1) std::sort(values.begin(), values.end());  // adversarial orders too
    if (trial % 4 == 2) std::sort(values.begin(), values.end(), std::greater<>{});
    std::vector<sg::agg::kll_sketch<double>> shards(1 + rng() % 16);
    for (double v : values) shards[rng() % shards.size()].add(v);
    sg::agg::kll_sketch<double> all;
    for (auto const& s : shards) all.merge(s);
    CHECK(all.count() == n);
    CHECK(all.retained() < 3 * 200 + 8 * 20);  // memory independent of n
    std::sort(values.begin(), values.end());
    CHECK(all.quantile(0) == values.front());
    CHECK(all.quantile(1) == values.back());
    for (int i = 1; i < 100; ++i) {
      const double q = i / 100.0;
      const double err = rank_error(values, all.quantile(q), q);
      worst = std::max(worst, err);
      ++queries;
      if (err > bound) ++beyond;
    }
  }
  INFO("worst rank error " << worst << ", bound " << bound << ", beyond the bound " << beyond << " of " << queries);
  CHECK(beyond <= queries / 50);  // the bound holds at 99 % confidence: allow 2 %
  CHECK(worst <= 2 * bound);
}

TEST_CASE("kll: small inputs are exact, and bad arguments are rejected", "[agg][kll]") {
  sg::agg::kll_sketch<int> s;
  for (int v : {5, 1, 4, 2, 3}) s.add(v);
  CHECK(s.quantile(0) == 1);
  CHECK(s.quantile(0.5) == 3);
  CHECK(s.quantile(0.2) == 1);
  CHECK(s.quantile(0.21) == 2);
  CHECK(s.quantile(1) == 5);
  CHECK(s.rank(3) == Approx(0.6));
  CHECK_THROWS_AS(s.quantile(1.5), std::invalid_argument);
  CHECK_THROWS_AS(sg::agg::kll_sketch<int>(4), std::invalid_argument);
  CHECK_THROWS_AS(sg::agg::approx_quantile([](int x) { return x; }, -0.1), std::invalid_argument);
  sg::agg::kll_sketch<int> empty;
  try {
    (void)empty.quantile(0.5);
    FAIL("a quantile of nothing");
  } catch (std::system_error const& e) {
    CHECK(e.code() == sg::errc::bad_input);
  }
}
