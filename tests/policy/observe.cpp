#include <sg/exec/async.hpp>
#include <sg/merge/concat.hpp>
#include <sg/pipeline.hpp>
#include <sg/policy/circuit_breaker.hpp>
#include <sg/policy/hedge.hpp>
#include <sg/policy/observe.hpp>
#include <sg/policy/partial.hpp>
#include <sg/policy/retry.hpp>
#include <sg/policy/time.hpp>
#include <sg/replicas.hpp>

#include "support/async_shards.hpp"
#include "support/manual_clock.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <string>
#include <system_error>
#include <vector>

using namespace std::chrono_literals;
using namespace sg_test;  // asio, the shards, manual_clock, outcome, record, run_until_done

namespace {

// Writes every event as one line, with the virtual time in ms.
struct recorder {
  std::vector<std::string> lines;

  static std::string now() { return std::to_string(manual_clock::now().time_since_epoch() / 1ms) + "ms "; }
  static std::string ms(std::chrono::nanoseconds d) { return std::to_string(d / 1ms) + "ms"; }

  void on(sg::events::attempt_start const& e) {
    lines.push_back(now() + "start shard " + std::to_string(e.shard) + " replica " + std::to_string(e.replica) +
                    " #" + std::to_string(e.attempt) + " " + sg::events::to_string(e.kind));
  }
  void on(sg::events::attempt_end const& e) {
    std::string line = now() + "end shard " + std::to_string(e.shard) + " replica " + std::to_string(e.replica) +
                       " #" + std::to_string(e.attempt) + " " + sg::events::to_string(e.outcome) + " after " +
                       ms(e.elapsed);
    if (e.rows) line += " rows " + std::to_string(*e.rows);
    if (e.error) line += " (" + e.error.message() + ")";
    lines.push_back(line);
  }
  void on(sg::events::retry const& e) {
    lines.push_back(now() + "retry shard " + std::to_string(e.shard) + " #" + std::to_string(e.next_attempt) +
                    " in " + ms(e.wait) + " after " + e.after.message());
  }
  void on(sg::events::hedge const& e) {
    lines.push_back(now() + "hedge shard " + std::to_string(e.shard) + " #" + std::to_string(e.attempt));
  }
  void on(sg::events::timeout const& e) {
    lines.push_back(now() + (e.shard ? "timeout shard " + std::to_string(*e.shard) + " #" + std::to_string(e.attempt)
                                     : std::string("deadline")));
  }
  void on(sg::events::breaker_transition const& e) {
    lines.push_back(now() + "breaker " + std::to_string(e.key.shard) + "/" + std::to_string(e.key.replica) + " " +
                    sg::to_string(e.from) + " -> " + sg::to_string(e.to));
  }
  void on(sg::events::gather_end const& e) {
    lines.push_back(now() + "gather " + std::to_string(e.completeness.succeeded) + "/" +
                    std::to_string(e.completeness.targeted) + (e.error ? " " + e.error.message() : "") + " after " +
                    ms(e.elapsed));
  }
};

// Only one kind of event: the others are never computed for it.
struct ends_only {
  int ends = 0;
  void on(sg::events::gather_end const&) { ++ends; }
};


const auto reset = std::make_error_code(std::errc::connection_reset);

std::vector<std::string> shifted(std::vector<std::string> lines, std::int64_t t0_ms) {
  // Times relative to the gather's start, so the test does not depend on the clock's value.
  for (auto& l : lines) {
    const auto sp = l.find("ms ");
    l = std::to_string(std::stoll(l.substr(0, sp)) - t0_ms) + l.substr(sp);
  }
  return lines;
}

}  // namespace

TEST_CASE("observe: a failure, its retry and the answers, in the order they happen", "[policy][observe][async]") {
  asio::io_context io;
  std::vector<delayed_shard> shards{after(io, 1, {5ms}, {reset}), after(io, 2, {3ms})};
  recorder log;
  auto pipe = sg::scatter(shards) |
              sg::with(sg::retry<manual_timer>{.max_attempts = 2, .backoff = {.initial = 1ms}, .jitter = sg::jitter::none},
                       sg::observe{&log}) |
              sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
  const auto t0 = manual_clock::now().time_since_epoch() / 1ms;
  outcome o;
  pipe.async(0, record(o));
  run_until_done(io, o);
  REQUIRE(o.calls == 1);
  CHECK(!o.ec);
  CHECK(shifted(log.lines, t0) == std::vector<std::string>{
                                      "0ms start shard 0 replica 0 #1 first",
                                      "0ms start shard 1 replica 0 #1 first",
                                      "3ms end shard 1 replica 0 #1 answered after 3ms rows 1",
                                      "5ms end shard 0 replica 0 #1 failed after 5ms (" + reset.message() + ")",
                                      "5ms retry shard 0 #2 in 1ms after " + reset.message(),
                                      "6ms start shard 0 replica 0 #2 retry",
                                      "11ms end shard 0 replica 0 #2 answered after 5ms rows 1",
                                      "11ms gather 2/2 after 11ms",
                                  });
}

TEST_CASE("observe: a hedge, the race it wins, the timeout of another shard, and the deadline",
          "[policy][observe][async]") {
  asio::io_context io;
  delayed_shard slow = after(io, 7, {100ms}), fast = after(io, 7, {5ms});
  std::vector<decltype(sg::replicas(slow, fast))> shards;
  shards.push_back(sg::replicas(slow, fast));
  recorder log;
  auto hedged = sg::scatter(shards) | sg::with(sg::hedge<manual_timer>{.delay = 10ms}, sg::observe{&log}) |
                sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
  auto t0 = manual_clock::now().time_since_epoch() / 1ms;
  outcome o;
  hedged.async(0, record(o));  // round-robin starts at replica 0: the slow one
  run_until_done(io, o);
  CHECK(shifted(log.lines, t0) == std::vector<std::string>{
                                      "0ms start shard 0 replica 0 #1 first",
                                      "10ms hedge shard 0 #2",
                                      "10ms start shard 0 replica 1 #2 hedge",
                                      "15ms end shard 0 replica 1 #2 answered after 5ms rows 1",
                                      "15ms end shard 0 replica 0 #1 lost after 15ms (" +
                                          std::make_error_code(std::errc::operation_canceled).message() + ")",
                                      "15ms gather 1/1 after 15ms",
                                  });

  std::vector<delayed_shard> two{after(io, 1, {50ms}), after(io, 2, {30ms})};
  recorder limits;
  auto limited = sg::scatter(two) |
                 sg::with(sg::timeout<manual_timer>{40ms}, sg::deadline<manual_timer>{35ms}, sg::observe{&limits},
                          sg::partial{.min_success_ratio = 0}) |
                 sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
  t0 = manual_clock::now().time_since_epoch() / 1ms;
  outcome p;
  limited.async(0, record(p));
  run_until_done(io, p);
  const auto timeout = sg::make_error_code(sg::errc::timeout).message();
  CHECK(shifted(limits.lines, t0) == std::vector<std::string>{
                                         "0ms start shard 0 replica 0 #1 first",
                                         "0ms start shard 1 replica 0 #1 first",
                                         "30ms end shard 1 replica 0 #1 answered after 30ms rows 1",
                                         "35ms deadline",
                                         "35ms end shard 0 replica 0 #1 deadline after 35ms (" + timeout + ")",
                                         "35ms gather 1/2 after 35ms",
                                     });
  std::vector<delayed_shard> one{after(io, 1, {50ms})};
  recorder timed;
  auto per_attempt = sg::scatter(one) | sg::with(sg::timeout<manual_timer>{20ms}, sg::observe{&timed}) |
                     sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
  t0 = manual_clock::now().time_since_epoch() / 1ms;
  outcome q;
  per_attempt.async(0, record(q));
  run_until_done(io, q);
  REQUIRE(timed.lines.size() == 4);
  CHECK(shifted(timed.lines, t0)[1] == "20ms timeout shard 0 #1");
  CHECK(shifted(timed.lines, t0)[2] == "20ms end shard 0 replica 0 #1 timed-out after 20ms (" + timeout + ")");
  CHECK(shifted(timed.lines, t0)[3] ==
        "20ms gather 0/1 " + sg::make_error_code(sg::errc::partial_result).message() + " after 20ms");
}

TEST_CASE("observe: breaker transitions, and an observer of one event type", "[policy][observe][async]") {
  asio::io_context io;
  std::vector<delayed_shard> shards{after(io, 1, {2ms}, {reset, reset})};
  sg::breaker_registry<manual_clock> breakers({.window_size = 1, .minimum_calls = 1, .wait_in_open = 10ms,
                                               .permitted_calls_in_half_open = 1});
  recorder log;
  auto pipe = sg::scatter(shards) |
              sg::with(sg::breaker{breakers}, sg::observe{&log}, sg::partial{.min_success_ratio = 0}) |
              sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
  for (int i = 0; i < 4; ++i) {  // fails (opens), refused, after 10 ms fails again (half-open -> open), ...
    outcome o;
    pipe.async(0, record(o));
    run_until_done(io, o);
    manual_clock::advance(i == 1 ? 10ms : 0ms);
  }
  std::vector<std::string> transitions;
  for (auto const& l : log.lines)
    if (l.find("breaker") != std::string::npos) transitions.push_back(l.substr(l.find("breaker")));
  CHECK(transitions == std::vector<std::string>{"breaker 0/0 closed -> open", "breaker 0/0 open -> half-open",
                                                "breaker 0/0 half-open -> open"});

  ends_only counter;
  std::vector<delayed_shard> fine{after(io, 1, {1ms})};
  auto quiet = sg::scatter(fine) | sg::with(sg::observe{&counter}) | sg::on(io.get_executor()) |
               sg::gather(sg::merge::concat());
  outcome o;
  quiet.async(0, record(o));
  run_until_done(io, o);
  CHECK(counter.ends == 1);
  STATIC_REQUIRE(sg::observe<ends_only>::wants<sg::events::gather_end>);
  STATIC_REQUIRE_FALSE(sg::observe<ends_only>::wants<sg::events::attempt_end>);
}
