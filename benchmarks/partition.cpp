// Partitioners: shard_of throughput at 16 and 1000 shards, each beside the others in one
// binary (goal: ring ≤ 2× jump at 1000 shards, 100 vnodes each); and split of 10M
// (key, 8-byte payload) rows into 64 buckets beside a naive push_back loop and a plain
// std::copy of the same bytes (goals: ≥ 2× the naive loop, ≤ 4× the copy).
// Ratios: scripts/bench-ratios.py; results: docs/partitioners.md.
#include <sg/partition/jump.hpp>
#include <sg/partition/modulo.hpp>
#include <sg/partition/range.hpp>
#include <sg/partition/rendezvous.hpp>
#include <sg/partition/ring.hpp>
#include <sg/partition/split.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

namespace {

std::vector<std::uint64_t> const& keys() {
  static const std::vector<std::uint64_t> k = [] {
    std::mt19937_64 rng(42);
    std::vector<std::uint64_t> v(1 << 20);
    for (auto& x : v) x = rng();
    return v;
  }();
  return k;
}

template <class P>
void run_shard_of(benchmark::State& state, P const& p) {
  auto const& k = keys();
  std::size_t i = 0, sum = 0;
  for (auto _ : state) {
    sum += p.shard_of(k[i]);
    i = (i + 1) & (k.size() - 1);
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

std::size_t shards(benchmark::State const& s) { return static_cast<std::size_t>(s.range(0)); }

void shard_of_modulo(benchmark::State& s) { run_shard_of(s, sg::partition::modulo<>(shards(s))); }
void shard_of_jump(benchmark::State& s) { run_shard_of(s, sg::partition::jump<>(shards(s))); }
void shard_of_ring(benchmark::State& s) { run_shard_of(s, sg::partition::ring<>(shards(s), 100)); }
void shard_of_rendezvous(benchmark::State& s) {
  run_shard_of(s, sg::partition::rendezvous<>(std::vector<double>(shards(s), 1.0)));
}
void shard_of_range(benchmark::State& s) {
  std::vector<std::uint64_t> bounds;
  for (std::size_t i = 1; i < shards(s); ++i) bounds.push_back(i * (~std::uint64_t{0} / shards(s)));
  run_shard_of(s, sg::partition::range<std::uint64_t>(bounds));
}

struct row {
  std::uint64_t key;
  std::uint64_t payload;
};

std::vector<row> const& rows() {
  static const std::vector<row> r = [] {
    std::mt19937_64 rng(7);
    std::vector<row> v(10'000'000);
    for (auto& x : v) x = {rng(), rng()};
    return v;
  }();
  return r;
}

constexpr std::size_t split_shards = 64;

void split_sg(benchmark::State& state) {
  auto const& r = rows();
  const sg::partition::modulo<> p(split_shards);
  for (auto _ : state) {
    auto buckets = sg::partition::split(r, p, &row::key);
    benchmark::DoNotOptimize(buckets.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * r.size() * sizeof(row)));
}

void split_naive(benchmark::State& state) {
  auto const& r = rows();
  const sg::partition::modulo<> p(split_shards);
  for (auto _ : state) {
    std::vector<std::vector<row>> buckets(split_shards);
    for (auto const& x : r) buckets[p.shard_of(x.key)].push_back(x);
    benchmark::DoNotOptimize(buckets.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * r.size() * sizeof(row)));
}

void split_copy_floor(benchmark::State& state) {
  auto const& r = rows();
  for (auto _ : state) {
    std::vector<row> out(r.size());
    std::copy(r.begin(), r.end(), out.begin());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * r.size() * sizeof(row)));
}

}  // namespace

BENCHMARK(shard_of_modulo)->Arg(16)->Arg(1000);
BENCHMARK(shard_of_jump)->Arg(16)->Arg(1000);
BENCHMARK(shard_of_ring)->Arg(16)->Arg(1000);
BENCHMARK(shard_of_rendezvous)->Arg(16)->Arg(1000);
BENCHMARK(shard_of_range)->Arg(16)->Arg(1000);
BENCHMARK(split_sg)->Unit(benchmark::kMillisecond);
BENCHMARK(split_naive)->Unit(benchmark::kMillisecond);
BENCHMARK(split_copy_floor)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
