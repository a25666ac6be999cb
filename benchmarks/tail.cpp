// "The Tail at Scale" (Dean and Barroso, 2013) in simulation: every query fans out to 100
// shards, each a pair of replicas whose latency is lognormal (median 10 ms) with 1% of
// calls straggling 10× to 100× slower. Reports query latency p50 / p99 / p99.9 and the
// extra requests sent, without hedging and with sg::hedge at each shard's running p95
// (sg::latency_tracker). Then a smaller run on real timers (steady_timer, latencies
// scaled down 5×) to show that the simulation's figures hold outside virtual time.
//
//   build/bench/benchmarks/tail [queries] [--cdf FILE]   (default 20000 queries)
//
// Not a Google Benchmark: it measures virtual time, not this machine. docs/resilience.md
// has the figures and the plot (scripts/plot-tail.sh draws it from --cdf).
#include "sim/sim.hpp"

#include <sg/exec/async.hpp>
#include <sg/merge/concat.hpp>
#include <sg/pipeline.hpp>
#include <sg/policy/hedge.hpp>
#include <sg/replicas.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr int shards = 100;

struct summary {
  std::vector<double> latencies_ms;  // sorted
  double extra_requests = 0;         // fraction of the base fan-out
  double at(double q) const {
    const auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(latencies_ms.size()))) - 1;
    return latencies_ms[std::min(i, latencies_ms.size() - 1)];
  }
};

sim::behaviour tail_behaviour(double median_ms) {
  sim::behaviour b;
  b.median_ms = median_ms;
  b.sigma = 0.25;
  b.straggler_rate = 0.01;
  return b;
}

// Runs `queries` queries one after another on virtual time.
template <bool Hedged>
summary simulate(int queries, std::uint64_t seed, unsigned max_extra = 1) {
  asio::io_context io;
  sim::scheduler sched;
  sim::scheduler::current = &sched;
  sim::ledger log;
  log.per_query = false;
  std::vector<std::vector<sim::shard>> pool(shards);
  for (std::size_t i = 0; i < pool.size(); ++i)
    for (std::size_t r = 0; r < 2; ++r) pool[i].emplace_back(io, i, r, tail_behaviour(10), seed++, log, 1);
  std::vector<decltype(sg::replicas_of(pool[0]))> sets;
  for (auto& p : pool) sets.push_back(sg::replicas_of(p));
  sg::latency_tracker latencies({.quantile = 0.95, .min_samples = 20, .half_life = 4096});
  auto policies = [&] {
    if constexpr (Hedged)
      return sg::with(sg::hedge<sim::timer>{.delay = 50ms, .adaptive = &latencies, .max_extra = max_extra});
    else
      return sg::with();
  };
  auto pipe = sg::scatter(sets) | policies() | sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
  summary s;
  for (int q = 0; q < queries; ++q) {
    bool done = false;
    const auto start = sim::clock::ticks;
    pipe.async(sim::request{q}, [&](std::error_code, sg::gathered<sim::rows>) {
      done = true;
      s.latencies_ms.push_back(static_cast<double>(sim::clock::ticks - start) / 1e6);
    });
    sim::run(io, [&] { return done; });
  }
  sim::scheduler::current = nullptr;
  std::sort(s.latencies_ms.begin(), s.latencies_ms.end());
  s.extra_requests = static_cast<double>(log.total_calls) / (double(queries) * shards) - 1;
  return s;
}

// A shard on real time: the same distribution, scaled to a median of 2 ms.
struct real_shard {
  asio::io_context* io;
  std::shared_ptr<std::mt19937_64> rng;
  long* calls;

  template <class Token>
  auto async_execute(int, Token&& token) {
    return asio::async_initiate<Token, void(std::error_code, sim::rows)>(
        [this](auto handler) {
          ++*calls;
          double ms = std::lognormal_distribution<double>(std::log(2.0), 0.25)(*rng);
          if (std::uniform_real_distribution<double>(0, 1)(*rng) < 0.01)
            ms *= std::uniform_real_distribution<double>(10, 100)(*rng);
          auto t = std::make_shared<asio::steady_timer>(*io, std::chrono::microseconds(static_cast<long>(ms * 1000)));
          auto slot = asio::get_associated_cancellation_slot(handler);
          if (slot.is_connected()) slot.assign([t](asio::cancellation_type) { t->cancel(); });
          t->async_wait([t, h = std::move(handler)](boost::system::error_code ec) mutable {
            asio::get_associated_cancellation_slot(h).clear();
            auto ex = asio::get_associated_executor(h);
            const std::error_code out = ec ? std::make_error_code(std::errc::operation_canceled) : std::error_code{};
            asio::dispatch(ex, [h = std::move(h), out]() mutable { std::move(h)(out, sim::rows{1}); });
          });
        },
        token);
  }
};

// Runs `queries` queries on real timers, `concurrency` at a time.
template <bool Hedged>
summary real_time(int queries, int concurrency) {
  asio::io_context io;
  long calls = 0;
  std::vector<std::vector<real_shard>> pool(shards);
  std::uint64_t seed = 7;
  for (auto& p : pool)
    for (int r = 0; r < 2; ++r) p.push_back(real_shard{&io, std::make_shared<std::mt19937_64>(seed++), &calls});
  std::vector<decltype(sg::replicas_of(pool[0]))> sets;
  for (auto& p : pool) sets.push_back(sg::replicas_of(p));
  sg::latency_tracker latencies({.quantile = 0.95, .min_samples = 20, .half_life = 4096});
  auto policies = [&] {
    if constexpr (Hedged)
      return sg::with(sg::hedge{.delay = 10ms, .adaptive = &latencies, .max_extra = 2});
    else
      return sg::with();
  };
  auto pipe = sg::scatter(sets) | policies() | sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
  summary s;
  int started = 0;
  std::function<void()> next = [&] {
    if (started == queries) return;
    ++started;
    const auto t0 = std::chrono::steady_clock::now();
    pipe.async(0, [&, t0](std::error_code, sg::gathered<sim::rows>) {
      s.latencies_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      next();
    });
  };
  for (int i = 0; i < concurrency; ++i) next();
  io.run();
  std::sort(s.latencies_ms.begin(), s.latencies_ms.end());
  s.extra_requests = static_cast<double>(calls) / (double(queries) * shards) - 1;
  return s;
}

void report(char const* name, summary const& s) {
  std::printf("%-34s %9.1f %9.1f %9.1f %9.1f %8.2f%%\n", name, s.at(0.5), s.at(0.99), s.at(0.999),
              s.latencies_ms.back(), 100 * s.extra_requests);
}

}  // namespace

int main(int argc, char** argv) {
  int queries = 20000;
  char const* cdf = nullptr;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--cdf") == 0 && i + 1 < argc)
      cdf = argv[++i];
    else
      queries = std::atoi(argv[i]);
  }
  std::printf("%d queries, each to %d shards of 2 replicas; lognormal latency, 1%% stragglers 10-100x\n", queries,
              shards);
  std::printf("%-34s %9s %9s %9s %9s %9s\n", "", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "extra");
  const summary plain = simulate<false>(queries, 1);
  const summary hedged1 = simulate<true>(queries, 1, 1);
  const summary hedged = simulate<true>(queries, 1, 2);
  report("simulated, no hedging", plain);
  report("simulated, hedge at p95, max_extra 1", hedged1);
  report("simulated, hedge at p95, max_extra 2", hedged);
  std::printf("p99.9 cut %.1fx with %.2f%% extra requests\n", plain.at(0.999) / hedged.at(0.999),
              100 * hedged.extra_requests);
  const int real_queries = std::max(200, queries / 20);
  const summary real_plain = real_time<false>(real_queries, 16);
  const summary real_hedged = real_time<true>(real_queries, 16);
  std::printf("\nreal timers, %d queries (16 at a time), latencies / 5:\n", real_queries);
  report("real, no hedging", real_plain);
  report("real, hedge at p95, max_extra 2", real_hedged);
  std::printf("p99 cut %.1fx with %.2f%% extra requests\n", real_plain.at(0.99) / real_hedged.at(0.99),
              100 * real_hedged.extra_requests);
  if (cdf != nullptr) {  // quantile, plain, hedged: for scripts/plot-tail.sh
    std::FILE* f = std::fopen(cdf, "w");
    if (f == nullptr) return 1;
    for (double q : {0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.998, 0.999, 0.9995})
      std::fprintf(f, "%g %g %g\n", q, plain.at(q), hedged.at(q));
    std::fclose(f);
  }
}
