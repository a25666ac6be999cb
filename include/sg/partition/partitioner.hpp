// sg/partition/partitioner.hpp — what a partitioner is.
//
// A partitioner maps a key to the index of the shard that holds it: `p.shard_of(key)` in
// [0, p.shard_count()). It is a regular value; its hash is a parameter (any callable from
// key to std::uint64_t, sg::partition::default_hash by default). Shipped: modulo, jump,
// ring, rendezvous, range, round_robin. A user type with these two members is a
// partitioner too; sg checks every index it returns (routing reports an index out of
// range as sg::errc::bad_input, never undefined behaviour). Example: docs/partitioners.md.
#pragma once

#include <charconv>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace sg::partition {

// P maps keys of type K to shards.
template <class P, class K>
concept partitioner_for = requires(P& p, K const& key) {
  { p.shard_of(key) } -> std::convertible_to<std::size_t>;
  { p.shard_count() } -> std::convertible_to<std::size_t>;
};

namespace detail {

// Every partitioner rejects zero shards when it is built, in these words.
constexpr std::size_t checked_shard_count(std::size_t n, char const* who) {
  if (n == 0) throw std::invalid_argument(std::string(who) + ": the shard count must be at least 1");
  return n;
}

// A double in the shortest form that reads back as the same value ("1e+30", "0.25"), for
// error messages.
inline std::string shortest(double x) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, r.ptr);
}

// Weighted partitioners check their weights in these words: each must be finite and not
// negative. Returns whether any weight is positive.
inline bool checked_weights(std::vector<double> const& weights, char const* who) {
  bool any = false;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    if (!(weights[i] >= 0.0) || !std::isfinite(weights[i]))
      throw std::invalid_argument(std::string(who) + ": the weight of shard " + std::to_string(i) +
                                  " must be finite and not negative");
    any = any || weights[i] > 0.0;
  }
  return any;
}

}  // namespace detail
}  // namespace sg::partition
