#include <sg/replicas.hpp>

#include <sg/exec/async.hpp>
#include <sg/merge/concat.hpp>
#include <sg/pipeline.hpp>
#include <sg/policy/circuit_breaker.hpp>
#include <sg/policy/retry.hpp>

#include "support/async_shards.hpp"
#include "support/manual_clock.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using sg_test::delayed_shard;
using sg_test::manual_clock;
using sg_test::manual_timer;
using sg_test::outcome;
using sg_test::record;
using sg_test::rows;
using sg_test::run_until_done;

namespace {

// A sync replica: answers {id}, or throws when `fail` is set; counts its calls.
struct replica {
  int id;
  std::error_code fail{};
  int calls = 0;
  rows execute(int) {
    ++calls;
    if (fail) throw std::system_error(fail, "replica down");
    return rows{id};
  }
};

}  // namespace

TEST_CASE("replicas: a replica set is a shard, round-robin spreads the calls evenly", "[replicas]") {
  replica a{1}, b{2}, c{3};
  auto set = sg::replicas(a, b, c);
  STATIC_REQUIRE(sg::shard_for<decltype(set), int>);
  CHECK(set.size() == 3);
  std::vector<decltype(set)> shards;
  shards.push_back(std::move(set));
  auto pipe = sg::scatter(shards) | sg::gather(sg::merge::concat());
  for (int i = 0; i < 30; ++i) CHECK(pipe(0).value.size() == 1);
  CHECK(a.calls == 10);
  CHECK(b.calls == 10);
  CHECK(c.calls == 10);
}

TEST_CASE("replicas: synchronously, a failed replica is passed over for the next", "[replicas]") {
  replica a{1, std::make_error_code(std::errc::connection_refused)}, b{2};
  auto set = sg::replicas(a, b);
  for (int i = 0; i < 4; ++i) CHECK(set.execute(0) == rows{2});
  CHECK(b.calls == 4);
  b.fail = std::make_error_code(std::errc::connection_reset);
  CHECK_THROWS_AS(set.execute(0), std::system_error);  // all down: the last failure
  a.fail = b.fail = make_error_code(sg::errc::bad_input);
  const int before = a.calls + b.calls;
  CHECK_THROWS_AS(set.execute(0), std::system_error);
  CHECK(a.calls + b.calls == before + 1);  // bad input is the request's fault: no second replica
}

TEST_CASE("replicas: owned replicas, a range of replicas, and bad sets", "[replicas]") {
  auto owned = sg::replicas(replica{1}, replica{2});
  CHECK(owned[1].id == 2);
  std::vector<replica> pool{{1}, {2}, {3}, {4}};
  auto ranged = sg::replicas_of(pool, sg::least_outstanding{});
  CHECK(ranged.size() == 4);
  CHECK(&ranged[2] == &pool[2]);
  std::vector<replica> none;
  CHECK_THROWS_WITH(sg::replicas_of(none), Catch::Contains("at least one replica"));
  std::vector<replica> many(65, replica{0});
  CHECK_THROWS_WITH(sg::replicas_of(many), Catch::Contains("at most 64"));
  CHECK_THROWS_AS(sg::replicas(sg::latency_aware{.alpha = 0}, replica{1}), std::invalid_argument);
}

TEST_CASE("replicas: least_outstanding ranks by calls in flight, latency_aware by EWMA × load³", "[replicas]") {
  std::array<replica, 3> r{replica{0}, replica{1}, replica{2}};
  auto lo = sg::replicas_of(r, sg::least_outstanding{});
  lo.started(0);
  lo.started(0);
  lo.started(2);
  std::size_t order[3];
  REQUIRE(lo.rank(0, order) == 3);
  CHECK(order[0] == 1);
  CHECK(order[1] == 2);
  CHECK(order[2] == 0);
  REQUIRE(lo.rank(0b010, order) == 2);  // replica 1 excluded
  CHECK(order[0] == 2);

  auto la = sg::replicas_of(r, sg::latency_aware{.alpha = 0.5});
  la.started(0);
  la.finished(0, 10ms, sg::attempt_end::success);
  la.started(1);
  la.finished(1, 2ms, sg::attempt_end::success);
  // Replica 2 has never answered: tried first; then 1 (2 ms), then 0 (10 ms).
  REQUIRE(la.rank(0, order) == 3);
  CHECK(order[0] == 2);
  CHECK(order[1] == 1);
  CHECK(order[2] == 0);
  la.started(2);
  la.finished(2, 4ms, sg::attempt_end::success);
  la.started(1);  // 1 is busy: 2 ms × 2³ = 16 ms ranks it behind 2 (4 ms) and 0 (10 ms)
  REQUIRE(la.rank(0, order) == 3);
  CHECK(order[0] == 2);
  CHECK(order[1] == 0);
  CHECK(order[2] == 1);
  la.finished(1, 2ms, sg::attempt_end::success);
  CHECK(la.latency_estimate(1) == 2ms);
  la.started(1);
  la.finished(1, 1ms, sg::attempt_end::failure);  // a failure counts as twice the estimate
  CHECK(la.latency_estimate(1) == 3ms);
}

TEST_CASE("replicas: asynchronously, a retry avoids the replica that just failed", "[replicas][async]") {
  asio::io_context io;
  const auto reset = std::make_error_code(std::errc::connection_reset);
  delayed_shard a{&io, 1, {1ms}, {reset, reset, reset}}, b{&io, 1, {1ms}}, c{&io, 1, {1ms}};
  std::vector<decltype(sg::replicas(a, b, c))> shards;
  shards.push_back(sg::replicas(a, b, c));
  auto pipe = sg::scatter(shards) |
              sg::with(sg::retry<manual_timer>{.max_attempts = 2, .backoff = {.initial = 1ms}, .jitter = sg::jitter::none}) |
              sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
  for (int i = 0; i < 3; ++i) {
    outcome o;
    pipe.async(0, record(o));
    run_until_done(io, o);
    REQUIRE(!o.ec);
    CHECK(o.result->value == rows{1});
  }
  // Every call to a fails, and only two attempts are allowed: each gather that began on a
  // answered only because its retry went to another replica.
  CHECK(*a.calls == 2);
  CHECK(*b.calls + *c.calls == 3);
}

TEST_CASE("replicas: an open breaker passes its replica over, all open fails with circuit_open, no call",
          "[replicas][breaker][async]") {
  asio::io_context io;
  const auto refused = std::make_error_code(std::errc::connection_refused);
  delayed_shard a{&io, 1, {1ms}, std::vector<std::error_code>(100, refused)}, b{&io, 1, {1ms}};
  std::vector<decltype(sg::replicas(a, b))> shards;
  shards.push_back(sg::replicas(a, b));
  sg::breaker_registry<manual_clock> breakers({.window_size = 2, .minimum_calls = 2, .wait_in_open = 1h});
  auto pipe = sg::scatter(shards) | sg::with(sg::breaker{breakers}, sg::partial{.min_success_ratio = 0}) |
              sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
  for (int i = 0; i < 4; ++i) {  // a fails twice (calls 1 and 3), b answers twice
    outcome o;
    pipe.async(0, record(o));
    run_until_done(io, o);
  }
  CHECK(breakers.state(0, 0) == sg::breaker_state::open);
  CHECK(breakers.state(0, 1) == sg::breaker_state::closed);
  CHECK(*a.calls == 2);
  for (int i = 0; i < 4; ++i) {  // every call now goes to b
    outcome o;
    pipe.async(0, record(o));
    run_until_done(io, o);
    CHECK(!o.ec);
  }
  CHECK(*a.calls == 2);
  CHECK(*b.calls == 6);
  breakers.at(0, 1).force_open();
  outcome o;
  pipe.async(0, record(o));
  run_until_done(io, o);
  REQUIRE(o.result);
  REQUIRE(o.result->failures.size() == 1);
  CHECK(o.result->failures[0].error == sg::errc::circuit_open);
  CHECK(o.result->failures[0].what == "the circuit breaker of every replica is open");
  CHECK(*a.calls + *b.calls == 8);  // no call was made
}

namespace {
// Answers {id} after 0–2 ms of real time; every 5th call fails with connection_reset.
struct jittery_shard {
  asio::io_context* io;
  int id;
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);

  template <class Token>
  auto async_execute(int, Token&& token) {
    return asio::async_initiate<Token, void(std::error_code, rows)>(
        [this](auto handler) {
          const int n = calls->fetch_add(1);
          const std::error_code ec = n % 5 == 4 ? std::make_error_code(std::errc::connection_reset) : std::error_code{};
          auto t = std::make_shared<asio::steady_timer>(*io, std::chrono::microseconds((n * 7919) % 2000));
          auto slot = asio::get_associated_cancellation_slot(handler);
          if (slot.is_connected()) slot.assign([t](asio::cancellation_type) { t->cancel(); });
          // A cancellation slot is not thread-safe: the gather emits on the handler's executor
          // (its strand), so the wait completes there before it clears the slot — clearing it
          // from whichever thread ran the timer raced with an emit (ASan: use after free).
          auto ex = asio::get_associated_executor(handler, io->get_executor());
          t->async_wait(asio::bind_executor(ex, [t, ec, v = id, h = std::move(handler)](boost::system::error_code waited) mutable {
            asio::get_associated_cancellation_slot(h).clear();
            const std::error_code out = waited ? std::make_error_code(std::errc::operation_canceled) : ec;
            std::move(h)(out, out ? rows{} : rows{v});
          }));
        },
        token);
  }
};
}  // namespace

TEST_CASE("replicas: the whole stack, shared state and all, on a multi-threaded io_context", "[replicas][async]") {
  asio::io_context io;
  std::vector<jittery_shard> a, b;
  for (int i = 0; i < 8; ++i) {
    a.push_back({&io, i});
    b.push_back({&io, i});
  }
  sg::breaker_registry<> breakers({.window_size = 20, .minimum_calls = 10, .wait_in_open = 5ms});
  sg::retry_budget budget({.max_tokens = 50, .token_ratio = 0.5});
  sg::latency_tracker latencies({.min_samples = 5});
  std::vector<decltype(sg::replicas(sg::latency_aware{}, a[0], b[0]))> shards;
  for (std::size_t i = 0; i < a.size(); ++i) shards.push_back(sg::replicas(sg::latency_aware{}, a[i], b[i]));
  auto pipe = sg::scatter(shards) |
              sg::with(sg::deadline{std::chrono::seconds(5)}, sg::timeout{std::chrono::milliseconds(500)},
                       sg::retry{.max_attempts = 4, .backoff = {.initial = std::chrono::microseconds(100)}, .budget = &budget},
                       sg::hedge{.delay = std::chrono::milliseconds(1), .adaptive = &latencies},
                       sg::breaker{breakers}, sg::partial{.min_success_ratio = 0}) |
              sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
  constexpr int gathers = 200;
  std::vector<outcome> results(gathers);
  for (int i = 0; i < gathers; ++i) pipe.async(i, record(results[static_cast<std::size_t>(i)]));
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) threads.emplace_back([&] { io.run(); });
  for (auto& t : threads) t.join();
  int answered = 0;
  for (auto const& o : results) {
    REQUIRE(o.calls == 1);
    REQUIRE(o.result);
    rows want;  // exactly the shards that did not fail, once each
    std::vector<bool> failed(8, false);
    for (auto const& f : o.result->failures) failed[f.shard] = true;
    for (int s = 0; s < 8; ++s)
      if (!failed[static_cast<std::size_t>(s)]) want.push_back(s);
    rows got = o.result->value;
    std::sort(got.begin(), got.end());
    CHECK(got == want);
    answered += static_cast<int>(got.size());
  }
  CHECK(answered > gathers * 8 / 2);  // most shards answered, through retries and hedges
}
