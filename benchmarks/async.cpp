// The cost of the asynchronous gather, beside its strongest baseline in the same binary:
//   gather_sg/16        pipe.async over 16 no-op async shards (each answers one row, posted)
//   gather_group/16     a hand-written ranged asio::experimental::make_parallel_group doing
//                       the same fan-out and appending the answers
// and the memory of many gathers in flight:
//   in_flight/10000     10,000 gathers of 16 simulated shards (tests/sim, virtual delays)
//                       started on one io_context; counters: live heap bytes per gather in
//                       flight (all of it, and sg's part: minus the same 160,000 shard calls
//                       started directly), and a check that every gather then completes.
// Ratios: scripts/bench-ratios.py; figures and their meaning: docs/resilience.md.
#include "sim/sim.hpp"

#include <sg/exec/async.hpp>
#include <sg/merge/concat.hpp>
#include <sg/pipeline.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <malloc.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

// Live heap bytes, for the in-flight measurement.
namespace {
std::atomic<long> live_bytes{0};
}
void* operator new(std::size_t n) {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  live_bytes.fetch_add(static_cast<long>(malloc_usable_size(p)), std::memory_order_relaxed);
  return p;
}
void operator delete(void* p) noexcept {
  if (p == nullptr) return;
  live_bytes.fetch_sub(static_cast<long>(malloc_usable_size(p)), std::memory_order_relaxed);
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept { operator delete(p); }

namespace {

namespace asio = boost::asio;
using rows = std::vector<int>;

// Answers {request} at once, posted to the handler's executor.
struct noop_async_shard {
  asio::io_context* io;

  template <class Token>
  auto async_execute(int request, Token&& token) {
    return asio::async_initiate<Token, void(std::error_code, rows)>(
        [this](auto handler, int r) {
          auto ex = asio::get_associated_executor(handler, io->get_executor());
          asio::post(ex, [h = std::move(handler), r]() mutable { std::move(h)(std::error_code{}, rows{r}); });
        },
        token, request);
  }
};

void gather_sg(benchmark::State& state) {
  asio::io_context io;
  std::vector<noop_async_shard> shards(static_cast<std::size_t>(state.range(0)), noop_async_shard{&io});
  auto pipe = sg::scatter(shards) | sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
  std::size_t total = 0;
  for (auto _ : state) {
    pipe.async(1, [&](std::error_code, sg::gathered<rows> g) { total += g.value.size(); });
    io.restart();
    io.run();
  }
  if (total != static_cast<std::size_t>(state.iterations() * state.range(0))) state.SkipWithError("rows lost");
}

void gather_group(benchmark::State& state) {
  asio::io_context io;
  std::vector<noop_async_shard> shards(static_cast<std::size_t>(state.range(0)), noop_async_shard{&io});
  // Each op bound to the io_context: a deferred op's own executor is the system executor,
  // which would hop every completion to another thread.
  using op_type = decltype(asio::bind_executor(io, shards[0].async_execute(1, asio::deferred)));
  std::size_t total = 0;
  for (auto _ : state) {
    std::vector<op_type> ops;
    ops.reserve(shards.size());
    for (auto& s : shards) ops.push_back(asio::bind_executor(io, s.async_execute(1, asio::deferred)));
    asio::experimental::make_parallel_group(std::move(ops))
        .async_wait(asio::experimental::wait_for_all(),
                    asio::bind_executor(io, [&](std::vector<std::size_t>, std::vector<std::error_code> ecs,
                                                std::vector<rows> answers) {
                      rows out;
                      for (std::size_t i = 0; i < answers.size(); ++i)
                        if (!ecs[i]) out.insert(out.end(), answers[i].begin(), answers[i].end());
                      total += out.size();
                    }));
    io.restart();
    io.run();
  }
  if (total != static_cast<std::size_t>(state.iterations() * state.range(0))) state.SkipWithError("rows lost");
}

void in_flight(benchmark::State& state) {
  const int gathers = static_cast<int>(state.range(0));
  constexpr int fan_out = 16;
  for (auto _ : state) {
    asio::io_context io;
    sim::scheduler sched;
    sim::scheduler::current = &sched;
    sim::ledger log;
    log.per_query = false;
    std::vector<sim::shard> shards;
    for (int i = 0; i < fan_out; ++i)
      shards.emplace_back(io, static_cast<std::size_t>(i), 0, sim::behaviour{.median_ms = 20}, 1 + i, log, 1);
    auto pipe = sg::scatter(shards) | sg::on(io.get_executor()) | sg::gather(sg::merge::concat());

    // The same shard calls, started directly: what the simulation itself keeps per call.
    long direct = 0;
    {
      const long before = live_bytes.load();
      int answered = 0;
      for (int g = 0; g < gathers; ++g)
        for (auto& s : shards) s.async_execute(sim::request{g}, [&answered](std::error_code, sim::rows) { ++answered; });
      io.restart();
      io.poll();
      direct = live_bytes.load() - before;
      sim::run(io, [&] { return answered == gathers * fan_out; });
    }

    const long before = live_bytes.load();
    int done = 0;
    for (int g = 0; g < gathers; ++g)
      pipe.async(sim::request{g}, [&done](std::error_code ec, sg::gathered<sim::rows> r) {
        if (!ec && r.value.size() == fan_out) ++done;
      });
    io.restart();
    io.poll();  // every gather started, every shard call waiting on virtual time
    const long all = live_bytes.load() - before;
    sim::run(io, [&] { return done == gathers; });
    if (done != gathers) state.SkipWithError("a gather did not complete");
    state.counters["bytes_per_gather"] = static_cast<double>(all) / gathers;
    state.counters["sg_bytes_per_gather"] = static_cast<double>(all - direct) / gathers;
    sim::scheduler::current = nullptr;
  }
}

}  // namespace

BENCHMARK(gather_sg)->Arg(16);
BENCHMARK(gather_group)->Arg(16);
BENCHMARK(in_flight)->Arg(10000)->Iterations(1)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
