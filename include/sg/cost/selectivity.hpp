// sg/cost/selectivity.hpp — sg::cost::selectivity(predicate, stats): the estimated fraction
// of a table's rows a predicate of sg/query/predicate.hpp passes, in [0, 1].
//
//   auto stats = sg::cost::collect(rows, &order::region, &order::cents);
//   double s = sg::cost::selectivity(sg::eq(&order::region, 3) && sg::lt(&order::cents, 500), stats);
//
// The rules (PostgreSQL's, simplified), each times the column's non-NULL fraction:
//  * c = v: the histogram's share of v when v is frequent enough to be a repeated bound
//    (at least 1 / distinct), else 1 / distinct; 0 for a number outside [min, max]. c <> v: the rest of the
//    non-NULL rows.
//  * c < v, <=, >, >=, BETWEEN: from the histogram (values spread evenly in a bucket),
//    else linearly between min and max, else a default: 1/3 one-sided, 1/9 for BETWEEN.
//  * c IN (v...): the sum of the equalities, at most 1.
//  * c LIKE p: as = for a pattern without '%' or '_'; else the LIKE default, 0.05.
//  * c IS NULL: the null fraction; IS NOT NULL: the rest.
//  * p AND q: s(p)·s(q); p OR q: s(p) + s(q) − s(p)·s(q); NOT p: 1 − s(p). This is the
//    independence assumption: columns are taken to be uncorrelated, which underestimates
//    AND of correlated columns (region = 'eu' AND country = 'fr') — give a hint there.
//  * a custom predicate: its hint (sg::predicate(f, 0.2)), else the opaque default, 1/3.
//  * a column without statistics: the defaults (= 0.005, ranges 1/3, IS NULL 0.005).
// Every result is clamped to [0, 1]. Example: tests/cost/selectivity.cpp, docs/cost.md.
#pragma once

#include <sg/cost/statistics.hpp>
#include <sg/query/predicate.hpp>

#include <algorithm>
#include <cmath>
#include <optional>
#include <string_view>
#include <type_traits>

namespace sg::cost {

// The estimates used where statistics say nothing.
struct selectivity_defaults {
  double equality = 0.005;
  double range = 1.0 / 3;
  double between = 1.0 / 9;
  double like = 0.05;
  double is_null = 0.005;
  double opaque = 1.0 / 3;
};

namespace detail {

constexpr double clamp01(double x) noexcept { return std::isnan(x) ? 0.0 : std::clamp(x, 0.0, 1.0); }

template <class V>
std::optional<double> as_number(V const& v) {
  if constexpr (std::is_arithmetic_v<V>)
    return static_cast<double>(v);
  else
    return std::nullopt;
}

// The fraction of non-NULL values below x (at most x when inclusive).
// NaN is above every number (sg's total order), so every number is below it.
inline std::optional<double> fraction_below(column_stats const& c, double x, bool inclusive) {
  if (x != x) return 1.0;
  if (!c.hist.empty()) return c.hist.fraction_below(x, inclusive);
  if (c.min && c.max) {
    if (x < *c.min || (x == *c.min && !inclusive)) return 0.0;
    if (x > *c.max || (x == *c.max && inclusive)) return 1.0;
    if (*c.max == *c.min) return inclusive ? 1.0 : 0.0;
    const double f = (x - *c.min) / (*c.max - *c.min);
    return std::isfinite(f) ? f : 0.5;  // an infinite min or max: no scale to interpolate on
  }
  return std::nullopt;
}

template <class V>
double equality(column_stats const* c, V const& value, selectivity_defaults const& d) {
  if (c == nullptr) return d.equality;
  const double non_null = 1 - c->null_fraction();
  if (auto x = as_number(value)) {
    if ((c->min && *x < *c->min) || (c->max && *x > *c->max)) return 0;
    if (const double f = c->hist.fraction_equal(*x); f > 0)  // whole buckets of x, and at least its fair share
      return std::max(f, c->distinct >= 1 ? 1 / c->distinct : 0.0) * non_null;
  }
  if (c->distinct >= 1) return non_null / c->distinct;
  return c->rows > 0 && non_null == 0 ? 0.0 : d.equality;
}

template <class V>
double below(column_stats const* c, V const& value, bool inclusive, selectivity_defaults const& d) {
  if (c == nullptr) return d.range;
  if (auto x = as_number(value))
    if (auto f = fraction_below(*c, *x, inclusive)) return *f * (1 - c->null_fraction());
  return d.range;
}

template <class V>
double above(column_stats const* c, V const& value, bool inclusive, selectivity_defaults const& d) {
  if (c == nullptr) return d.range;
  if (auto x = as_number(value))
    if (auto f = fraction_below(*c, *x, !inclusive)) return (1 - *f) * (1 - c->null_fraction());
  return d.range;
}

// The estimate of each node, one visitor of sg::fold_predicate.
template <class Table>
struct estimator {
  Table const& t;
  selectivity_defaults const& d;

  template <class N>
  double compare(N const& p) const {
    column_stats const* c = t.find(p.column);
    switch (N::op) {
      case compare_op::eq: return equality(c, p.value, d);
      case compare_op::ne: return (c ? 1 - c->null_fraction() : 1.0) - equality(c, p.value, d);
      case compare_op::lt: return below(c, p.value, false, d);
      case compare_op::le: return below(c, p.value, true, d);
      case compare_op::gt: return above(c, p.value, false, d);
      case compare_op::ge: return above(c, p.value, true, d);
    }
    return d.opaque;
  }
  template <class N>
  double between(N const& p) const {
    column_stats const* c = t.find(p.column);
    auto lo = as_number(p.lo), hi = as_number(p.hi);
    if (c != nullptr && lo && hi) {
      if (*hi < *lo) return 0;
      auto f_hi = fraction_below(*c, *hi, true), f_lo = fraction_below(*c, *lo, false);
      if (f_hi && f_lo) return (*f_hi - *f_lo) * (1 - c->null_fraction());
    }
    return d.between;
  }
  template <class N>
  double in(N const& p) const {
    column_stats const* c = t.find(p.column);
    double s = 0;
    for (auto const& v : p.values) s += equality(c, v, d);
    return std::min(s, c ? 1 - c->null_fraction() : 1.0);
  }
  template <class N>
  double like(N const& p) const {
    if (std::string_view(p.pattern).find_first_of("%_") == std::string_view::npos)
      return equality(t.find(p.column), p.pattern, d);
    column_stats const* c = t.find(p.column);
    return d.like * (c ? 1 - c->null_fraction() : 1.0);
  }
  template <class N>
  double null_test(N const& p) const {
    column_stats const* c = t.find(p.column);
    const double null = c ? c->null_fraction() : d.is_null;
    return p.negated ? 1 - null : null;
  }
  template <class N>
  double custom(N const& p) const {
    return std::isnan(p.selectivity) ? d.opaque : p.selectivity;
  }
  template <class N>
  double logic(N const&, double left, double right) const {
    const double a = clamp01(left), b = clamp01(right);
    return N::op == logic_op::and_ ? a * b : a + b - a * b;
  }
  template <class N>
  double negation(N const&, double operand) const {
    return 1 - clamp01(operand);
  }
};

template <class P, class Table>
double estimate(P const& p, Table const& t, selectivity_defaults const& d) {
  if constexpr (predicate_expression<P>)
    return fold_predicate(p, estimator<Table>{t, d});
  else
    return d.opaque;  // any other callable: opaque
}

}  // namespace detail

// The estimated fraction of the table's rows that predicate p passes (see the top).
template <class P, class Table>
double selectivity(P const& p, Table const& stats, selectivity_defaults const& defaults = {}) {
  return detail::clamp01(detail::estimate(p, stats, defaults));
}

}  // namespace sg::cost
