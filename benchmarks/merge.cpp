// Sorted k-way merge of 16M int64 in total, random, k = 2, 8, 64, 1024 runs, beside
// __gnu_parallel::multiway_merge with sequential_tag (libstdc++'s loser tree), a
// std::priority_queue merge, and a std::copy of the same data (the physical floor).
// Ratios: scripts/bench-ratios.py; results: docs/merges.md.
#include <sg/merge/sorted.hpp>

#include <benchmark/benchmark.h>
#include <parallel/algorithm>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <queue>
#include <random>
#include <utility>
#include <vector>

namespace {

constexpr std::size_t total = std::size_t{1} << 24;  // 16M

std::vector<std::vector<std::int64_t>> const& runs(std::size_t k) {
  static std::vector<std::vector<std::int64_t>> cached;
  static std::size_t cached_k = 0;
  if (cached_k != k) {
    std::mt19937_64 rng(k);
    cached.assign(k, {});
    for (auto& r : cached) {
      r.resize(total / k);
      for (auto& x : r) x = static_cast<std::int64_t>(rng() >> 1);
      std::sort(r.begin(), r.end());
    }
    cached_k = k;
  }
  return cached;
}

void set_bytes(benchmark::State& state) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * total));
}

void merge_sg(benchmark::State& state) {
  auto const& r = runs(static_cast<std::size_t>(state.range(0)));
  const auto m = sg::merge::sorted();
  for (auto _ : state) {
    state.PauseTiming();
    auto copy = r;  // sg takes the runs by move, as a pipeline hands it answers
    state.ResumeTiming();
    auto out = m(std::move(copy));
    benchmark::DoNotOptimize(out.data());
  }
  set_bytes(state);
}

void merge_gnu(benchmark::State& state) {
  auto const& r = runs(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    // GNU's interface wants mutable iterators; it only reads through them.
    std::vector<std::pair<std::int64_t*, std::int64_t*>> seqs;
    for (auto const& run : r) {
      auto* first = const_cast<std::int64_t*>(run.data());
      seqs.emplace_back(first, first + run.size());
    }
    std::vector<std::int64_t> out(total);
    __gnu_parallel::multiway_merge(seqs.begin(), seqs.end(), out.begin(), total,
                                   std::less<std::int64_t>{}, __gnu_parallel::sequential_tag());
    benchmark::DoNotOptimize(out.data());
  }
  set_bytes(state);
}

void merge_heap(benchmark::State& state) {
  auto const& r = runs(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    using item = std::pair<std::int64_t, std::size_t>;  // value, run
    std::priority_queue<item, std::vector<item>, std::greater<>> heap;
    std::vector<std::size_t> pos(r.size(), 0);
    for (std::size_t i = 0; i < r.size(); ++i)
      if (!r[i].empty()) heap.push({r[i][0], i});
    std::vector<std::int64_t> out;
    out.reserve(total);
    while (!heap.empty()) {
      auto [v, i] = heap.top();
      heap.pop();
      out.push_back(v);
      if (++pos[i] < r[i].size()) heap.push({r[i][pos[i]], i});
    }
    benchmark::DoNotOptimize(out.data());
  }
  set_bytes(state);
}

void copy_floor(benchmark::State& state) {
  auto const& r = runs(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    std::vector<std::int64_t> out(total);
    auto at = out.begin();
    for (auto const& run : r) at = std::copy(run.begin(), run.end(), at);
    benchmark::DoNotOptimize(out.data());
  }
  set_bytes(state);
}

}  // namespace

#define SG_MERGE_ARGS ->Arg(2)->Arg(8)->Arg(64)->Arg(1024)->Unit(benchmark::kMillisecond)
BENCHMARK(merge_sg) SG_MERGE_ARGS;
BENCHMARK(merge_gnu) SG_MERGE_ARGS;
BENCHMARK(merge_heap) SG_MERGE_ARGS;
BENCHMARK(copy_floor) SG_MERGE_ARGS;

BENCHMARK_MAIN();
