// Load statistics for partitioner tests.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <random>
#include <vector>

namespace sg_test {

struct load_stats {
  double max_over_mean;
  double relative_sd;  // standard deviation of the loads over their mean
};

template <class P>
std::vector<std::size_t> loads(P& p, std::mt19937_64& rng, std::size_t keys) {
  std::vector<std::size_t> load(p.shard_count(), 0);
  for (std::size_t k = 0; k < keys; ++k) ++load.at(p.shard_of(rng()));
  return load;
}

inline load_stats stats(std::vector<std::size_t> const& load, std::vector<double> const& weights = {}) {
  const double n = static_cast<double>(load.size());
  const double total = static_cast<double>(std::accumulate(load.begin(), load.end(), std::size_t{0}));
  const double weight_sum = weights.empty() ? n : std::accumulate(weights.begin(), weights.end(), 0.0);
  double max_ratio = 0, var = 0;
  for (std::size_t i = 0; i < load.size(); ++i) {
    const double expected = total * (weights.empty() ? 1.0 : weights[i]) / weight_sum;
    if (expected == 0) continue;
    const double r = static_cast<double>(load[i]) / expected;
    max_ratio = std::max(max_ratio, r);
    var += (r - 1) * (r - 1);
  }
  return {max_ratio, std::sqrt(var / n)};
}

}  // namespace sg_test
