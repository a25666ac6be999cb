// Feeds answers to a merge's accumulator in a random arrival order (as a thread pool
// would deliver them) and returns the merged result.
#pragma once

#include <algorithm>
#include <cstddef>
#include <numeric>
#include <random>
#include <utility>
#include <vector>

namespace sg_test {

template <class Merge, class Resp>
auto merge_in_random_order(Merge const& m, std::vector<Resp> const& answers, std::mt19937_64& rng) {
  std::vector<std::size_t> order(answers.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::shuffle(order.begin(), order.end(), rng);
  auto acc = m.template accumulator<Resp>();
  for (std::size_t shard : order) acc.add(shard, Resp(answers[shard]));
  return std::move(acc).finish();
}

}  // namespace sg_test
