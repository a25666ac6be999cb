// sg/agg/hyperloglog.hpp — sg::agg::hyperloglog (the sketch) and
// sg::agg::approx_count_distinct(proj, precision) (the aggregate).
//
//   sg::merge::hash_aggregate(&order::region, sg::agg::approx_count_distinct(&order::customer))
//
// HyperLogLog (Flajolet et al. 2007) with m = 2^precision one-byte registers, 4 ≤
// precision ≤ 18 (default 14: 16 KiB, standard error 1.04/√m ≈ 0.81 %). A value's 64-bit
// hash is sg::partition::default_hash — pinned across platforms and runs, so sketches built
// on different machines merge. Merge is the register-wise max: merging the sketches of
// several sets gives exactly the sketch of their union, so two-phase counting loses
// nothing. The estimate is Ertl's improved estimator ("New cardinality estimation
// algorithms for HyperLogLog sketches", 2017): bias-corrected over the whole range, from
// zero to far beyond 10^9, without the empirical tables of HLL++ and without switching to
// linear counting. Merging sketches of different precisions is bad input
// (std::system_error, sg::errc::bad_input). Example: tests/agg/hyperloglog.cpp.
#pragma once

#include <sg/agg/aggregate.hpp>
#include <sg/error.hpp>
#include <sg/partition/hash.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace sg::agg {

namespace detail {
inline unsigned checked_precision(unsigned p) {
  if (p < 4 || p > 18)
    throw std::invalid_argument("sg::agg::hyperloglog: precision " + std::to_string(p) +
                                " is outside [4, 18]");
  return p;
}
}  // namespace detail

class hyperloglog {
 public:
  static constexpr unsigned min_precision = 4;
  static constexpr unsigned max_precision = 18;

  // An empty sketch of 2^precision registers. Throws std::invalid_argument when precision
  // is outside [4, 18].
  explicit hyperloglog(unsigned precision = 14)
      : p_(detail::checked_precision(precision)), registers_(std::size_t{1} << p_) {}

  unsigned precision() const noexcept { return p_; }
  std::size_t register_count() const noexcept { return registers_.size(); }
  std::span<std::uint8_t const> registers() const noexcept { return registers_; }

  // The relative standard error of estimate(): 1.04/√m.
  double standard_error() const noexcept { return 1.04 / std::sqrt(static_cast<double>(registers_.size())); }

  // Adds a value by its 64-bit hash (which must be uniformly distributed). O(1).
  void add_hash(std::uint64_t h) noexcept {
    const std::size_t index = static_cast<std::size_t>(h >> (64 - p_));
    const std::uint64_t rest = h << p_;  // the remaining 64 − p bits, high-aligned
    const unsigned q = 64 - p_;
    const auto rank = static_cast<std::uint8_t>(std::min<unsigned>(static_cast<unsigned>(std::countl_zero(rest)), q) + 1);
    std::uint8_t& r = registers_[index];
    r = std::max(r, rank);
  }

  // Raises register `index` to at least `rank`: how a sketch is rebuilt from registers that
  // something else computed with add_hash's rule (index: the hash's top p bits; rank: 1 +
  // the leading zeros of the other 64 − p, at most 65 − p), e.g. a database's
  // GROUP BY index, MAX(rank) (examples/orders_postgres.cpp). Order and repeats do not
  // matter. Throws std::system_error(sg::errc::bad_input) for an index ≥ 2^p or a rank
  // above 65 − p. O(1).
  void raise(std::size_t index, unsigned rank) {
    if (index >= registers_.size() || rank > 65 - p_)
      throw std::system_error(make_error_code(errc::bad_input),
                              "sg::agg::hyperloglog::raise: register " + std::to_string(index) + " rank " +
                                  std::to_string(rank) + " does not fit a sketch of precision " + std::to_string(p_) +
                                  " (registers 0 to " + std::to_string(registers_.size() - 1) + ", ranks 0 to " +
                                  std::to_string(65 - p_) + ")");
    std::uint8_t& r = registers_[index];
    r = std::max(r, static_cast<std::uint8_t>(rank));
  }

  // Adds a value, hashed with sg::partition::default_hash.
  template <class V>
    requires std::invocable<partition::default_hash const&, V const&>
  void add(V const& value) noexcept {
    add_hash(partition::default_hash{}(value));
  }

  // This sketch becomes the sketch of the union. O(m), vectorized.
  void merge(hyperloglog const& other) {
    if (other.p_ != p_)
      throw std::system_error(make_error_code(errc::bad_input),
                              "sg::agg::hyperloglog: cannot merge a sketch of precision " +
                                  std::to_string(other.p_) + " into one of precision " + std::to_string(p_));
    // Blocks of 16 (m is a multiple of 16): a fixed-length inner loop that GCC and Clang
    // turn into one vector max per block even at -O2, without runtime alias checks.
    std::uint8_t* a = registers_.data();
    std::uint8_t const* b = other.registers_.data();
    for (std::size_t i = 0, n = registers_.size(); i < n; i += 16) {
      std::uint8_t block[16];
      for (std::size_t j = 0; j < 16; ++j) block[j] = a[i + j] < b[i + j] ? b[i + j] : a[i + j];
      for (std::size_t j = 0; j < 16; ++j) a[i + j] = block[j];
    }
  }

  // The estimated number of distinct values added. O(m).
  double estimate() const noexcept {
    const unsigned q = 64 - p_;
    std::array<std::uint32_t, 66> histogram{};  // registers of each value 0..q+1
    for (std::uint8_t r : registers_) ++histogram[r];
    const auto m = static_cast<double>(registers_.size());
    if (histogram[0] == registers_.size()) return 0;
    double z = m * tau(1 - static_cast<double>(histogram[q + 1]) / m);
    for (unsigned k = q; k >= 1; --k) z = 0.5 * (z + static_cast<double>(histogram[k]));
    z += m * sigma(static_cast<double>(histogram[0]) / m);
    constexpr double alpha_infinity = 0.72134752044448170368;  // 1 / (2 ln 2)
    return alpha_infinity * m * m / z;
  }

  friend bool operator==(hyperloglog const&, hyperloglog const&) = default;

 private:
  // σ(x) = x + Σ_{k≥1} x^(2^k) 2^(k−1), for the registers still 0.
  static double sigma(double x) noexcept {
    if (x == 1) return std::numeric_limits<double>::infinity();
    double y = 1, z = x, previous;
    do {
      x *= x;
      previous = z;
      z += x * y;
      y += y;
    } while (z != previous);
    return z;
  }

  // τ(x) = (1 − x − Σ_{k≥1} (1 − x^(2^−k))² 2^−k) / 3, for the saturated registers.
  static double tau(double x) noexcept {
    if (x == 0 || x == 1) return 0;
    double y = 1, z = 1 - x, previous;
    do {
      x = std::sqrt(x);
      previous = z;
      y *= 0.5;
      z -= (1 - x) * (1 - x) * y;
    } while (z != previous);
    return z / 3;
  }

  unsigned p_;
  std::vector<std::uint8_t> registers_;
};

template <class Proj>
struct approx_count_distinct_fn {
  static constexpr char const* sql_name = "APPROX_COUNT_DISTINCT";
  static constexpr char const* state_name = "a HyperLogLog sketch";
  Proj proj;
  unsigned precision = 14;

  template <class Row>
    requires std::invocable<partition::default_hash const&, projected_t<Proj, Row> const&>
  hyperloglog init() const {
    return hyperloglog(precision);
  }
  template <class Row>
  void update(hyperloglog& s, Row const& row) const {
    s.add(std::invoke(proj, row));
  }
  void merge(hyperloglog& s, hyperloglog const& other) const { s.merge(other); }
  // The estimate rounded to the nearest integer.
  std::uint64_t finish(hyperloglog const& s) const noexcept {
    return static_cast<std::uint64_t>(std::llround(s.estimate()));
  }
};

// The approximate number of distinct proj(row) (SQL COUNT(DISTINCT), approximately), with
// a HyperLogLog of 2^precision registers. Throws std::invalid_argument at once when
// precision is outside [4, 18].
template <class Proj>
approx_count_distinct_fn<Proj> approx_count_distinct(Proj proj, unsigned precision = 14) {
  return {std::move(proj), detail::checked_precision(precision)};
}

}  // namespace sg::agg
