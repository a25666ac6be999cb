// What sg adds to a query on real PostgreSQL shards: the five queries of
// examples/orders_postgres.cpp on 4 shards, each timed three ways in one binary —
//   sg/<query>     the pipeline: scatter | on(executor) | gather(merge), answers merged;
//   raw/<query>    the baseline: the same request sent with the adapter to every shard at
//                  once, each answer moved into a vector, nothing merged;
//   merge/<query>  the merge alone, over answers fetched before (the coordinator's CPU).
// Coordinator overhead: the CPU time sg's pipeline and merge add on this process,
// cpu(sg) − cpu(raw), as a share of the query's wall time real(sg); goal ≤ 10 %. Also
// sg / raw in wall time (everything sg adds, buried in the servers' noise) and merge / sg.
//
//   scripts/pg-cluster.sh start /tmp/pg 4
//   SG_PG_DIR=/tmp/pg build/bench/benchmarks/bench_postgres --benchmark_repetitions=9
//       --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
//       --benchmark_out=pg.json --benchmark_out_format=json              (one command)
//   scripts/bench-ratios.py pg.json sg:raw merge:sg sg-raw
// Interleave the repetitions: the servers' speed drifts more than sg costs.
//
// SG_PG_DIR: the directory pg-cluster.sh wrote (its conninfo file names the servers; shard i
// goes to server i mod servers). SG_BENCH_ORDERS: how many orders (default 1,000,000),
// loaded once before the first benchmark. Without servers every benchmark is skipped.
#include "orders_postgres.hpp"

#include <sg/exec/async.hpp>
#include <sg/pipeline.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <cstdlib>
#include <exception>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace db = shop::on_postgres;

// The servers, loaded once; `error` says why there are none.
struct setup {
  asio::io_context io;
  std::optional<db::cluster> cluster;
  std::string error;

  setup() {
    char const* dir = std::getenv("SG_PG_DIR");
    if (dir == nullptr) {
      error = "SG_PG_DIR is not set (scripts/pg-cluster.sh start DIR 4; SG_PG_DIR=DIR)";
      return;
    }
    std::vector<std::string> servers;
    std::ifstream in(std::string(dir) + "/conninfo");
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) servers.push_back(line);
    if (servers.empty()) {
      error = std::string("no connection string in ") + dir + "/conninfo";
      return;
    }
    char const* orders = std::getenv("SG_BENCH_ORDERS");
    const std::size_t n = orders != nullptr ? std::stoul(orders) : 1'000'000;
    cluster.emplace(io.get_executor(), servers, 4);
    auto done = asio::co_spawn(io, cluster->load(shop::generate(n)), asio::use_future);
    io.run();
    try {
      done.get();
    } catch (std::exception const& e) {
      error = std::string("loading the orders failed: ") + e.what();
      cluster.reset();
    }
  }

  static setup& get() {
    static setup s;
    return s;
  }
};

// What the coordinator does after the merge: nothing, except rebuilding the sketch from
// the HyperLogLog registers.
template <class T>
T const& finish(T const& merged) {
  return merged;
}
sg::agg::hyperloglog finish(std::vector<db::hll_register> const& registers) { return db::sketch_of(registers); }

template <class Request>
using rows_of = std::vector<typename Request::row_type>;

// Every shard's answer to `request`, in shard order, the adapter called directly.
template <class Request>
bool ask_every_shard(setup& s, Request const& request, std::vector<rows_of<Request>>& answers) {
  auto const& shards = s.cluster->shards;
  answers.resize(shards.size());
  bool failed = false;
  for (std::size_t i = 0; i < shards.size(); ++i)
    shards[i].async_execute(request, [&, i](std::exception_ptr e, rows_of<Request> rows) {
      failed = failed || e != nullptr;
      answers[i] = std::move(rows);
    });
  s.io.restart();
  s.io.run();
  return !failed;
}

template <class Query>
void with_pipeline(benchmark::State& state, Query query) {
  auto& s = setup::get();
  if (!s.cluster) return state.SkipWithError(s.error.c_str());
  auto [request, merge] = query();
  auto pipe = sg::scatter(s.cluster->shards) | sg::on(s.io.get_executor()) | sg::gather(merge);
  for (auto _ : state) {
    bool failed = false;
    pipe.async(request, [&](std::error_code ec, auto result) {
      failed = static_cast<bool>(ec);
      benchmark::DoNotOptimize(finish(result.value));
    });
    s.io.restart();
    s.io.run();
    if (failed) return state.SkipWithError("a shard failed");
  }
}

template <class Query>
void adapter_only(benchmark::State& state, Query query) {
  auto& s = setup::get();
  if (!s.cluster) return state.SkipWithError(s.error.c_str());
  auto request = query().first;
  std::vector<rows_of<decltype(request)>> answers;
  for (auto _ : state) {
    if (!ask_every_shard(s, request, answers)) return state.SkipWithError("a shard failed");
    benchmark::DoNotOptimize(answers.data());
  }
}

template <class Query>
void merge_only(benchmark::State& state, Query query) {
  auto& s = setup::get();
  if (!s.cluster) return state.SkipWithError(s.error.c_str());
  auto [request, merge] = query();
  std::vector<rows_of<decltype(request)>> answers;
  if (!ask_every_shard(s, request, answers)) return state.SkipWithError("a shard failed");
  for (auto _ : state) {
    auto merged = merge(answers);
    benchmark::DoNotOptimize(finish(merged));
  }
}

template <class Query>
void register_query(char const* name, Query query) {
  const std::string n = name;
  benchmark::RegisterBenchmark(("sg/" + n).c_str(), with_pipeline<Query>, query)->UseRealTime()->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark(("raw/" + n).c_str(), adapter_only<Query>, query)->UseRealTime()->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark(("merge/" + n).c_str(), merge_only<Query>, query)->UseRealTime()->Unit(benchmark::kMillisecond);
}

}  // namespace

int main(int argc, char** argv) {
  register_query("by_region", db::by_region);
  register_query("top_spenders", db::top_spenders);
  register_query("latest", db::latest);
  register_query("distinct", db::distinct_customers);
  register_query("hll", db::customer_registers);
  register_query("revenue", db::revenue_by_name);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
