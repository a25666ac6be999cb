// sg/cost/statistics.hpp — what a cost model knows about a shard's table: its row count and
// size, and per column the distinct count, null fraction, min / max and an equi-depth
// histogram. Built by sg from rows, or supplied by the user.
//
//   auto stats = sg::cost::collect(rows, &order::region, &order::day, &order::cents);
//   stats.rows;                                // 1'000'000
//   stats.find(&order::day)->distinct;         // ≈ 365 (HyperLogLog)
//   stats.find(&order::cents)->hist.fraction_below(1000, false);
//
// collect reads the rows once per column: a HyperLogLog (precision 12, ≈ 1.6 % error) for
// the distinct count of any hashable column, and for an arithmetic column the min, max
// and an equi-depth histogram (64 buckets: each holds about 1/64 of the non-null values,
// so a value frequent enough to fill a bucket shows as a repeated bound). Floating point:
// min and max are of the values that are not NaN (±inf included; absent when every value
// is NaN), and the histogram holds the finite values only — NaN and ±inf are counted in
// rows and distinct but have no place on a bucket's scale. A column whose
// value is a std::optional counts its empty values as NULL. Memory while collecting: one
// double per non-null value of an arithmetic column. Stats of several shards merge
// (merge(a, b)): counts add, sketches merge exactly, histograms combine their
// distributions. User-supplied statistics are plain values: fill a column_stats and
// build the table with sg::cost::table(rows, row_bytes, sg::cost::column(proj, stats)...).
// Columns are found by their projection: the same member pointer (sg::named unwraps to
// it), or a projection of the same type that compares equal (or is stateless).
// Example: tests/cost/statistics.cpp, docs/cost.md.
#pragma once

#include <sg/agg/hyperloglog.hpp>
#include <sg/query/predicate.hpp>

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <ranges>
#include <span>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace sg::cost {

// An equi-depth histogram of a numeric column's non-null values: bucket i holds the values
// in [bounds[i], bounds[i + 1]], each bucket about the same number of them.
class histogram {
 public:
  histogram() = default;

  // From bounds b0 ≤ b1 ≤ … ≤ bB (B ≥ 1 buckets). Throws std::invalid_argument when the
  // bounds are fewer than two, unsorted, or not finite.
  explicit histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
    if (bounds_.size() < 2) throw std::invalid_argument("sg::cost::histogram: needs at least two bounds (one bucket)");
    for (std::size_t i = 0; i < bounds_.size(); ++i) {
      if (!std::isfinite(bounds_[i]))
        throw std::invalid_argument("sg::cost::histogram: bound " + std::to_string(i) + " is not finite");
      if (i > 0 && bounds_[i] < bounds_[i - 1])
        throw std::invalid_argument("sg::cost::histogram: bounds are not sorted: bound " + std::to_string(i) +
                                    " is below bound " + std::to_string(i - 1));
    }
  }

  // The histogram of `values` (any order; NaN and ±inf are skipped) with at most
  // `buckets` buckets.
  static histogram from_values(std::vector<double> values, std::size_t buckets = 64) {
    std::erase_if(values, [](double v) { return !std::isfinite(v); });
    if (values.empty() || buckets == 0) return {};
    std::sort(values.begin(), values.end());
    buckets = std::min(buckets, values.size());
    std::vector<double> bounds(buckets + 1);
    for (std::size_t i = 0; i <= buckets; ++i) {
      const std::size_t at = std::min(values.size() - 1, i * values.size() / buckets);
      bounds[i] = i == buckets ? values.back() : values[at];
    }
    return histogram(std::move(bounds));
  }

  bool empty() const noexcept { return bounds_.empty(); }
  std::size_t buckets() const noexcept { return bounds_.empty() ? 0 : bounds_.size() - 1; }
  std::span<double const> bounds() const noexcept { return bounds_; }

  // The fraction of values below x (at most x when `inclusive`), assuming values spread
  // evenly inside a bucket; a bucket whose bounds are equal holds only that value. O(B).
  // x = NaN is above every value (sg's total order): 1.
  double fraction_below(double x, bool inclusive) const noexcept {
    if (bounds_.empty()) return 0;
    if (std::isnan(x)) return 1;
    double below = 0;
    for (std::size_t i = 0; i + 1 < bounds_.size(); ++i) {
      const double lo = bounds_[i], hi = bounds_[i + 1];
      if (hi < x) below += 1;
      else if (lo > x) continue;
      else if (lo == hi) below += inclusive ? 1 : 0;          // lo == hi == x
      else if (x == hi) below += inclusive ? 1 : 1 - 1e-12;   // everything but x itself
      else below += (x - lo) / (hi - lo);
    }
    return below / static_cast<double>(buckets());
  }

  // The fraction of values equal to x that the histogram can see: non-zero only for a
  // value frequent enough to be a repeated bound.
  double fraction_equal(double x) const noexcept {
    const double f = fraction_below(x, true) - fraction_below(x, false);
    return f > 1e-9 ? f : 0;
  }

  friend bool operator==(histogram const&, histogram const&) = default;

 private:
  std::vector<double> bounds_;
};

// What is known of one column. Counts are doubles: estimates may be scaled or fractional.
struct column_stats {
  double rows = 0;       // rows of the table, NULLs included
  double nulls = 0;      // rows where the column is NULL
  double distinct = 0;   // distinct non-null values
  std::optional<double> min, max;  // of a numeric column
  histogram hist;        // of a numeric column, when built
  double width = 0;      // average bytes of a value (heap bytes of strings included)
  std::optional<agg::hyperloglog> sketch;  // when built by sg: lets merge() count exactly

  double null_fraction() const noexcept { return rows > 0 ? std::clamp(nulls / rows, 0.0, 1.0) : 0.0; }
};

// A column's projection and its statistics.
template <class Proj>
struct column_entry {
  Proj proj;
  column_stats stats;
};

namespace detail {

template <class P>
constexpr auto const& underlying(P const& p) {
  if constexpr (requires { p.name; p.proj; })
    return underlying(p.proj);
  else
    return p;
}

// Whether projections a and b read the same column.
template <class A, class B>
constexpr bool same_column(A const& a, B const& b) {
  auto const& x = underlying(a);
  auto const& y = underlying(b);
  using X = std::remove_cvref_t<decltype(x)>;
  using Y = std::remove_cvref_t<decltype(y)>;
  if constexpr (!std::is_same_v<X, Y>)
    return false;
  else if constexpr (std::equality_comparable<X>)
    return x == y;
  else
    return std::is_empty_v<X>;
}

template <class T>
inline constexpr bool is_string_like = requires(T const& t) {
  { t.size() } -> std::convertible_to<std::size_t>;
  std::string_view(t);
};

// Bytes a value takes beyond its object (a string's characters).
template <class T>
double heap_bytes(T const& v) {
  if constexpr (is_string_like<T>)
    return v.size() > 15 ? static_cast<double>(v.size()) : 0.0;  // beyond the small-string buffer
  else
    return 0.0;
}

}  // namespace detail

// Statistics of a table (one shard's, or several merged): rows, average row bytes, and
// the columns it has statistics for.
template <class... Projs>
struct table_stats {
  double rows = 0;
  double row_bytes = 0;
  std::tuple<column_entry<Projs>...> columns;

  // The statistics of the column `proj` reads, or nullptr when there are none.
  template <class Proj>
  column_stats const* find(Proj const& proj) const {
    column_stats const* found = nullptr;
    std::apply([&](auto const&... e) { ((found = found ? found : (detail::same_column(e.proj, proj) ? &e.stats : nullptr)), ...); },
               columns);
    return found;
  }
};

// The statistics of one column of `rows`, read once.
template <std::ranges::input_range Rows, class Proj>
column_stats collect_column(Rows&& rows, Proj const& proj, std::size_t buckets = 64) {
  column_stats s;
  agg::hyperloglog sketch(12);
  std::vector<double> numbers;
  double bytes = 0;
  for (auto const& row : rows) {
    s.rows += 1;
    decltype(auto) v = std::invoke(proj, row);
    auto take = [&](auto const& x) {
      using X = std::remove_cvref_t<decltype(x)>;
      if constexpr (requires { sketch.add(x); }) sketch.add(x);
      bytes += static_cast<double>(sizeof(X)) + detail::heap_bytes(x);
      if constexpr (std::is_arithmetic_v<X>) numbers.push_back(static_cast<double>(x));
    };
    if constexpr (sg::detail::is_optional<std::remove_cvref_t<decltype(v)>>) {
      if (!v) {
        s.nulls += 1;
        continue;
      }
      take(*v);
    } else {
      take(v);
    }
  }
  const double non_null = s.rows - s.nulls;
  s.width = non_null > 0 ? bytes / non_null : 0;
  s.distinct = std::min(non_null, std::round(sketch.estimate()));
  s.sketch = std::move(sketch);
  std::erase_if(numbers, [](double x) { return std::isnan(x); });  // min, max: of the numbers
  if (!numbers.empty()) {
    const auto [lo, hi] = std::minmax_element(numbers.begin(), numbers.end());
    s.min = *lo;
    s.max = *hi;
    s.hist = histogram::from_values(std::move(numbers), buckets);
  }
  return s;
}

// Statistics of `rows` for the columns `projs` (see the top of the file).
template <std::ranges::forward_range Rows, class... Projs>
table_stats<Projs...> collect(Rows&& rows, Projs... projs) {
  using row = std::ranges::range_value_t<Rows>;
  table_stats<Projs...> t;
  t.columns = std::tuple<column_entry<Projs>...>{column_entry<Projs>{projs, collect_column(rows, projs)}...};
  t.rows = static_cast<double>(std::ranges::distance(rows));
  double heap = 0;
  std::apply([&](auto const&... e) {
    ((heap += detail::is_string_like<std::remove_cvref_t<std::invoke_result_t<decltype(e.proj) const&, row const&>>>
                  ? std::max(0.0, e.stats.width - 32.0) : 0.0), ...);
  }, t.columns);
  t.row_bytes = static_cast<double>(sizeof(row)) + heap;
  return t;
}

// A column's user-supplied statistics, for sg::cost::table.
template <class Proj>
column_entry<Proj> column(Proj proj, column_stats stats) {
  return {std::move(proj), std::move(stats)};
}

// A table's user-supplied statistics.
template <class... Projs>
table_stats<Projs...> table(double rows, double row_bytes, column_entry<Projs>... columns) {
  return {rows, row_bytes, std::tuple<column_entry<Projs>...>(std::move(columns)...)};
}

namespace detail {

// The histogram of the union of two columns' values: bounds at the quantiles of the
// row-weighted mixture of their distributions, found among both histograms' bounds and
// interpolated between them.
inline histogram merge_histograms(histogram const& a, double na, histogram const& b, double nb) {
  if (a.empty() || na <= 0) return b;
  if (b.empty() || nb <= 0) return a;
  std::vector<double> xs(a.bounds().begin(), a.bounds().end());
  xs.insert(xs.end(), b.bounds().begin(), b.bounds().end());
  std::sort(xs.begin(), xs.end());
  xs.erase(std::unique(xs.begin(), xs.end()), xs.end());
  auto cdf = [&](double x) { return (na * a.fraction_below(x, true) + nb * b.fraction_below(x, true)) / (na + nb); };
  const std::size_t buckets = std::max(a.buckets(), b.buckets());
  std::vector<double> bounds(buckets + 1);
  bounds.front() = xs.front();
  bounds.back() = xs.back();
  std::size_t at = 0;
  for (std::size_t i = 1; i < buckets; ++i) {
    const double q = static_cast<double>(i) / static_cast<double>(buckets);
    while (at + 1 < xs.size() && cdf(xs[at + 1]) < q) ++at;
    if (at + 1 >= xs.size()) {
      bounds[i] = xs.back();
      continue;
    }
    const double f0 = at == 0 && cdf(xs[0]) >= q ? 0 : cdf(xs[at]), f1 = cdf(xs[at + 1]);
    const double t = f1 > f0 ? std::clamp((q - f0) / (f1 - f0), 0.0, 1.0) : 1.0;
    bounds[i] = std::max(bounds[i - 1], xs[at] + t * (xs[at + 1] - xs[at]));
  }
  return histogram(std::move(bounds));
}

}  // namespace detail

// The statistics of the union of two tables' column (two shards'): counts add; the
// distinct count is exact to the sketches when both have one, else the larger of the two
// (a lower bound); histograms combine their distributions.
inline column_stats merge(column_stats const& a, column_stats const& b) {
  column_stats s;
  s.rows = a.rows + b.rows;
  s.nulls = a.nulls + b.nulls;
  const double na = a.rows - a.nulls, nb = b.rows - b.nulls;
  s.width = na + nb > 0 ? (a.width * na + b.width * nb) / (na + nb) : 0;
  if (a.sketch && b.sketch && a.sketch->precision() == b.sketch->precision()) {
    s.sketch = *a.sketch;
    s.sketch->merge(*b.sketch);
    s.distinct = std::min(na + nb, std::round(s.sketch->estimate()));
  } else {
    s.distinct = std::max(a.distinct, b.distinct);
  }
  // A NaN min or max (user-supplied) counts as none: not order-dependent.
  auto pick = [](std::optional<double> x, std::optional<double> y, auto better) -> std::optional<double> {
    if (x && std::isnan(*x)) x.reset();
    if (y && std::isnan(*y)) y.reset();
    if (!x) return y;
    if (!y) return x;
    return better(*x, *y) ? x : y;
  };
  s.min = pick(a.min, b.min, std::less<>{});
  s.max = pick(a.max, b.max, std::greater<>{});
  s.hist = detail::merge_histograms(a.hist, na, b.hist, nb);
  return s;
}

// The statistics of two tables' union, column by column.
template <class... Projs>
table_stats<Projs...> merge(table_stats<Projs...> const& a, table_stats<Projs...> const& b) {
  table_stats<Projs...> t;
  t.rows = a.rows + b.rows;
  t.row_bytes = t.rows > 0 ? (a.row_bytes * a.rows + b.row_bytes * b.rows) / t.rows : 0;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    ((std::get<I>(t.columns) = column_entry{std::get<I>(a.columns).proj,
                                            merge(std::get<I>(a.columns).stats, std::get<I>(b.columns).stats)}),
     ...);
  }(std::index_sequence_for<Projs...>{});
  return t;
}

// The statistics of every shard's table merged into one (the global table).
template <std::ranges::input_range Tables>
auto merge_all(Tables const& tables) {
  std::ranges::range_value_t<Tables> total{};
  bool first = true;
  for (auto const& t : tables) {
    total = first ? t : merge(total, t);
    first = false;
  }
  return total;
}

}  // namespace sg::cost
