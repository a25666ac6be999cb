// sg/partition/hash.hpp — the hashes partitioners use: sg::partition::default_hash,
// identity_hash, mix64 and hash_bytes.
//
// A partitioner's hash is a parameter: any callable from key to std::uint64_t. The
// default is built for sharding, where a bad hash silently skews load and a hash that
// changes between runs or machines silently moves data:
//  * integers, enums, bool: mix64 of the value (a bijection: no two keys collide), so
//    sequential keys spread evenly — std::hash<int> is the identity in libstdc++;
//  * strings (anything convertible to std::string_view): hash_bytes, sg's own hash of the
//    bytes, identical on every platform, compiler and run (never std::hash<std::string>);
//  * floating point: the bits of the value as a double, with -0.0 taken as 0.0 and every
//    NaN as the quiet NaN 0x7ff8000000000000 (equal keys in sg's total order, sg/order.hpp,
//    go to one shard; before, a NaN with another sign or payload had its own bits);
//  * std::pair and std::tuple (composite keys): the elements' hashes combined in order;
//  * anything else: mix64 of std::hash<K>, as deterministic as that std::hash is.
// These values are part of sg's contract: a change would move keys between shards, so
// tests pin them (tests/partition/hash.cpp). Example: tests/partition/hash.cpp.
#pragma once

#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace sg::partition {

// A strong 64-bit finalizer (SplitMix64's): a bijection in which every input bit affects
// every output bit. constexpr, 2 multiplications.
constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

namespace detail {

inline std::uint64_t load_le64(unsigned char const* p) noexcept {
  std::uint64_t w;
  std::memcpy(&w, p, 8);
  if constexpr (std::endian::native == std::endian::big) {
    std::uint64_t r = 0;
    for (int i = 0; i < 8; ++i) r |= ((w >> (8 * i)) & 0xff) << (8 * (7 - i));
    return r;
  }
  return w;
}

inline constexpr std::uint64_t golden = 0x9e3779b97f4a7c15ULL;

}  // namespace detail

// sg's hash of a byte string: 8 bytes a step (little-endian words on every platform),
// each step a multiply-xor mix, the length folded in, mix64 at the end. Deterministic
// across runs, machines and compilers. About 1 ns per 8 bytes.
inline std::uint64_t hash_bytes(void const* data, std::size_t size,
                                std::uint64_t seed = 0) noexcept {
  auto const* p = static_cast<unsigned char const*>(data);
  std::uint64_t h = seed ^ detail::golden ^ (static_cast<std::uint64_t>(size) * 0xc2b2ae3d27d4eb4fULL);
  std::size_t n = size;
  while (n >= 8) {
    h = (h ^ mix64(detail::load_le64(p))) * 0xff51afd7ed558ccdULL;
    h ^= h >> 32;
    p += 8;
    n -= 8;
  }
  if (n != 0) {
    std::uint64_t tail = 0;
    for (std::size_t i = 0; i < n; ++i) tail |= static_cast<std::uint64_t>(p[i]) << (8 * i);
    h = (h ^ mix64(tail ^ (static_cast<std::uint64_t>(n) << 59))) * 0xff51afd7ed558ccdULL;
  }
  return mix64(h);
}

// The key itself, as the 64-bit hash (for keys that are already uniformly random, and for
// checking jump against its published reference values).
struct identity_hash {
  template <std::integral K>
  constexpr std::uint64_t operator()(K key) const noexcept {
    return static_cast<std::uint64_t>(key);
  }
};

namespace detail {
template <class T>
inline constexpr bool is_tuple_like = false;
template <class... Ts>
inline constexpr bool is_tuple_like<std::tuple<Ts...>> = true;
template <class A, class B>
inline constexpr bool is_tuple_like<std::pair<A, B>> = true;

template <class K>
concept std_hashable = requires(K const& k) {
  { std::hash<K>{}(k) } -> std::convertible_to<std::size_t>;
};
}  // namespace detail

// The default hash for partitioners; see the top of this file for what each key type gets.
struct default_hash {
  template <class K>
    requires std::integral<K> || std::is_enum_v<K> || std::floating_point<K> ||
             std::convertible_to<K const&, std::string_view> || detail::is_tuple_like<K> ||
             detail::std_hashable<K>
  constexpr std::uint64_t operator()(K const& key) const noexcept {
    if constexpr (std::is_enum_v<K>) {
      return mix64(static_cast<std::uint64_t>(static_cast<std::underlying_type_t<K>>(key)));
    } else if constexpr (std::integral<K>) {
      return mix64(static_cast<std::uint64_t>(key));
    } else if constexpr (std::floating_point<K>) {
      // -0.0 == 0.0, and every NaN is one key
      const double d = key != key ? std::numeric_limits<double>::quiet_NaN() : key == 0 ? 0.0 : static_cast<double>(key);
      return mix64(std::bit_cast<std::uint64_t>(d));
    } else if constexpr (std::convertible_to<K const&, std::string_view>) {
      const std::string_view s = key;
      return hash_bytes(s.data(), s.size());
    } else if constexpr (detail::is_tuple_like<K>) {
      return std::apply(
          [this](auto const&... parts) {
            std::uint64_t h = detail::golden;
            ((h = mix64(h + detail::golden + (*this)(parts))), ...);
            return h;
          },
          key);
    } else {
      return mix64(static_cast<std::uint64_t>(std::hash<K>{}(key)));
    }
  }
};

// H hashes keys of type K for a partitioner: H(k) converts to std::uint64_t.
template <class H, class K>
concept key_hash = std::regular_invocable<H const&, K const&> &&
                   std::convertible_to<std::invoke_result_t<H const&, K const&>, std::uint64_t>;

}  // namespace sg::partition
