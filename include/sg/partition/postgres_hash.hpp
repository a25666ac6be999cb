// sg/partition/postgres_hash.hpp — sg::partition::postgres_hash: the shard PostgreSQL's
// PARTITION BY HASH puts a key in.
//
//   // CREATE TABLE orders (...) PARTITION BY HASH (customer);
//   // CREATE TABLE orders_r (...) PARTITION OF orders FOR VALUES WITH (MODULUS 4, REMAINDER r);
//   sg::partition::postgres_hash p{4};
//   std::size_t r = p.shard_of(std::int64_t{customer});   // the REMAINDER of its partition
//
// shard_of(key) is, bit for bit, the remainder PostgreSQL computes for a row of
// a table partitioned by hash with MODULUS n: the type's extended hash (Jenkins' lookup3, as
// hashint8extended / hashtextextended) seeded with the partition seed, folded into the row
// hash with hash_combine64, then the row hash modulo n. So a point lookup routed by it goes
// to the partition (or the shard holding it) PostgreSQL placed the row in. Tested against
// PostgreSQL 15's placements; the algorithm has been the same since hash partitioning came
// in PostgreSQL 11.
// Keys (checked at compile time, with a sentence):
//  * signed integers (int16_t, int32_t, int64_t: int2, int4, int8). PostgreSQL hashes the
//    three alike for equal values, so the C++ width need not match the column's;
//  * text: anything convertible to std::string_view, its bytes as the server stores them
//    (UTF-8 in a UTF8 database), for a column with a deterministic collation (the default);
//  * std::optional<K> of those: std::nullopt is SQL NULL, which PostgreSQL leaves out of the
//    row hash — a NULL single-column key has row hash 0, remainder 0;
//  * std::tuple / std::pair of those: a multi-column key, PARTITION BY HASH (a, b, ...),
//    its columns combined in order.
// Unsigned integers, floats and other types are refused (PostgreSQL has no unsigned type,
// and its float/numeric hashes are not implemented here). Every partition of the table
// must have the same modulus n (as CREATE TABLE ... MODULUS n for r in 0..n-1 makes them).
// O(length of the key), no allocation. Example: tests/partition/postgres_hash.cpp;
// docs/partitioners.md ("Tables PostgreSQL partitioned").
#pragma once

#include <sg/partition/partitioner.hpp>

#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace sg::partition {

namespace detail::pg {

// HASH_PARTITION_SEED of PostgreSQL's partitioning (src/include/catalog/partition.h).
inline constexpr std::uint64_t partition_seed = 0x7A5B22367996DCFDULL;

struct lookup3 {
  std::uint32_t a, b, c;

  static constexpr std::uint32_t rot(std::uint32_t x, int k) noexcept { return std::rotl(x, k); }

  constexpr void mix() noexcept {
    a -= c, a ^= rot(c, 4), c += b;
    b -= a, b ^= rot(a, 6), a += c;
    c -= b, c ^= rot(b, 8), b += a;
    a -= c, a ^= rot(c, 16), c += b;
    b -= a, b ^= rot(a, 19), a += c;
    c -= b, c ^= rot(b, 4), b += a;
  }
  constexpr void final_mix() noexcept {
    c ^= b, c -= rot(b, 14);
    a ^= c, a -= rot(c, 11);
    b ^= a, b -= rot(a, 25);
    c ^= b, c -= rot(b, 16);
    a ^= c, a -= rot(c, 4);
    b ^= a, b -= rot(a, 14);
    c ^= b, c -= rot(b, 24);
  }
  // The state for a key of `len` bytes, perturbed by a non-zero seed as PostgreSQL does.
  static constexpr lookup3 start(std::uint32_t len, std::uint64_t seed) noexcept {
    const std::uint32_t init = 0x9e3779b9U + len + 3923095U;
    lookup3 s{init, init, init};
    if (seed != 0) {
      s.a += static_cast<std::uint32_t>(seed >> 32);
      s.b += static_cast<std::uint32_t>(seed);
      s.mix();
    }
    return s;
  }
  constexpr std::uint64_t result() const noexcept { return (std::uint64_t{b} << 32) | c; }
};

// hash_bytes_uint32_extended: one 32-bit word.
constexpr std::uint64_t hash_word(std::uint32_t k, std::uint64_t seed) noexcept {
  lookup3 s = lookup3::start(4, seed);
  s.a += k;
  s.final_mix();
  return s.result();
}

// Up to 4 bytes as a little-endian word (PostgreSQL's byte order on the x86/ARM servers it
// runs on; the result does not depend on the client's endianness).
constexpr std::uint32_t le_word(unsigned char const* p, std::size_t n) noexcept {
  std::uint32_t w = 0;
  for (std::size_t i = 0; i < n; ++i) w |= std::uint32_t{p[i]} << (8 * i);
  return w;
}

// hash_bytes_extended on a little-endian server: 12-byte blocks, then the tail, whose
// third word is shifted up one byte (the low byte of c is reserved for the length).
inline std::uint64_t hash_text(std::string_view text, std::uint64_t seed) noexcept {
  auto const* k = reinterpret_cast<unsigned char const*>(text.data());
  std::size_t len = text.size();
  lookup3 s = lookup3::start(static_cast<std::uint32_t>(len), seed);
  while (len >= 12) {
    s.a += le_word(k, 4);
    s.b += le_word(k + 4, 4);
    s.c += le_word(k + 8, 4);
    s.mix();
    k += 12;
    len -= 12;
  }
  if (len > 8) s.c += le_word(k + 8, len - 8) << 8;
  if (len > 4) s.b += le_word(k + 4, len > 8 ? 4 : len - 4);
  if (len > 0) s.a += le_word(k, len > 4 ? 4 : len);
  s.final_mix();
  return s.result();
}

// hashint8extended (and hashint4/hashint2extended, equal for equal values).
constexpr std::uint64_t hash_int(std::int64_t v, std::uint64_t seed) noexcept {
  const auto u = static_cast<std::uint64_t>(v);
  auto lo = static_cast<std::uint32_t>(u);
  const auto hi = static_cast<std::uint32_t>(u >> 32);
  lo ^= v >= 0 ? hi : ~hi;
  return hash_word(lo, seed);
}

// hash_combine64 of src/include/common/hashfn.h.
constexpr std::uint64_t combine(std::uint64_t a, std::uint64_t b) noexcept {
  a ^= b + 0x49a0f4dd15e5a8e3ULL + (a << 54) + (a >> 7);
  return a;
}

template <class T>
inline constexpr bool is_optional = false;
template <class T>
inline constexpr bool is_optional<std::optional<T>> = true;

template <class T>
inline constexpr bool is_tuple = false;
template <class... T>
inline constexpr bool is_tuple<std::tuple<T...>> = true;
template <class A, class B>
inline constexpr bool is_tuple<std::pair<A, B>> = true;

template <class K>
inline constexpr bool is_int_key = std::signed_integral<K> && !std::same_as<K, char> &&
                                   !std::same_as<K, signed char> && sizeof(K) >= 2 && sizeof(K) <= 8;

// One column: int2/int4/int8, text, or an optional of them.
template <class K>
constexpr bool column_key() {
  if constexpr (is_optional<K>)
    return column_key<typename K::value_type>();
  else
    return is_int_key<K> || (std::convertible_to<K const&, std::string_view> && !std::is_arithmetic_v<K>);
}

template <class K>
constexpr bool key() {
  if constexpr (is_tuple<K>)
    return []<std::size_t... I>(std::index_sequence<I...>) {
      return sizeof...(I) > 0 && (column_key<std::remove_cvref_t<std::tuple_element_t<I, K>>>() && ...);
    }(std::make_index_sequence<std::tuple_size_v<K>>{});
  else
    return column_key<K>();
}

// Folds one column into the row hash; NULL (std::nullopt) is left out, as PostgreSQL does.
template <class K>
constexpr std::uint64_t fold(std::uint64_t row, K const& k) noexcept {
  if constexpr (is_optional<K>)
    return k ? fold(row, *k) : row;
  else if constexpr (is_int_key<K>)
    return combine(row, hash_int(static_cast<std::int64_t>(k), partition_seed));
  else
    return combine(row, hash_text(std::string_view(k), partition_seed));
}

}  // namespace detail::pg

// K is a key PostgreSQL hash-partitions as postgres_hash computes: see the top of this file.
template <class K>
concept postgres_hash_key = detail::pg::key<std::remove_cvref_t<K>>();

class postgres_hash {
 public:
  // n is the MODULUS of the table's partitions. Throws std::invalid_argument when n is 0
  // or above 2³¹ − 1 (PostgreSQL's modulus is a positive int4).
  explicit constexpr postgres_hash(std::size_t n) : n_(checked(n)) {}

  // The REMAINDER of the partition PostgreSQL puts `key` in, in [0, n).
  template <class K>
  constexpr std::size_t shard_of(K const& key) const noexcept {
    static_assert(postgres_hash_key<K>,
                  "sg::partition::postgres_hash: the key is not a PostgreSQL hash-partition key sg computes: use a "
                  "signed integer (int2/int4/int8), text (std::string_view), std::optional of one (NULL), or a "
                  "std::tuple of those (a multi-column key); PostgreSQL has no unsigned integers: cast to the "
                  "column's type");
    return static_cast<std::size_t>(row_hash(key) % n_);
  }

  constexpr std::size_t shard_count() const noexcept { return static_cast<std::size_t>(n_); }

  // The 64-bit row hash PostgreSQL computes for the key (compute_partition_hash_value);
  // shard_of is this modulo n. 0 when every column is NULL.
  template <class K>
    requires postgres_hash_key<K>
  static constexpr std::uint64_t row_hash(K const& key) noexcept {
    if constexpr (detail::pg::is_tuple<K>)
      return std::apply(
          [](auto const&... col) {
            std::uint64_t h = 0;
            ((h = detail::pg::fold(h, col)), ...);
            return h;
          },
          key);
    else
      return detail::pg::fold(0, key);
  }

  friend constexpr bool operator==(postgres_hash const&, postgres_hash const&) = default;

 private:
  static constexpr std::uint64_t checked(std::size_t n) {
    detail::checked_shard_count(n, "sg::partition::postgres_hash");
    if (n > 0x7fffffff)
      throw std::invalid_argument("sg::partition::postgres_hash: PostgreSQL's MODULUS is at most 2^31 - 1");
    return n;
  }

  std::uint64_t n_;
};

}  // namespace sg::partition
