// sg/partition/modulo.hpp — sg::partition::modulo: hash, then reduce to [0, n).
//
//   sg::partition::modulo p{16};
//   std::size_t shard = p.shard_of(customer_id);
//
// The reduction is a multiply-high (Lemire): (hash · n) >> 64, not hash % n. It costs a
// multiplication instead of a division (several times faster) and uses the hash's high
// bits, where mix64 is strongest; with a uniform hash each shard gets n⁻¹ of the keys
// within 2⁻⁶⁴. Like %, it moves almost every key when n changes: use jump, ring or
// rendezvous where shards come and go. O(1). Example: tests/partition/modulo.cpp.
#pragma once

#include <sg/partition/hash.hpp>
#include <sg/partition/partitioner.hpp>

#include <cstddef>
#include <cstdint>

namespace sg::partition {

// (a · b) >> 64, exactly.
constexpr std::uint64_t mulhi64(std::uint64_t a, std::uint64_t b) noexcept {
#if defined(__SIZEOF_INT128__)
  __extension__ using u128 = unsigned __int128;
  return static_cast<std::uint64_t>((static_cast<u128>(a) * b) >> 64);
#else
  const std::uint64_t a_lo = a & 0xffffffffULL, a_hi = a >> 32;
  const std::uint64_t b_lo = b & 0xffffffffULL, b_hi = b >> 32;
  const std::uint64_t lo_lo = a_lo * b_lo, hi_lo = a_hi * b_lo, lo_hi = a_lo * b_hi;
  const std::uint64_t cross = (lo_lo >> 32) + (hi_lo & 0xffffffffULL) + lo_hi;
  return a_hi * b_hi + (hi_lo >> 32) + (cross >> 32);
#endif
}

template <class Hash = default_hash>
class modulo {
 public:
  // Throws std::invalid_argument when n is 0.
  explicit constexpr modulo(std::size_t n, Hash hash = {})
      : n_(detail::checked_shard_count(n, "sg::partition::modulo")), hash_(std::move(hash)) {}

  template <class K>
    requires key_hash<Hash, K>
  constexpr std::size_t shard_of(K const& key) const noexcept(noexcept(hash_(key))) {
    return static_cast<std::size_t>(mulhi64(static_cast<std::uint64_t>(hash_(key)), n_));
  }

  constexpr std::size_t shard_count() const noexcept { return n_; }

  friend constexpr bool operator==(modulo const& a, modulo const& b) noexcept { return a.n_ == b.n_; }

 private:
  std::uint64_t n_;
  Hash hash_;
};

}  // namespace sg::partition
