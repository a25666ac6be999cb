// sg::local::hash_join: build-only and build + probe of 200,000 left rows, at build tables
// that fit the L2 cache (10,000 rows), outgrow it (100,000: about 5 MiB), outgrow a
// core's share of the last-level cache (200,000 and 400,000) and the whole of it
// (1,000,000), beside the strongest baseline for unique keys: a hand-written
// boost::unordered_flat_map<key, position> build and probe loop into a reserved vector.
// sg chains duplicate keys and skips NULL keys; the baseline does neither. The build-only
// and probe costs by table size are what the join plans of sg/cost/plans.hpp count as
// cache misses (docs/cost.md). Ratios: scripts/bench-ratios.py; results: docs/benchmarks.md.
#include <sg/query/join.hpp>

#include <benchmark/benchmark.h>
#include <boost/unordered/unordered_flat_map.hpp>

#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "benchmark_main.hpp"

namespace {

struct fact {
  std::int64_t key, day, cents, id;
};
struct dim {
  std::int64_t key, a, b, c;
};

constexpr std::size_t probes = 200000;

std::vector<dim> dims(std::size_t n) {
  std::vector<dim> d;
  d.reserve(n);
  for (std::size_t k = 0; k < n; ++k) {
    const auto i = static_cast<std::int64_t>(k);
    d.push_back({i, i, 2 * i, 3 * i});
  }
  return d;
}

std::vector<fact> facts(std::size_t n, std::size_t keys) {
  std::mt19937_64 rng(7);
  std::vector<fact> f;
  f.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    f.push_back({static_cast<std::int64_t>(rng() % keys), 0, 0, static_cast<std::int64_t>(i)});
  return f;
}

// The baseline's table: each key's row position, for unique keys.
boost::unordered_flat_map<std::int64_t, std::uint32_t> baseline_table(std::vector<dim> const& right) {
  boost::unordered_flat_map<std::int64_t, std::uint32_t> table;
  table.reserve(right.size());
  for (std::size_t i = 0; i < right.size(); ++i) table.emplace(right[i].key, static_cast<std::uint32_t>(i));
  return table;
}

void BM_sg_build(benchmark::State& state) {
  const auto right = dims(static_cast<std::size_t>(state.range(0)));
  const std::vector<fact> none;
  for (auto _ : state) benchmark::DoNotOptimize(sg::local::hash_join(none, right, &fact::key, &dim::key));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * right.size()));
}

void BM_baseline_build(benchmark::State& state) {
  const auto right = dims(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(baseline_table(right));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * right.size()));
}

void BM_sg_join(benchmark::State& state) {
  const auto right = dims(static_cast<std::size_t>(state.range(0)));
  const auto left = facts(probes, right.size());
  for (auto _ : state) benchmark::DoNotOptimize(sg::local::hash_join(left, right, &fact::key, &dim::key));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * left.size()));
}

void BM_baseline_join(benchmark::State& state) {
  const auto right = dims(static_cast<std::size_t>(state.range(0)));
  const auto left = facts(probes, right.size());
  for (auto _ : state) {
    const auto table = baseline_table(right);
    std::vector<std::pair<fact, dim>> out;
    out.reserve(left.size());
    for (auto const& l : left)
      if (auto it = table.find(l.key); it != table.end()) out.emplace_back(l, right[it->second]);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * left.size()));
}

#define SG_JOIN_SIZES ->Arg(10000)->Arg(100000)->Arg(200000)->Arg(400000)->Arg(1000000)->Unit(benchmark::kMicrosecond)
BENCHMARK(BM_sg_build) SG_JOIN_SIZES;
BENCHMARK(BM_baseline_build) SG_JOIN_SIZES;
BENCHMARK(BM_sg_join) SG_JOIN_SIZES;
BENCHMARK(BM_baseline_join) SG_JOIN_SIZES;

}  // namespace

SG_BENCHMARK_MAIN();
