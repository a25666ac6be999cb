// sg/merge/order_check.hpp — private: whether a block of arithmetic values is sorted, at
// the speed of reading it.
//
// in_order<Order>(p, n) compares each element with the one before it, with no branch on
// the data; on x86-64 processors with AVX2 (checked at run time, so the build needs no
// -mavx2) 8-byte and 4-byte integers and floating point compare four or eight at a time.
// It is the order check of sg::merge::sorted and top_k: one pass of this over an answer
// costs a fraction of reading it once more. Floating point is checked in sg's total order
// (sg/order.hpp: NaN after every number), the order the merges use.
// Example: include/sg/merge/merge_tree.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#include <immintrin.h>
#define SG_ORDER_CHECK_AVX2 1
#else
#define SG_ORDER_CHECK_AVX2 0
#endif

namespace sg::merge::detail {

// a < b in sg's total order, branch-free: for floating point, NaN after every number.
template <class T>
constexpr bool total_before(T const& a, T const& b) noexcept {
  if constexpr (std::is_floating_point_v<T>)
    return (a < b) | ((b != b) & (a == a));
  else
    return a < b;
}

// a goes before b in Order (> 0: ascending, < 0: descending).
template <int Order, class T>
constexpr bool goes_before(T const& a, T const& b) noexcept {
  if constexpr (Order > 0)
    return total_before(a, b);
  else
    return total_before(b, a);
}

// Whether [p, p + n) is in Order, one comparison per element, portable and branch-free.
template <int Order, class T>
bool in_order_scalar(T const* p, std::size_t n) noexcept {
  bool bad = false;
  for (std::size_t i = 1; i < n; ++i) bad |= goes_before<Order>(p[i], p[i - 1]);
  return !bad;
}

#if SG_ORDER_CHECK_AVX2
// The types the AVX2 check knows: signed integers of 4 or 8 bytes, float, double.
template <class T>
inline constexpr bool avx2_checkable =
    (std::is_integral_v<T> && std::is_signed_v<T> && (sizeof(T) == 4 || sizeof(T) == 8)) ||
    std::is_same_v<T, float> || std::is_same_v<T, double>;

// p[i - 1] > p[i] (ascending) or p[i - 1] < p[i] (descending) for some i in the vectors at
// prev = p + i - 1, next = p + i: lanes set where next goes before prev.
template <int Order, class T>
__attribute__((target("avx2"))) inline __m256i descents(__m256i prev, __m256i next) noexcept {
  __m256i before, after;  // compare "after > before": next goes before prev when so
  if constexpr (Order > 0) {
    before = next;
    after = prev;
  } else {
    before = prev;
    after = next;
  }
  // Floating point in the total order: before < after, or after is NaN and before is not.
  if constexpr (std::is_same_v<T, double>) {
    const __m256d b = _mm256_castsi256_pd(before), a = _mm256_castsi256_pd(after);
    const __m256d lt = _mm256_cmp_pd(b, a, _CMP_LT_OQ);
    const __m256d nan_last = _mm256_and_pd(_mm256_cmp_pd(a, a, _CMP_UNORD_Q), _mm256_cmp_pd(b, b, _CMP_ORD_Q));
    return _mm256_castpd_si256(_mm256_or_pd(lt, nan_last));
  } else if constexpr (std::is_same_v<T, float>) {
    const __m256 b = _mm256_castsi256_ps(before), a = _mm256_castsi256_ps(after);
    const __m256 lt = _mm256_cmp_ps(b, a, _CMP_LT_OQ);
    const __m256 nan_last = _mm256_and_ps(_mm256_cmp_ps(a, a, _CMP_UNORD_Q), _mm256_cmp_ps(b, b, _CMP_ORD_Q));
    return _mm256_castps_si256(_mm256_or_ps(lt, nan_last));
  }
  else if constexpr (sizeof(T) == 8)
    return _mm256_cmpgt_epi64(after, before);
  else
    return _mm256_cmpgt_epi32(after, before);
}

template <int Order, class T>
__attribute__((target("avx2"))) inline bool in_order_avx2(T const* p, std::size_t n) noexcept {
  constexpr std::size_t lanes = 32 / sizeof(T);
  __m256i bad0 = _mm256_setzero_si256(), bad1 = _mm256_setzero_si256();
  std::size_t i = 1;
  for (; i + 2 * lanes <= n; i += 2 * lanes) {
    const auto* a = reinterpret_cast<__m256i const*>(p + i - 1);
    const auto* b = reinterpret_cast<__m256i const*>(p + i);
    const auto* c = reinterpret_cast<__m256i const*>(p + i + lanes - 1);
    const auto* d = reinterpret_cast<__m256i const*>(p + i + lanes);
    bad0 = _mm256_or_si256(bad0, descents<Order, T>(_mm256_loadu_si256(a), _mm256_loadu_si256(b)));
    bad1 = _mm256_or_si256(bad1, descents<Order, T>(_mm256_loadu_si256(c), _mm256_loadu_si256(d)));
  }
  const __m256i bad = _mm256_or_si256(bad0, bad1);
  return _mm256_testz_si256(bad, bad) && in_order_scalar<Order>(p + i - 1, n - (i - 1));
}
#endif

// Whether [p, p + n) is in Order (ascending > 0, descending < 0).
template <int Order, class T>
bool in_order(T const* p, std::size_t n) noexcept {
#if SG_ORDER_CHECK_AVX2
  if constexpr (avx2_checkable<T>) {
    if (n >= 64 && __builtin_cpu_supports("avx2")) return in_order_avx2<Order>(p, n);
  }
#endif
  return in_order_scalar<Order>(p, n);
}

// The first position i ≥ 1 of [p, p + n) whose element goes before element i - 1 in Order,
// or n.
template <int Order, class T>
std::size_t first_out_of_order(T const* p, std::size_t n) noexcept {
  for (std::size_t i = 1; i < n; ++i)
    if (goes_before<Order>(p[i], p[i - 1])) return i;
  return n;
}

}  // namespace sg::merge::detail
