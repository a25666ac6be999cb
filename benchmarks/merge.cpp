// The merges beside their strongest baselines, in one binary. Ratios: scripts/bench-ratios.py;
// results and what they mean: docs/benchmarks.md, docs/merges.md. Each merge is called as
// a user calls it: on runs the caller keeps (a const std::vector<std::vector<>>&).
//  * sorted: 16M int64 in total, random, k = 2, 8, 64, 1024 runs, into a new vector, beside
//    __gnu_parallel::multiway_merge with sequential_tag (libstdc++'s loser tree) into a
//    vector it allocates in the timed region, a std::priority_queue merge, and a plain copy
//    of the same data into a new vector (the floor); also sg as a pipeline feeds it (runs
//    handed over by move: merge_sg_moved), and sg and GNU into a buffer already in memory
//    (merge_sg_into, merge_gnu_into: the merges alone);
//  * the same for 2M strings and 2M (int64, int32) tuples at k = 8, 64 (generic
//    comparators: the loser tree, not the arithmetic merge tree), beside GNU's
//    multiway_merge and stable_multiway_merge;
//  * top_k: 64 shards × their sorted top 1000 → the global top 1000, beside concatenate +
//    nth_element + sort and concatenate + partial_sort;
//  * hash_aggregate (count, sum): 16 partial tables × 1M rows at 1k and 4M groups, beside a
//    hand-written boost::unordered_flat_map loop and a std::unordered_map loop; and the
//    shard side, partial() of 16M rows, beside the same loops;
//  * HyperLogLog: merging 64 sketches of precision 14 (time per register).
#include <sg/agg/count.hpp>
#include <sg/agg/hyperloglog.hpp>
#include <sg/agg/sum.hpp>
#include <sg/merge/hash_aggregate.hpp>
#include <sg/merge/sorted.hpp>
#include <sg/merge/top_k.hpp>

#include <benchmark/benchmark.h>
#include "benchmark_main.hpp"
#include <parallel/algorithm>

#include <boost/unordered/unordered_flat_map.hpp>

#include <algorithm>
#include <cstdint>
#include <unordered_map>
#include <functional>
#include <queue>
#include <random>
#include <span>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace {

constexpr std::size_t total = std::size_t{1} << 24;  // 16M

template <class T>
T random_value(std::mt19937_64& rng);
template <>
std::int64_t random_value<std::int64_t>(std::mt19937_64& rng) {
  return static_cast<std::int64_t>(rng() >> 1);
}

// k sorted runs of random T, `rows` in all; the last set made is kept for the next call.
template <class T>
std::vector<std::vector<T>> const& sorted_runs(std::size_t k, std::size_t rows) {
  static std::vector<std::vector<T>> cached;
  static std::size_t cached_k = 0, cached_rows = 0;
  if (cached_k != k || cached_rows != rows) {
    std::mt19937_64 rng(k);
    cached.assign(k, {});
    for (auto& r : cached) {
      r.resize(rows / k);
      for (auto& x : r) x = random_value<T>(rng);
      std::sort(r.begin(), r.end());
    }
    cached_k = k;
    cached_rows = rows;
  }
  return cached;
}

std::vector<std::vector<std::int64_t>> const& runs(std::size_t k) { return sorted_runs<std::int64_t>(k, total); }

void set_bytes(benchmark::State& state) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * total));
}

// As a user calls it: the runs stay the caller's (a const std::vector<std::vector<>>&),
// the result is a new vector.
void merge_sg(benchmark::State& state) {
  auto const& r = runs(static_cast<std::size_t>(state.range(0)));
  const auto m = sg::merge::sorted();
  for (auto _ : state) {
    auto out = m(r);
    benchmark::DoNotOptimize(out.data());
  }
  set_bytes(state);
}

// The same with the merge tree's SIMD kernels turned off (the portable branch-free loops):
// what the AVX2 / AVX-512 kernels add (sg/merge/detail/merge_kernel.hpp).
void merge_sg_portable(benchmark::State& state) {
  auto const& r = runs(static_cast<std::size_t>(state.range(0)));
  const auto m = sg::merge::sorted();
  sg::merge::detail::forced_merge_isa = static_cast<int>(sg::merge::detail::merge_isa::portable);
  for (auto _ : state) {
    auto out = m(r);
    benchmark::DoNotOptimize(out.data());
  }
  sg::merge::detail::forced_merge_isa = -1;
  set_bytes(state);
}

// As a pipeline calls it: the accumulator is handed each run by move (the copies are made
// outside the timed region), and checks each as it is added.
void merge_sg_moved(benchmark::State& state) {
  auto const& r = runs(static_cast<std::size_t>(state.range(0)));
  const auto m = sg::merge::sorted();
  for (auto _ : state) {
    state.PauseTiming();
    auto copy = r;
    state.ResumeTiming();
    auto out = m(std::move(copy));
    benchmark::DoNotOptimize(out.data());
  }
  set_bytes(state);
}

// The caller's span, into memory already touched: the merge (and its check) alone.
void merge_sg_into(benchmark::State& state) {
  auto const& r = runs(static_cast<std::size_t>(state.range(0)));
  std::vector<std::int64_t> out(total);
  const auto m = sg::merge::sorted();
  for (auto _ : state) {
    benchmark::DoNotOptimize(m(r, std::span(out)).data());
    benchmark::ClobberMemory();
  }
  set_bytes(state);
}

// GNU's interface wants mutable iterators; it only reads through them.
std::vector<std::pair<std::int64_t*, std::int64_t*>> gnu_sequences(std::vector<std::vector<std::int64_t>> const& r) {
  std::vector<std::pair<std::int64_t*, std::int64_t*>> seqs;
  for (auto const& run : r) {
    auto* first = const_cast<std::int64_t*>(run.data());
    seqs.emplace_back(first, first + run.size());
  }
  return seqs;
}

void merge_gnu(benchmark::State& state) {
  auto const& r = runs(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    auto seqs = gnu_sequences(r);
    std::vector<std::int64_t> out(total);
    __gnu_parallel::multiway_merge(seqs.begin(), seqs.end(), out.begin(), total,
                                   std::less<std::int64_t>{}, __gnu_parallel::sequential_tag());
    benchmark::DoNotOptimize(out.data());
  }
  set_bytes(state);
}

// GNU into memory already touched: beside merge_sg_into.
void merge_gnu_into(benchmark::State& state) {
  auto const& r = runs(static_cast<std::size_t>(state.range(0)));
  std::vector<std::int64_t> out(total);
  for (auto _ : state) {
    auto seqs = gnu_sequences(r);
    __gnu_parallel::multiway_merge(seqs.begin(), seqs.end(), out.begin(), total,
                                   std::less<std::int64_t>{}, __gnu_parallel::sequential_tag());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
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

// The floor: a plain copy of the input into a new vector (reserved, then appended to, as
// sg fills its result).
void copy_floor(benchmark::State& state) {
  auto const& r = runs(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    std::vector<std::int64_t> out;
    out.reserve(total);
    for (auto const& run : r) out.insert(out.end(), run.begin(), run.end());
    benchmark::DoNotOptimize(out.data());
  }
  set_bytes(state);
}

// --- sorted, generic comparators: strings and tuples (the loser tree) ---------------------

constexpr std::size_t generic_total = std::size_t{1} << 21;  // 2M

template <>
std::string random_value<std::string>(std::mt19937_64& rng) {
  std::string s(12, ' ');  // fits the small-string buffer: no allocation per string
  for (auto& c : s) c = static_cast<char>('a' + rng() % 26);
  return s;
}
using pair_key = std::tuple<std::int64_t, std::int32_t>;
template <>
pair_key random_value<pair_key>(std::mt19937_64& rng) {
  return {static_cast<std::int64_t>(rng() % 1000), static_cast<std::int32_t>(rng() % 1000)};
}

template <class T>
void merge_sg_generic(benchmark::State& state) {
  auto const& r = sorted_runs<T>(static_cast<std::size_t>(state.range(0)), generic_total);
  const auto m = sg::merge::sorted();
  for (auto _ : state) {
    auto out = m(r);  // the caller's runs, read in place
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * generic_total));
}

template <class T, bool Stable>
void merge_gnu_generic(benchmark::State& state) {
  auto const& r = sorted_runs<T>(static_cast<std::size_t>(state.range(0)), generic_total);
  for (auto _ : state) {
    std::vector<std::pair<T*, T*>> seqs;  // GNU only reads through these
    for (auto const& run : r) {
      auto* first = const_cast<T*>(run.data());
      seqs.emplace_back(first, first + run.size());
    }
    std::vector<T> out(generic_total);
    if constexpr (Stable)  // the like-for-like baseline: sg's merge is stable
      __gnu_parallel::stable_multiway_merge(seqs.begin(), seqs.end(), out.begin(), generic_total, std::less<T>{},
                                            __gnu_parallel::sequential_tag());
    else
      __gnu_parallel::multiway_merge(seqs.begin(), seqs.end(), out.begin(), generic_total, std::less<T>{},
                                     __gnu_parallel::sequential_tag());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * generic_total));
}

// --- top_k -----------------------------------------------------------------------------

constexpr std::size_t top_shards = 64, top_n = 1000;

std::vector<std::vector<std::int64_t>> const& top_answers() {
  static const auto answers = [] {
    std::mt19937_64 rng(7);
    std::vector<std::vector<std::int64_t>> a(top_shards, std::vector<std::int64_t>(top_n));
    for (auto& r : a) {
      for (auto& x : r) x = static_cast<std::int64_t>(rng() >> 1);
      std::sort(r.begin(), r.end(), std::greater<>{});  // each shard's own top 1000, highest first
    }
    return a;
  }();
  return answers;
}

// As a user calls it: the answers stay the caller's. Arg 0: every answer's order checked
// (the default); 1: presorted_answers().
void top_k_sg(benchmark::State& state) {
  const auto checked = sg::merge::top_k(top_n, std::greater<>{});
  const auto m = state.range(0) == 0 ? checked : checked.presorted_answers();
  auto const& answers = top_answers();
  for (auto _ : state) {
    auto out = m(answers);
    benchmark::DoNotOptimize(out.data());
  }
}

std::vector<std::int64_t> concatenated() {
  std::vector<std::int64_t> all;
  all.reserve(top_shards * top_n);
  for (auto const& r : top_answers()) all.insert(all.end(), r.begin(), r.end());
  return all;
}

void top_k_nth_element(benchmark::State& state) {
  for (auto _ : state) {
    auto all = concatenated();
    std::nth_element(all.begin(), all.begin() + top_n, all.end(), std::greater<>{});
    all.resize(top_n);
    std::sort(all.begin(), all.end(), std::greater<>{});
    benchmark::DoNotOptimize(all.data());
  }
}

void top_k_partial_sort(benchmark::State& state) {
  for (auto _ : state) {
    auto all = concatenated();
    std::partial_sort(all.begin(), all.begin() + top_n, all.end(), std::greater<>{});
    all.resize(top_n);
    benchmark::DoNotOptimize(all.data());
  }
}

// --- hash_aggregate ----------------------------------------------------------------------

constexpr std::size_t agg_tables = 16, agg_rows = std::size_t{1} << 20;

// Amount: std::int64_t (sg's sum state is then 128 bits: overflow is detected) or double
// (an 8-byte state like the loop's: the same row size on both sides).
template <class Amount>
struct sale {
  std::int64_t key;
  Amount amount;
};

template <class Amount>
const auto count_sum =
    sg::merge::hash_aggregate(&sale<Amount>::key, sg::agg::count(), sg::agg::sum(&sale<Amount>::amount));
template <class Amount>
using sg_table = sg::merge::partial_table_t<decltype(count_sum<Amount>), sale<Amount>>;

// The same partial rows as the baselines see them: key, count, sum.
template <class Amount>
struct plain_partial {
  std::int64_t key;
  std::uint64_t count;
  Amount sum;
};
template <class Amount>
struct plain_state {
  std::uint64_t count = 0;
  Amount sum = 0;
};

template <class Amount>
struct agg_input {
  std::vector<sg_table<Amount>> sg;
  std::vector<std::vector<plain_partial<Amount>>> plain;
  std::vector<sale<Amount>> rows;  // 16M raw rows, for the shard side
};

template <class Amount>
agg_input<Amount> const& agg_data(std::size_t groups) {
  static agg_input<Amount> cached;
  static std::size_t cached_groups = 0;
  if (cached_groups != groups) {
    std::mt19937_64 rng(groups);
    cached = {};
    const auto sum = sg::agg::sum(&sale<Amount>::amount);
    for (std::size_t t = 0; t < agg_tables; ++t) {
      sg_table<Amount> table(agg_rows);
      std::vector<plain_partial<Amount>> plain(agg_rows);
      for (std::size_t i = 0; i < agg_rows; ++i) {
        const sale<Amount> s{static_cast<std::int64_t>(rng() % groups), static_cast<Amount>(rng() % 1000)};
        const std::uint64_t n = 1 + rng() % 4;
        auto state_sum = sum.template init<sale<Amount>>();
        for (std::uint64_t j = 0; j < n; ++j) sum.update(state_sum, s);
        table[i] = {s.key, {n, state_sum}};
        plain[i] = {s.key, n, s.amount * static_cast<Amount>(n)};
        cached.rows.push_back(s);
      }
      cached.sg.push_back(std::move(table));
      cached.plain.push_back(std::move(plain));
    }
    cached_groups = groups;
  }
  return cached;
}

template <class Amount>
void aggregate_merge_sg(benchmark::State& state) {
  auto const& in = agg_data<Amount>(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    state.PauseTiming();
    auto tables = in.sg;  // the accumulator takes each answer by move, as in a pipeline
    state.ResumeTiming();
    auto out = count_sum<Amount>(std::move(tables));
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * agg_tables * agg_rows));
}

// Like sg, the loop is handed copies of the answers and frees each once merged (freeing
// 16 tables of 1M rows is a measurable part of both).
template <class Map, class Amount>
void aggregate_merge_loop(benchmark::State& state) {
  auto const& in = agg_data<Amount>(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    state.PauseTiming();
    auto tables = in.plain;
    state.ResumeTiming();
    Map groups;
    for (auto& table : tables) {
      for (auto const& p : table) {
        auto& g = groups[p.key];
        g.count += p.count;
        g.sum += p.sum;
      }
      std::vector<plain_partial<Amount>>().swap(table);
    }
    benchmark::DoNotOptimize(groups.size());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * agg_tables * agg_rows));
}

void aggregate_partial_sg(benchmark::State& state) {
  auto const& in = agg_data<std::int64_t>(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    auto table = count_sum<std::int64_t>.partial(in.rows);
    benchmark::DoNotOptimize(table.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * in.rows.size()));
}

template <class Map>
void aggregate_partial_loop(benchmark::State& state) {
  auto const& in = agg_data<std::int64_t>(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    Map groups;
    for (auto const& s : in.rows) {
      auto& g = groups[s.key];
      ++g.count;
      g.sum += s.amount;
    }
    benchmark::DoNotOptimize(groups.size());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * in.rows.size()));
}

// The coordinator of a two-phase query: 8 shards' answers, each one state per group of the
// shard (distinct keys, about half of a domain of range(0) keys), merged and finished into
// rows. The baseline is the loop a user would write for it: a flat map sized for the first
// answer, then one row per group into a reserved vector.
constexpr std::size_t answer_tables = 8;

struct answers_input {
  std::vector<sg_table<std::int64_t>> sg;
  std::vector<std::vector<plain_partial<std::int64_t>>> plain;
  std::size_t rows = 0;
};

answers_input const& answers_data(std::size_t domain) {
  static answers_input cached;
  static std::size_t cached_domain = 0;
  if (cached_domain != domain) {
    std::mt19937_64 rng(domain + 1);
    cached = {};
    const auto sum = sg::agg::sum(&sale<std::int64_t>::amount);
    for (std::size_t t = 0; t < answer_tables; ++t) {
      sg_table<std::int64_t> table;
      std::vector<plain_partial<std::int64_t>> plain;
      for (std::size_t k = 0; k < domain; ++k) {
        if (rng() % 2 != 0) continue;
        const sale<std::int64_t> s{static_cast<std::int64_t>(k), static_cast<std::int64_t>(rng() % 1000)};
        auto state_sum = sum.template init<sale<std::int64_t>>();
        sum.update(state_sum, s);
        table.push_back({s.key, {1, state_sum}});
        plain.push_back({s.key, 1, s.amount});
      }
      cached.rows += table.size();
      cached.sg.push_back(std::move(table));
      cached.plain.push_back(std::move(plain));
    }
    cached_domain = domain;
  }
  return cached;
}

void aggregate_answers_sg(benchmark::State& state) {
  auto const& in = answers_data(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    state.PauseTiming();
    auto tables = in.sg;
    state.ResumeTiming();
    auto out = count_sum<std::int64_t>(std::move(tables));
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * in.rows));
}

void aggregate_answers_loop(benchmark::State& state) {
  auto const& in = answers_data(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    state.PauseTiming();
    auto tables = in.plain;
    state.ResumeTiming();
    boost::unordered_flat_map<std::int64_t, plain_state<std::int64_t>> groups;
    groups.reserve(tables.front().size());
    for (auto& table : tables) {
      for (auto const& p : table) {
        auto& g = groups[p.key];
        g.count += p.count;
        g.sum += p.sum;
      }
      std::vector<plain_partial<std::int64_t>>().swap(table);
    }
    std::vector<plain_partial<std::int64_t>> out;
    out.reserve(groups.size());
    for (auto const& [k, g] : groups) out.push_back({k, g.count, g.sum});
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * in.rows));
}

template <class Amount>
using flat_map = boost::unordered_flat_map<std::int64_t, plain_state<Amount>>;
template <class Amount>
using node_map = std::unordered_map<std::int64_t, plain_state<Amount>>;

// --- HyperLogLog ---------------------------------------------------------------------------

void hll_merge(benchmark::State& state) {
  std::vector<sg::agg::hyperloglog> sketches(64, sg::agg::hyperloglog(14));
  std::mt19937_64 rng(14);
  for (auto& s : sketches)
    for (int i = 0; i < 100000; ++i) s.add_hash(rng());
  for (auto _ : state) {
    sg::agg::hyperloglog merged(14);
    for (auto const& s : sketches) merged.merge(s);
    benchmark::DoNotOptimize(merged.registers().data());
  }
  // Items: registers merged, so the time per item is the time per register.
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * 64 * (1 << 14)));
}

}  // namespace

#define SG_MERGE_ARGS ->Arg(2)->Arg(8)->Arg(64)->Arg(1024)->Unit(benchmark::kMillisecond)
BENCHMARK(merge_sg) SG_MERGE_ARGS;
BENCHMARK(merge_sg_portable) SG_MERGE_ARGS;
BENCHMARK(merge_sg_moved) SG_MERGE_ARGS;
BENCHMARK(merge_sg_into) SG_MERGE_ARGS;
BENCHMARK(merge_gnu) SG_MERGE_ARGS;
BENCHMARK(merge_gnu_into) SG_MERGE_ARGS;
BENCHMARK(merge_heap) SG_MERGE_ARGS;
BENCHMARK(copy_floor) SG_MERGE_ARGS;

#define SG_GENERIC_ARGS ->Arg(8)->Arg(64)->Unit(benchmark::kMillisecond)
BENCHMARK_TEMPLATE(merge_sg_generic, std::string) SG_GENERIC_ARGS;
BENCHMARK_TEMPLATE(merge_gnu_generic, std::string, false) SG_GENERIC_ARGS;
BENCHMARK_TEMPLATE(merge_gnu_generic, std::string, true) SG_GENERIC_ARGS;
BENCHMARK_TEMPLATE(merge_sg_generic, pair_key) SG_GENERIC_ARGS;
BENCHMARK_TEMPLATE(merge_gnu_generic, pair_key, false) SG_GENERIC_ARGS;
BENCHMARK_TEMPLATE(merge_gnu_generic, pair_key, true) SG_GENERIC_ARGS;

BENCHMARK(top_k_sg)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK(top_k_nth_element)->Unit(benchmark::kMicrosecond);
BENCHMARK(top_k_partial_sort)->Unit(benchmark::kMicrosecond);

#define SG_AGG_ARGS ->Arg(1000)->Arg(4'000'000)->Unit(benchmark::kMillisecond)
BENCHMARK_TEMPLATE(aggregate_merge_sg, std::int64_t) SG_AGG_ARGS;
BENCHMARK_TEMPLATE(aggregate_merge_loop, flat_map<std::int64_t>, std::int64_t) SG_AGG_ARGS;
BENCHMARK_TEMPLATE(aggregate_merge_loop, node_map<std::int64_t>, std::int64_t) SG_AGG_ARGS;
// The abstraction's own cost: the same merge with 8-byte sums on both sides.
BENCHMARK_TEMPLATE(aggregate_merge_sg, double)->Arg(1000)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(aggregate_merge_loop, flat_map<double>, double)->Arg(1000)->Unit(benchmark::kMillisecond);
BENCHMARK(aggregate_partial_sg) SG_AGG_ARGS;
BENCHMARK_TEMPLATE(aggregate_partial_loop, flat_map<std::int64_t>) SG_AGG_ARGS;
BENCHMARK_TEMPLATE(aggregate_partial_loop, node_map<std::int64_t>) SG_AGG_ARGS;

BENCHMARK(aggregate_answers_sg)->Arg(2000)->Arg(200'000)->Unit(benchmark::kMicrosecond);
BENCHMARK(aggregate_answers_loop)->Arg(2000)->Arg(200'000)->Unit(benchmark::kMicrosecond);

BENCHMARK(hll_merge)->Unit(benchmark::kMicrosecond);

// Freed memory stays in the process, as in a server (benchmark_main.hpp): a 128 MB result
// is then not 32,768 fresh pages from the kernel on every call. SG_BENCH_FRESH_MEMORY=1
// runs with glibc's defaults instead.
SG_BENCHMARK_MAIN();
