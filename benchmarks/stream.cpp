// Streaming merge: sg::stream::open (sorted, 64 sources in batches, Asio, bounded buffers)
// beside a hand-written std::priority_queue merge over the same batches (no Asio, the
// cheapest streaming merge there is) and beside materializing every answer and merging it
// whole (sg::merge::sorted, and __gnu_parallel::multiway_merge). Each reports rows per
// second and its peak resident memory (VmHWM, reset before each run through
// /proc/self/clear_refs): the point of streaming is the second column.
//
//   build/bench/benchmarks/bench_stream --benchmark_counters_tabular=true
//   Arg: rows per source (64 sources).
#include <sg/merge/sorted.hpp>
#include <sg/stream/stream.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/io_context.hpp>
#include <parallel/algorithm>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <functional>
#include <queue>
#include <string>
#include <utility>
#include <vector>

namespace {

namespace asio = boost::asio;
constexpr std::uint64_t sources = 64;
constexpr std::size_t batch_rows = 1024;

// Resets the peak resident set size of this process (Linux ≥ 4.0).
void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }

// The peak resident set size since the last reset, in MiB (VmHWM).
double peak_rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

// Source s yields s, s + 64, s + 128, … in batches, generated on demand.
struct generator {
  std::uint64_t next, left;
  std::vector<std::uint64_t> batch() {
    std::vector<std::uint64_t> b;
    const auto n = std::min<std::uint64_t>(left, batch_rows);
    b.reserve(static_cast<std::size_t>(n));
    for (std::uint64_t i = 0; i < n; ++i, next += sources) b.push_back(next);
    left -= n;
    return b;
  }
};

struct generator_source {
  using batch_type = std::vector<std::uint64_t>;
  asio::io_context* io;
  generator gen;
  template <class Token>
  auto async_next(Token&& token) {
    return asio::async_initiate<Token, void(std::error_code, batch_type)>(
        [this](auto handler) {
          auto ex = asio::get_associated_executor(handler, io->get_executor());
          asio::post(ex, [h = std::move(handler), b = gen.batch()]() mutable { std::move(h)(std::error_code{}, std::move(b)); });
        },
        token);
  }
};

void finish(benchmark::State& state, std::uint64_t checksum, std::uint64_t rows) {
  state.counters["peak_rss_MiB"] = peak_rss_mib();
  state.SetItemsProcessed(static_cast<std::int64_t>(rows) * state.iterations());
  benchmark::DoNotOptimize(checksum);
}

void BM_sg_stream(benchmark::State& state) {
  const auto per_source = static_cast<std::uint64_t>(state.range(0));
  std::uint64_t checksum = 0;
  reset_peak_rss();
  std::size_t peak_buffered = 0;
  for (auto _ : state) {
    asio::io_context io;
    std::vector<generator_source> all;
    for (std::uint64_t s = 0; s < sources; ++s) all.push_back({&io, {s, per_source}});
    auto stream = sg::stream::open(io.get_executor(), std::move(all), sg::merge::sorted(),
                                   sg::stream::options<>{.buffer = 2, .batch_rows = batch_rows});
    std::function<void()> pull = [&] {
      stream.async_next([&](std::error_code, std::vector<std::uint64_t> b) {
        if (b.empty()) return;
        for (auto v : b) checksum += v;
        pull();
      });
    };
    pull();
    io.run();
    peak_buffered = stream.peak_buffered_rows();
  }
  state.counters["peak_buffered_rows"] = static_cast<double>(peak_buffered);
  finish(state, checksum, per_source * sources);
}

// The baseline: a binary heap of the sources' heads over the same generated batches.
void BM_heap_stream(benchmark::State& state) {
  const auto per_source = static_cast<std::uint64_t>(state.range(0));
  std::uint64_t checksum = 0;
  reset_peak_rss();
  for (auto _ : state) {
    std::vector<generator> gens;
    std::vector<std::vector<std::uint64_t>> current(sources);
    std::vector<std::size_t> pos(sources, 0);
    using head = std::pair<std::uint64_t, std::size_t>;
    std::priority_queue<head, std::vector<head>, std::greater<>> heap;
    for (std::uint64_t s = 0; s < sources; ++s) {
      gens.push_back({s, per_source});
      current[s] = gens[s].batch();
      if (!current[s].empty()) heap.push({current[s][0], s});
    }
    while (!heap.empty()) {
      const auto [v, s] = heap.top();
      heap.pop();
      checksum += v;
      if (++pos[s] == current[s].size()) {
        current[s] = gens[s].batch();
        pos[s] = 0;
      }
      if (!current[s].empty()) heap.push({current[s][pos[s]], s});
    }
  }
  finish(state, checksum, per_source * sources);
}

std::vector<std::vector<std::uint64_t>> materialize(std::uint64_t per_source) {
  std::vector<std::vector<std::uint64_t>> runs(sources);
  for (std::uint64_t s = 0; s < sources; ++s) {
    generator g{s, per_source};
    for (auto b = g.batch(); !b.empty(); b = g.batch()) runs[s].insert(runs[s].end(), b.begin(), b.end());
  }
  return runs;
}

// Every answer in memory, then sg's whole-answer sorted merge.
void BM_materialized_sg_merge(benchmark::State& state) {
  const auto per_source = static_cast<std::uint64_t>(state.range(0));
  std::uint64_t checksum = 0;
  reset_peak_rss();
  for (auto _ : state) {
    auto merged = sg::merge::sorted()(materialize(per_source));
    for (auto v : merged) checksum += v;
  }
  finish(state, checksum, per_source * sources);
}

// Every answer in memory, then libstdc++'s parallel-mode multiway merge (sequential).
void BM_materialized_gnu_multiway(benchmark::State& state) {
  const auto per_source = static_cast<std::uint64_t>(state.range(0));
  std::uint64_t checksum = 0;
  reset_peak_rss();
  for (auto _ : state) {
    auto runs = materialize(per_source);
    std::vector<std::pair<std::uint64_t*, std::uint64_t*>> seqs;
    for (auto& r : runs) seqs.emplace_back(r.data(), r.data() + r.size());
    std::vector<std::uint64_t> out(per_source * sources);
    __gnu_parallel::multiway_merge(seqs.begin(), seqs.end(), out.begin(), out.size(), std::less<std::uint64_t>{},
                                   __gnu_parallel::sequential_tag{});
    for (auto v : out) checksum += v;
  }
  finish(state, checksum, per_source * sources);
}

}  // namespace

BENCHMARK(BM_sg_stream)->Arg(16384)->Arg(1 << 20)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_heap_stream)->Arg(16384)->Arg(1 << 20)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_materialized_sg_merge)->Arg(16384)->Arg(1 << 20)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_materialized_gnu_multiway)->Arg(16384)->Arg(1 << 20)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
