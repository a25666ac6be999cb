// sg::local::run of a top-k row query (WHERE day < cut ORDER BY cents DESC, id LIMIT k) over
// 1,000,000 rows of 32 bytes in random order, what a shard computes for a pushed-down
// top-k, beside two baselines a user would write: copy the rows that pass and select
// (std::nth_element, then sort the first k) — what sg itself did before it kept a buffer of
// candidates — and a bounded std::priority_queue of k rows. Both baselines break ties by
// the id column, so all three give the same rows. Arguments: k, then the percentage of rows
// the filter passes.
// Then a scan of the same rows against an IN list (WHERE cents IN (n values), or id IN:
// ids ascend, so successive searches take nearly the same path), what a full scatter of a
// key lookup costs a shard: sg::in's predicate (a hash set of the values) beside a
// std::ranges::binary_search of the sorted list (what sg::in did before) and a
// hand-written loop over a boost::unordered_flat_set. Arguments: the list's length, 1 for ids.
// Then the coordinator's half of a pushed-down top-k (a merge of sorted answers) and of
// fetch-all (a selection over every row), what sg::cost's top-k profiles price.
// Ratios: scripts/bench-ratios.py; results: docs/benchmarks.md, docs/cost.md.
#include <sg/query/local.hpp>
#include <sg/query/predicate.hpp>
#include <sg/query/query.hpp>

#include <benchmark/benchmark.h>
#include <boost/unordered/unordered_flat_set.hpp>

#include <algorithm>
#include <cstdint>
#include <queue>
#include <random>
#include <ranges>
#include <vector>

#include "benchmark_main.hpp"

namespace {

struct fact {
  std::int64_t key;
  std::int32_t day;
  std::int32_t shard;
  std::int64_t cents;
  std::int64_t id;
};

constexpr std::size_t rows_n = 1'000'000;

std::vector<fact> const& rows() {
  static const std::vector<fact> r = [] {
    std::mt19937_64 rng(11);
    std::vector<fact> out;
    out.reserve(rows_n);
    for (std::size_t i = 0; i < rows_n; ++i)
      out.push_back({static_cast<std::int64_t>(rng() % 1000), static_cast<std::int32_t>(rng() % 100), 0,
                     static_cast<std::int64_t>(rng() % 1'000'000), static_cast<std::int64_t>(i)});
    return out;
  }();
  return r;
}

// ORDER BY cents DESC, id.
struct before {
  bool operator()(fact const& a, fact const& b) const { return a.cents > b.cents || (a.cents == b.cents && a.id < b.id); }
};

void BM_sg_top_k(benchmark::State& state) {
  const auto k = static_cast<std::size_t>(state.range(0));
  const auto cut = static_cast<std::int32_t>(state.range(1));
  auto q = sg::query(sg::where(sg::lt(&fact::day, cut)), sg::order_by(sg::desc(&fact::cents), sg::asc(&fact::id)),
                     sg::limit(k));
  for (auto _ : state) {
    auto out = sg::local::run(q, rows());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * rows_n));
}

void BM_select_top_k(benchmark::State& state) {
  const auto k = static_cast<std::size_t>(state.range(0));
  const auto cut = static_cast<std::int32_t>(state.range(1));
  for (auto _ : state) {
    std::vector<fact> out;
    for (auto const& r : rows())
      if (r.day < cut) out.push_back(r);
    if (k < out.size()) {
      std::nth_element(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(k), out.end(), before{});
      out.resize(k);
    }
    std::sort(out.begin(), out.end(), before{});
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * rows_n));
}

void BM_heap_top_k(benchmark::State& state) {
  const auto k = static_cast<std::size_t>(state.range(0));
  const auto cut = static_cast<std::int32_t>(state.range(1));
  for (auto _ : state) {
    std::priority_queue<fact, std::vector<fact>, before> heap;  // top(): the worst kept
    for (auto const& r : rows()) {
      if (r.day >= cut) continue;
      if (heap.size() < k) {
        heap.push(r);
      } else if (k > 0 && before{}(r, heap.top())) {
        heap.pop();
        heap.push(r);
      }
    }
    std::vector<fact> out(heap.size());
    for (std::size_t i = out.size(); i-- > 0; heap.pop()) out[i] = heap.top();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * rows_n));
}

#define SG_TOP_K_ARGS                                                                                     \
  ->ArgsProduct({{10, 1000, 100000}, {100, 50}})->ArgNames({"k", "pass%"})->Unit(benchmark::kMillisecond)
BENCHMARK(BM_sg_top_k) SG_TOP_K_ARGS;
BENCHMARK(BM_select_top_k) SG_TOP_K_ARGS;
BENCHMARK(BM_heap_top_k) SG_TOP_K_ARGS;

// Up to n distinct values of [0, 2,000,000): a row is in the list with probability about
// n / 2,000,000.
std::vector<std::int64_t> in_list(std::size_t n) {
  std::mt19937_64 rng(12);
  std::vector<std::int64_t> v(n);
  for (auto& x : v) x = static_cast<std::int64_t>(rng() % (2 * rows_n));
  std::ranges::sort(v);
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

// The column searched: cents (random), or id (ascending) when the second argument is 1.
std::int64_t fact::*column(benchmark::State const& state) { return state.range(1) ? &fact::id : &fact::cents; }

void BM_sg_in_scan(benchmark::State& state) {
  const auto list = in_list(static_cast<std::size_t>(state.range(0)));
  const auto p = sg::in(column(state), list);
  for (auto _ : state) {
    std::size_t n = 0;
    for (auto const& r : rows()) n += p(r) ? 1 : 0;
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * rows_n));
}

void BM_binary_search_in_scan(benchmark::State& state) {
  const auto list = in_list(static_cast<std::size_t>(state.range(0)));
  const auto key = column(state);
  for (auto _ : state) {
    std::size_t n = 0;
    for (auto const& r : rows()) n += std::ranges::binary_search(list, r.*key) ? 1 : 0;
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * rows_n));
}

void BM_hash_set_in_scan(benchmark::State& state) {
  const auto list = in_list(static_cast<std::size_t>(state.range(0)));
  const boost::unordered_flat_set<std::int64_t> set(list.begin(), list.end());
  const auto key = column(state);
  for (auto _ : state) {
    std::size_t n = 0;
    for (auto const& r : rows()) n += set.contains(r.*key) ? 1 : 0;
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * rows_n));
}

#define SG_IN_ARGS                                                                           \
  ->ArgsProduct({{30, 300, 3000, 30000, 100000, 1000000}, {0, 1}})->ArgNames({"values", "ids"}) \
      ->Unit(benchmark::kMillisecond)
BENCHMARK(BM_sg_in_scan) SG_IN_ARGS;
BENCHMARK(BM_binary_search_in_scan) SG_IN_ARGS;
BENCHMARK(BM_hash_set_in_scan) SG_IN_ARGS;

// The coordinator's half of the two top-k plans, which sg::cost prices (sg/cost/plans.hpp):
// merging `shards` answers of `rows` rows, each already sorted by its shard (pushdown), and
// selecting from the same rows unsorted (fetch-all), ORDER BY cents DESC, id LIMIT 50,000.
// Time per row: the merge's slope per doubling of the shards is what one match of its loser
// tree costs; the selection's time over 1.5 log2(rows) is what one of its comparisons does.
auto coordinator_query() {
  return sg::query(sg::order_by(sg::desc(&fact::cents), sg::asc(&fact::id)), sg::limit(50000));
}

std::vector<std::vector<fact>> answers(std::size_t shards, std::size_t rows_each, bool sorted) {
  const auto q = coordinator_query();
  std::vector<std::vector<fact>> out(shards);
  for (std::size_t i = 0; i < shards; ++i) {
    const auto from = rows().begin() + static_cast<std::ptrdiff_t>(i * rows_each);
    out[i].assign(from, from + static_cast<std::ptrdiff_t>(rows_each));
    if (sorted) out[i] = sg::local::run(q, out[i]);
  }
  return out;
}

void BM_sg_pushdown_merge(benchmark::State& state) {
  const auto shards = static_cast<std::size_t>(state.range(0)), each = static_cast<std::size_t>(state.range(1));
  const auto q = coordinator_query();
  const auto in = answers(shards, each, true);
  for (auto _ : state) {
    auto acc = q.accumulator<std::vector<fact>>();
    for (std::size_t i = 0; i < shards; ++i) acc.add(i, std::vector<fact>(in[i]));
    auto out = std::move(acc).finish();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * shards * each));
}

void BM_sg_fetch_all_select(benchmark::State& state) {
  const auto shards = static_cast<std::size_t>(state.range(0)), each = static_cast<std::size_t>(state.range(1));
  const auto q = coordinator_query();
  const auto in = answers(shards, each, false);
  for (auto _ : state) {
    auto out = sg::local::evaluate(q, in | std::views::join);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * shards * each));
}

#define SG_COORDINATOR_ARGS \
  ->ArgsProduct({{1, 2, 4, 8, 16}, {1000, 5000}})->ArgNames({"shards", "rows"})->Unit(benchmark::kMicrosecond)
BENCHMARK(BM_sg_pushdown_merge) SG_COORDINATOR_ARGS;
BENCHMARK(BM_sg_fetch_all_select) SG_COORDINATOR_ARGS;

}  // namespace

SG_BENCHMARK_MAIN();
