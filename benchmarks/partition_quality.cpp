// Balance and movement of every partitioner, as Markdown tables for docs/partitioners.md:
//  * balance: 1M random keys over n = 10, 100, 1000 shards; max/mean load and the
//    relative standard deviation of the loads;
//  * movement: the fraction of keys whose shard changes when n grows to n + 1 (ideal
//    1/(n+1)), and whether every moved key went to the new shard.
// Deterministic (fixed seed). Usage: partition_quality [KEYS]
#include <sg/partition/jump.hpp>
#include <sg/partition/modulo.hpp>
#include <sg/partition/rendezvous.hpp>
#include <sg/partition/ring.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace {

std::vector<std::uint64_t> make_keys(std::size_t n) {
  std::mt19937_64 rng(2026);
  std::vector<std::uint64_t> k(n);
  for (auto& x : k) x = rng();
  return k;
}

template <class P>
void balance(char const* name, P const& p, std::vector<std::uint64_t> const& keys) {
  std::vector<double> load(p.shard_count(), 0);
  for (auto k : keys) load[p.shard_of(k)] += 1;
  const double mean = static_cast<double>(keys.size()) / static_cast<double>(load.size());
  double var = 0, mx = 0;
  for (double l : load) {
    var += (l - mean) * (l - mean);
    mx = std::max(mx, l);
  }
  std::printf("| %s | %zu | %.3f | %.2f%% |\n", name, load.size(), mx / mean,
              100 * std::sqrt(var / static_cast<double>(load.size())) / mean);
}

template <class P>
void movement(char const* name, P const& a, P const& b, std::vector<std::uint64_t> const& keys) {
  std::size_t moved = 0, elsewhere = 0;
  const std::size_t added = b.shard_count() - 1;
  for (auto k : keys) {
    const auto x = a.shard_of(k), y = b.shard_of(k);
    if (x != y) {
      ++moved;
      elsewhere += y != added;
    }
  }
  std::printf("| %s | %zu → %zu | %.4f | %.4f | %s |\n", name, a.shard_count(), b.shard_count(),
              static_cast<double>(moved) / static_cast<double>(keys.size()),
              1.0 / static_cast<double>(b.shard_count()), elsewhere == 0 ? "yes" : "no");
}

}  // namespace

int main(int argc, char** argv) {
  const auto keys = make_keys(argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 1'000'000);
  using namespace sg::partition;
  std::printf("| partitioner | shards | max / mean | relative sd |\n|---|---|---|---|\n");
  for (std::size_t n : {10u, 100u, 1000u}) {
    balance("modulo", modulo<>(n), keys);
    balance("jump", jump<>(n), keys);
    balance("ring, 100 vnodes", ring<>(n, 100), keys);
    balance("ring, 1000 vnodes", ring<>(n, 1000), keys);
    balance("rendezvous", rendezvous<>(std::vector<double>(n, 1.0)), keys);
  }
  std::printf("\n| partitioner | shards | keys moved | ideal 1/(n+1) | all to the new shard |\n"
              "|---|---|---|---|---|\n");
  for (std::size_t n : {10u, 100u, 1000u}) {
    movement("modulo", modulo<>(n), modulo<>(n + 1), keys);
    movement("jump", jump<>(n), jump<>(n + 1), keys);
    movement("ring, 100 vnodes", ring<>(n, 100), ring<>(n + 1, 100), keys);
    movement("rendezvous", rendezvous<>(std::vector<double>(n, 1.0)), rendezvous<>(std::vector<double>(n + 1, 1.0)),
             keys);
  }
  return 0;
}
