// Selectivity: each rule against the true fraction on random data.
#include <sg/cost/selectivity.hpp>

#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace {

struct row {
  int a;        // uniform 0..99
  int b;        // skewed: 0 half the time
  double x;     // normal
  std::optional<int> maybe;  // 20 % NULL
  std::string s;
};

std::vector<row> sample(std::mt19937_64& rng, int n) {
  std::vector<row> rows;
  std::normal_distribution<double> x(0, 1);
  static const char* const names[] = {"apple", "apricot", "banana", "cherry"};
  for (int i = 0; i < n; ++i) {
    const int b = rng() % 2 ? 0 : static_cast<int>(rng() % 1000);
    rows.push_back({static_cast<int>(rng() % 100), b, x(rng),
                    rng() % 5 == 0 ? std::nullopt : std::optional<int>(static_cast<int>(rng() % 10)),
                    names[rng() % 4]});
  }
  return rows;
}

template <class P>
double actual(P const& p, std::vector<row> const& rows) {
  return static_cast<double>(std::count_if(rows.begin(), rows.end(), p)) / static_cast<double>(rows.size());
}

}  // namespace

TEST_CASE("selectivity: estimates from statistics track the true fraction", "[cost][selectivity][property]") {
  SG_SEEDED_RNG(rng);
  const auto rows = sample(rng, 20000);
  const auto t = sg::cost::collect(rows, &row::a, &row::b, &row::x, &row::maybe, &row::s);
  auto near = [&](auto const& p, double tolerance) {
    const double est = sg::cost::selectivity(p, t), act = actual(p, rows);
    INFO("estimated " << est << ", actual " << act);
    CHECK(std::abs(est - act) <= tolerance);
  };
  for (int v : {0, 17, 50, 99}) {
    near(sg::eq(&row::a, v), 0.005);
    near(sg::lt(&row::a, v), 0.02);
    near(sg::ge(&row::a, v), 0.02);
  }
  near(sg::eq(&row::a, 500), 0.0);  // outside [min, max]
  near(sg::eq(&row::b, 0), 0.03);   // the frequent value, from the histogram
  near(sg::ne(&row::b, 0), 0.03);
  near(sg::le(&row::x, 0.5), 0.02);
  near(sg::between(&row::x, -1.0, 1.0), 0.03);
  near(sg::between(&row::x, 1.0, -1.0), 0.0);
  near(sg::in(&row::a, {1, 2, 3}), 0.01);
  near(sg::is_null(&row::maybe), 0.01);
  near(sg::is_not_null(&row::maybe), 0.01);
  near(sg::eq(&row::maybe, 3), 0.01);  // non-NULL share / distinct
  near(sg::eq(&row::s, "banana"), 0.02);
  near(sg::like(&row::s, "banana"), 0.02);   // no wildcard: an equality
  near(sg::lt(&row::a, 50) && sg::le(&row::x, 0.0), 0.02);   // independent columns
  near(sg::lt(&row::a, 30) || sg::gt(&row::x, 1.0), 0.02);
  near(!sg::lt(&row::a, 30), 0.02);
}

TEST_CASE("selectivity: defaults without statistics, hints, and clamping", "[cost][selectivity]") {
  const auto none = sg::cost::table(100, 16);
  CHECK(sg::cost::selectivity(sg::eq(&row::a, 3), none) == 0.005);
  CHECK(sg::cost::selectivity(sg::lt(&row::a, 3), none) == Approx(1.0 / 3));
  CHECK(sg::cost::selectivity(sg::between(&row::a, 1, 3), none) == Approx(1.0 / 9));
  CHECK(sg::cost::selectivity(sg::like(&row::s, "ap%"), none) == 0.05);
  CHECK(sg::cost::selectivity(sg::is_null(&row::maybe), none) == 0.005);
  CHECK(sg::cost::selectivity(sg::predicate([](row const&) { return true; }), none) == Approx(1.0 / 3));
  CHECK(sg::cost::selectivity(sg::predicate([](row const&) { return true; }, 0.25), none) == 0.25);
  CHECK(sg::cost::selectivity(sg::predicate([](row const&) { return true; }, 7.0), none) == 1.0);
  CHECK(sg::cost::selectivity(sg::in(&row::a, {1, 2, 3, 4, 5}), none) == Approx(0.025));
  sg::cost::selectivity_defaults custom;
  custom.like = 0.2;
  CHECK(sg::cost::selectivity(sg::like(&row::s, "%x%"), none, custom) == 0.2);
}

TEST_CASE("selectivity: random predicate trees stay between 0 and 1 and AND never exceeds its parts",
          "[cost][selectivity][property]") {
  SG_SEEDED_RNG(rng);
  const auto rows = sample(rng, 2000);
  const auto t = sg::cost::collect(rows, &row::a, &row::x);
  for (int i = 0; i < 500; ++i) {
    const int v = static_cast<int>(rng() % 120) - 10;
    auto p = sg::lt(&row::a, v);
    auto q = sg::gt(&row::x, static_cast<double>(v) / 50);
    const double sp = sg::cost::selectivity(p, t), sq = sg::cost::selectivity(q, t);
    const double both = sg::cost::selectivity(p && q, t), either = sg::cost::selectivity(p || q, t);
    CHECK(both <= std::min(sp, sq) + 1e-12);
    CHECK(either >= std::max(sp, sq) - 1e-12);
    CHECK(either <= 1.0);
    CHECK(both >= 0.0);
  }
}

TEST_CASE("selectivity: a NaN constant or infinite min and max give an estimate, not NaN",
          "[cost][selectivity][float-order]") {
  SG_SEEDED_RNG(rng);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  auto rows = sample(rng, 2000);
  const auto t = sg::cost::collect(rows, &row::x);
  // NaN is above every number (sg's total order): every row is below it, none above.
  CHECK(sg::cost::selectivity(sg::lt(&row::x, nan), t) == Approx(actual(sg::lt(&row::x, nan), rows)).margin(0.01));
  CHECK(sg::cost::selectivity(sg::gt(&row::x, nan), t) == Approx(0.0).margin(0.01));
  CHECK(actual(sg::lt(&row::x, nan), rows) == 1.0);
  // Statistics without a histogram whose min and max are infinite.
  sg::cost::column_stats c;
  c.rows = 100;
  c.distinct = 10;
  c.min = -inf;
  c.max = inf;
  const auto only_bounds = sg::cost::table(100, 16, sg::cost::column(&row::x, c));
  for (double probe : {nan, -inf, 0.0, inf}) {
    const double s = sg::cost::selectivity(sg::lt(&row::x, probe), only_bounds);
    INFO(probe);
    CHECK((s >= 0.0 && s <= 1.0));
  }
}
