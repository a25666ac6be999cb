// Seeded fault scenarios on virtual time (tests/sim/sim.hpp). Each scenario draws shard
// count, replicas, latency, errors, hangs, crash windows, flapping and policy settings
// from its seed, runs 1–4 concurrent gathers, and checks:
//   - no lost and no duplicated row: the answer is exactly the rows of the shards that
//     succeeded (a reference merge of those shards' answers);
//   - completeness exactly right (targeted, succeeded, failed, one failure per failed shard);
//   - every gather completes, once, by its deadline, after all of its shard calls;
//   - breaker transitions legal, and no call while a breaker is open;
//   - no retry or hedge while the budget is at half or below, and never more attempts
//     than max_attempts + max_extra;
//   - with the user's attempt layers (examples/layers/: a bulkhead shared by the gathers
//     and a request decorator), never more calls running on a shard than the bulkhead
//     allows, and every call sent the request its attempt's layer decorated.
// SG_SIM_SCENARIOS sets how many scenarios run (10,000 by default); SG_SIM_SEED=<n> runs
// only scenario seed n, which reproduces a failure exactly.
#include "sim.hpp"

#include <sg/exec/async.hpp>
#include <sg/merge/concat.hpp>
#include <sg/pipeline.hpp>
#include <sg/policy/budget.hpp>
#include <sg/policy/circuit_breaker.hpp>
#include <sg/policy/hedge.hpp>
#include <sg/policy/retry.hpp>
#include <sg/policy/time.hpp>
#include <sg/replicas.hpp>

#include "layers/bulkhead.hpp"
#include "layers/decorate.hpp"
#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// The four policy stacks the scenarios exercise (policy types are compile-time).
enum class stack { full, retry_deadline, hedge_breaker, bare };

struct scenario {
  std::uint64_t seed;
  std::mt19937_64 rng;
  std::ostringstream problems;
  bool ok = true;

  explicit scenario(std::uint64_t s) : seed(s), rng(s) {}

  template <class T>
  void expect(bool cond, T const& what) {
    if (!cond) {
      ok = false;
      problems << "  " << what << "\n";
    }
  }
  double uniform(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); }
  int integer(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng); }

  sim::behaviour behaviour(bool hangs) {
    sim::behaviour b;
    b.median_ms = uniform(1, 20);
    b.sigma = uniform(0.1, 0.8);
    b.straggler_rate = chance(0.5) ? uniform(0, 0.1) : 0;
    b.error_rate = chance(0.6) ? uniform(0, 0.4) : 0;
    b.hang_rate = hangs && chance(0.3) ? uniform(0, 0.2) : 0;
    if (chance(0.2)) {
      const double from = uniform(0, 100);
      b.crashes.emplace_back(from, from + uniform(1, 200));
    }
    if (chance(0.1)) b.flap_period_ms = uniform(5, 50);
    return b;
  }
};

// How often the scenarios met each mechanism: a generator that stopped exercising one
// would make the suite pass vacuously.
struct coverage {
  long breaker_opened = 0, extra_calls = 0, timeouts = 0, circuit_open = 0, partial = 0, queued = 0, rejected = 0;
};
coverage seen;

struct query_result {
  bool done = false;
  int completions = 0;
  std::int64_t start_ns = 0, end_ns = 0;
};

using sim_timer = sim::timer;

// The scenario's own layer, outermost: checks each attempt as it starts (what the shard
// call checks in a stack without layers, where an attempt starts and calls at once; with
// the bulkhead an admitted attempt may wait, and meanwhile the breaker open or the budget
// drain, which the breaker and the budget allow, as resilience4j's order does).
template <class Check>
struct probe_layer {
  using policy_tag = sg::layer_tag;
  Check check;
  template <class Ctx, class Req, class Next, class Done>
  void operator()(Ctx const& ctx, Req const& req, Next next, Done done) const {
    check(ctx.shard(), ctx.replica(), ctx.attempt());
    next(req, std::move(done));
  }
};
template <class Check>
probe_layer(Check) -> probe_layer<Check>;

template <stack S>
void run_scenario(scenario& sc) {
  constexpr bool replicated = S == stack::full || S == stack::hedge_breaker;
  constexpr bool has_deadline = S == stack::full || S == stack::retry_deadline;
  constexpr bool has_timeout = S == stack::full || S == stack::hedge_breaker;
  constexpr bool has_retry = S == stack::full || S == stack::retry_deadline;
  constexpr bool has_hedge = S == stack::full || S == stack::hedge_breaker;
  constexpr bool has_breaker = S == stack::full || S == stack::hedge_breaker;
  constexpr bool may_hang = has_deadline || has_timeout;
  constexpr bool layered = S == stack::full || S == stack::retry_deadline;  // the user's layers

  asio::io_context io;
  sim::scheduler sched;
  sim::scheduler::current = &sched;
  sim::ledger log;

  const int n = sc.integer(0, 10);
  const int rows_per_answer = sc.integer(0, 3);
  const double min_ratio = sc.chance(0.3) ? 1.0 : sc.uniform(0, 1);

  // Policies, drawn from the seed.
  const auto deadline = std::chrono::milliseconds(sc.integer(10, 300));
  const auto timeout = std::chrono::milliseconds(sc.integer(5, 100));
  const unsigned max_attempts = static_cast<unsigned>(sc.integer(1, 4));
  const unsigned max_extra = static_cast<unsigned>(sc.integer(1, 2));
  sg::retry_budget budget({.max_tokens = sc.uniform(2, 20), .token_ratio = sc.uniform(0.05, 1)});
  sg::latency_tracker latencies({.quantile = 0.95, .min_samples = 5, .half_life = 64});
  bool illegal_transition = false;
  sg::breaker_options bo{.window_size = static_cast<std::size_t>(sc.integer(1, 10)),
                         .minimum_calls = static_cast<std::size_t>(sc.integer(1, 10)),
                         .failure_rate_threshold = sc.uniform(10, 100),
                         .slow_call_rate_threshold = sc.uniform(10, 100),
                         .slow_call_duration = std::chrono::milliseconds(sc.integer(5, 100)),
                         .wait_in_open = std::chrono::milliseconds(sc.integer(0, 100)),
                         .permitted_calls_in_half_open = static_cast<std::size_t>(sc.integer(1, 4))};
  bo.on_transition = [&](sg::breaker_key, sg::breaker_state from, sg::breaker_state to) {
    using enum sg::breaker_state;
    seen.breaker_opened += to == open;
    illegal_transition = illegal_transition || !((from == closed && to == open) || (from == open && to == half_open) ||
                                                 (from == half_open && (to == open || to == closed)));
  };
  sg::breaker_registry<sim::clock> breakers(bo);
  const std::size_t max_concurrent = static_cast<std::size_t>(sc.integer(1, 3));
  example::bulkhead_limits limits({.max_concurrent = max_concurrent, .max_queued = static_cast<std::size_t>(sc.integer(0, 8))});
  // The decorator: each attempt's request names its shard and attempt number.
  auto tag = example::decorate{[](sim::request& r, auto const& ctx) {
    r.trace = static_cast<long>(ctx.shard()) * 100 + static_cast<long>(ctx.attempt());
  }};

  // Checks made at every shard call.
  // At the start of an attempt (attempt: its number within the shard)...
  auto check_start = [&](std::size_t shard, std::size_t replica, unsigned attempt) {
    if constexpr (has_breaker) {
      const auto st = breakers.state(shard, replica);
      sc.expect(st != sg::breaker_state::open && st != sg::breaker_state::forced_open,
                "an attempt went to a replica whose breaker is open");
    }
    if constexpr (has_retry || has_hedge) {
      if (attempt > 1) sc.expect(budget.tokens() * 2 > budget.max_tokens(), "a retry or hedge with the budget at half");
    }
  };
  log.on_call = [&](int q, std::size_t shard, std::size_t replica) {
    const int calls = log.calls[{q, shard}];
    seen.extra_calls += calls > 1;
    if constexpr (!layered) check_start(shard, replica, static_cast<unsigned>(calls));  // starts and calls at once
    sc.expect(static_cast<unsigned>(calls) <= max_attempts + max_extra, "more attempts than allowed");
    if constexpr (layered) {
      sc.expect(static_cast<std::size_t>(log.shard_outstanding[shard]) <= max_concurrent,
                "more calls running on a shard than the bulkhead allows");
      seen.queued += limits.queued(shard) > 0;
    }
  };
  log.on_request = [&](sim::request const& r, std::size_t shard) {
    if constexpr (layered) {
      const long attempt = r.trace % 100;
      sc.expect(r.trace >= 0 && static_cast<std::size_t>(r.trace / 100) == shard && attempt >= 1 &&
                    attempt <= static_cast<long>(max_attempts + max_extra),
                "a call was not sent its attempt's decorated request");
    } else {
      sc.expect(r.trace == -1, "a request was changed without a layer");
    }
  };

  // Shards: every replica of shard i answers the same rows.
  std::vector<std::vector<sim::shard>> pool(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    const int replicas = replicated ? sc.integer(1, 3) : 1;
    for (int r = 0; r < replicas; ++r)
      pool[static_cast<std::size_t>(i)].emplace_back(io, static_cast<std::size_t>(i), static_cast<std::size_t>(r),
                                                     sc.behaviour(may_hang), sc.rng(), log, rows_per_answer);
  }
  std::vector<sim::shard> plain;
  if constexpr (!replicated)
    for (auto& p : pool) plain.push_back(p.front());
  using selection = std::conditional_t<S == stack::full, sg::latency_aware, sg::least_outstanding>;
  using set_type = decltype(sg::replicas_of(pool[0], selection{}));
  std::vector<set_type> sets;
  if constexpr (replicated)
    for (auto& p : pool) sets.push_back(sg::replicas_of(p, selection{}));

  auto policies = [&] {
    auto rule = sg::partial{.min_success_ratio = min_ratio};
    sg::retry<sim_timer> retry{.max_attempts = max_attempts,
                               .backoff = {.initial = 1ms, .max = 50ms},
                               .jitter = sg::jitter::full,
                               .seed = sc.seed + 1,
                               .budget = &budget};
    sg::hedge<sim_timer> hedge{.delay = std::chrono::milliseconds(sc.integer(1, 30)),
                               .adaptive = sc.chance(0.5) ? &latencies : nullptr,
                               .max_extra = max_extra,
                               .budget = &budget};
    if constexpr (S == stack::full)
      return sg::with(sg::deadline<sim_timer>{deadline}, sg::timeout<sim_timer>{timeout}, retry, hedge,
                      sg::breaker{breakers}, rule, probe_layer{check_start}, tag, example::bulkhead{&limits});
    else if constexpr (S == stack::retry_deadline)
      return sg::with(sg::deadline<sim_timer>{deadline}, probe_layer{check_start}, retry, rule,
                      example::bulkhead{&limits}, tag);
    else if constexpr (S == stack::hedge_breaker)
      return sg::with(sg::timeout<sim_timer>{timeout}, hedge, sg::breaker{breakers}, rule);
    else
      return sg::with(rule);
  };
  auto make_pipe = [&](auto& shards) {
    return sg::scatter(shards) | policies() | sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
  };

  const int queries = sc.integer(1, 4);
  std::vector<query_result> results(static_cast<std::size_t>(queries));
  std::vector<std::unique_ptr<sim::timer>> starts;
  auto start_query = [&](auto& pipe, int q) {
    auto& res = results[static_cast<std::size_t>(q)];
    res.start_ns = sim::clock::ticks;
    pipe.async(sim::request{q}, [&, q](std::error_code ec, sg::gathered<sim::rows> g) {
      auto& r = results[static_cast<std::size_t>(q)];
      r.done = true;
      ++r.completions;
      r.end_ns = sim::clock::ticks;
      std::ostringstream who;
      who << "query " << q << ": ";
      // Completeness.
      sc.expect(g.completeness.targeted == static_cast<std::size_t>(n), who.str() + "targeted");
      sc.expect(g.completeness.pruned == 0, who.str() + "pruned");
      sc.expect(g.completeness.failed == g.failures.size(), who.str() + "failed != failures listed");
      sc.expect(g.completeness.succeeded + g.completeness.failed == static_cast<std::size_t>(n),
                who.str() + "succeeded + failed != targeted");
      std::set<std::size_t> failed;
      for (auto const& f : g.failures) {
        sc.expect(failed.insert(f.shard).second, who.str() + "a shard failed twice");
        sc.expect(f.shard < static_cast<std::size_t>(n), who.str() + "a failure names no shard");
        sc.expect(f.attempts >= 1 && f.attempts <= max_attempts + max_extra, who.str() + "failure attempts out of range");
        sc.expect(static_cast<bool>(f.error), who.str() + "a failure without an error");
        seen.timeouts += f.error == sg::errc::timeout;
        seen.rejected += f.error == std::errc::device_or_resource_busy;
        seen.circuit_open += f.error == sg::errc::circuit_open;
      }
      // No lost, no duplicated row: exactly the answers of the shards that succeeded.
      sim::rows expected;
      for (int i = 0; i < n; ++i)
        if (!failed.count(static_cast<std::size_t>(i))) {
          auto a = pool[static_cast<std::size_t>(i)].front().answer();
          expected.insert(expected.end(), a.begin(), a.end());
        }
      sim::rows got = g.value;
      std::sort(got.begin(), got.end());
      std::sort(expected.begin(), expected.end());
      sc.expect(got == expected, who.str() + "rows lost or duplicated");
      seen.partial += static_cast<bool>(ec);
      // The rule.
      if (n > 0 && !ec) sc.expect(g.completeness.ratio() >= min_ratio - 1e-12, who.str() + "success below the rule");
      if (n > 0 && ec) sc.expect(ec == sg::errc::partial_result || ec == sg::errc::timeout, who.str() + "unexpected error");
      // Structured: no shard call of this query still running.
      sc.expect(log.outstanding[q] == 0, who.str() + "completed before its shard calls did");
      if constexpr (has_deadline)
        sc.expect(r.end_ns - r.start_ns <= std::chrono::nanoseconds(deadline).count(),
                  who.str() + "missed its deadline of " + std::to_string(deadline.count()) + " ms: took " +
                      std::to_string(r.end_ns - r.start_ns) + " ns");
    });
  };

  auto launch_all = [&](auto& pipe) {
    for (int q = 0; q < queries; ++q) {
      auto& t = starts.emplace_back(std::make_unique<sim::timer>(io.get_executor()));
      t->expires_after(std::chrono::milliseconds(sc.integer(0, 50)));
      t->async_wait([&pipe, &start_query, q](boost::system::error_code) { start_query(pipe, q); });
    }
    const bool finished = sim::run(io, [&] {
      return std::all_of(results.begin(), results.end(), [](query_result const& r) { return r.done; });
    });
    sc.expect(finished, "a gather never completed");
  };
  if constexpr (replicated) {
    auto pipe = make_pipe(sets);
    launch_all(pipe);
  } else {
    auto pipe = make_pipe(plain);
    launch_all(pipe);
  }
  for (auto const& r : results) sc.expect(r.completions <= 1, "a gather completed twice");
  for (int i = 0; i < n; ++i)
    sc.expect(limits.running(static_cast<std::size_t>(i)) == 0 && limits.queued(static_cast<std::size_t>(i)) == 0,
              "the bulkhead kept a permit or a waiter after every gather completed");
  sc.expect(!illegal_transition, "an illegal breaker transition");
  starts.clear();
  sim::scheduler::current = nullptr;
}

}  // namespace

TEST_CASE("simulation: seeded fault scenarios keep every promise of the async gather", "[sim][async]") {
  std::uint64_t base = sg_test::seed();
  int count = 10000;
  if (char const* c = std::getenv("SG_SIM_SCENARIOS")) count = std::atoi(c);
  bool one = false;
  if (char const* s = std::getenv("SG_SIM_SEED")) {
    base = std::stoull(s);
    count = 1;
    one = true;
  }
  int failures = 0;
  std::map<int, int> per_stack;
  for (int i = 0; i < count && failures < 5; ++i) {
    const std::uint64_t seed = one ? base : base + static_cast<std::uint64_t>(i);
    scenario sc(seed);
    const auto which = static_cast<stack>(seed % 4);
    ++per_stack[static_cast<int>(which)];
    switch (which) {
      case stack::full: run_scenario<stack::full>(sc); break;
      case stack::retry_deadline: run_scenario<stack::retry_deadline>(sc); break;
      case stack::hedge_breaker: run_scenario<stack::hedge_breaker>(sc); break;
      case stack::bare: run_scenario<stack::bare>(sc); break;
    }
    if (!sc.ok) {
      ++failures;
      FAIL_CHECK("scenario failed; repeat with SG_SIM_SEED=" << seed << "\n" << sc.problems.str());
    }
  }
  CHECK(failures == 0);
  INFO("scenarios run: " << count);
  if (count >= 1000) {  // every mechanism was met many times
    CHECK(seen.breaker_opened > count / 20);
    CHECK(seen.extra_calls > count);
    CHECK(seen.timeouts > count / 20);
    CHECK(seen.circuit_open > count / 50);
    CHECK(seen.partial > count / 20);
    CHECK(seen.queued > count / 20);   // the bulkhead held attempts back...
    CHECK(seen.rejected > count / 50);  // ...and turned some away
  }
  CHECK(per_stack.size() == std::min<std::size_t>(4, static_cast<std::size_t>(count)));
}
