// sg/agg/sum.hpp — sg::agg::sum(proj) and sg::agg::avg(proj).
//
//   sg::merge::hash_aggregate(&order::region, sg::agg::sum(&order::cents), sg::agg::avg(&order::cents))
//
// Integers never wrap. sum of an integer column accumulates in 128 bits (the state), which
// cannot overflow for fewer than 2^63 rows, and finish() checks the range once: the sum of
// a signed column is a std::int64_t, of an unsigned one a std::uint64_t, and a total
// outside that range throws std::system_error(sg::errc::overflow) saying the exact total —
// in a pipeline that is an error of the whole query, never a wrapped number. Floating-point
// columns sum in double (long double stays long double); other types (a decimal class)
// sum with their own + starting from a value-initialized T.
// avg is sum and count in one state and finishes to a double (NaN for no rows).
// Example: tests/agg/aggregates.cpp.
#pragma once

#include <sg/agg/aggregate.hpp>
#include <sg/error.hpp>

#include <concepts>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

namespace sg::agg {

namespace detail {

__extension__ using int128 = __int128;
__extension__ using uint128 = unsigned __int128;

template <class T>
concept summable = requires(T& a, T const& b) {
  T{};
  a = a + b;
};

// A 128-bit two's-complement total kept as two 64-bit words, so a state is 16 bytes
// aligned to 8 (an __int128 member would align, and pad, every group to 16).
template <bool Signed>
struct wide_total {
  using value_type = std::conditional_t<Signed, int128, uint128>;
  std::uint64_t lo = 0;
  std::uint64_t hi = 0;

  constexpr value_type value() const noexcept {
    return static_cast<value_type>((static_cast<uint128>(hi) << 64) | lo);
  }
  constexpr void add(value_type x) noexcept {  // add with carry, word by word
    const auto v = static_cast<uint128>(x);
    const auto x_lo = static_cast<std::uint64_t>(v);
    const std::uint64_t old = lo;
    lo += x_lo;
    hi += static_cast<std::uint64_t>(v >> 64) + (lo < old ? 1 : 0);
  }
  friend constexpr bool operator==(wide_total const&, wide_total const&) = default;
};

// The state in which a column of type V is summed, and what the sum finishes to.
template <class V>
struct sum_traits {
  using state = V;
};
template <std::integral V>
struct sum_traits<V> {
  using state = wide_total<std::is_signed_v<V>>;
};
template <std::floating_point V>
struct sum_traits<V> {
  using state = std::common_type_t<V, double>;
};

template <class S>
inline constexpr bool is_wide = false;
template <bool Signed>
inline constexpr bool is_wide<wide_total<Signed>> = true;

template <class S, class V>
constexpr void add_to(S& total, V const& v) {
  if constexpr (is_wide<S>)
    total.add(static_cast<typename S::value_type>(v));
  else
    total = total + static_cast<S>(v);
}

template <class S>
constexpr void add_state(S& total, S const& other) {
  if constexpr (is_wide<S>)
    total.add(other.value());
  else
    total = total + other;
}

inline std::string to_string(int128 v) {
  char digits[41];
  char* first = digits + sizeof digits;
  uint128 magnitude = v < 0 ? static_cast<uint128>(-(v + 1)) + 1 : static_cast<uint128>(v);
  do {
    *--first = static_cast<char>('0' + static_cast<int>(magnitude % 10));
    magnitude /= 10;
  } while (magnitude != 0);
  if (v < 0) *--first = '-';
  return std::string(first, digits + sizeof digits);
}

inline std::string to_string(uint128 v) {
  if (v <= static_cast<uint128>(std::numeric_limits<std::int64_t>::max())) return to_string(static_cast<int128>(v));
  return to_string(static_cast<int128>(v / 10)) + static_cast<char>('0' + static_cast<int>(v % 10));
}

// The 128-bit total as R, or sg::errc::overflow naming `who`.
template <class R, class W>
R checked_narrow(W total, char const* who) {
  if (total < static_cast<W>(std::numeric_limits<R>::min()) ||
      total > static_cast<W>(std::numeric_limits<R>::max()))
    throw std::system_error(make_error_code(errc::overflow),
                            std::string(who) + ": the total " + to_string(total) +
                                " does not fit in a " + (std::is_signed_v<R> ? "std::int64_t" : "std::uint64_t"));
  return static_cast<R>(total);
}

}  // namespace detail

template <class Proj>
struct sum_fn {
  static constexpr char const* sql_name = "SUM";
  static constexpr char const* state_name = "a sum";
  Proj proj;

  template <class Row>
    requires std::is_arithmetic_v<projected_t<Proj, Row>> || detail::summable<projected_t<Proj, Row>>
  constexpr auto init() const {
    return typename detail::sum_traits<projected_t<Proj, Row>>::state{};
  }
  template <class S, class Row>
  constexpr void update(S& total, Row const& row) const {
    detail::add_to(total, std::invoke(proj, row));
  }
  template <class S>
  constexpr void merge(S& total, S const& other) const {
    detail::add_state(total, other);
  }
  template <class S>
  constexpr auto finish(S const& total) const {
    if constexpr (std::is_same_v<S, detail::wide_total<true>>)
      return detail::checked_narrow<std::int64_t>(total.value(), "sg::agg::sum");
    else if constexpr (std::is_same_v<S, detail::wide_total<false>>)
      return detail::checked_narrow<std::uint64_t>(total.value(), "sg::agg::sum");
    else
      return total;
  }
};

// The sum of proj(row) (SQL SUM); see the top of this file for types and overflow.
template <class Proj>
constexpr sum_fn<Proj> sum(Proj proj) {
  return {std::move(proj)};
}

// avg's state: the sum (as sum keeps it) and the number of rows.
template <class S>
struct avg_state {
  S total{};
  std::uint64_t count = 0;
  friend bool operator==(avg_state const&, avg_state const&) = default;
};

template <class Proj>
struct avg_fn {
  static constexpr char const* sql_name = "AVG";
  static constexpr char const* state_name = "a sum and a count";
  Proj proj;

  template <class Row>
    requires std::is_arithmetic_v<projected_t<Proj, Row>>
  constexpr auto init() const {
    return avg_state<typename detail::sum_traits<projected_t<Proj, Row>>::state>{};
  }
  template <class S, class Row>
  constexpr void update(avg_state<S>& s, Row const& row) const {
    detail::add_to(s.total, std::invoke(proj, row));
    ++s.count;
  }
  template <class S>
  constexpr void merge(avg_state<S>& s, avg_state<S> const& other) const {
    detail::add_state(s.total, other.total);
    s.count += other.count;
  }
  // The mean as a double: exact total divided once (no running-mean drift); NaN for no rows.
  template <class S>
  constexpr double finish(avg_state<S> const& s) const {
    if (s.count == 0) return std::numeric_limits<double>::quiet_NaN();
    if constexpr (detail::is_wide<S>)
      return static_cast<double>(s.total.value()) / static_cast<double>(s.count);
    else
      return static_cast<double>(s.total) / static_cast<double>(s.count);
  }
};

// The mean of proj(row) (SQL AVG) of an arithmetic column, as a double.
template <class Proj>
constexpr avg_fn<Proj> avg(Proj proj) {
  return {std::move(proj)};
}

}  // namespace sg::agg
