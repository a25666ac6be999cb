// Fan-out cost of one synchronous gather over 1, 8 and 64 in-memory shards, beside the
// strongest simple baselines in the same binary:
//   inline pipeline      vs a hand-written loop making the same calls and appends;
//   thread-pool pipeline vs std::async per shard (and the hand loop, for scale).
// Shards answer nothing (the pure cost of the machinery), one row, or 100 rows (a vector
// allocated per shard, as real answers are). Ratios: scripts/bench-ratios.py;
// results and their meaning: docs/benchmarks.md.
#include "fanout_common.hpp"

#include <sg/merge/concat.hpp>
#include <sg/pipeline.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/thread_pool.hpp>

#include <future>
#include <thread>
#include <vector>

namespace {

using sg_bench::noop_shard;

std::vector<noop_shard> make_shards(benchmark::State const& state) {
  return std::vector<noop_shard>(static_cast<std::size_t>(state.range(0)),
                                 noop_shard{static_cast<int>(state.range(1))});
}

boost::asio::thread_pool& pool() {
  static boost::asio::thread_pool p(std::max(2u, std::thread::hardware_concurrency()));
  return p;
}

void hand_loop(benchmark::State& state) {
  const auto shards = make_shards(state);
  for (auto _ : state) {
    auto out = sg_bench::hand_loop(shards);
    benchmark::DoNotOptimize(out.data());
  }
}

void pipeline_inline(benchmark::State& state) {
  const auto shards = make_shards(state);
  const auto pipe = sg::scatter(shards) | sg::gather(sg::merge::concat());
  for (auto _ : state) {
    auto r = pipe(1);
    benchmark::DoNotOptimize(r.value.data());
  }
}

void async_per_shard(benchmark::State& state) {
  const auto shards = make_shards(state);
  for (auto _ : state) {
    std::vector<std::future<std::vector<int>>> futures;
    futures.reserve(shards.size());
    for (auto const& s : shards)
      futures.push_back(std::async(std::launch::async, [&s] { return s.execute(1); }));
    std::vector<int> out;
    for (auto& f : futures) {
      auto r = f.get();
      out.insert(out.end(), r.begin(), r.end());
    }
    benchmark::DoNotOptimize(out.data());
  }
}

void pipeline_pool(benchmark::State& state) {
  const auto shards = make_shards(state);
  const auto pipe = sg::scatter(shards) | sg::on(pool()) | sg::gather(sg::merge::concat());
  for (auto _ : state) {
    auto r = pipe(1);
    benchmark::DoNotOptimize(r.value.data());
  }
}

void fanout_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"shards", "rows"});
  for (int rows : {0, 1, 100})
    for (int shards : {1, 8, 64}) b->Args({shards, rows});
}

}  // namespace

BENCHMARK(hand_loop)->Apply(fanout_args);
BENCHMARK(pipeline_inline)->Apply(fanout_args);
BENCHMARK(async_per_shard)->Apply(fanout_args)->UseRealTime();
BENCHMARK(pipeline_pool)->Apply(fanout_args)->UseRealTime();

BENCHMARK_MAIN();
