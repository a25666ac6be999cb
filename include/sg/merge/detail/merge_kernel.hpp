// sg/merge/detail/merge_kernel.hpp — private: the two-way merge at each node of
// merge_tree (sg/merge/merge_tree.hpp), in SIMD registers where the processor allows.
//
// merge_prefix<Order>(a, na, b, nb, out, m) writes the first m elements of the stable merge
// of a and b (a tie goes to a) and says how many it took from each. It cuts the work by
// co-rank (the exact position of the stable merge where output element i comes from,
// found by binary search) into four independent merges run side by side, so that the
// processor overlaps their dependency chains, and runs them with the best kernel:
//  * AVX-512 (avx512f) or AVX2, picked at run time (__builtin_cpu_supports; the build needs
//    no -m flag): for 4- and 8-byte integers, signed or not, a register of the W elements
//    that go last among those read is merged with the next W-block of whichever run has
//    the head that goes first, through a bitonic merge network (min/max and lane
//    shuffles), and the W that go first are written (W = 4 or 8 for int64 under AVX2 /
//    AVX-512, 8 or 16 for int32). When a run has less than a block left, the co-rank of
//    what was written tells where each run stands, and the portable loop finishes. AVX2
//    takes 8-byte integers only in merges of avx2_wide_min elements or more (below);
//  * portable: branch-free loops (the comparison selects the element and advances one of
//    two pointers arithmetically), four in lockstep where each lane may read one element
//    past its end (the co-rank guarantees that element makes the merge's own choice), for
//    every other arithmetic type — floating point included, because a merge network is
//    not stable and -0.0 and 0.0 (equal in sg's order, sg/order.hpp) or two NaNs must come
//    out in run order, bit for bit.
// Every path writes bit for bit what the portable loop writes: equal integers are
// indistinguishable, and the co-rank split is the stable merge's own. Tests force each
// path with forced_merge_isa (a path the processor lacks is never run).
#pragma once

#include <sg/merge/order_check.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#include <immintrin.h>
#define SG_MERGE_KERNEL_X86 1
#else
#define SG_MERGE_KERNEL_X86 0
#endif

namespace sg::merge::detail {

// The merge kernels, weakest first.
enum class merge_isa : int { portable = 0, avx2 = 1, avx512 = 2 };

// The best kernel this processor runs (asked once).
inline merge_isa detected_merge_isa() noexcept {
#if SG_MERGE_KERNEL_X86
  static const merge_isa isa = __builtin_cpu_supports("avx512f") ? merge_isa::avx512
                               : __builtin_cpu_supports("avx2")  ? merge_isa::avx2
                                                                  : merge_isa::portable;
  return isa;
#else
  return merge_isa::portable;
#endif
}

// For tests: the strongest kernel the merges may use (-1: no limit). A path stronger than
// the processor's is never taken.
inline std::atomic<int> forced_merge_isa{-1};

inline merge_isa merge_isa_in_use() noexcept {
  const int forced = forced_merge_isa.load(std::memory_order_relaxed);
  const auto best = static_cast<int>(detected_merge_isa());
  return static_cast<merge_isa>(forced < 0 ? best : std::min(forced, best));
}

// The number x of elements of a among the first m of the stable merge of a[0, na) and
// b[0, nb) in Order (m ≤ na + nb); the other m - x come from b. O(log min(na, nb)).
template <int Order, class T>
std::size_t co_rank(T const* a, std::size_t na, T const* b, std::size_t nb, std::size_t m) noexcept {
  std::size_t lo = m > nb ? m - nb : 0, hi = std::min(m, na);
  while (lo < hi) {  // the smallest x with b[m - x - 1] strictly before a[x]
    const std::size_t x = lo + (hi - lo) / 2;
    if (goes_before<Order>(b[m - x - 1], a[x]))
      hi = x;
    else
      lo = x + 1;
  }
  return lo;
}

// One stable merge of [a, ea) and [b, eb) into out, as it stands. Guarded: *ea and *eb
// may be read, and are the elements that follow the lane in the stable merge of the runs
// it was cut from (its co-rank ends), so that a branch-free step that compares with them
// makes the merge's own choice: the lane then runs its exact length with no bounds check.
template <class T>
struct merge_lane {
  T const* a;
  T const* ea;
  T const* b;
  T const* eb;
  T* out;
  bool guarded = false;
};

// Merges all of a lane, portable and branch-free while both runs have data.
template <int Order, class T>
void merge_lane_scalar(merge_lane<T>& l) noexcept {
  for (;;) {
    const auto na = static_cast<std::size_t>(l.ea - l.a), nb = static_cast<std::size_t>(l.eb - l.b);
    if (na == 0 || nb == 0) {
      T const* rest = na == 0 ? l.b : l.a;
      const std::size_t n = na + nb;
      if (n != 0) std::memcpy(l.out, rest, n * sizeof(T));
      l.out += n;
      l.a = l.ea;
      l.b = l.eb;
      return;
    }
    const std::size_t m = std::min(na, nb);
    T const* pa = l.a;
    T const* pb = l.b;
    T* out = l.out;
    for (std::size_t i = 0; i < m; ++i) {
      const T x = *pa, y = *pb;
      const bool take_b = goes_before<Order>(y, x);  // a tie goes to a: stable
      out[i] = take_b ? y : x;
      pa += !take_b;
      pb += take_b;
    }
    l.a = pa;
    l.b = pb;
    l.out += m;
  }
}

// Merges all of a lane: its exact length branch-free when guarded, else as above.
template <int Order, class T>
void merge_lane_to_end(merge_lane<T>& l) noexcept {
  if (!l.guarded) return merge_lane_scalar<Order>(l);
  const auto n = static_cast<std::size_t>((l.ea - l.a) + (l.eb - l.b));
  T const* pa = l.a;
  T const* pb = l.b;
  for (std::size_t i = 0; i < n; ++i) {
    const T x = *pa, y = *pb;
    const bool take_b = goes_before<Order>(y, x);
    l.out[i] = take_b ? y : x;
    pa += !take_b;
    pb += take_b;
  }
  l.out += n;
  l.a = l.ea;
  l.b = l.eb;
}

// The first K lanes (all guarded) in one loop, for as many steps as the shortest has:
// their dependency chains are independent, so the processor runs them side by side.
template <int Order, std::size_t K, class T, std::size_t N>
void merge_lanes_lockstep(merge_lane<T> (&lanes)[N]) noexcept {
  static_assert(K <= N);
  auto steps = static_cast<std::size_t>(-1);
  for (std::size_t j = 0; j < K; ++j)
    steps = std::min(steps, static_cast<std::size_t>((lanes[j].ea - lanes[j].a) + (lanes[j].eb - lanes[j].b)));
  merge_lane<T> l[K];  // in locals: the cursors stay in registers
  for (std::size_t j = 0; j < K; ++j) l[j] = lanes[j];
  for (std::size_t i = 0; i < steps; ++i) {
#pragma GCC unroll 4
    for (std::size_t j = 0; j < K; ++j) {
      const T x = *l[j].a, y = *l[j].b;
      const bool take_b = goes_before<Order>(y, x);  // a tie goes to a: stable
      l[j].out[i] = take_b ? y : x;
      l[j].a += !take_b;
      l[j].b += take_b;
    }
  }
  for (std::size_t j = 0; j < K; ++j) {
    lanes[j].a = l[j].a;
    lanes[j].b = l[j].b;
    lanes[j].out += steps;
  }
}

// N lanes, portable: the guarded ones in lockstep (the first N, or N - 1 when only the
// last is not), then each to its end.
template <int Order, class T, std::size_t N>
void merge_lanes_scalar(merge_lane<T> (&lanes)[N]) noexcept {
  bool first_guarded = true;
  for (std::size_t j = 0; j + 1 < N; ++j) first_guarded = first_guarded && lanes[j].guarded;
  if (first_guarded && lanes[N - 1].guarded)
    merge_lanes_lockstep<Order, N>(lanes);
  else if (first_guarded && N > 2)
    merge_lanes_lockstep<Order, N - 1>(lanes);
  for (std::size_t j = 0; j < N; ++j) merge_lane_to_end<Order>(lanes[j]);
}

#if SG_MERGE_KERNEL_X86

// The integer types the SIMD kernels merge.
template <class T>
inline constexpr bool simd_mergeable = std::is_integral_v<T> && !std::is_same_v<T, bool> &&
                                       (sizeof(T) == 4 || sizeof(T) == 8);

// Whether both runs of a lane hold `blocks` blocks of w elements: compared as addresses,
// so that no pointer is formed past the end of a run.
template <class T>
inline bool has_blocks(merge_lane<T> const& l, std::size_t blocks, std::size_t w) noexcept {
  const std::size_t bytes = blocks * w * sizeof(T);
  const auto at = [](T const* p) { return reinterpret_cast<std::uintptr_t>(p); };
  return at(l.a) + bytes <= at(l.ea) && at(l.b) + bytes <= at(l.eb);
}

#define SG_MERGE_AVX2 __attribute__((always_inline, target("avx2"))) static inline
#define SG_MERGE_AVX512 __attribute__((always_inline, target("avx512f"))) static inline

// Each ops type: vec, width, load, store, reverse, lo/hi (elementwise first / second in
// ascending order) and sort_bitonic<Ascending> (a bitonic vector into order).
template <class T, std::size_t Size = sizeof(T)>
struct avx2_ops;

template <class T>
struct avx2_ops<T, 8> {
  using vec = __m256i;
  static constexpr std::size_t width = 4;
  SG_MERGE_AVX2 vec load(T const* p) { return _mm256_loadu_si256(reinterpret_cast<__m256i const*>(p)); }
  SG_MERGE_AVX2 void store(T* p, vec v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); }
  SG_MERGE_AVX2 vec greater(vec x, vec y) {  // lanes where x > y
    if constexpr (std::is_signed_v<T>) {
      return _mm256_cmpgt_epi64(x, y);
    } else {
      const __m256i bias = _mm256_set1_epi64x(std::numeric_limits<std::int64_t>::min());
      return _mm256_cmpgt_epi64(_mm256_xor_si256(x, bias), _mm256_xor_si256(y, bias));
    }
  }
  SG_MERGE_AVX2 vec select(vec if_clear, vec if_set, vec mask) {  // by each lane's sign bit
    return _mm256_castpd_si256(
        _mm256_blendv_pd(_mm256_castsi256_pd(if_clear), _mm256_castsi256_pd(if_set), _mm256_castsi256_pd(mask)));
  }
  SG_MERGE_AVX2 vec lo(vec x, vec y) { return select(x, y, greater(x, y)); }
  SG_MERGE_AVX2 vec hi(vec x, vec y) { return select(y, x, greater(x, y)); }
  SG_MERGE_AVX2 vec reverse(vec x) { return _mm256_permute4x64_epi64(x, 0x1B); }
  template <bool Ascending, int Mask>
  SG_MERGE_AVX2 vec level(vec x, vec partner) {
    const vec g = greater(x, partner);
    const vec mn = select(x, partner, g), mx = select(partner, x, g);
    return Ascending ? _mm256_blend_epi32(mn, mx, Mask) : _mm256_blend_epi32(mx, mn, Mask);
  }
  template <bool Ascending>
  SG_MERGE_AVX2 vec sort_bitonic(vec x) {
    x = level<Ascending, 0xF0>(x, _mm256_permute4x64_epi64(x, 0x4E));  // distance 2
    return level<Ascending, 0xCC>(x, _mm256_shuffle_epi32(x, 0x4E));    // distance 1
  }
};

template <class T>
struct avx2_ops<T, 4> {
  using vec = __m256i;
  static constexpr std::size_t width = 8;
  SG_MERGE_AVX2 vec load(T const* p) { return _mm256_loadu_si256(reinterpret_cast<__m256i const*>(p)); }
  SG_MERGE_AVX2 void store(T* p, vec v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); }
  SG_MERGE_AVX2 vec lo(vec x, vec y) {
    if constexpr (std::is_signed_v<T>) return _mm256_min_epi32(x, y);
    else return _mm256_min_epu32(x, y);
  }
  SG_MERGE_AVX2 vec hi(vec x, vec y) {
    if constexpr (std::is_signed_v<T>) return _mm256_max_epi32(x, y);
    else return _mm256_max_epu32(x, y);
  }
  SG_MERGE_AVX2 vec reverse(vec x) { return _mm256_permutevar8x32_epi32(x, _mm256_setr_epi32(7, 6, 5, 4, 3, 2, 1, 0)); }
  template <bool Ascending, int Mask>
  SG_MERGE_AVX2 vec level(vec x, vec partner) {
    const vec mn = lo(x, partner), mx = hi(x, partner);
    return Ascending ? _mm256_blend_epi32(mn, mx, Mask) : _mm256_blend_epi32(mx, mn, Mask);
  }
  template <bool Ascending>
  SG_MERGE_AVX2 vec sort_bitonic(vec x) {
    x = level<Ascending, 0xF0>(x, _mm256_permute4x64_epi64(x, 0x4E));  // distance 4
    x = level<Ascending, 0xCC>(x, _mm256_shuffle_epi32(x, 0x4E));      // distance 2
    return level<Ascending, 0xAA>(x, _mm256_shuffle_epi32(x, 0xB1));   // distance 1
  }
};

template <class T, std::size_t Size = sizeof(T)>
struct avx512_ops;

template <class T>
struct avx512_ops<T, 8> {
  using vec = __m512i;
  static constexpr std::size_t width = 8;
  static constexpr __mmask8 all = 0xFF;  // masked forms: GCC 12 warns on the unmasked ones
  SG_MERGE_AVX512 vec load(T const* p) { return _mm512_loadu_si512(p); }
  SG_MERGE_AVX512 void store(T* p, vec v) { _mm512_storeu_si512(p, v); }
  SG_MERGE_AVX512 vec lo(vec x, vec y) {
    if constexpr (std::is_signed_v<T>) return _mm512_mask_min_epi64(x, all, x, y);
    else return _mm512_mask_min_epu64(x, all, x, y);
  }
  SG_MERGE_AVX512 vec hi(vec x, vec y) {
    if constexpr (std::is_signed_v<T>) return _mm512_mask_max_epi64(x, all, x, y);
    else return _mm512_mask_max_epu64(x, all, x, y);
  }
  SG_MERGE_AVX512 vec reverse(vec x) { return _mm512_mask_permutexvar_epi64(x, all, _mm512_setr_epi64(7, 6, 5, 4, 3, 2, 1, 0), x); }
  template <bool Ascending, __mmask8 Mask>
  SG_MERGE_AVX512 vec level(vec x, vec partner) {
    const vec mn = lo(x, partner), mx = hi(x, partner);
    return Ascending ? _mm512_mask_blend_epi64(Mask, mn, mx) : _mm512_mask_blend_epi64(Mask, mx, mn);
  }
  template <bool Ascending>
  SG_MERGE_AVX512 vec sort_bitonic(vec x) {
    x = level<Ascending, 0xF0>(x, _mm512_mask_shuffle_i64x2(x, all, x, x, 0x4E));                        // distance 4
    x = level<Ascending, 0xCC>(x, _mm512_mask_permutex_epi64(x, all, x, 0x4E));                          // distance 2
    return level<Ascending, 0xAA>(x, _mm512_mask_shuffle_epi32(x, all, x, static_cast<_MM_PERM_ENUM>(0x4E)));  // distance 1
  }
};

template <class T>
struct avx512_ops<T, 4> {
  using vec = __m512i;
  static constexpr std::size_t width = 16;
  static constexpr __mmask16 all = 0xFFFF;
  SG_MERGE_AVX512 vec load(T const* p) { return _mm512_loadu_si512(p); }
  SG_MERGE_AVX512 void store(T* p, vec v) { _mm512_storeu_si512(p, v); }
  SG_MERGE_AVX512 vec lo(vec x, vec y) {
    if constexpr (std::is_signed_v<T>) return _mm512_mask_min_epi32(x, all, x, y);
    else return _mm512_mask_min_epu32(x, all, x, y);
  }
  SG_MERGE_AVX512 vec hi(vec x, vec y) {
    if constexpr (std::is_signed_v<T>) return _mm512_mask_max_epi32(x, all, x, y);
    else return _mm512_mask_max_epu32(x, all, x, y);
  }
  SG_MERGE_AVX512 vec reverse(vec x) {
    return _mm512_mask_permutexvar_epi32(x, all, _mm512_setr_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), x);
  }
  template <bool Ascending, __mmask16 Mask>
  SG_MERGE_AVX512 vec level(vec x, vec partner) {
    const vec mn = lo(x, partner), mx = hi(x, partner);
    return Ascending ? _mm512_mask_blend_epi32(Mask, mn, mx) : _mm512_mask_blend_epi32(Mask, mx, mn);
  }
  template <bool Ascending>
  SG_MERGE_AVX512 vec sort_bitonic(vec x) {
    x = level<Ascending, 0xFF00>(x, _mm512_mask_shuffle_i32x4(x, all, x, x, 0x4E));                         // distance 8
    x = level<Ascending, 0xF0F0>(x, _mm512_mask_shuffle_i32x4(x, all, x, x, 0xB1));                         // distance 4
    x = level<Ascending, 0xCCCC>(x, _mm512_mask_shuffle_epi32(x, all, x, static_cast<_MM_PERM_ENUM>(0x4E)));  // distance 2
    return level<Ascending, 0xAAAA>(x, _mm512_mask_shuffle_epi32(x, all, x, static_cast<_MM_PERM_ENUM>(0xB1)));  // distance 1
  }
};

// The SIMD merge of two lanes, side by side: each keeps in `top` the W elements that go
// last among those read, reads the next W-block of the run whose head goes first, merges
// it with `top` through the bitonic network and writes the W that go first. When a lane's
// runs have less than a block left, the co-rank of what it wrote puts its cursors where
// the stable merge stands, and the portable loop finishes. Defined once per instruction
// set (the target attribute is the difference).
#define SG_MERGE_SIMD_LANES(NAME, OPS, TARGET)                                                    \
  /* Opens a lane: merges its first block of each run, keeps the last W in top. */              \
  template <int Order, class T>                                                                 \
  __attribute__((always_inline, target(TARGET))) inline void NAME##_open(merge_lane<T>& l,       \
                                                                         typename OPS<T>::vec& top) { \
    using ops = OPS<T>;                                                                         \
    constexpr bool ascending = Order > 0;                                                       \
    const auto x = ops::load(l.a), y = ops::reverse(ops::load(l.b));                            \
    l.a += ops::width;                                                                          \
    l.b += ops::width;                                                                          \
    ops::store(l.out, ops::template sort_bitonic<ascending>(ascending ? ops::lo(x, y) : ops::hi(x, y))); \
    l.out += ops::width;                                                                        \
    top = ops::template sort_bitonic<ascending>(ascending ? ops::hi(x, y) : ops::lo(x, y));     \
  }                                                                                             \
  /* One step of a lane: the next block of the run whose head goes first, merged with top. */   \
  template <int Order, class T>                                                                 \
  __attribute__((always_inline, target(TARGET))) inline void NAME##_step(merge_lane<T>& l,       \
                                                                         typename OPS<T>::vec& top) { \
    using ops = OPS<T>;                                                                         \
    constexpr std::size_t w = ops::width;                                                       \
    constexpr bool ascending = Order > 0;                                                       \
    /* the block is chosen with arithmetic, not a branch (which run goes first is data) */     \
    const auto take_b = static_cast<std::uintptr_t>(goes_before<Order>(*l.b, *l.a));            \
    const std::uintptr_t mask = 0 - take_b;                                                     \
    const auto from = (reinterpret_cast<std::uintptr_t>(l.a) & ~mask) |                         \
                      (reinterpret_cast<std::uintptr_t>(l.b) & mask);                           \
    const auto x = ops::reverse(ops::load(reinterpret_cast<T const*>(from)));                   \
    l.a += w * (1 - take_b);                                                                    \
    l.b += w * take_b;                                                                          \
    const auto first = ascending ? ops::lo(top, x) : ops::hi(top, x);                           \
    const auto last = ascending ? ops::hi(top, x) : ops::lo(top, x);                            \
    ops::store(l.out, ops::template sort_bitonic<ascending>(first));                            \
    l.out += w;                                                                                 \
    top = ops::template sort_bitonic<ascending>(last);                                          \
  }                                                                                             \
  /* A lane on its own while it can; then the co-rank of what it wrote says where its */      \
  /* runs stand (top is dropped: those elements are read again). */                             \
  template <int Order, class T>                                                                 \
  __attribute__((always_inline, target(TARGET))) inline void NAME##_finish(                      \
      merge_lane<T>& lane, merge_lane<T>& now, typename OPS<T>::vec& top) {                     \
    while (has_blocks(now, 1, OPS<T>::width)) NAME##_step<Order>(now, top);                      \
    const merge_lane<T> from = lane;                                                            \
    const auto written = static_cast<std::size_t>(now.out - from.out);                          \
    const std::size_t n = co_rank<Order>(from.a, static_cast<std::size_t>(from.ea - from.a), from.b, \
                                         static_cast<std::size_t>(from.eb - from.b), written);  \
    lane.a = from.a + n;                                                                        \
    lane.b = from.b + (written - n);                                                            \
    lane.out = now.out;                                                                         \
  }                                                                                             \
  /* Lanes l0..l(N-1) (N = 2 or 4) side by side; their cursors in locals, in registers. */   \
  template <int Order, class T, std::size_t N>                                                  \
  __attribute__((target(TARGET))) void NAME(merge_lane<T> (&lanes)[N]) noexcept {                \
    static_assert(N == 2 || N == 4);                                                            \
    constexpr std::size_t w = OPS<T>::width;                                                    \
    auto room = [](merge_lane<T> const& x, std::size_t blocks) { return has_blocks(x, blocks, w); }; \
    merge_lane<T> l0 = lanes[0], l1 = lanes[1], l2 = lanes[N - 2], l3 = lanes[N - 1];           \
    typename OPS<T>::vec t0, t1, t2, t3;                                                        \
    bool open = room(l0, 2) && room(l1, 2);                                                     \
    if constexpr (N == 4) open = open && room(l2, 2) && room(l3, 2);                            \
    if (open) {                                                                                 \
      NAME##_open<Order>(l0, t0);                                                               \
      NAME##_open<Order>(l1, t1);                                                               \
      if constexpr (N == 4) {                                                                   \
        NAME##_open<Order>(l2, t2);                                                             \
        NAME##_open<Order>(l3, t3);                                                             \
      }                                                                                         \
      for (;;) {                                                                                \
        bool more = room(l0, 1) && room(l1, 1);                                                 \
        if constexpr (N == 4) more = more && room(l2, 1) && room(l3, 1);                        \
        if (!more) break;                                                                       \
        NAME##_step<Order>(l0, t0);                                                             \
        NAME##_step<Order>(l1, t1);                                                             \
        if constexpr (N == 4) {                                                                 \
          NAME##_step<Order>(l2, t2);                                                           \
          NAME##_step<Order>(l3, t3);                                                           \
        }                                                                                       \
      }                                                                                         \
      /* each lane on its own while it can, then the co-rank of what it wrote says where */     \
      /* its runs stand (top is dropped: those elements are read again) */                      \
      NAME##_finish<Order>(lanes[0], l0, t0);                                                                 \
      NAME##_finish<Order>(lanes[1], l1, t1);                                                                 \
      if constexpr (N == 4) {                                                                   \
        NAME##_finish<Order>(lanes[2], l2, t2);                                                               \
        NAME##_finish<Order>(lanes[3], l3, t3);                                                               \
      }                                                                                         \
    }                                                                                           \
    for (std::size_t j = 0; j < N; ++j) merge_lane_to_end<Order>(lanes[j]);                     \
  }

SG_MERGE_SIMD_LANES(merge_lanes_avx2, avx2_ops, "avx2")
SG_MERGE_SIMD_LANES(merge_lanes_avx512, avx512_ops, "avx512f")

#undef SG_MERGE_SIMD_LANES
#undef SG_MERGE_AVX2
#undef SG_MERGE_AVX512

#endif  // SG_MERGE_KERNEL_X86

// The shortest merge of 8-byte integers given to the AVX2 kernel. AVX2 has no 64-bit
// min/max, so each compare-exchange of its network takes a compare and two blends: on the
// AMD EPYC (Zen) this was measured on, the network beat the four-lane portable loop by
// about 1.4× on merges of thousands of elements in cache, and did not on the shorter
// merges of a deep tree. 4-byte integers (native min/max, 8 lanes: 2.6×) and AVX-512 take
// their kernel at any length.
inline constexpr std::size_t avx2_wide_min = 4096;

// Writes the whole stable merge of a[0, na) and b[0, nb) to out (room for na + nb), with
// the kernel of `isa` where T has one (the portable loops otherwise). a[0, a_readable)
// and b[0, b_readable) may be read (readable ≥ na, nb), and a[na], b[nb] when readable
// must be what follows in the stable merge of those (na, nb are a co-rank of them).
template <int Order, class T>
void merge_all_of(T const* a, std::size_t na, T const* b, std::size_t nb, T* out, merge_isa isa,
                  std::size_t a_readable, std::size_t b_readable) noexcept {
  constexpr std::size_t lanes_n = 4;
  const std::size_t n = na + nb;
  merge_lane<T> lanes[lanes_n];
  std::size_t xa = 0, xb = 0;  // where lane j starts
  for (std::size_t j = 0; j < lanes_n; ++j) {
    const std::size_t end = n * (j + 1) / lanes_n;
    const std::size_t ea = j + 1 == lanes_n ? na : co_rank<Order>(a, na, b, nb, end);
    const std::size_t eb = end - ea;
    lanes[j] = {a + xa, a + ea, b + xb, b + eb, out + xa + xb, ea < a_readable && eb < b_readable};
    xa = ea;
    xb = eb;
  }
#if SG_MERGE_KERNEL_X86
  if constexpr (simd_mergeable<T>) {
    if (isa == merge_isa::avx512) return merge_lanes_avx512<Order>(lanes);
    if (isa == merge_isa::avx2 && (sizeof(T) == 4 || n >= avx2_wide_min)) return merge_lanes_avx2<Order>(lanes);
  }
#endif
  (void)isa;
  merge_lanes_scalar<Order>(lanes);
}

// The first m elements of the stable merge of a[0, na) and b[0, nb) (m ≤ na + nb), into
// out; returns how many came from a (m minus that from b). Bit for bit the portable
// loop's result, whichever kernel runs.
template <int Order, class T>
std::size_t merge_prefix(T const* a, std::size_t na, T const* b, std::size_t nb, T* out, std::size_t m) noexcept {
  if (m < 64) {  // too short to split: the plain loop
    merge_lane<T> l{a, a + na, b, b + nb, out};
    std::size_t i = 0;
    for (; i < m && l.a != l.ea && l.b != l.eb; ++i) {
      const T u = *l.a, v = *l.b;
      const bool take_b = goes_before<Order>(v, u);
      out[i] = take_b ? v : u;
      l.a += !take_b;
      l.b += take_b;
    }
    const auto from_a = static_cast<std::size_t>(l.a - a);
    if (i < m) {  // one run is out: the rest of the other
      T const* rest = l.a == l.ea ? l.b : l.a;
      std::memcpy(out + i, rest, (m - i) * sizeof(T));
      return l.a == l.ea ? from_a : from_a + (m - i);
    }
    return from_a;
  }
  const std::size_t x = co_rank<Order>(a, na, b, nb, m);
  merge_all_of<Order>(a, x, b, m - x, out, merge_isa_in_use(), na, nb);
  return x;
}

}  // namespace sg::merge::detail
