// sg/agg/kll.hpp — sg::agg::kll_sketch<T> (a quantile sketch) and
// sg::agg::approx_quantile(proj, q, k) (the aggregate).
//
//   sg::merge::hash_aggregate(&request::endpoint, sg::agg::approx_quantile(&request::micros, 0.99))
//
// KLL (Karnin, Lang, Liberty 2016): a stack of compactors, level h holding items of weight
// 2^h; a full level is sorted and every other item (the odd or the even ones, by a coin
// flip) moves up, so the total weight — the number of rows — is kept exactly. Level
// capacities shrink by 2/3 from the top level down, never below 8. Memory: about 3·k
// items whatever the number of rows; merge appends level by level and compacts.
//
// Accuracy: the returned item's true normalized rank is within ε of q, where for the
// default k = 200 ε ≈ 1.33 % (rank_error(); the figure Apache DataSketches publishes for
// its KLL at 99 % confidence, single-sided: ε(k) = 2.296 / k^0.9723). tests/agg/kll.cpp
// measures the error of merged sketches against exact ranks. Sketches of different k merge
// (shards configured apart, a k changed in a rolling deploy): the result keeps compacting
// with its own k, and tracks min_k(), the smallest k of any sketch merged into it, as
// Apache DataSketches does — rank_error() is rank_error(min_k()), since the items from a
// small-k sketch carry that sketch's error into the merge. The smallest and largest
// items are kept exactly: quantile(0) and quantile(1) are the true min and max.
// The coin flips come from a generator seeded from the sketch's history (deterministic:
// the same input in the same order gives the same sketch). Example: tests/agg/kll.cpp.
#pragma once

#include <sg/agg/aggregate.hpp>
#include <sg/error.hpp>
#include <sg/order.hpp>
#include <sg/partition/hash.hpp>

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace sg::agg {

template <class T, class Comp = total_less_fn>
class kll_sketch {
 public:
  static constexpr unsigned default_k = 200;
  static constexpr unsigned min_width = 8;

  // An empty sketch. Throws std::invalid_argument unless 8 ≤ k ≤ 65535.
  explicit kll_sketch(unsigned k = default_k, Comp comp = {})
      : k_(checked_k(k)), min_k_(k_), comp_(std::move(comp)) {
    levels_.emplace_back();
    resize_capacities();
  }

  // The documented normalized rank error (99 % confidence, single-sided) for parameter k.
  static double rank_error(unsigned k) noexcept { return 2.296 / std::pow(static_cast<double>(k), 0.9723); }
  // This sketch's error bound: rank_error(min_k()), the k of the least accurate sketch
  // merged into it (its own k when nothing of smaller k was merged).
  double rank_error() const noexcept { return rank_error(min_k_); }

  // The k this sketch compacts with (its level capacities).
  unsigned k() const noexcept { return k_; }
  // The smallest k of this sketch and every sketch merged into it: the k its accuracy is.
  unsigned min_k() const noexcept { return min_k_; }
  std::uint64_t count() const noexcept { return n_; }
  bool empty() const noexcept { return n_ == 0; }
  std::size_t retained() const noexcept { return size_; }  // items held (memory)

  // Adds one row. A floating-point NaN is ignored, as Apache DataSketches' KLL does (it
  // has no rank, and sorting it would break the comparison's strict weak order): it is
  // not counted.
  void add(T item) {
    if constexpr (std::floating_point<T>)
      if (std::isnan(item)) return;
    if (!min_ || comp_(item, *min_)) min_ = item;
    if (!max_ || comp_(*max_, item)) max_ = item;
    levels_[0].push_back(std::move(item));
    ++size_;
    ++n_;
    if (size_ > total_capacity_) compress();
  }

  // This sketch becomes a sketch of both inputs, of any k: it keeps its own k, and its
  // min_k() (so rank_error()) becomes the smaller of the two sketches' min_k(). An empty
  // sketch changes nothing, min_k() included (it brings no rows, so no error). Merging a
  // sketch into itself counts its rows twice, as merging a copy does.
  void merge(kll_sketch const& other) {
    if (&other == this) {
      const kll_sketch copy = other;
      merge(copy);
      return;
    }
    if (other.empty()) return;
    min_k_ = std::min(min_k_, other.min_k_);
    if (!min_ || comp_(*other.min_, *min_)) min_ = other.min_;
    if (!max_ || comp_(*max_, *other.max_)) max_ = other.max_;
    if (other.levels_.size() > levels_.size()) {
      levels_.resize(other.levels_.size());
      resize_capacities();
    }
    for (std::size_t h = 0; h < other.levels_.size(); ++h)
      levels_[h].insert(levels_[h].end(), other.levels_[h].begin(), other.levels_[h].end());
    size_ += other.size_;
    n_ += other.n_;
    coin_ ^= partition::mix64(other.coin_ + n_);
    compress();
  }

  // Everything a sketch holds, for sending it elsewhere (sg/wire/agg.hpp) and rebuilding it
  // there with from_parts: level h holds items of weight 2^h.
  struct parts {
    unsigned k = default_k;
    unsigned min_k = default_k;
    std::uint64_t count = 0;
    std::uint64_t coin = 0;
    std::optional<T> min, max;
    std::vector<std::vector<T>> levels;
    friend bool operator==(parts const&, parts const&) = default;
  };
  parts to_parts() const { return {k_, min_k_, n_, coin_, min_, max_, levels_}; }

  // The sketch `p` describes, after checking that it is one a sketch can be: k and min_k in
  // [8, 65535] with min_k ≤ k; 1 to 64 levels; the items' weights (2^h each) summing to
  // exactly count; min and max present exactly when count > 0, every item within [min, max]
  // and no NaN. Throws std::system_error(sg::errc::bad_input) saying which check failed, so
  // a sketch from another process cannot break a later merge or quantile. O(items).
  static kll_sketch from_parts(parts p, Comp comp = {}) {
    auto bad = [](std::string const& what) {
      throw std::system_error(make_error_code(errc::bad_input), "sg::agg::kll_sketch::from_parts: " + what);
    };
    if (p.k < min_width || p.k > 65535 || p.min_k < min_width || p.min_k > p.k)
      bad("k = " + std::to_string(p.k) + " and min_k = " + std::to_string(p.min_k) +
          " are not 8 <= min_k <= k <= 65535");
    if (p.levels.empty() || p.levels.size() > 64)
      bad(std::to_string(p.levels.size()) + " levels, not 1 to 64");
    if (p.min.has_value() != (p.count > 0) || p.max.has_value() != (p.count > 0))
      bad("min and max must be present exactly when the count (" + std::to_string(p.count) + ") is not 0");
    if (p.count > 0 && comp(*p.max, *p.min)) bad("max is below min");
    std::uint64_t weight = 0;
    std::size_t size = 0;
    for (std::size_t h = 0; h < p.levels.size(); ++h) {
      for (T const& item : p.levels[h]) {
        if constexpr (std::floating_point<T>)
          if (std::isnan(item)) bad("an item is NaN");
        if (!p.min || comp(item, *p.min) || comp(*p.max, item)) bad("an item lies outside [min, max]");
      }
      const std::uint64_t items = p.levels[h].size();
      if (items != 0 && items > (~std::uint64_t{0} - weight) >> h)
        bad("the items' weights overflow");
      weight += items << h;
      size += p.levels[h].size();
    }
    if (weight != p.count)
      bad("the items weigh " + std::to_string(weight) + " rows, but the count is " + std::to_string(p.count));
    kll_sketch s(p.k, std::move(comp));
    s.min_k_ = p.min_k;
    s.n_ = p.count;
    s.coin_ = p.coin;
    s.min_ = std::move(p.min);
    s.max_ = std::move(p.max);
    s.levels_ = std::move(p.levels);
    s.size_ = size;
    s.resize_capacities();
    s.compress();  // a level over its capacity (no sketch sends one) is compacted now
    return s;
  }

  // An item whose normalized rank (the fraction of rows ≤ it) is q, within rank_error().
  // Throws std::invalid_argument for q outside [0, 1] and std::system_error(bad_input)
  // when the sketch is empty.
  T quantile(double q) const {
    if (!(q >= 0 && q <= 1))
      throw std::invalid_argument("sg::agg::kll_sketch: quantile " + std::to_string(q) + " is outside [0, 1]");
    if (empty())
      throw std::system_error(make_error_code(errc::bad_input), "sg::agg::kll_sketch: no rows, so no quantile");
    if (q == 0) return *min_;
    if (q == 1) return *max_;
    std::vector<std::pair<T const*, std::uint64_t>> weighted;
    weighted.reserve(size_);
    for (std::size_t h = 0; h < levels_.size(); ++h)
      for (T const& item : levels_[h]) weighted.emplace_back(&item, std::uint64_t{1} << h);
    std::sort(weighted.begin(), weighted.end(),
              [&](auto const& a, auto const& b) { return comp_(*a.first, *b.first); });
    const double target = q * static_cast<double>(n_);
    std::uint64_t cumulative = 0;
    for (auto const& [item, weight] : weighted) {
      cumulative += weight;
      if (static_cast<double>(cumulative) >= target) return *item;
    }
    return *max_;
  }

  // The estimated fraction of rows ≤ item.
  double rank(T const& item) const noexcept {
    if (empty()) return 0;
    std::uint64_t below = 0;
    for (std::size_t h = 0; h < levels_.size(); ++h)
      for (T const& x : levels_[h])
        if (!comp_(item, x)) below += std::uint64_t{1} << h;
    return static_cast<double>(below) / static_cast<double>(n_);
  }

 private:
  static unsigned checked_k(unsigned k) {
    if (k < min_width || k > 65535)
      throw std::invalid_argument("sg::agg::kll_sketch: k = " + std::to_string(k) + " is outside [8, 65535]");
    return k;
  }

  // Level h of H holds at most max(8, k·(2/3)^(H−1−h)) items.
  void resize_capacities() {
    const std::size_t levels = levels_.size();
    capacity_.resize(levels);
    total_capacity_ = 0;
    for (std::size_t h = 0; h < levels; ++h) {
      const double width = std::ceil(k_ * std::pow(2.0 / 3.0, static_cast<double>(levels - 1 - h)));
      capacity_[h] = std::max<std::size_t>(min_width, static_cast<std::size_t>(width));
      total_capacity_ += capacity_[h];
    }
  }

  void compress() {
    while (size_ > total_capacity_) {
      std::size_t h = 0;
      while (levels_[h].size() < capacity_[h]) ++h;
      compact(h);
    }
  }

  // Halves level h into level h + 1, keeping one item back when the count is odd.
  void compact(std::size_t h) {
    if (h + 1 == levels_.size()) {
      levels_.emplace_back();
      resize_capacities();
    }
    std::vector<T>& level = levels_[h];
    std::vector<T>& up = levels_[h + 1];
    std::sort(level.begin(), level.end(), std::ref(comp_));
    const std::size_t odd = level.size() % 2;
    const std::size_t pairs = level.size() / 2;
    coin_ = partition::mix64(coin_ + n_ + h);
    const std::size_t offset = coin_ & 1;
    for (std::size_t i = 0; i < pairs; ++i) up.push_back(std::move(level[2 * i + offset]));
    if (odd) {
      T kept = std::move(level.back());
      level.clear();
      level.push_back(std::move(kept));
    } else {
      level.clear();
    }
    size_ -= pairs;
  }

  unsigned k_;
  unsigned min_k_;  // the smallest k merged in: the accuracy
  Comp comp_;
  std::vector<std::vector<T>> levels_;
  std::vector<std::size_t> capacity_;
  std::size_t total_capacity_ = 0;
  std::size_t size_ = 0;
  std::uint64_t n_ = 0;
  std::uint64_t coin_ = 0x243f6a8885a308d3ULL;
  std::optional<T> min_, max_;
};

template <class Proj>
struct approx_quantile_fn {
  static constexpr char const* sql_name = "APPROX_QUANTILE";
  static constexpr char const* state_name = "a KLL sketch";
  Proj proj;
  double q;
  unsigned k = kll_sketch<int>::default_k;

  template <class Row>
    requires std::totally_ordered<projected_t<Proj, Row>> && std::copyable<projected_t<Proj, Row>>
  kll_sketch<projected_t<Proj, Row>> init() const {
    return kll_sketch<projected_t<Proj, Row>>(k);
  }
  template <class T, class Row>
  void update(kll_sketch<T>& s, Row const& row) const {
    s.add(std::invoke(proj, row));
  }
  template <class T>
  void merge(kll_sketch<T>& s, kll_sketch<T> const& other) const {
    s.merge(other);
  }
  template <class T>
  T finish(kll_sketch<T> const& s) const {
    return s.quantile(q);
  }
};

// The q-quantile of proj(row) (q = 0.5: the median), approximately: a KLL sketch with
// parameter k; see the top of this file for the error bound. Throws std::invalid_argument
// at once for q outside [0, 1] or k outside [8, 65535].
template <class Proj>
approx_quantile_fn<Proj> approx_quantile(Proj proj, double q, unsigned k = kll_sketch<int>::default_k) {
  if (!(q >= 0 && q <= 1))
    throw std::invalid_argument("sg::agg::approx_quantile: q = " + std::to_string(q) + " is outside [0, 1]");
  if (k < kll_sketch<int>::min_width || k > 65535)
    throw std::invalid_argument("sg::agg::approx_quantile: k = " + std::to_string(k) + " is outside [8, 65535]");
  return {std::move(proj), q, k};
}

}  // namespace sg::agg
