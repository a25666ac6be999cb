// sg/policy/stats.hpp — sg::collect_stats: what one asynchronous gather did, per shard,
// carried by its result.
//
//   auto pipe = sg::scatter(shards) | sg::with(sg::retry{}, sg::collect_stats{}) |
//               sg::on(io.get_executor()) | sg::gather(q);
//   pipe.async(q, [](std::error_code, sg::gathered<R> g) {
//     std::cout << g.stats->to_string();   // per shard: outcome, attempts, hedges, rows,
//   });                                     // latency; the merge's time; the plan of q
//   auto g = (sg::scatter(shards) | sg::with(sg::collect_stats{}) | sg::gather(q))(q);
//
// With the policy, every result has `stats` set: one shard_stats per targeted shard (in
// shard order), the gather's elapsed time, the time spent inside the merge, and, when the
// merge is a typed query, the plan sg::explain(q) gives. Without it, `stats` is null and
// nothing about statistics is computed. pipe.async builds them from the events sg::observe
// would get, and its latencies use the pipeline's clock (virtual in tests); the synchronous
// pipe(request) makes one attempt a shard, and its latencies are when the coordinator took
// each answer, on std::chrono::steady_clock. The merge's time is CPU work, measured on
// std::chrono::steady_clock. Example: tests/policy/stats.cpp, docs/observability.md.
#pragma once

#include <sg/gathered.hpp>
#include <sg/policy/observe.hpp>
#include <sg/policy/policy.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sg {

// What one shard did in one gather.
struct shard_stats {
  std::size_t shard = 0;    // index in the pipeline's shard set
  std::size_t replica = 0;  // of the attempt that decided (0 without replicas)
  // answered, or how its last attempt ended (failed, timed_out, deadline, cancelled); a
  // shard whose breaker refused every attempt has no attempt and shows `failed`.
  events::attempt_outcome outcome = events::attempt_outcome::failed;
  unsigned attempts = 0;  // started: the first, retries and hedges
  unsigned retries = 0;
  unsigned hedges = 0;
  std::optional<std::size_t> rows;     // the answer's size, when it is a sized range
  std::chrono::nanoseconds latency{};  // from the gather's start to the answer (or last end)

  friend bool operator==(shard_stats const&, shard_stats const&) = default;
};

// What one gather did: see the top of this file.
struct query_stats {
  std::vector<shard_stats> shards;       // one per targeted shard, in shard order
  std::chrono::nanoseconds elapsed{};    // the whole gather, on the pipeline's clock
  std::chrono::nanoseconds merge_time{};  // inside the merge: adding answers and finishing
  std::string plan;                      // sg::explain(q) when the merge is a typed query

  // One line per shard and a header, for logs. O(shards).
  std::string to_string() const {
    auto ms = [](std::chrono::nanoseconds d) {
      const auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
      std::string s = std::to_string(us / 1000) + ".";
      const auto frac = us % 1000;
      s += frac < 10 ? "00" : frac < 100 ? "0" : "";
      return s + std::to_string(frac) + " ms";
    };
    std::string s = "gather: " + ms(elapsed) + ", merge " + ms(merge_time) + ", " + std::to_string(shards.size()) +
                    (shards.size() == 1 ? " shard\n" : " shards\n");
    for (auto const& sh : shards) {
      s += "  shard " + std::to_string(sh.shard) + ": " + events::to_string(sh.outcome) + " in " + ms(sh.latency) +
           ", " + std::to_string(sh.attempts) + (sh.attempts == 1 ? " attempt" : " attempts");
      if (sh.retries != 0) s += ", " + std::to_string(sh.retries) + (sh.retries == 1 ? " retry" : " retries");
      if (sh.hedges != 0) s += ", " + std::to_string(sh.hedges) + (sh.hedges == 1 ? " hedge" : " hedges");
      if (sh.rows) s += ", " + std::to_string(*sh.rows) + (*sh.rows == 1 ? " row" : " rows");
      if (sh.replica != 0) s += ", replica " + std::to_string(sh.replica);
      s += "\n";
    }
    if (!plan.empty()) s += "plan:\n" + plan;
    return s;
  }
};

struct collect_stats_tag {};
namespace detail {
template <>
inline constexpr bool engine_kind<collect_stats_tag> = true;
}  // namespace detail

// The policy: every result of the pipeline carries its query_stats.
struct collect_stats {
  using policy_tag = collect_stats_tag;
};

namespace detail {

// Builds a gather's query_stats from its events (the observer sg::collect_stats adds).
template <class Clock>
class stats_builder {
 public:
  template <class E>
  static constexpr bool wants = requires(stats_builder& b, E const& e) { b.on(e); };

  // The targeted shards, in order (a gather's targets), and when the gather started.
  template <class Targets>
  void start(Targets const& t, typename Clock::time_point at) {
    started_ = at;
    stats_.shards.resize(t.count());
    for (std::size_t j = 0; j < t.count(); ++j) stats_.shards[j].shard = t[j];
  }
  void set_plan(std::string plan) { stats_.plan = std::move(plan); }
  void add_merge_time(std::chrono::nanoseconds d) { stats_.merge_time += d; }

  void on(events::attempt_start const& e) {
    if (auto* s = find(e.shard)) {
      ++s->attempts;
      if (e.kind == events::attempt_kind::retry) ++s->retries;
      if (e.kind == events::attempt_kind::hedge) ++s->hedges;
    }
  }
  void on(events::attempt_end const& e) {
    auto* s = find(e.shard);
    if (s == nullptr || s->outcome == events::attempt_outcome::answered) return;  // a hedge's loser
    if (e.outcome == events::attempt_outcome::lost) return;
    s->outcome = e.outcome;
    s->replica = e.replica;
    s->rows = e.rows;
    s->latency = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - started_);
  }
  void on(events::gather_end const& e) { stats_.elapsed = e.elapsed; }

  std::shared_ptr<query_stats const> finish() { return std::make_shared<query_stats const>(std::move(stats_)); }

 private:
  shard_stats* find(std::size_t shard) {
    auto it = std::lower_bound(stats_.shards.begin(), stats_.shards.end(), shard,
                               [](shard_stats const& s, std::size_t i) { return s.shard < i; });
    return it != stats_.shards.end() && it->shard == shard ? &*it : nullptr;
  }

  query_stats stats_;
  typename Clock::time_point started_{};
};

}  // namespace detail

}  // namespace sg
