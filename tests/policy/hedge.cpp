#include <sg/exec/async.hpp>
#include <sg/merge/concat.hpp>
#include <sg/pipeline.hpp>
#include <sg/policy/budget.hpp>
#include <sg/policy/hedge.hpp>
#include <sg/policy/retry.hpp>
#include <sg/policy/time.hpp>
#include <sg/replicas.hpp>

#include "support/async_shards.hpp"
#include "support/manual_clock.hpp"
#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using sg_test::after;
using sg_test::delayed_shard;
using sg_test::manual_clock;
using sg_test::manual_timer;
using sg_test::outcome;
using sg_test::record;
using sg_test::rows;
using sg_test::run_until_done;

namespace {

using hedge = sg::hedge<manual_timer>;

}  // namespace

TEST_CASE("hedge: a slow replica is hedged to the other after the delay, the first answer wins, the loser is cancelled",
          "[policy][hedge][async]") {
  asio::io_context io;
  delayed_shard slow = after(io, 7, {100ms}), fast = after(io, 7, {5ms});
  std::vector<decltype(sg::replicas(slow, fast))> shards;
  shards.push_back(sg::replicas(slow, fast));
  auto pipe = sg::scatter(shards) | sg::with(hedge{.delay = 10ms}) | sg::on(io.get_executor()) |
              sg::gather(sg::merge::concat());
  outcome o;
  pipe.async(0, record(o));  // round-robin starts at replica 0: the slow one
  const auto took = run_until_done(io, o);
  REQUIRE(o.calls == 1);
  CHECK(!o.ec);
  CHECK(o.result->value == rows{7});  // one answer, not two
  CHECK(took == 15ms);                // 10 ms delay + 5 ms
  CHECK(*slow.calls == 1);
  CHECK(*fast.calls == 1);
  CHECK(*slow.cancelled == 1);  // the loser is cancelled, and the gather waited for it
  CHECK(shards[0].outstanding(0) == 0);
  CHECK(shards[0].outstanding(1) == 0);
}

TEST_CASE("hedge: no hedge when the shard answers before the delay", "[policy][hedge][async]") {
  asio::io_context io;
  std::vector<delayed_shard> shards{after(io, 1, {9ms}), after(io, 2, {3ms})};
  auto pipe = sg::scatter(shards) | sg::with(hedge{.delay = 10ms}) | sg::on(io.get_executor()) |
              sg::gather(sg::merge::concat());
  outcome o;
  pipe.async(0, record(o));
  CHECK(run_until_done(io, o) == 9ms);
  REQUIRE(!o.ec);
  CHECK(*shards[0].calls == 1);
  CHECK(*shards[1].calls == 1);
}

TEST_CASE("hedge: a shard without replicas is asked again itself, max_extra caps the hedges",
          "[policy][hedge][async]") {
  asio::io_context io;
  // Calls 1..3 are slow, call 4 would be fast: with max_extra = 2, only three are made.
  std::vector<delayed_shard> shards{after(io, 1, {100ms, 100ms, 100ms, 1ms})};
  auto pipe = sg::scatter(shards) | sg::with(hedge{.delay = 10ms, .max_extra = 2}) | sg::on(io.get_executor()) |
              sg::gather(sg::merge::concat());
  outcome o;
  pipe.async(0, record(o));
  CHECK(run_until_done(io, o) == 100ms);  // the first attempt wins after all
  REQUIRE(!o.ec);
  CHECK(o.result->value == rows{1});
  CHECK(*shards[0].calls == 3);
  CHECK(*shards[0].cancelled == 2);
}

TEST_CASE("hedge: an attempt that fails while another runs waits for it", "[policy][hedge][async]") {
  asio::io_context io;
  const auto reset = std::make_error_code(std::errc::connection_reset);
  delayed_shard a = after(io, 5, {30ms}), b = after(io, 5, {1ms}, {reset});
  std::vector<decltype(sg::replicas(a, b))> shards;
  shards.push_back(sg::replicas(a, b));
  auto pipe = sg::scatter(shards) | sg::with(hedge{.delay = 10ms}) | sg::on(io.get_executor()) |
              sg::gather(sg::merge::concat());
  outcome o;
  pipe.async(0, record(o));
  CHECK(run_until_done(io, o) == 30ms);
  REQUIRE(!o.ec);
  CHECK(o.result->value == rows{5});
  CHECK(o.result->failures.empty());
}

TEST_CASE("hedge: hedges draw on the retry budget and stop when it is at half", "[policy][hedge][async]") {
  asio::io_context io;
  sg::retry_budget budget({.max_tokens = 4, .token_ratio = 0.01});
  std::vector<delayed_shard> shards;
  for (int i = 0; i < 6; ++i) shards.push_back(after(io, i, {50ms}));
  auto pipe = sg::scatter(shards) | sg::with(hedge{.delay = 10ms, .budget = &budget}) | sg::on(io.get_executor()) |
              sg::gather(sg::merge::concat());
  outcome o;
  pipe.async(0, record(o));
  run_until_done(io, o);
  REQUIRE(!o.ec);
  int calls = 0;
  for (auto& s : shards) calls += *s.calls;
  CHECK(calls == 6 + 2);  // 4 tokens: two hedges take it to half, then no more
  CHECK(budget.tokens() == Approx(2 + 6 * 0.01));
}

TEST_CASE("hedge: no hedge would start after the deadline", "[policy][hedge][async]") {
  asio::io_context io;
  std::vector<delayed_shard> shards{after(io, 1, {100ms})};
  auto pipe = sg::scatter(shards) |
              sg::with(hedge{.delay = 50ms}, sg::deadline<manual_timer>{40ms}, sg::partial{.min_success_ratio = 0}) |
              sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
  outcome o;
  pipe.async(0, record(o));
  CHECK(run_until_done(io, o) == 40ms);
  REQUIRE(o.result);
  CHECK(*shards[0].calls == 1);
  REQUIRE(o.result->failures.size() == 1);
  CHECK(o.result->failures[0].error == sg::errc::timeout);
}

TEST_CASE("hedge: retries and hedges together: attempts count both", "[policy][hedge][retry][async]") {
  asio::io_context io;
  const auto reset = std::make_error_code(std::errc::connection_reset);
  // Call 1: slow then fails; call 2 (the hedge): fails fast; call 3 (the retry): answers.
  std::vector<delayed_shard> shards{after(io, 9, {40ms, 1ms, 1ms}, {reset, reset})};
  auto pipe = sg::scatter(shards) |
              sg::with(hedge{.delay = 10ms},
                       sg::retry<manual_timer>{.max_attempts = 3, .backoff = {.initial = 5ms}, .jitter = sg::jitter::none}) |
              sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
  outcome o;
  pipe.async(0, record(o));
  // 0: call 1; 10: hedge (call 2) fails at 11, waits for call 1; 40: call 1 fails; 45: retry
  CHECK(run_until_done(io, o) == 46ms);
  REQUIRE(!o.ec);
  CHECK(o.result->value == rows{9});
  CHECK(*shards[0].calls == 3);
}

TEST_CASE("hedge: the adaptive delay is the shard's running quantile", "[policy][hedge][async]") {
  asio::io_context io;
  sg::latency_tracker latencies({.quantile = 0.9, .min_samples = 10});
  std::vector<delayed_shard> shards{after(io, 1, {20ms, 20ms, 20ms, 20ms, 20ms, 20ms, 20ms, 20ms, 20ms, 20ms, 200ms, 1ms})};
  auto pipe = sg::scatter(shards) | sg::with(hedge{.delay = 1s, .adaptive = &latencies}) |
              sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
  for (int i = 0; i < 10; ++i) {  // ten answers of 20 ms: the tracker's p90 is 20 ms, rounded up
    outcome o;
    pipe.async(0, record(o));
    CHECK(run_until_done(io, o) == 20ms);
  }
  REQUIRE(latencies.hedge_delay(0));
  CHECK(*latencies.hedge_delay(0) >= 20ms);
  CHECK(*latencies.hedge_delay(0) <= 22500us);
  outcome o;
  pipe.async(0, record(o));  // call 11 takes 200 ms; the hedge (call 12) after ~20 ms takes 1 ms
  const auto took = run_until_done(io, o);
  CHECK(took >= 20ms);
  CHECK(took <= 23ms);
  CHECK(*shards[0].calls == 12);
}

TEST_CASE("latency_tracker: quantiles at most one bucket above the exact ones, never below",
          "[policy][hedge][property]") {
  SG_SEEDED_RNG(rng);
  sg::latency_tracker t({.quantile = 0.95, .min_samples = 100, .half_life = 1u << 30});
  std::lognormal_distribution<double> body(std::log(2e6), 0.5);  // about 2 ms
  std::vector<double> seen;
  for (int i = 0; i < 20000; ++i) {
    const double v = body(rng);
    seen.push_back(v);
    t.record(3, std::chrono::nanoseconds(static_cast<std::int64_t>(v)));
  }
  std::sort(seen.begin(), seen.end());
  for (double q : {0.5, 0.9, 0.95, 0.99}) {
    INFO("q = " << q);
    const double exact = seen[static_cast<std::size_t>(q * static_cast<double>(seen.size())) - 1];
    const double got = static_cast<double>(t.quantile(3, q)->count());
    CHECK(got >= exact);  // the bucket's upper edge: never below the true quantile...
    CHECK(got <= exact * 1.125 + 1);  // ...and at most one bucket (12.5 %) above
  }
  CHECK(!t.quantile(4, 0.5));  // a shard never seen
  CHECK_THROWS_AS(sg::latency_tracker({.quantile = 1}), std::invalid_argument);
}

TEST_CASE("latency_tracker: follows a shard whose latency changes", "[policy][hedge]") {
  sg::latency_tracker t({.quantile = 0.5, .min_samples = 16, .half_life = 64});
  for (int i = 0; i < 1000; ++i) t.record(0, 1ms);
  for (int i = 0; i < 1000; ++i) t.record(0, 10ms);
  REQUIRE(t.hedge_delay(0));
  CHECK(*t.hedge_delay(0) > 9ms);
  CHECK(*t.hedge_delay(0) < 11ms);
}

TEST_CASE("hedge: bad settings are refused by sg::with", "[policy][hedge]") {
  CHECK_THROWS_WITH(sg::with(hedge{}), Catch::Contains("give a delay"));
  CHECK_THROWS_AS(sg::with(hedge{.delay = -1ms}), std::invalid_argument);
  CHECK_THROWS_AS(sg::with(hedge{.delay = 1ms, .max_extra = 0}), std::invalid_argument);
}
