// sg/partition/rendezvous.hpp — sg::partition::rendezvous: weighted highest-random-weight
// hashing (Thaler & Ravishankar), logarithmic method (Schindelhauer & Schomaker).
//
//   sg::partition::rendezvous p{{1.0, 3.0, 1.0}};   // shard 1 gets about 3/5 of the keys
//
// Every shard scores the key, score_i = -w_i / ln(u_i) with u_i in (0, 1) a hash of (key,
// i); the highest score wins. A shard of weight 3 gets three times the keys of a shard of
// weight 1, exactly in expectation. The score is kept as an exponent and a mantissa: w_i
// is split once into m_i · 2^E_i (m_i in [0.5, 1)), the key's m_i / −ln(u_i) is always a
// normal double, and the exponents add as integers. So it neither overflows nor
// underflows for any finite positive weight (5e-324 to 1.8e308), and keys follow the
// weights' ratios wherever the weights sit in double's range. When every weight is in
// [2^-1000, 2^960], w / −ln u is itself a normal double that orders keys exactly as the
// split form does, so it is compared directly (faster): the same choices as before
// weights outside that range were handled, except for the one hash value where u rounds
// to 1 (which scored −∞ and now scores highest). A shard's score depends on its own weight
// and the key alone: adding a shard moves only keys to it; removing one (weight 0) moves
// only its keys. O(n) per key — it scores every shard, a logarithm each — so prefer jump
// or ring beyond a few hundred shards. Example: tests/partition/rendezvous.cpp.
#pragma once

#include <sg/partition/hash.hpp>
#include <sg/partition/partitioner.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace sg::partition {

template <class Hash = default_hash>
class rendezvous {
 public:
  // One weight a shard. Throws std::invalid_argument when there are no weights, a weight
  // is negative or not finite, or all are 0.
  explicit rendezvous(std::vector<double> weights, Hash hash = {})
      : weights_(std::move(weights)), hash_(std::move(hash)) {
    detail::checked_shard_count(weights_.size(), "sg::partition::rendezvous");
    if (!detail::checked_weights(weights_, "sg::partition::rendezvous"))
      throw std::invalid_argument("sg::partition::rendezvous: all weights are 0");
    seeds_.resize(weights_.size());
    mantissas_.resize(weights_.size());
    exponents_.resize(weights_.size());
    for (std::size_t i = 0; i < seeds_.size(); ++i) {
      seeds_[i] = mix64(static_cast<std::uint64_t>(i) ^ detail::golden);
      int e = 0;
      mantissas_[i] = std::frexp(weights_[i], &e);  // w = m · 2^e, m in [0.5, 1) (0 for weight 0)
      exponents_[i] = e + 64;  // in [-1009, 1088]: with a score's biased exponent, above 0
      // w / −ln u is a normal double for w in [2^-1000, 2^960] (−ln u is in [2^-54, 37.5])
      if (weights_[i] > 0.0 && (weights_[i] < 0x1.0p-1000 || weights_[i] > 0x1.0p960)) wide_ = true;
    }
  }

  template <class K>
    requires key_hash<Hash, K>
  std::size_t shard_of(K const& key) const noexcept(noexcept(hash_(key))) {
    const std::uint64_t h = static_cast<std::uint64_t>(hash_(key));
    std::size_t best = 0;
    std::uint64_t best_score = 0;  // every score is above 0
    double best_plain = 0;
    for (std::size_t i = 0; i < weights_.size(); ++i) {
      if (weights_[i] == 0.0) continue;
      // u in (0, 1): the top 53 bits of the mixed hash, offset by half a step (the top
      // value rounds to 1, so −ln u is taken as at least 2^-54, its value just below 1).
      const double u = (static_cast<double>(mix64(h ^ seeds_[i]) >> 11) + 0.5) * 0x1.0p-53;
      const double e = std::max(-std::log(u), 0x1.0p-54);  // in [2^-54, 37.5]
      if (!wide_) {
        // Every w / e is a normal double, ordered exactly as the split score below (a
        // power of two does not change rounding): the faster path, same choices.
        const double score = weights_[i] / e;
        if (score > best_plain) {
          best_plain = score;
          best = i;
        }
        continue;
      }
      // m / e is in [0.013, 2^54): a normal double, whose biased exponent b is in
      // [1016, 1077]. score = (m / e) · 2^E, ordered as (E + b, m / e's 52 mantissa bits).
      const auto bits = std::bit_cast<std::uint64_t>(mantissas_[i] / e);
      const auto exponent = static_cast<std::uint64_t>(exponents_[i] + static_cast<std::int64_t>(bits >> 52));
      const std::uint64_t score = (exponent << 52) | (bits & ((std::uint64_t{1} << 52) - 1));
      if (score > best_score) {
        best_score = score;
        best = i;
      }
    }
    return best;
  }

  std::size_t shard_count() const noexcept { return weights_.size(); }
  std::vector<double> const& weights() const noexcept { return weights_; }

  friend bool operator==(rendezvous const& a, rendezvous const& b) noexcept { return a.weights_ == b.weights_; }

 private:
  std::vector<double> weights_;
  std::vector<std::uint64_t> seeds_;
  std::vector<double> mantissas_;       // weights_[i] = mantissas_[i] · 2^(exponents_[i] − 64)
  std::vector<std::int64_t> exponents_;
  bool wide_ = false;  // a weight outside [2^-1000, 2^960]: scores need the split form
  Hash hash_;
};

}  // namespace sg::partition
