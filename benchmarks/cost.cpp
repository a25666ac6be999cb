// How often sg::cost::choose picks the plan that really is cheapest. On a grid of synthetic
// scenarios (data sizes, selectivities, group counts, skew, shard counts, key counts, join
// sizes) every alternative plan is executed for real, in memory, and its cost measured;
// sg's choice is then compared with the cheapest measured plan. The model's weights are
// first fitted (non-negative least squares on the differences between plans) on a
// separate calibration grid whose parameter values differ from the measured grid's.
//
//   build/bench/benchmarks/cost_accuracy [--smoke] [--verbose] [--dump FILE.csv] [--replay FILE.csv ...]
//
// --dump writes every plan's estimated profile and measured costs; --replay takes the real
// costs from such a file instead of measuring, so that a change of the model is scored on
// the very measurements the model before it was (the grids' data, and so the statistics,
// come from a fixed seed). Given several dumps, it scores each and then all together,
// beside the best that a choice fixed per scenario could do on those runs (across_runs).
//
// What "cost" means. Shards here are vectors in this process, run one after another on
// one thread, so the measured time of a plan is the total work of its shards and its
// coordinator — what sg's model estimates (resources, not latency). Every byte a plan
// moves between "machines" is really copied (a send is a copy of the vector). Two
// deployments are measured:
//  * in-process: cost = measured time;
//  * LAN: cost = measured time + 1 ns per byte moved (≈ 1 GB/s) + 50 µs per message — a
//    link this process does not have, added from the bytes and messages each plan
//    really sent (counted, not estimated).
// The model is calibrated for each deployment separately, as a user would for theirs.
// Not a Google Benchmark: the result is an accuracy, not a time. docs/cost.md has the figures.
#include <sg/agg/count.hpp>
#include <sg/agg/sum.hpp>
#include <sg/cost/choose.hpp>
#include <sg/cost/model.hpp>
#include <sg/cost/plans.hpp>
#include <sg/cost/statistics.hpp>
#include <sg/partition/jump.hpp>
#include <sg/partition/split.hpp>
#include <sg/query/join.hpp>
#include <sg/query/local.hpp>
#include <sg/query/query.hpp>

#include <boost/hana/for_each.hpp>
#include <boost/hana/tuple.hpp>
#include <boost/hana/unpack.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <ranges>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "keep_freed_memory.hpp"

namespace {

// --- data --------------------------------------------------------------------------------

struct fact {
  std::int64_t key;
  std::int32_t day;
  std::int32_t shard;
  std::int64_t cents;
  std::int64_t id;
};
static_assert(sizeof(fact) == 32);

struct dim {
  std::int64_t key;
  std::int64_t a, b, c;
};

using shard_rows = std::vector<std::vector<fact>>;

// A key in [0, domain): uniform, or skewed toward small keys (u³: the most common key
// has ~domain^(2/3) times the rows of the median one).
std::int64_t draw_key(std::mt19937_64& rng, std::int64_t domain, bool skew) {
  const double u = std::uniform_real_distribution<double>(0, 1)(rng);
  const double x = skew ? u * u * u : u;
  return std::min(domain - 1, static_cast<std::int64_t>(x * static_cast<double>(domain)));
}

shard_rows make_facts(std::mt19937_64& rng, std::size_t shards, std::size_t rows, std::int64_t keys, bool skew,
                      bool by_key) {
  shard_rows out(shards);
  const sg::partition::jump<> p(shards);
  std::int64_t id = 0;
  for (std::size_t i = 0; i < shards * rows; ++i) {
    fact f{draw_key(rng, keys, skew), static_cast<std::int32_t>(rng() % 1000), 0,
           static_cast<std::int64_t>(rng() % 100000), id++};
    const std::size_t s = by_key ? p.shard_of(f.key) : i % shards;
    f.shard = static_cast<std::int32_t>(s);
    out[s].push_back(f);
  }
  return out;
}

auto stats_of(shard_rows const& shards) {
  std::vector<decltype(sg::cost::collect(shards[0], &fact::key, &fact::day))> out;
  for (auto const& s : shards) out.push_back(sg::cost::collect(s, &fact::key, &fact::day));
  return out;
}

// --- the wire: every send is a real copy, and is counted ---------------------------------

struct wire {
  double bytes = 0;
  double messages = 0;
  template <class T>
  std::vector<T> send(std::vector<T> const& v) {
    bytes += static_cast<double>(v.size() * sizeof(T));
    messages += 1;
    return v;
  }
};

struct measured {
  double ns = 0;                  // best of the repetitions
  double half[2] = {1e300, 1e300};  // best of the even passes, of the odd passes (see record)
  double bytes = 0;
  double messages = 0;
  std::size_t answer = 0;  // a digest of the answer: every plan of a scenario must agree
};

// What a measured plan costs in a deployment (see the top of this file).
struct deployment {
  char const* name;
  double ns_per_byte, ns_per_message;
  double cost(measured const& m) const { return cost(m, m.ns); }
  double cost(measured const& m, double ns) const { return ns + m.bytes * ns_per_byte + m.messages * ns_per_message; }
};
constexpr std::array<deployment, 2> deployments{{{"in-process", 0, 0}, {"LAN (1 GB/s, 50 us a message)", 1.0, 50000}}};

// The best of at least `reps` runs, and of as many more as fill about 3 ms: a plan that
// takes 50 µs is run 60 times, where a timer tick, an interrupt or a cold cache line
// decides a best of two.
template <class F>
measured measure(F const& run, int reps) {
  measured m;
  m.ns = 1e300;
  constexpr double fill_ns = 3e6;
  constexpr int most = 200;
  double spent = 0;
  for (int r = 0; r < reps || (spent < fill_ns && r < most); ++r) {
    wire w;
    const auto t0 = std::chrono::steady_clock::now();
    const std::size_t answer = run(w);
    const auto t1 = std::chrono::steady_clock::now();
    const auto ns = static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
    spent += ns;
    m.ns = std::min(m.ns, ns);
    m.bytes = w.bytes;
    m.messages = w.messages;
    m.answer = answer;
  }
  return m;
}

// Where a grid's plans get their real costs: measured now, or read back from the --dump of
// an earlier run (--replay), so that a change of the model is scored on the very
// measurements the model before it was (two runs differ by more than most changes do).
struct replayed {
  std::map<std::string, measured> plans;  // by key(grid, family, scenario, plan)
  static std::string key(std::string_view grid, std::string_view family, std::string_view scenario,
                         std::string_view plan) {
    std::string k;
    for (auto part : {grid, family, scenario, plan}) (k += part) += '\x1f';
    return k;
  }
};

struct sourcing {
  int reps;                         // see measure
  char const* grid;                 // "calibration" or "measured", as --dump names them
  replayed const* replay = nullptr;  // null: measure
};

// --- scenarios -----------------------------------------------------------------------------

// The model every scenario is chosen with: the eight built-in terms, in this order.
using model_t = decltype(sg::cost::model(sg::cost::cpu(1), sg::cost::io(1), sg::cost::network(1), sg::cost::memory(1),
                                         sg::cost::requests(1), sg::cost::cache(1), sg::cost::hashing(1),
                                         sg::cost::sorting(1)));
constexpr std::size_t terms = 8;

model_t make_model(std::array<double, terms> const& w) {
  return sg::cost::model(sg::cost::cpu(w[0]), sg::cost::io(w[1]), sg::cost::network(w[2]), sg::cost::memory(w[3]),
                         sg::cost::requests(w[4]), sg::cost::cache(w[5]), sg::cost::hashing(w[6]),
                         sg::cost::sorting(w[7]));
}

std::array<double, terms> features(sg::cost::profile const& p) {
  return {p.cpu_rows, p.rows_read, p.bytes_sent, p.coordinator_bytes, p.requests, p.cache_misses, p.hash_probes,
          p.comparisons};
}

struct alternative {
  std::string name;
  bool applicable = true;
  sg::cost::profile estimate;
  measured real;
};

struct scenario {
  std::string family, label;
  std::vector<alternative> alternatives;
  std::function<std::size_t(model_t const&)> choose;  // sg::cost::choose over the real plans
};

// Gives every applicable plan of `s` its measurement in `dump`'s `grid`.
void replay_into(scenario& s, replayed const& dump, char const* grid) {
  for (auto& a : s.alternatives) {
    if (!a.applicable) continue;
    const auto at = dump.plans.find(replayed::key(grid, s.family, s.label, a.name));
    if (at == dump.plans.end())
      throw std::runtime_error("the replayed dump has no measurement of \"" + a.name + "\" in the " + grid +
                               " grid's \"" + s.family + " " + s.label +
                               "\" (was it written by another version of this benchmark, or with(out) --smoke?)");
    a.real = at->second;
  }
}

// Fills `s` from a list of plans over `stats` and their executors.
template <class Stats, class... Plans, class... Runs>
void record(scenario& s, Stats stats, boost::hana::tuple<Plans...> plans, boost::hana::tuple<Runs...> runs,
            sourcing const& from) {
  boost::hana::for_each(plans, [&](auto const& plan) {
    alternative a;
    a.name = plan.name();
    const std::optional<sg::cost::profile> p = plan.profile(stats);
    a.applicable = p.has_value();
    if (p) a.estimate = *p;
    s.alternatives.push_back(a);
  });
  s.choose = [stats = std::move(stats), plans](model_t const& m) {
    return boost::hana::unpack(plans, [&](auto const&... p) { return sg::cost::choose(m, stats, p...).index; });
  };
  if (from.replay) {
    replay_into(s, *from.replay, from.grid);
    return;
  }
  const int reps = from.reps;
  std::size_t i = 0;
  boost::hana::for_each(runs, [&](auto const& run) {
    if (s.alternatives[i].applicable) {
      s.alternatives[i].real = measure(run, reps);
      s.alternatives[i].real.half[0] = s.alternatives[i].real.ns;
    }
    ++i;
  });
  // Interleave a second pass in reverse order, keeping each plan's best time: the machine's
  // drift does not favour whichever plan ran first. The even passes and the odd ones are
  // two independent measurements of the scenario (real.half): where they disagree on the
  // cheapest plan, the measurement cannot tell those plans apart (see score).
  int passes = 1;
  auto pass = [&](bool reverse) {
    const int h = passes++ % 2;
    for (std::size_t n = 0; n < s.alternatives.size(); ++n) {
      const std::size_t j = reverse ? s.alternatives.size() - 1 - n : n;
      std::size_t k = 0;
      boost::hana::for_each(runs, [&](auto const& run) {
        if (k == j && s.alternatives[k].applicable) {
          auto& r = s.alternatives[k].real;
          const double ns = measure(run, reps).ns;
          r.ns = std::min(r.ns, ns);
          r.half[h] = std::min(r.half[h], ns);
        }
        ++k;
      });
    }
  };
  pass(true);
  // A near tie is measured again: which of two close plans is cheaper is what the score
  // counts, and a noisy run decides it. Two passes more when the two cheapest are within
  // 10 % of each other in either deployment, six more within 3 %. How many is decided by
  // the gap the first two passes saw, never by whether the halves agree yet (stopping once
  // they agree would make them agree more often than the measurement deserves).
  auto gap = [&](deployment const& d) {
    double best = 1e300, second = 1e300;
    for (auto const& a : s.alternatives) {
      if (!a.applicable) continue;
      const double c = d.cost(a.real);
      if (c < best) second = std::exchange(best, c);
      else if (c < second) second = c;
    }
    return second / best;
  };
  double closest = 1e300;
  for (auto const& d : deployments) closest = std::min(closest, gap(d));
  const int more = closest < 1.03 ? 6 : closest < 1.1 ? 2 : 0;
  for (int extra = 0; extra < more; extra += 2) {
    pass(false);
    pass(true);
  }
}

std::size_t digest_rows(std::size_t n, std::int64_t sum) { return n * 1000003u + static_cast<std::size_t>(sum); }

// The digest of a row answer: its size and the sum of its ids.
std::size_t digest_of_facts(std::vector<fact> const& result) {
  std::int64_t sum = 0;
  for (auto const& r : result) sum += r.id;
  return digest_rows(result.size(), sum);
}

// Aggregation: SELECT key, COUNT(*), SUM(cents) WHERE day < cut GROUP BY key.
scenario aggregation(std::mt19937_64& rng, std::size_t shards, std::size_t rows, std::int64_t groups, double sel,
                     bool skew, sourcing const& from) {
  scenario s{"aggregation", "", {}, {}};
  s.label = std::to_string(shards) + " shards x " + std::to_string(rows) + " rows, " + std::to_string(groups) +
            " groups, sel " + std::to_string(sel).substr(0, 4) + (skew ? ", skewed" : "");
  auto data = make_facts(rng, shards, rows, groups, skew, false);
  auto q = sg::query(sg::where(sg::lt(&fact::day, static_cast<std::int32_t>(sel * 1000))), sg::group_by(&fact::key),
                     sg::aggregate(sg::agg::count(), sg::agg::sum(&fact::cents)));
  auto digest = [](auto const& result) {
    std::int64_t sum = 0;
    for (auto const& r : result) sum += std::get<2>(r);
    return digest_rows(result.size(), sum);
  };
  auto one = [&](wire& w) {
    std::vector<std::vector<fact>> shipped;
    auto filter = sg::query(sg::where(q.where_part.predicate));
    for (auto const& d : data) shipped.push_back(w.send(sg::local::run(filter, d)));
    auto unfiltered = sg::query(sg::group_by(&fact::key), sg::aggregate(sg::agg::count(), sg::agg::sum(&fact::cents)));
    return digest(sg::local::evaluate(unfiltered, shipped | std::views::join));
  };
  auto two = [&](wire& w) {
    using table = decltype(sg::local::run(q, data[0]));
    auto acc = q.accumulator<table>();
    for (std::size_t i = 0; i < data.size(); ++i) acc.add(i, w.send(sg::local::run(q, data[i])));
    return digest(std::move(acc).finish());
  };
  auto three = [&](wire& w) {
    const sg::partition::jump<> p(shards);
    using table = decltype(sg::local::run(q, data[0]));
    std::vector<std::vector<table>> inbox(shards);
    for (std::size_t i = 0; i < shards; ++i) {
      auto parts = sg::local::exchange(q, data[i], p);
      for (std::size_t j = 0; j < shards; ++j) inbox[j].push_back(j == i ? std::move(parts[j]) : w.send(parts[j]));
    }
    using rows_t = decltype(sg::local::merge_exchanged(q, inbox[0]));
    auto acc = q.colocated().accumulator<rows_t>();
    for (std::size_t j = 0; j < shards; ++j) acc.add(j, w.send(sg::local::merge_exchanged(q, std::move(inbox[j]))));
    return digest(std::move(acc).finish());
  };
  record(s, stats_of(data),
         boost::hana::make_tuple(sg::cost::one_phase<fact>(q), sg::cost::two_phase<fact>(q), sg::cost::three_phase<fact>(q)),
         boost::hana::make_tuple(one, two, three), from);
  return s;
}

// Top-k: SELECT * WHERE day < cut ORDER BY cents DESC, id LIMIT k.
scenario top_k(std::mt19937_64& rng, std::size_t shards, std::size_t rows, std::size_t k, double sel,
               sourcing const& from) {
  scenario s{"top-k", "", {}, {}};
  s.label = std::to_string(shards) + " shards x " + std::to_string(rows) + " rows, k " + std::to_string(k) + ", sel " +
            std::to_string(sel).substr(0, 4);
  auto data = make_facts(rng, shards, rows, 1000, false, false);
  auto where = sg::where(sg::lt(&fact::day, static_cast<std::int32_t>(sel * 1000)));
  auto q = sg::query(where, sg::order_by(sg::desc(&fact::cents), sg::asc(&fact::id)), sg::limit(k));
  auto pushdown = [&](wire& w) {
    auto acc = q.accumulator<std::vector<fact>>();
    for (std::size_t i = 0; i < data.size(); ++i) acc.add(i, w.send(sg::local::run(q, data[i])));
    return digest_of_facts(std::move(acc).finish());
  };
  auto fetch = [&](wire& w) {
    std::vector<std::vector<fact>> shipped;
    auto filter = sg::query(where);
    for (auto const& d : data) shipped.push_back(w.send(sg::local::run(filter, d)));
    return digest_of_facts(sg::local::evaluate(q, shipped | std::views::join));
  };
  record(s, stats_of(data), boost::hana::make_tuple(sg::cost::top_k_pushdown<fact>(q), sg::cost::fetch_all<fact>(q)),
         boost::hana::make_tuple(pushdown, fetch), from);
  return s;
}

// Lookups: SELECT * WHERE key IN (keys), the data partitioned by key, each shard's rows
// sorted by key (its index).
scenario lookup(std::mt19937_64& rng, std::size_t shards, std::size_t rows, std::size_t nkeys, sourcing const& from) {
  scenario s{"lookup", "", {}, {}};
  s.label = std::to_string(shards) + " shards x " + std::to_string(rows) + " rows, " + std::to_string(nkeys) + " keys";
  const auto domain = static_cast<std::int64_t>(shards * rows);
  auto data = make_facts(rng, shards, rows, domain, false, true);
  for (auto& d : data) std::ranges::sort(d, {}, &fact::key);
  std::vector<std::int64_t> keys(nkeys);
  for (auto& k : keys) k = draw_key(rng, domain, false);
  std::ranges::sort(keys);
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  const sg::partition::jump<> p(shards);
  auto q = sg::query(sg::where(sg::in(&fact::key, keys)));
  auto targeted = [&](wire& w) {
    auto routed = sg::partition::split(keys, p);
    std::vector<fact> result;
    for (std::size_t i = 0; i < shards; ++i) {
      if (routed[i].empty()) continue;
      std::vector<fact> found;
      for (auto k : routed[i])  // one descent, then the rows of the key
        for (auto at = std::ranges::lower_bound(data[i], k, {}, &fact::key); at != data[i].end() && at->key == k; ++at)
          found.push_back(*at);
      auto got = w.send(found);
      result.insert(result.end(), got.begin(), got.end());
    }
    return digest_of_facts(result);
  };
  auto scan = [&](wire& w) {
    std::vector<fact> result;
    for (auto const& d : data) {
      auto got = w.send(sg::local::run(q, d));
      result.insert(result.end(), got.begin(), got.end());
    }
    return digest_of_facts(result);
  };
  record(s, stats_of(data),
         boost::hana::make_tuple(sg::cost::targeted<fact>(q, p, keys), sg::cost::full_scatter<fact>(q, keys.size())),
         boost::hana::make_tuple(targeted, scan), from);
  return s;
}

// Join: facts ⋈ dims on key; co-partitioned by key, or not.
scenario join(std::mt19937_64& rng, std::size_t shards, std::size_t rows, std::size_t dim_rows, bool co,
              sourcing const& from) {
  scenario s{"join", "", {}, {}};
  s.label = std::to_string(shards) + " shards x " + std::to_string(rows) + " facts, " + std::to_string(dim_rows) +
            " dims/shard" + (co ? ", co-partitioned" : "");
  const auto domain = static_cast<std::int64_t>(shards * dim_rows);
  auto left = make_facts(rng, shards, rows, domain, false, co);
  const sg::partition::jump<> p(shards);
  std::vector<std::vector<dim>> right(shards);
  for (std::int64_t k = 0; k < domain; ++k) {
    const std::size_t at = co ? p.shard_of(k) : static_cast<std::size_t>(k) % shards;
    right[at].push_back({k, k, 2 * k, 3 * k});
  }
  std::vector<decltype(sg::cost::collect(right[0], &dim::key))> rstats;
  for (auto const& r : right) rstats.push_back(sg::cost::collect(r, &dim::key));
  auto lstats = std::vector<decltype(sg::cost::collect(left[0], &fact::key))>{};
  for (auto const& l : left) lstats.push_back(sg::cost::collect(l, &fact::key));
  using out_t = std::vector<std::pair<fact, dim>>;
  auto gather = [](wire& w, std::vector<out_t> const& parts) {
    out_t all;
    for (auto const& part : parts) {
      auto got = w.send(part);
      all.insert(all.end(), got.begin(), got.end());
    }
    std::int64_t sum = 0;
    for (auto const& [f, d] : all) sum += f.id + d.a;
    return digest_rows(all.size(), sum);
  };
  auto broadcast = [&](wire& w) {
    std::vector<out_t> parts;
    for (std::size_t i = 0; i < shards; ++i) {
      std::vector<dim> all;
      for (std::size_t j = 0; j < shards; ++j) {
        if (j == i) {
          all.insert(all.end(), right[j].begin(), right[j].end());
        } else {
          auto got = w.send(right[j]);
          all.insert(all.end(), got.begin(), got.end());
        }
      }
      parts.push_back(sg::local::hash_join(left[i], all, &fact::key, &dim::key));
    }
    return gather(w, parts);
  };
  auto shuffle = [&](wire& w) {
    std::vector<std::vector<fact>> ls(shards);
    std::vector<std::vector<dim>> rs(shards);
    for (std::size_t i = 0; i < shards; ++i) {
      auto lb = sg::partition::split(left[i], p, &fact::key);
      auto rb = sg::partition::split(right[i], p, &dim::key);
      for (std::size_t j = 0; j < shards; ++j) {
        auto lg = j == i ? std::move(lb[j]) : w.send(lb[j]);
        auto rg = j == i ? std::move(rb[j]) : w.send(rb[j]);
        ls[j].insert(ls[j].end(), lg.begin(), lg.end());
        rs[j].insert(rs[j].end(), rg.begin(), rg.end());
      }
    }
    std::vector<out_t> parts;
    for (std::size_t j = 0; j < shards; ++j) parts.push_back(sg::local::hash_join(ls[j], rs[j], &fact::key, &dim::key));
    return gather(w, parts);
  };
  auto colocated = [&](wire& w) {
    std::vector<out_t> parts;
    for (std::size_t i = 0; i < shards; ++i) parts.push_back(sg::local::hash_join(left[i], right[i], &fact::key, &dim::key));
    return gather(w, parts);
  };
  // join_inputs holds references: the statistics live in `kept`, which the choice keeps.
  struct both {
    decltype(lstats) l;
    decltype(rstats) r;
  };
  auto kept = std::make_shared<both>(both{std::move(lstats), std::move(rstats)});
  auto plans = boost::hana::make_tuple(sg::cost::broadcast_join(&fact::key, &dim::key),
                                       sg::cost::shuffle_join(&fact::key, &dim::key),
                                       sg::cost::colocated_join(&fact::key, &dim::key, co));
  record(s, sg::cost::join_inputs{kept->l, kept->r}, plans, boost::hana::make_tuple(broadcast, shuffle, colocated), from);
  s.choose = [kept, plans](model_t const& m) {
    return boost::hana::unpack(plans, [&](auto const&... pl) {
      return sg::cost::choose(m, sg::cost::join_inputs{kept->l, kept->r}, pl...).index;
    });
  };
  return s;
}

// --- the grids ---------------------------------------------------------------------------

struct grid {
  std::vector<std::size_t> shards, rows;
  std::vector<std::int64_t> groups;
  std::vector<double> selectivities;
  std::vector<std::size_t> ks, keys, dims;
};

std::vector<scenario> run_grid(grid const& g, std::mt19937_64& rng, sourcing const& from, bool verbose) {
  std::vector<scenario> out;
  auto done = [&](scenario s) {
    if (verbose) std::fprintf(stderr, "  %-12s %s\n", s.family.c_str(), s.label.c_str());
    out.push_back(std::move(s));
  };
  for (auto sh : g.shards)
    for (auto r : g.rows) {
      for (auto gr : g.groups)
        for (auto sel : g.selectivities)
          for (bool skew : {false, true}) done(aggregation(rng, sh, r, gr, sel, skew, from));
      for (auto k : g.ks)
        for (auto sel : g.selectivities) done(top_k(rng, sh, r, k, sel, from));
      for (auto k : g.keys) done(lookup(rng, sh, r, k, from));
      for (auto d : g.dims)
        for (bool co : {false, true}) done(join(rng, sh, r, d, co, from));
    }
  return out;
}

// --- deployments, calibration, accuracy --------------------------------------------------


// Non-negative least squares on the differences between a scenario's plans: minimise
// Σ ((w·(x_a − x_b) − (y_a − y_b)) / (y_a + y_b))² over every pair of plans of a scenario,
// over w ≥ 0, by projected coordinate descent on the normal equations. A choice depends
// only on how the plans of one scenario differ, so that is what is fitted (a fit of each
// plan's own cost spends its freedom on what all plans share, such as reading the rows).
// The memory term is left at 0: coordinator memory is a limit a deployment prices by
// policy (a weight the user sets), not time — fitted to time, it only learns that big
// tables are slow, which the cache term already says, and then prefers the plan with the
// small coordinator for the wrong reason.
std::array<double, terms> calibrate(std::vector<scenario> const& grid, deployment const& d) {
  constexpr std::size_t memory = 3;
  std::array<std::array<double, terms>, terms> h{};
  std::array<double, terms> b{};
  for (auto const& s : grid)
    for (std::size_t i = 0; i < s.alternatives.size(); ++i)
      for (std::size_t j = i + 1; j < s.alternatives.size(); ++j) {
        auto const& p = s.alternatives[i];
        auto const& o = s.alternatives[j];
        if (!p.applicable || !o.applicable) continue;
        const double scale = d.cost(p.real) + d.cost(o.real);
        const double y = (d.cost(p.real) - d.cost(o.real)) / scale;
        auto x = features(p.estimate);
        const auto xo = features(o.estimate);
        for (std::size_t t = 0; t < terms; ++t) x[t] = (x[t] - xo[t]) / scale;
        for (std::size_t t = 0; t < terms; ++t) {
          b[t] += x[t] * y;
          for (std::size_t u = 0; u < terms; ++u) h[t][u] += x[t] * x[u];
        }
      }
  std::array<double, terms> w{};
  for (int sweep = 0; sweep < 20000; ++sweep)
    for (std::size_t i = 0; i < terms; ++i) {
      if (h[i][i] <= 0 || i == memory) continue;
      double g = -b[i];
      for (std::size_t j = 0; j < terms; ++j) g += h[i][j] * w[j];
      w[i] = std::max(0.0, w[i] - g / h[i][i]);
    }
  return w;
}

struct accuracy {
  std::size_t scenarios = 0, cheapest = 0, near = 0;
  std::size_t repeatable = 0;      // the two halves of the measurement agree on the cheapest plan
  std::size_t cheapest_or_tie = 0;  // cheapest, or cheapest by one half where the halves disagree
  std::size_t within_spread = 0;    // cheapest, or a regret within the two plans' spread between halves
  double worst_regret = 1, regret_sum_misses = 0;
  std::vector<std::size_t> choice, best;  // per scenario, in the grid's order: sg's plan, the cheapest one
};

// The applicable plan of `s` cheapest in `d` by the time `ns_of` gives it, the first of equals.
template <class NsOf>
std::size_t cheapest_plan(scenario const& s, deployment const& d, NsOf const& ns_of) {
  double b = 1e300;
  std::size_t at = 0;
  for (std::size_t i = 0; i < s.alternatives.size(); ++i) {
    auto const& r = s.alternatives[i].real;
    if (s.alternatives[i].applicable && d.cost(r, ns_of(r)) < b) {
      b = d.cost(r, ns_of(r));
      at = i;
    }
  }
  return at;
}

std::size_t cheapest_plan(scenario const& s, deployment const& d) {
  return cheapest_plan(s, d, [](measured const& r) { return r.ns; });
}

accuracy score(std::vector<scenario> const& grid, deployment const& d, model_t const& m, bool verbose) {
  accuracy a;
  for (auto const& s : grid) {
    const std::size_t chosen = s.choose(m);
    auto cheapest = [&](auto const& ns_of) { return cheapest_plan(s, d, ns_of); };
    const std::size_t best_i = cheapest_plan(s, d);
    const double best = d.cost(s.alternatives[best_i].real);
    const double regret = d.cost(s.alternatives[chosen].real) / best;
    a.choice.push_back(chosen);
    a.best.push_back(best_i);
    const std::size_t half_best[2] = {cheapest([](measured const& r) { return r.half[0]; }),
                                      cheapest([](measured const& r) { return r.half[1]; })};
    const bool repeatable = half_best[0] == half_best[1];
    ++a.scenarios;
    if (chosen == best_i) ++a.cheapest;
    if (repeatable) ++a.repeatable;
    if (chosen == best_i || chosen == half_best[0] || chosen == half_best[1]) ++a.cheapest_or_tie;
    // How far apart a plan's two halves are, relative to the faster: the measurement's own
    // resolution of that plan's cost.
    auto spread = [&](measured const& r) {
      const double h0 = d.cost(r, r.half[0]), h1 = d.cost(r, r.half[1]);
      return std::abs(h0 - h1) / std::min(h0, h1);
    };
    if (regret - 1 <= std::max(spread(s.alternatives[chosen].real), spread(s.alternatives[best_i].real)))
      ++a.within_spread;
    if (regret <= 1.05) ++a.near;
    if (chosen != best_i) a.regret_sum_misses += regret;
    a.worst_regret = std::max(a.worst_regret, regret);
    if (verbose && chosen != best_i) {
      std::printf("    miss%s %-11s %-48s chose %s (%.3g ms), not %s (%.3g ms): %.2fx\n", repeatable ? " " : "~",
                  s.family.c_str(), s.label.c_str(), s.alternatives[chosen].name.c_str(),
                  d.cost(s.alternatives[chosen].real) / 1e6, s.alternatives[best_i].name.c_str(), best / 1e6, regret);
    }
  }
  return a;
}

// Several runs scored together (--replay A.csv --replay B.csv ...): how often sg chose the
// cheapest plan, beside the most that any choice fixed per scenario gets right on the same
// runs: the plan cheapest in most of them, picked knowing every run's measurements. A
// model sees only the scenario, so where the cheapest plan changes between runs of the
// same scenarios no model is right in every run; this is the ceiling the measurement puts
// on the count.
struct across_runs {
  struct tally {
    std::size_t chosen_cheapest = 0;
    std::vector<std::vector<std::size_t>> wins;   // [scenario][plan]: the runs where it was the cheapest
    std::vector<std::vector<std::size_t>> picks;  // [scenario][plan]: the runs where sg chose it
  };
  std::array<tally, deployments.size()> per;
  std::size_t runs = 0, scenarios = 0;

  // One run's score of `test` in deployment d (score's per-scenario choices).
  void add(std::size_t d, std::vector<scenario> const& test, accuracy const& a) {
    auto& t = per[d];
    t.wins.resize(test.size());
    t.picks.resize(test.size());
    for (std::size_t i = 0; i < test.size(); ++i) {
      t.wins[i].resize(test[i].alternatives.size());
      t.picks[i].resize(test[i].alternatives.size());
      ++t.wins[i][a.best[i]];
      ++t.picks[i][a.choice[i]];
    }
    t.chosen_cheapest += a.cheapest;
    scenarios = test.size();
  }

  void print() const {
    const double all = static_cast<double>(runs * scenarios);
    std::printf("\nthe %zu runs together (%zu measured scenarios each):\n", runs, scenarios);
    for (std::size_t d = 0; d < deployments.size(); ++d) {
      std::size_t fixed = 0, changing = 0, sg_changing = 0;
      for (auto const& w : per[d].wins) {
        const std::size_t most = *std::ranges::max_element(w);
        fixed += most;
        if (most != runs) ++changing;
      }
      for (auto const& p : per[d].picks)
        if (*std::ranges::max_element(p) != runs) ++sg_changing;
      std::printf("  %s: sg's choice the cheapest in %zu of %zu (%.1f %%); the best choice fixed per scenario, "
                  "knowing every run, in %zu (%.1f %%); the cheapest plan changes between runs in %zu of %zu "
                  "scenarios, sg's choice (its weights fitted on each run) in %zu\n",
                  deployments[d].name, per[d].chosen_cheapest, runs * scenarios,
                  100.0 * static_cast<double>(per[d].chosen_cheapest) / all, fixed,
                  100.0 * static_cast<double>(fixed) / all, changing, scenarios, sg_changing);
    }
  }
};

// One run's figures: the weights fitted on `cal` for each deployment and the accuracy of
// the model so calibrated on `test`.
void report(std::vector<scenario> const& cal, std::vector<scenario> const& test, bool verbose, across_runs& across) {
  ++across.runs;
  for (std::size_t di = 0; di < deployments.size(); ++di) {
    auto const& d = deployments[di];
    const auto w = calibrate(cal, d);
    const auto m = make_model(w);
    std::printf("\n%s: fitted weights (ns): cpu %.3g / row, io %.3g / row, network %.3g / byte, memory %.3g / byte, "
                "requests %.3g each, cache %.3g / miss, hashing %.3g / probe, sorting %.3g / comparison\n",
                d.name, w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]);
    const auto a = score(test, d, m, verbose);
    const std::size_t misses = a.scenarios - a.cheapest;
    std::printf("  cheapest plan chosen: %zu / %zu (%.1f %%); within 5 %% of the cheapest: %.1f %%\n", a.cheapest,
                a.scenarios, 100.0 * static_cast<double>(a.cheapest) / static_cast<double>(a.scenarios),
                100.0 * static_cast<double>(a.near) / static_cast<double>(a.scenarios));
    std::printf("  the measurement's two halves agree on the cheapest plan in %.1f %%; cheapest by either half "
                "where they do not (\"miss~\"): %.1f %%\n",
                100.0 * static_cast<double>(a.repeatable) / static_cast<double>(a.scenarios),
                100.0 * static_cast<double>(a.cheapest_or_tie) / static_cast<double>(a.scenarios));
    std::printf("  cheapest, or a miss by less than the two plans' own spread between the halves: %.1f %%\n",
                100.0 * static_cast<double>(a.within_spread) / static_cast<double>(a.scenarios));
    std::printf("  regret when not: mean %.2fx, worst %.2fx\n",
                misses ? a.regret_sum_misses / static_cast<double>(misses) : 1.0, a.worst_regret);
    for (char const* family : {"aggregation", "top-k", "lookup", "join"}) {
      std::vector<scenario> only;
      for (auto const& s : test)
        if (s.family == family) only.push_back(s);
      const auto f = score(only, d, m, false);
      std::printf("    %-12s %zu / %zu cheapest, worst regret %.2fx\n", family, f.cheapest, f.scenarios, f.worst_regret);
    }
    across.add(di, test, a);
  }
}

bool answers_agree(std::vector<scenario> const& grid) {
  bool ok = true;
  for (auto const& s : grid) {
    std::size_t first = 0;
    bool seen = false;
    for (auto const& a : s.alternatives) {
      if (!a.applicable) continue;
      if (seen && a.real.answer != first) {
        std::fprintf(stderr, "cost_accuracy: the plans of \"%s %s\" disagree on the answer\n", s.family.c_str(),
                     s.label.c_str());
        ok = false;
      }
      first = a.real.answer;
      seen = true;
    }
  }
  return ok;
}

// Every alternative of both grids: its estimated profile and what it really did.
void write_csv(char const* path, std::vector<scenario> const& cal, std::vector<scenario> const& test) {
  std::FILE* f = std::fopen(path, "w");
  if (!f) return;
  std::fprintf(f, "grid,family,scenario,plan,cpu_rows,rows_read,bytes_sent,coordinator_bytes,requests,cache_misses,"
                  "hash_probes,comparisons,ns,bytes,messages,ns_even,ns_odd\n");
  for (auto const* g : {&cal, &test})
    for (auto const& s : *g)
      for (auto const& a : s.alternatives) {
        if (!a.applicable) continue;
        const auto& e = a.estimate;
        std::fprintf(f, "%s,%s,\"%s\",\"%s\",%g,%g,%g,%g,%g,%g,%g,%g,%.10g,%.10g,%.10g,%.10g,%.10g\n",
                     g == &cal ? "calibration" : "measured", s.family.c_str(), s.label.c_str(), a.name.c_str(),
                     e.cpu_rows, e.rows_read, e.bytes_sent, e.coordinator_bytes, e.requests, e.cache_misses,
                     e.hash_probes, e.comparisons, a.real.ns, a.real.bytes, a.real.messages, a.real.half[0],
                     a.real.half[1]);
      }
  std::fclose(f);
}

// The measurements of an earlier run's --dump (what write_csv writes).
replayed read_dump(char const* path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(std::string("cannot read ") + path);
  // One CSV record: fields split at commas outside double quotes, the quotes removed.
  auto fields_of = [](std::string line) {
    if (!line.empty() && line.back() == '\r') line.pop_back();  // a file saved with CRLF
    std::vector<std::string> out(1);
    bool quoted = false;
    for (char c : line) {
      if (c == '"') quoted = !quoted;
      else if (c == ',' && !quoted) out.emplace_back();
      else out.back() += c;
    }
    return out;
  };
  replayed r;
  std::string line;
  std::getline(in, line);
  const auto header = fields_of(line);
  auto column = [&](std::string_view name) {
    const auto at = std::ranges::find(header, name);
    if (at == header.end()) throw std::runtime_error(std::string(path) + ": no column " + std::string(name));
    return static_cast<std::size_t>(at - header.begin());
  };
  const std::size_t grid = column("grid"), family = column("family"), scenario = column("scenario"),
                    plan = column("plan"), ns = column("ns"), bytes = column("bytes"), messages = column("messages"),
                    even = column("ns_even"), odd = column("ns_odd");
  for (std::size_t n = 2; std::getline(in, line); ++n) {
    const auto f = fields_of(line);
    auto where = [&] { return std::string(path) + ": line " + std::to_string(n); };
    if (f.size() != header.size())
      throw std::runtime_error(where() + " has " + std::to_string(f.size()) + " fields, the header " +
                               std::to_string(header.size()));
    auto number = [&](std::size_t column_at) {
      char* end = nullptr;
      const double v = std::strtod(f[column_at].c_str(), &end);
      if (f[column_at].empty() || *end != '\0')
        throw std::runtime_error(where() + ": \"" + f[column_at] + "\" in column " + header[column_at] +
                                 " is not a number");
      return v;
    };
    measured m;
    m.ns = number(ns);
    m.bytes = number(bytes);
    m.messages = number(messages);
    m.half[0] = number(even);
    m.half[1] = number(odd);
    r.plans[replayed::key(f[grid], f[family], f[scenario], f[plan])] = m;
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) try {
  keep_freed_memory();
  bool smoke = false, verbose = false;
  char const* dump = nullptr;
  std::vector<char const*> replays;  // --replay, in the order given
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--smoke") == 0) smoke = true;
    else if (std::strcmp(argv[i], "--verbose") == 0) verbose = true;
    else if (std::strcmp(argv[i], "--dump") == 0 && i + 1 < argc) dump = argv[++i];
    else if (std::strcmp(argv[i], "--replay") == 0 && i + 1 < argc) replays.push_back(argv[++i]);
    else {
      std::fprintf(stderr, "usage: cost_accuracy [--smoke] [--verbose] [--dump FILE.csv] [--replay FILE.csv ...]\n");
      return 2;
    }
  }
  std::mt19937_64 rng(20261122);
  // The two grids share no parameter value.
  grid calibration{{3, 6, 12}, {30000, 120000}, {30, 3000, 300000}, {0.2, 0.9}, {20, 2000, 60000}, {3, 300, 30000}, {40, 4000, 60000}};
  grid measured_grid{{2, 4, 8, 16}, {20000, 100000}, {10, 1000, 100000}, {0.05, 0.5, 1.0}, {10, 1000, 50000},
                     {1, 30, 3000, 100000}, {100, 10000, 100000}};
  int reps = 2;
  if (smoke) {
    calibration = {{2, 3}, {2000}, {10, 1000}, {0.5}, {10, 500}, {1, 300}, {10, 1000}};
    measured_grid = {{2, 4}, {1000}, {20, 800}, {0.3}, {20, 200}, {2, 200}, {20, 500}};
    reps = 1;
  }
  std::optional<replayed> replay;
  if (!replays.empty()) {
    replay = read_dump(replays[0]);
    std::printf("the plans' real costs are those of %s (%zu plans), not measured now\n", replays[0],
                replay->plans.size());
  }
  const replayed* from = replay ? &*replay : nullptr;
  std::printf("calibration grid...\n");
  auto cal = run_grid(calibration, rng, sourcing{reps, "calibration", from}, verbose);
  std::printf("measured grid...\n");
  auto test = run_grid(measured_grid, rng, sourcing{reps, "measured", from}, verbose);
  if (!answers_agree(cal) || !answers_agree(test)) return 1;
  if (dump) write_csv(dump, cal, test);

  std::printf("\n%zu calibration scenarios, %zu measured scenarios (2 or 3 plans each)\n", cal.size(), test.size());
  across_runs across;
  report(cal, test, verbose, across);
  for (std::size_t r = 1; r < replays.size(); ++r) {
    const replayed next = read_dump(replays[r]);
    for (auto& sc : cal) replay_into(sc, next, "calibration");
    for (auto& sc : test) replay_into(sc, next, "measured");
    std::printf("\nthe plans' real costs are those of %s (%zu plans)\n", replays[r], next.plans.size());
    report(cal, test, verbose, across);
  }
  if (replays.size() > 1) across.print();
  return 0;
} catch (std::exception const& e) {
  std::fprintf(stderr, "cost_accuracy: %s\n", e.what());
  return 1;
}
