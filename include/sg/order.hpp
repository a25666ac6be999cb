// sg/order.hpp — the one order sg gives values: sg::total_less, sg::total_greater,
// sg::total_equal, sg::total_hash and sg::canonical. Floating point follows PostgreSQL.
//
//   std::ranges::sort(v, sg::total_less);            // -inf … -0.0 = 0.0 … +inf, NaN, NaN
//   boost::unordered_flat_set<double, sg::total_hash_fn, sg::total_equal_fn> keys;  // one NaN
//
// Floating point (float, double, long double): every NaN equals every other NaN (whatever
// its sign or payload) and sorts above every number, +inf included; -0.0 equals 0.0.
// This is PostgreSQL's order for float4/float8, and it makes < a strict weak order again,
// so sorts, merges, MIN/MAX, GROUP BY and DISTINCT give one answer for every split of the
// rows and every arrival order of the shards' answers (docs/reliability.md, "Floating-point
// order"). Inside std::optional (empty = NULL, before every value), std::pair and
// std::tuple the order applies element by element (lexicographic). Any other type keeps
// its own < and ==, and boost::hash: sg cannot see inside a user's struct, whose own
// operators decide (write them with sg::total_less / total_equal to get this order).
// All of it is constexpr where the type's operators are, O(size of the value), noexcept
// for arithmetic values. Example: tests/order.cpp.
#pragma once

#include <boost/container_hash/hash.hpp>

#include <cmath>
#include <concepts>
#include <cstddef>
#include <functional>
#include <limits>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace sg {

namespace detail {

template <class T>
inline constexpr bool is_std_optional_v = false;
template <class T>
inline constexpr bool is_std_optional_v<std::optional<T>> = true;

template <class T>
inline constexpr bool is_pair_or_tuple = false;
template <class... T>
inline constexpr bool is_pair_or_tuple<std::tuple<T...>> = true;
template <class A, class B>
inline constexpr bool is_pair_or_tuple<std::pair<A, B>> = true;

// x != x without -Wfloat-equal and constexpr (std::isnan is not constexpr in C++20).
template <class T>
constexpr bool is_nan(T const& x) noexcept {
  if constexpr (std::floating_point<T>)
    return x != x;
  else
    return false;
}

// Whether total_less (Eq: total_equal) takes an A and a B: two arithmetic values, two
// optionals, pairs or tuples of such, or anything with < (==).
template <class A, class B, bool Eq>
constexpr bool total_comparable() {
  if constexpr (std::is_arithmetic_v<A> && std::is_arithmetic_v<B>) {
    return true;
  } else if constexpr (is_std_optional_v<A> && is_std_optional_v<B>) {
    return total_comparable<typename A::value_type, typename B::value_type, Eq>();
  } else if constexpr (is_pair_or_tuple<A> && is_pair_or_tuple<B>) {
    if constexpr (std::tuple_size_v<A> != std::tuple_size_v<B>) {
      return false;
    } else {
      return []<std::size_t... I>(std::index_sequence<I...>) {
        return (true && ... &&
                total_comparable<std::remove_cvref_t<std::tuple_element_t<I, A>>,
                                 std::remove_cvref_t<std::tuple_element_t<I, B>>, Eq>());
      }(std::make_index_sequence<std::tuple_size_v<A>>{});
    }
  } else if constexpr (Eq) {
    return requires(A const& a, B const& b) {
      { a == b } -> std::convertible_to<bool>;
    };
  } else {
    return requires(A const& a, B const& b) {
      { a < b } -> std::convertible_to<bool>;
    };
  }
}

}  // namespace detail

// a before b in the total order (see the top of the file). For two arithmetic values of
// which one is floating point, NaN is above every number; otherwise a < b. A strict weak
// order for every type whose own < is one.
struct total_less_fn {
  template <class A, class B>
    requires(detail::total_comparable<A, B, false>())
  constexpr bool operator()(A const& a, B const& b) const {
    if constexpr (std::is_arithmetic_v<A> && std::is_arithmetic_v<B> &&
                  (std::floating_point<A> || std::floating_point<B>)) {
      const bool a_nan = detail::is_nan(a), b_nan = detail::is_nan(b);
      if (a_nan || b_nan) return b_nan && !a_nan;
      return a < b;
    } else if constexpr (detail::is_std_optional_v<A> && detail::is_std_optional_v<B>) {
      if (!b) return false;
      if (!a) return true;
      return (*this)(*a, *b);
    } else if constexpr (detail::is_pair_or_tuple<A> && detail::is_pair_or_tuple<B>) {
      return less_from<0>(a, b);
    } else {
      return a < b;
    }
  }

 private:
  template <std::size_t I, class A, class B>
  constexpr bool less_from(A const& a, B const& b) const {
    if constexpr (I == std::tuple_size_v<A>) {
      return false;
    } else {
      if ((*this)(std::get<I>(a), std::get<I>(b))) return true;
      if ((*this)(std::get<I>(b), std::get<I>(a))) return false;
      return less_from<I + 1>(a, b);
    }
  }
};
// The total order's <: the default comparator of sg's sorts, merges, MIN and ORDER BY.
inline constexpr total_less_fn total_less{};

// b before a in the total order (descending: NaN first, then +inf, …).
struct total_greater_fn {
  template <class A, class B>
    requires(detail::total_comparable<B, A, false>())
  constexpr bool operator()(A const& a, B const& b) const {
    return total_less(b, a);
  }
};
// The total order's >: MAX, and sg::desc keys.
inline constexpr total_greater_fn total_greater{};

// a and b equal in the total order: all NaN equal each other, -0.0 equals 0.0, and
// elementwise in optionals, pairs and tuples; otherwise a == b. An equivalence relation
// for every type whose own == is one.
struct total_equal_fn {
  using is_transparent = void;
  template <class A, class B>
    requires(detail::total_comparable<A, B, true>())
  constexpr bool operator()(A const& a, B const& b) const {
    if constexpr (std::is_arithmetic_v<A> && std::is_arithmetic_v<B> &&
                  (std::floating_point<A> || std::floating_point<B>)) {
      const bool a_nan = detail::is_nan(a), b_nan = detail::is_nan(b);
      if (a_nan || b_nan) return a_nan && b_nan;
      return a == b;
    } else if constexpr (detail::is_std_optional_v<A> && detail::is_std_optional_v<B>) {
      if (!a || !b) return !a && !b;
      return (*this)(*a, *b);
    } else if constexpr (detail::is_pair_or_tuple<A> && detail::is_pair_or_tuple<B>) {
      return [&]<std::size_t... I>(std::index_sequence<I...>) {
        return (true && ... && (*this)(std::get<I>(a), std::get<I>(b)));
      }(std::make_index_sequence<std::tuple_size_v<A>>{});
    } else {
      return a == b;
    }
  }
};
// The total order's ==: the key equality of GROUP BY, DISTINCT and sg's hash merges.
inline constexpr total_equal_fn total_equal{};

struct canonical_fn {
  // The one representative of v's class under total_equal: +0.0 for both zeros, the
  // quiet NaN std::numeric_limits<T>::quiet_NaN() for every NaN, element by element in
  // optionals, pairs and tuples; any other value as it is. Group keys are stored in this
  // form, so a group's key does not depend on which of its rows arrived first. T is a
  // value type (not a tuple of references).
  template <class T>
  constexpr T operator()(T v) const {
    if constexpr (std::floating_point<T>) {
      if (detail::is_nan(v)) return std::numeric_limits<T>::quiet_NaN();
      if (v == 0) return T(0);
      return v;
    } else if constexpr (detail::is_std_optional_v<T>) {
      if (v) *v = (*this)(std::move(*v));
      return v;
    } else if constexpr (detail::is_pair_or_tuple<T>) {
      return [&]<std::size_t... I>(std::index_sequence<I...>) {
        return T((*this)(std::get<I>(std::move(v)))...);
      }(std::make_index_sequence<std::tuple_size_v<T>>{});
    } else {
      return v;
    }
  }
};
// v in its canonical form (above).
inline constexpr canonical_fn canonical{};

// The hash that goes with total_equal: equal values hash alike (every NaN as the quiet
// NaN, -0.0 as 0.0), element by element through optionals, pairs and tuples (so a tuple of
// references hashes as the tuple of values it refers to: transparent lookup works); any
// other type by boost::hash. Not pinned across Boost versions: for placing data on
// shards use sg::partition::default_hash, which follows the same equality.
struct total_hash_fn {
  using is_transparent = void;
  template <class T>
  std::size_t operator()(T const& v) const {
    if constexpr (std::floating_point<T>) {
      return boost::hash<T>{}(canonical(v));
    } else if constexpr (detail::is_std_optional_v<T>) {
      return v ? mix(0x5136'9e37u, (*this)(*v)) : std::size_t{0x2545'f491u};
    } else if constexpr (detail::is_pair_or_tuple<T>) {
      return [&]<std::size_t... I>(std::index_sequence<I...>) {
        std::size_t seed = 0;
        ((seed = mix(seed, (*this)(std::get<I>(v)))), ...);
        return seed;
      }(std::make_index_sequence<std::tuple_size_v<T>>{});
    } else {
      return boost::hash<T>{}(v);
    }
  }

 private:
  static std::size_t mix(std::size_t seed, std::size_t h) noexcept {
    boost::hash_combine(seed, h);
    return seed;
  }
};
// The total order's hash (above).
inline constexpr total_hash_fn total_hash{};

}  // namespace sg
