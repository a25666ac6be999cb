#include <sg/agg/count.hpp>
#include <sg/agg/minmax.hpp>
#include <sg/agg/sum.hpp>
#include <sg/agg/variance.hpp>

#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <system_error>
#include <vector>

namespace {

struct row {
  std::int64_t i;
  std::uint32_t u;
  double d;
  std::string s;
};

// Folds rows with an aggregate in one state.
template <class A>
auto fold(A const& a, std::vector<row> const& rows) {
  auto s = a.template init<row>();
  for (auto const& r : rows) a.update(s, r);
  return s;
}

// Folds rows split at random points into several states, then merges those in a random order.
template <class A>
auto fold_split(A const& a, std::vector<row> const& rows, std::mt19937_64& rng) {
  using state = sg::agg::state_t<A, row>;
  std::vector<state> parts(1 + rng() % 6, a.template init<row>());
  for (auto const& r : rows) a.update(parts[rng() % parts.size()], r);
  std::shuffle(parts.begin(), parts.end(), rng);
  state total = a.template init<row>();
  for (auto& p : parts) a.merge(total, std::move(p));
  return total;
}

std::vector<row> random_rows(std::mt19937_64& rng, std::size_t n) {
  std::vector<row> rows(n);
  std::uniform_int_distribution<std::int64_t> i(-1'000'000'000'000LL, 1'000'000'000'000LL);
  std::normal_distribution<double> d(50, 20);
  for (auto& r : rows) r = {i(rng), static_cast<std::uint32_t>(rng()), d(rng), std::to_string(rng() % 1000)};
  return rows;
}

}  // namespace

TEST_CASE("count, sum, min and max equal a plain loop however the rows are split", "[agg][property]") {
  SG_SEEDED_RNG(rng);
  for (int round = 0; round < 200; ++round) {
    const auto rows = random_rows(rng, rng() % 300);
    std::int64_t isum = 0;
    std::uint64_t usum = 0;
    double dsum = 0;
    for (auto const& r : rows) isum += r.i, usum += r.u, dsum += r.d;

    const auto count = sg::agg::count();
    CHECK(count.finish(fold_split(count, rows, rng)) == rows.size());
    const auto si = sg::agg::sum(&row::i);
    CHECK(si.finish(fold_split(si, rows, rng)) == isum);
    const auto su = sg::agg::sum(&row::u);
    STATIC_REQUIRE(std::is_same_v<decltype(su.finish(fold(su, rows))), std::uint64_t>);
    CHECK(su.finish(fold_split(su, rows, rng)) == usum);
    const auto sd = sg::agg::sum(&row::d);
    CHECK(sd.finish(fold_split(sd, rows, rng)) == Approx(dsum).margin(1e-9));
    if (rows.empty()) continue;
    const auto lo = sg::agg::min(&row::s);
    const auto hi = sg::agg::max(&row::i);
    CHECK(lo.finish(fold_split(lo, rows, rng)) == std::ranges::min(rows, {}, &row::s).s);
    CHECK(hi.finish(fold_split(hi, rows, rng)) == std::ranges::max(rows, {}, &row::i).i);
    const auto mean = sg::agg::avg(&row::i);
    CHECK(mean.finish(fold_split(mean, rows, rng)) ==
          Approx(static_cast<double>(isum) / static_cast<double>(rows.size())));
  }
}

TEST_CASE("an integer sum that leaves int64 is an overflow error, not a wrapped number", "[agg][sum]") {
  constexpr auto big = std::numeric_limits<std::int64_t>::max();
  const auto sum = sg::agg::sum(&row::i);
  std::vector<row> rows{{big, 0, 0, ""}, {big, 0, 0, ""}};
  auto s = fold(sum, rows);
  try {
    (void)sum.finish(s);
    FAIL("no overflow reported");
  } catch (std::system_error const& e) {
    CHECK(e.code() == sg::errc::overflow);
    CHECK(std::string(e.what()).find("18446744073709551614") != std::string::npos);
  }
  // Intermediate totals beyond int64 are fine when the final one fits: 128-bit state.
  rows.push_back({-big, 0, 0, ""});
  rows.push_back({-big, 0, 0, ""});
  rows.push_back({7, 0, 0, ""});
  CHECK(sum.finish(fold(sum, rows)) == 7);
  rows = {{std::numeric_limits<std::int64_t>::min(), 0, 0, ""}, {-1, 0, 0, ""}};
  CHECK_THROWS_AS(sum.finish(fold(sum, rows)), std::system_error);
  rows = {{std::numeric_limits<std::int64_t>::min(), 0, 0, ""}};
  CHECK(sum.finish(fold(sum, rows)) == std::numeric_limits<std::int64_t>::min());

  // Unsigned: the sum of many uint32 fits in uint64; beyond uint64 it is an error.
  const auto usum = sg::agg::sum([](std::uint64_t v) { return v; });
  auto st = usum.init<std::uint64_t>();
  usum.update(st, std::numeric_limits<std::uint64_t>::max());
  CHECK(usum.finish(st) == std::numeric_limits<std::uint64_t>::max());
  usum.update(st, std::uint64_t{1});
  CHECK_THROWS_AS(usum.finish(st), std::system_error);
}

TEST_CASE("avg of no rows is NaN, and min of no rows is bad input", "[agg]") {
  const auto mean = sg::agg::avg(&row::d);
  CHECK(std::isnan(mean.finish(mean.init<row>())));
  const auto lo = sg::agg::min(&row::d);
  try {
    (void)lo.finish(lo.init<row>());
    FAIL("no error");
  } catch (std::system_error const& e) {
    CHECK(e.code() == sg::errc::bad_input);
  }
}

TEST_CASE("variance merged with Chan's formula equals the two-pass variance", "[agg][variance][property]") {
  SG_SEEDED_RNG(rng);
  for (int round = 0; round < 200; ++round) {
    auto rows = random_rows(rng, rng() % 200);
    if (round % 10 == 0)
      for (auto& r : rows) r.d = 1e9 + r.d * 1e-3;  // a large mean: sum of squares would cancel
    double mean = 0;
    for (auto const& r : rows) mean += r.d;
    mean /= static_cast<double>(rows.size());
    double m2 = 0;
    for (auto const& r : rows) m2 += (r.d - mean) * (r.d - mean);
    const auto n = static_cast<double>(rows.size());

    const auto var = sg::agg::variance(&row::d);
    const auto var_pop = sg::agg::variance_pop(&row::d);
    const auto sd = sg::agg::stddev(&row::d);
    const auto sd_pop = sg::agg::stddev_pop(&row::d);
    const auto s = fold_split(var, rows, rng);
    CHECK(s.count == rows.size());
    if (rows.size() < 2) {
      CHECK(std::isnan(var.finish(s)));
      CHECK(std::isnan(sd.finish(s)));
    } else {
      const double tolerance = 1e-9 * std::max(1.0, m2 / (n - 1));
      CHECK(var.finish(s) == Approx(m2 / (n - 1)).margin(tolerance));
      CHECK(sd.finish(s) == Approx(std::sqrt(m2 / (n - 1))).margin(1e-6));
    }
    if (rows.empty()) {
      CHECK(std::isnan(var_pop.finish(s)));
    } else {
      CHECK(var_pop.finish(s) == Approx(m2 / n).margin(1e-9 * std::max(1.0, m2 / n)));
      CHECK(sd_pop.finish(s) == Approx(std::sqrt(m2 / n)).margin(1e-6));
    }
  }
}

TEST_CASE("min and max of doubles follow PostgreSQL's order, bit for bit, however the rows are split",
          "[agg][minmax][float-order][property]") {
  SG_SEEDED_RNG(rng);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const double pool[] = {nan, -nan, inf, -inf, -0.0, 0.0, 1.5, -2};
  const auto lo = sg::agg::min(&row::d);
  const auto hi = sg::agg::max(&row::d);
  auto bits = [](double x) { return std::bit_cast<std::uint64_t>(x); };
  for (int round = 0; round < 500; ++round) {
    std::vector<row> rows(1 + rng() % 12);
    for (auto& r : rows) r.d = pool[rng() % std::size(pool)];
    // The reference: MIN is the least number, NaN only when there is none; MAX is NaN as
    // soon as one value is, else the greatest number. Zeros: -0.0 for MIN, 0.0 for MAX.
    bool any_nan = false, all_nan = true;
    double least = inf, greatest = -inf;
    bool any_number = false;
    for (auto const& r : rows) {
      if (std::isnan(r.d)) {
        any_nan = true;
        continue;
      }
      all_nan = false;
      any_number = true;
      if (r.d < least || (r.d == 0 && least == 0 && std::signbit(r.d))) least = r.d;
      if (r.d > greatest || (r.d == 0 && greatest == 0 && !std::signbit(r.d))) greatest = r.d;
    }
    const double want_min = all_nan ? nan : least;
    const double want_max = any_nan ? nan : greatest;
    REQUIRE((any_number || all_nan));
    INFO("round " << round << ", " << rows.size() << " rows");
    CHECK(bits(lo.finish(fold(lo, rows))) == bits(want_min));
    CHECK(bits(hi.finish(fold(hi, rows))) == bits(want_max));
    CHECK(bits(lo.finish(fold_split(lo, rows, rng))) == bits(want_min));
    CHECK(bits(hi.finish(fold_split(hi, rows, rng))) == bits(want_max));
  }
}

TEST_CASE("min and max of an optional double: the zero and the NaN they give do not depend on the order",
          "[agg][minmax][float-order]") {
  struct cell {
    std::optional<double> v;
  };
  const auto lo = sg::agg::min(&cell::v);
  const auto hi = sg::agg::max(&cell::v);
  auto bits = [](std::optional<double> x) { return std::bit_cast<std::uint64_t>(x.value()); };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (bool negative_first : {false, true}) {
    std::vector<cell> rows{{negative_first ? -0.0 : 0.0}, {negative_first ? 0.0 : -0.0}};
    auto fold_cells = [&](auto const& a) {
      auto s = a.template init<cell>();
      for (auto const& r : rows) a.update(s, r);
      return a.finish(s);
    };
    CHECK(bits(fold_cells(lo)) == bits(-0.0));
    CHECK(bits(fold_cells(hi)) == bits(0.0));
    rows.push_back({-nan});
    CHECK(bits(fold_cells(hi)) == bits(nan));  // the quiet NaN, whatever the row's sign bit
    CHECK(bits(fold_cells(lo)) == bits(-0.0));
  }
}
