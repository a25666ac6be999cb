// sg/partition/rendezvous.hpp — sg::partition::rendezvous: weighted highest-random-weight
// hashing (Thaler & Ravishankar), logarithmic method (Schindelhauer & Schomaker).
//
//   sg::partition::rendezvous p{{1.0, 3.0, 1.0}};   // shard 1 gets about 3/5 of the keys
//
// Every shard scores the key, score_i = -w_i / ln(u_i) with u_i in (0, 1) a hash of (key,
// i); the highest score wins. A shard of weight 3 gets three times the keys of a shard of
// weight 1, exactly in expectation. The score is compared in log space, ln(w_i) −
// ln(−ln u_i), so it neither overflows nor underflows for any finite positive weight
// (5e-324 to 1.8e308): the keys follow the weights' ratios wherever the weights sit in
// double's range, and a shard's score depends on its own weight and the key alone.
// Adding a shard moves only keys to it; removing one (weight 0) moves only its keys.
// O(n) per key — it scores every shard, two logarithms each — so prefer jump or ring
// beyond a few hundred shards. Example: tests/partition/rendezvous.cpp.
#pragma once

#include <sg/partition/hash.hpp>
#include <sg/partition/partitioner.hpp>

#include <algorithm>
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
    log_weights_.resize(weights_.size());
    for (std::size_t i = 0; i < seeds_.size(); ++i) {
      seeds_[i] = mix64(static_cast<std::uint64_t>(i) ^ detail::golden);
      log_weights_[i] = weights_[i] > 0.0 ? std::log(weights_[i]) : 0.0;  // finite: the weight is
    }
  }

  template <class K>
    requires key_hash<Hash, K>
  std::size_t shard_of(K const& key) const noexcept(noexcept(hash_(key))) {
    const std::uint64_t h = static_cast<std::uint64_t>(hash_(key));
    std::size_t best = 0;
    double best_score = -std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < weights_.size(); ++i) {
      if (weights_[i] == 0.0) continue;
      // u in (0, 1): the top 53 bits of the mixed hash, offset by half a step (the top
      // value rounds to 1, so −ln u is taken as at least 2^-54, its value just below 1).
      const double u = (static_cast<double>(mix64(h ^ seeds_[i]) >> 11) + 0.5) * 0x1.0p-53;
      const double e = std::max(-std::log(u), 0x1.0p-54);  // in [2^-54, 37.5]
      // ln(w / e): the score's logarithm, finite for every finite positive w
      const double score = log_weights_[i] - std::log(e);
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
  std::vector<double> log_weights_;  // ln(weights_[i]), for the scores
  Hash hash_;
};

}  // namespace sg::partition
