// Statistics: histograms, column and table statistics, and merging shards' statistics.
#include <sg/cost/statistics.hpp>

#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace {

struct row {
  int k;
  double x;
  std::optional<int> maybe;
  std::string name;
};

double true_fraction_below(std::vector<double> const& v, double x, bool inclusive) {
  const auto n = std::count_if(v.begin(), v.end(), [&](double y) { return inclusive ? y <= x : y < x; });
  return static_cast<double>(n) / static_cast<double>(v.size());
}

}  // namespace

TEST_CASE("histogram: bad bounds are rejected with a reason", "[cost][statistics]") {
  CHECK_THROWS_WITH(sg::cost::histogram({1.0}), Catch::Contains("at least two bounds"));
  CHECK_THROWS_WITH(sg::cost::histogram({1.0, 0.5}), Catch::Contains("not sorted"));
  CHECK_THROWS_WITH(sg::cost::histogram({0.0, NAN}), Catch::Contains("not finite"));
  CHECK(sg::cost::histogram::from_values({}).empty());
}

TEST_CASE("histogram: fraction below agrees with the data within a bucket's share", "[cost][statistics][property]") {
  SG_SEEDED_RNG(rng);
  for (int round = 0; round < 50; ++round) {
    std::vector<double> v;
    const int n = 1 + static_cast<int>(rng() % 5000);
    std::lognormal_distribution<double> skewed(0, 1.5);
    std::uniform_int_distribution<int> few(0, 5);
    for (int i = 0; i < n; ++i) v.push_back(round % 3 == 0 ? few(rng) : round % 3 == 1 ? skewed(rng) : static_cast<double>(rng() % 1000));
    const auto h = sg::cost::histogram::from_values(v, 64);
    INFO("round " << round << ", " << n << " values");
    for (int probe = 0; probe < 50; ++probe) {
      const double x = v[rng() % v.size()] + (probe % 2 ? 0.5 : 0.0);
      for (bool inclusive : {false, true}) {
        const double want = true_fraction_below(v, x, inclusive);
        CHECK(std::abs(h.fraction_below(x, inclusive) - want) <= 1.0 / static_cast<double>(h.buckets()) + 1e-9);
      }
    }
  }
}

TEST_CASE("histogram: a frequent value shows as its share", "[cost][statistics]") {
  std::vector<double> v(600, 7.0);
  for (int i = 0; i < 400; ++i) v.push_back(i);
  const auto h = sg::cost::histogram::from_values(v, 50);
  CHECK(h.fraction_equal(7.0) == Approx(0.6).margin(0.03));
  CHECK(h.fraction_equal(300.0) == 0.0);
}

TEST_CASE("collect: counts, nulls, distinct, min, max and width", "[cost][statistics]") {
  std::vector<row> rows;
  for (int i = 0; i < 1000; ++i)
    rows.push_back({i % 50, i * 0.5, i % 4 == 0 ? std::nullopt : std::optional<int>(i % 10),
                    i % 2 ? "short" : "a name longer than sixteen bytes"});
  const auto t = sg::cost::collect(rows, &row::k, &row::x, &row::maybe, sg::named("name", &row::name));
  CHECK(t.rows == 1000);
  auto const* k = t.find(&row::k);
  REQUIRE(k != nullptr);
  CHECK(k->distinct == Approx(50).epsilon(0.05));
  CHECK(*k->min == 0);
  CHECK(*k->max == 49);
  CHECK(k->width == sizeof(int));
  auto const* maybe = t.find(sg::named("maybe", &row::maybe));  // found through the name's projection
  REQUIRE(maybe != nullptr);
  CHECK(maybe->null_fraction() == 0.25);
  CHECK(maybe->distinct == Approx(9).margin(1));  // 1..9 and 0? i%10 over i%4 != 0: 9 odd+even values
  auto const* name = t.find(&row::name);
  REQUIRE(name != nullptr);
  CHECK(name->distinct == 2);
  CHECK(name->hist.empty());
  CHECK(name->width > 32.0);
  CHECK(t.row_bytes > sizeof(row));
  CHECK(t.find([](row const& r) { return r.k; }) == nullptr);  // a column without statistics
}

TEST_CASE("merge: shards' statistics combine into the whole table's", "[cost][statistics][property]") {
  SG_SEEDED_RNG(rng);
  std::vector<row> all;
  std::vector<std::vector<row>> shards(4);
  std::normal_distribution<double> x(100, 30);
  for (int i = 0; i < 8000; ++i) {
    row r{static_cast<int>(rng() % 3000), x(rng), std::nullopt, ""};
    all.push_back(r);
    shards[rng() % 4].push_back(r);
  }
  std::vector<decltype(sg::cost::collect(all, &row::k, &row::x))> parts;
  for (auto const& s : shards) parts.push_back(sg::cost::collect(s, &row::k, &row::x));
  const auto merged = sg::cost::merge_all(parts);
  const auto whole = sg::cost::collect(all, &row::k, &row::x);
  CHECK(merged.rows == whole.rows);
  CHECK(merged.find(&row::k)->distinct == whole.find(&row::k)->distinct);  // sketches merge exactly
  CHECK(merged.find(&row::x)->min == whole.find(&row::x)->min);
  std::vector<double> xs;
  for (auto const& r : all) xs.push_back(r.x);
  for (double probe : {40.0, 80.0, 100.0, 120.0, 170.0})
    CHECK(std::abs(merged.find(&row::x)->hist.fraction_below(probe, true) - true_fraction_below(xs, probe, true)) < 0.03);
}

TEST_CASE("table: user-supplied statistics", "[cost][statistics]") {
  sg::cost::column_stats region;
  region.rows = 1e6;
  region.distinct = 20;
  const auto t = sg::cost::table(1e6, 120, sg::cost::column(&row::k, region));
  CHECK(t.find(&row::k)->distinct == 20);
  CHECK(t.find(&row::x) == nullptr);
}

TEST_CASE("collect and merge: NaN and ±inf leave min, max and the histogram usable, whatever the order",
          "[cost][statistics][float-order][property]") {
  SG_SEEDED_RNG(rng);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const double pool[] = {nan, -nan, inf, -inf, -0.0, 0.0, 1, 2, 3, 50};
  for (int round = 0; round < 50; ++round) {
    std::vector<row> all;
    for (int i = 0, n = static_cast<int>(rng() % 200); i < n; ++i)
      all.push_back({i, pool[rng() % std::size(pool)], std::nullopt, ""});
    std::vector<std::vector<row>> shards(1 + rng() % 4);
    for (auto const& r : all) shards[rng() % shards.size()].push_back(r);
    const auto whole = sg::cost::collect(all, &row::x);  // threw on ±inf before: a non-finite bound
    // Merged in a random order. (The shards are shuffled, not their statistics: swapping
    // those trips a false -Wmaybe-uninitialized in GCC 12's ThreadSanitizer build.)
    std::ranges::shuffle(shards, rng);
    std::vector<std::remove_cvref_t<decltype(whole)>> parts;
    for (auto const& s : shards) parts.push_back(sg::cost::collect(s, &row::x));
    const auto merged = sg::cost::merge_all(parts);
    // min and max are those of the values that are not NaN, for one table and merged.
    std::optional<double> lo, hi;
    for (auto const& r : all) {
      if (std::isnan(r.x)) continue;
      if (!lo || r.x < *lo) lo = r.x;
      if (!hi || r.x > *hi) hi = r.x;
    }
    auto const& w = *whole.find(&row::x);
    auto const& m = *merged.find(&row::x);
    INFO("round " << round << ", " << all.size() << " rows");
    CHECK(w.min == lo);
    CHECK(w.max == hi);
    CHECK(m.min == lo);
    CHECK(m.max == hi);
    for (auto const* s : {&w, &m}) {
      for (double b : s->hist.bounds()) CHECK(std::isfinite(b));
      for (double probe : {nan, -inf, 0.0, 2.5, inf}) {
        const double f = s->hist.fraction_below(probe, true);
        CHECK((f >= 0.0 && f <= 1.0));
      }
    }
  }
}
