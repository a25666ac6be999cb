// sg/agg/variance.hpp — sg::agg::variance / variance_pop / stddev / stddev_pop (proj).
//
//   sg::merge::hash_aggregate(&trade::symbol, sg::agg::avg(&trade::price), sg::agg::stddev(&trade::price))
//
// State: count, mean and M2 (the sum of squared deviations from the mean) in double.
// A shard updates it with Welford's method; the coordinator merges two states with the
// pairwise formula of Chan, Golub and LeVeque (1979) — numerically stable, unlike
// sum-of-squares: mean = mean_a + δ·n_b/n, M2 = M2_a + M2_b + δ²·n_a·n_b/n, δ = mean_b − mean_a.
// variance and stddev are the sample statistics (divide by n − 1, SQL VAR_SAMP and
// STDDEV_SAMP; NaN for fewer than 2 rows); the _pop forms divide by n (NaN for no rows).
// Example: tests/agg/aggregates.cpp.
#pragma once

#include <sg/agg/aggregate.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <type_traits>
#include <utility>

namespace sg::agg {

struct moments {
  std::uint64_t count = 0;
  double mean = 0;
  double m2 = 0;
  friend bool operator==(moments const&, moments const&) = default;
};

namespace detail {

enum class spread { sample_variance, population_variance, sample_stddev, population_stddev };

template <class Proj, spread What>
struct spread_fn {
  static constexpr char const* sql_name = What == spread::sample_variance       ? "VAR_SAMP"
                                          : What == spread::population_variance ? "VAR_POP"
                                          : What == spread::sample_stddev       ? "STDDEV_SAMP"
                                                                                : "STDDEV_POP";
  static constexpr char const* state_name = "count, mean and M2";
  Proj proj;

  template <class Row>
    requires std::is_arithmetic_v<projected_t<Proj, Row>>
  constexpr moments init() const noexcept {
    return {};
  }
  template <class Row>
  constexpr void update(moments& s, Row const& row) const {
    const auto x = static_cast<double>(std::invoke(proj, row));
    ++s.count;
    const double delta = x - s.mean;
    s.mean += delta / static_cast<double>(s.count);
    s.m2 += delta * (x - s.mean);
  }
  constexpr void merge(moments& s, moments const& o) const noexcept {
    if (o.count == 0) return;
    if (s.count == 0) {
      s = o;
      return;
    }
    const auto na = static_cast<double>(s.count), nb = static_cast<double>(o.count);
    const double n = na + nb;
    const double delta = o.mean - s.mean;
    s.mean += delta * (nb / n);
    s.m2 += o.m2 + delta * delta * (na * nb / n);
    s.count += o.count;
  }
  double finish(moments const& s) const noexcept {
    constexpr bool sample = What == spread::sample_variance || What == spread::sample_stddev;
    constexpr bool root = What == spread::sample_stddev || What == spread::population_stddev;
    const std::uint64_t min_rows = sample ? 2 : 1;
    if (s.count < min_rows) return std::numeric_limits<double>::quiet_NaN();
    const double var = std::max(0.0, s.m2) / static_cast<double>(s.count - (sample ? 1 : 0));
    return root ? std::sqrt(var) : var;
  }
};

}  // namespace detail

// Sample variance of proj(row) (SQL VAR_SAMP, VARIANCE).
template <class Proj>
constexpr detail::spread_fn<Proj, detail::spread::sample_variance> variance(Proj proj) {
  return {std::move(proj)};
}
// Population variance of proj(row) (SQL VAR_POP).
template <class Proj>
constexpr detail::spread_fn<Proj, detail::spread::population_variance> variance_pop(Proj proj) {
  return {std::move(proj)};
}
// Sample standard deviation of proj(row) (SQL STDDEV_SAMP, STDDEV).
template <class Proj>
constexpr detail::spread_fn<Proj, detail::spread::sample_stddev> stddev(Proj proj) {
  return {std::move(proj)};
}
// Population standard deviation of proj(row) (SQL STDDEV_POP).
template <class Proj>
constexpr detail::spread_fn<Proj, detail::spread::population_stddev> stddev_pop(Proj proj) {
  return {std::move(proj)};
}

}  // namespace sg::agg
