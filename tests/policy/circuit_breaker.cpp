#include <sg/policy/circuit_breaker.hpp>

#include <sg/exec/async.hpp>
#include <sg/merge/concat.hpp>
#include <sg/pipeline.hpp>
#include <sg/policy/retry.hpp>

#include "support/async_shards.hpp"
#include "support/manual_clock.hpp"
#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <deque>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using sg::breaker_state;
using sg_test::manual_clock;
using breaker = sg::circuit_breaker<manual_clock>;

namespace {

const std::error_code refused = std::make_error_code(std::errc::connection_refused);

// The transitions a breaker reported.
struct transitions {
  std::vector<std::pair<breaker_state, breaker_state>> seen;
  auto hook() {
    return [this](sg::breaker_key, breaker_state from, breaker_state to) { seen.emplace_back(from, to); };
  }
};

}  // namespace

TEST_CASE("circuit_breaker: resilience4j's defaults", "[policy][breaker]") {
  sg::breaker_options o;
  CHECK(o.window == sg::breaker_options::window_type::count_based);
  CHECK(o.window_size == 100);
  CHECK(o.minimum_calls == 100);
  CHECK(o.failure_rate_threshold == 50);
  CHECK(o.slow_call_rate_threshold == 100);
  CHECK(o.slow_call_duration == 60s);
  CHECK(o.wait_in_open == 60s);
  CHECK(o.permitted_calls_in_half_open == 10);
}

TEST_CASE("circuit_breaker: opens at the failure rate once minimum_calls are in the window",
          "[policy][breaker]") {
  transitions log;
  sg::breaker_options o{.window_size = 10, .minimum_calls = 4, .failure_rate_threshold = 50};
  o.on_transition = log.hook();
  breaker b(o);
  REQUIRE(b.try_acquire());
  b.on_failure(refused, 1ms);
  REQUIRE(b.try_acquire());
  b.on_failure(refused, 1ms);
  REQUIRE(b.try_acquire());
  b.on_failure(refused, 1ms);
  CHECK(b.state() == breaker_state::closed);  // 3 calls < minimum 4, although all failed
  CHECK(b.failure_rate() == -1);
  REQUIRE(b.try_acquire());
  b.on_success(1ms);  // 3 of 4 failed: 75 % ≥ 50 %
  CHECK(b.state() == breaker_state::open);
  CHECK(!b.try_acquire());
  REQUIRE(log.seen.size() == 1);
  CHECK(log.seen[0] == std::pair{breaker_state::closed, breaker_state::open});
}

TEST_CASE("circuit_breaker: open → half-open after the wait, trial calls decide", "[policy][breaker]") {
  transitions log;
  sg::breaker_options o{.window_size = 2,
                        .minimum_calls = 2,
                        .wait_in_open = 5s,
                        .permitted_calls_in_half_open = 2};
  o.on_transition = log.hook();
  breaker b(o);
  for (int i = 0; i < 2; ++i) {
    REQUIRE(b.try_acquire());
    b.on_failure(refused, 1ms);
  }
  REQUIRE(b.state() == breaker_state::open);
  manual_clock::advance(4999ms);
  CHECK(!b.try_acquire());
  manual_clock::advance(1ms);
  CHECK(b.try_acquire());  // half-open: two trial permits
  CHECK(b.state() == breaker_state::half_open);
  CHECK(b.try_acquire());
  CHECK(!b.try_acquire());  // no third
  b.on_ignored();           // a cancelled trial gives its permit back
  CHECK(b.try_acquire());

  SECTION("trials succeed: closed, with an empty window") {
    b.on_success(1ms);
    b.on_success(1ms);
    CHECK(b.state() == breaker_state::closed);
    CHECK(b.failure_rate() == -1);
    CHECK(log.seen.back() == std::pair{breaker_state::half_open, breaker_state::closed});
  }
  SECTION("trials fail: open again, for another full wait") {
    b.on_success(1ms);
    b.on_failure(refused, 1ms);  // 50 % ≥ 50 %
    CHECK(b.state() == breaker_state::open);
    manual_clock::advance(4s);
    CHECK(!b.try_acquire());
    CHECK(log.seen.back() == std::pair{breaker_state::half_open, breaker_state::open});
  }
}

TEST_CASE("circuit_breaker: slow calls open it at the slow-call rate", "[policy][breaker]") {
  sg::breaker_options o{.window_size = 4,
                        .minimum_calls = 4,
                        .slow_call_rate_threshold = 75,
                        .slow_call_duration = 100ms};
  breaker b(o);
  for (auto d : {150ms, 99ms, 100ms}) {
    REQUIRE(b.try_acquire());
    b.on_success(d);
  }
  REQUIRE(b.try_acquire());
  b.on_success(10ms);  // 2 of 4 slow: 50 %
  CHECK(b.state() == breaker_state::closed);
  CHECK(b.slow_call_rate() == 50);
  REQUIRE(b.try_acquire());
  b.on_success(200ms);  // window: 99, 100, 10, 200 → 2 slow... then one more
  REQUIRE(b.try_acquire());
  b.on_success(300ms);  // window: 100, 10, 200, 300 → 3 of 4 slow: 75 %
  CHECK(b.state() == breaker_state::open);
}

TEST_CASE("circuit_breaker: cancellations are not recorded, records_failure chooses", "[policy][breaker]") {
  sg::breaker_options o{.window_size = 2, .minimum_calls = 2};
  breaker b(o);
  for (int i = 0; i < 10; ++i) {
    REQUIRE(b.try_acquire());
    b.on_failure(make_error_code(sg::errc::cancelled), 1ms);
    REQUIRE(b.try_acquire());
    b.on_failure(std::make_error_code(std::errc::operation_canceled), 1ms);
  }
  CHECK(b.state() == breaker_state::closed);
  CHECK(b.failure_rate() == -1);

  sg::breaker_options only_timeouts{.window_size = 2, .minimum_calls = 2};
  only_timeouts.records_failure = [](std::error_code const& ec) { return ec == sg::errc::timeout; };
  breaker t(only_timeouts);
  for (int i = 0; i < 4; ++i) {
    REQUIRE(t.try_acquire());
    t.on_failure(make_error_code(sg::errc::bad_input), 1ms);
  }
  CHECK(t.state() == breaker_state::closed);
  for (int i = 0; i < 2; ++i) {
    REQUIRE(t.try_acquire());
    t.on_failure(make_error_code(sg::errc::timeout), 1ms);
  }
  CHECK(t.state() == breaker_state::open);
}

TEST_CASE("circuit_breaker: forced open and disabled until reset", "[policy][breaker]") {
  sg::breaker_options o{.window_size = 1, .minimum_calls = 1};
  breaker b(o);
  b.force_open();
  manual_clock::advance(1h);
  CHECK(!b.try_acquire());
  CHECK(b.state() == breaker_state::forced_open);
  b.disable();
  for (int i = 0; i < 5; ++i) {
    REQUIRE(b.try_acquire());
    b.on_failure(refused, 1ms);
  }
  CHECK(b.state() == breaker_state::disabled);
  b.reset();
  CHECK(b.state() == breaker_state::closed);
  REQUIRE(b.try_acquire());
  b.on_failure(refused, 1ms);
  CHECK(b.state() == breaker_state::open);
}

TEST_CASE("circuit_breaker: a time-based window forgets calls older than window_size seconds",
          "[policy][breaker]") {
  sg::breaker_options o{.window = sg::breaker_options::window_type::time_based,
                        .window_size = 10,
                        .minimum_calls = 3};
  breaker b(o);
  for (int i = 0; i < 2; ++i) {
    REQUIRE(b.try_acquire());
    b.on_failure(refused, 1ms);
  }
  manual_clock::advance(10s);  // those two are now out of the window
  REQUIRE(b.try_acquire());
  b.on_failure(refused, 1ms);
  CHECK(b.state() == breaker_state::closed);
  CHECK(b.failure_rate() == -1);
  manual_clock::advance(9s);  // still inside
  REQUIRE(b.try_acquire());
  b.on_success(1ms);
  REQUIRE(b.try_acquire());
  b.on_failure(refused, 1ms);  // 2 of 3 failed
  CHECK(b.state() == breaker_state::open);
}

TEST_CASE("circuit_breaker: bad options are refused with a sentence", "[policy][breaker]") {
  CHECK_THROWS_AS(sg::breaker_registry<>({.window_size = 0}), std::invalid_argument);
  CHECK_THROWS_AS(sg::breaker_registry<>({.minimum_calls = 0}), std::invalid_argument);
  CHECK_THROWS_AS(sg::breaker_registry<>({.failure_rate_threshold = 0}), std::invalid_argument);
  CHECK_THROWS_AS(sg::breaker_registry<>({.slow_call_rate_threshold = 101}), std::invalid_argument);
  CHECK_THROWS_AS(sg::breaker_registry<>({.permitted_calls_in_half_open = 0}), std::invalid_argument);
  CHECK_THROWS_WITH(sg::breaker_registry<>({.window = sg::breaker_options::window_type::time_based,
                                            .window_size = 7200}),
                    Catch::Contains("at most 3600"));
}

// A plain model of the count-based breaker (closed and open and half-open), for the
// property test below.
namespace {
struct model {
  explicit model(sg::breaker_options const& options) : o(options) {}
  sg::breaker_options const& o;
  breaker_state state = breaker_state::closed;
  std::deque<std::pair<bool, bool>> window;  // failed, slow
  std::vector<std::pair<bool, bool>> trials;
  std::size_t permits = 0;
  manual_clock::time_point opened{};

  bool over(auto const& calls) const {
    std::size_t f = 0, s = 0;
    for (auto [failed, slow] : calls) {
      f += failed;
      s += slow;
    }
    const double n = static_cast<double>(calls.size());
    return 100.0 * static_cast<double>(f) >= o.failure_rate_threshold * n ||
           100.0 * static_cast<double>(s) >= o.slow_call_rate_threshold * n;
  }
  bool acquire() {
    if (state == breaker_state::open) {
      if (manual_clock::now() - opened < o.wait_in_open) return false;
      state = breaker_state::half_open;
      permits = o.permitted_calls_in_half_open;
      trials.clear();
    }
    if (state == breaker_state::half_open) {
      if (permits == 0) return false;
      --permits;
    }
    return true;
  }
  void outcome(bool failed, bool slow) {
    if (state == breaker_state::closed) {
      window.emplace_back(failed, slow);
      if (window.size() > o.window_size) window.pop_front();
      if (window.size() >= std::min(o.minimum_calls, o.window_size) && over(window)) open();
    } else if (state == breaker_state::half_open) {
      trials.emplace_back(failed, slow);
      if (trials.size() == o.permitted_calls_in_half_open) {
        if (over(trials)) {
          open();
        } else {
          state = breaker_state::closed;
          window.clear();
        }
      }
    }
  }
  void open() {
    state = breaker_state::open;
    opened = manual_clock::now();
  }
};
}  // namespace

TEST_CASE("circuit_breaker: equals a plain model on random outcomes, and moves only along legal edges",
          "[policy][breaker][property]") {
  SG_SEEDED_RNG(rng);
  for (int round = 0; round < 200; ++round) {
    std::uniform_int_distribution<std::size_t> small(1, 12);
    sg::breaker_options o{.window_size = small(rng),
                          .minimum_calls = small(rng),
                          .failure_rate_threshold = static_cast<double>(std::uniform_int_distribution<int>(1, 100)(rng)),
                          .slow_call_rate_threshold = static_cast<double>(std::uniform_int_distribution<int>(1, 100)(rng)),
                          .slow_call_duration = 50ms,
                          .wait_in_open = std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 100)(rng)),
                          .permitted_calls_in_half_open = small(rng)};
    bool illegal = false;
    o.on_transition = [&](sg::breaker_key, breaker_state from, breaker_state to) {
      using enum breaker_state;
      const bool ok = (from == closed && to == open) || (from == open && to == half_open) ||
                      (from == half_open && (to == open || to == closed));
      illegal = illegal || !ok;
    };
    breaker b(o);
    model m(o);
    const double p_fail = std::uniform_real_distribution<double>(0, 1)(rng);
    std::vector<bool> in_flight;  // permitted calls not finished yet
    for (int step = 0; step < 300; ++step) {
      INFO("round " << round << " step " << step);
      const int action = std::uniform_int_distribution<int>(0, 2)(rng);
      if (action == 0) {
        manual_clock::advance(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 30)(rng)));
      } else if (action == 1 || in_flight.empty()) {
        const bool got = b.try_acquire();
        REQUIRE(got == m.acquire());
        if (got) in_flight.push_back(true);
      } else {
        in_flight.pop_back();
        const bool failed = std::bernoulli_distribution(p_fail)(rng);
        const auto took = std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 100)(rng));
        if (failed)
          b.on_failure(refused, took);
        else
          b.on_success(took);
        m.outcome(failed, took >= 50ms);
      }
      REQUIRE(b.state() == m.state);
    }
    REQUIRE(!illegal);
  }
}

TEST_CASE("breaker_registry: one breaker a key, created on first use, shared by threads", "[policy][breaker]") {
  sg::breaker_registry<manual_clock> reg({.window_size = 1000, .minimum_calls = 1000});
  CHECK(reg.state(3, 1) == breaker_state::closed);
  CHECK(&reg.at(3, 1) == &reg.at(sg::breaker_key{3, 1}));
  CHECK(&reg.at(3, 1) != &reg.at(3, 0));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&reg, t] {
      for (int i = 0; i < 250; ++i) {
        auto& b = reg.at(static_cast<std::size_t>(i % 5), 0);
        if (b.try_acquire()) {
          if ((i + t) % 2 != 0)
            b.on_failure(refused, 1ms);
          else
            b.on_success(1ms);
        }
      }
    });
  for (auto& th : threads) th.join();
  for (std::size_t s = 0; s < 5; ++s) CHECK(reg.at(s).failure_rate() == -1);  // 200 calls < 1000
  reg.at(0).force_open();
  CHECK(reg.state(0) == breaker_state::forced_open);
}

TEST_CASE("breaker in a gather: opens on failures, then fails attempts without calling, a half-open trial closes it",
          "[policy][breaker][async]") {
  namespace asio = boost::asio;
  asio::io_context io;
  const auto reset = std::make_error_code(std::errc::connection_reset);
  std::vector<sg_test::delayed_shard> shards{{&io, 4, {1ms}, {reset, reset, reset}}};
  sg::breaker_registry<manual_clock> breakers(
      {.window_size = 3, .minimum_calls = 3, .wait_in_open = 10s, .permitted_calls_in_half_open = 1});
  auto pipe = sg::scatter(shards) |
              sg::with(sg::breaker{breakers},
                       sg::retry<sg_test::manual_timer>{.max_attempts = 5, .backoff = {.initial = 1ms},
                                                        .jitter = sg::jitter::none}) |
              sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
  auto run = [&] {
    sg_test::outcome o;
    pipe.async(0, sg_test::record(o));
    sg_test::run_until_done(io, o, 1s);
    return o;
  };
  auto o = run();  // three failures open the breaker; the fourth attempt is refused, not retried
  REQUIRE(o.result);
  CHECK(o.ec == sg::errc::partial_result);
  REQUIRE(o.result->failures.size() == 1);
  CHECK(o.result->failures[0].error == sg::errc::circuit_open);
  CHECK(o.result->failures[0].what == "the shard's circuit breaker is open");
  CHECK(o.result->failures[0].attempts == 4);
  CHECK(*shards[0].calls == 3);
  CHECK(breakers.state(0) == breaker_state::open);
  o = run();
  REQUIRE(o.calls == 1);
  CHECK(o.result->failures[0].error == sg::errc::circuit_open);
  CHECK(*shards[0].calls == 3);  // no call while open
  manual_clock::advance(10s);
  o = run();  // half-open: one trial call, which answers
  CHECK(!o.ec);
  CHECK(o.result->value == sg_test::rows{4});
  CHECK(*shards[0].calls == 4);
  CHECK(breakers.state(0) == breaker_state::closed);
}
