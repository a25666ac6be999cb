#include <sg/exec/async.hpp>
#include <sg/merge/concat.hpp>
#include <sg/pipeline.hpp>
#include <sg/policy/retry.hpp>
#include <sg/policy/time.hpp>

#include "support/async_shards.hpp"
#include "support/manual_clock.hpp"
#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <random>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using sg_test::manual_clock;
using sg_test::manual_timer;
using sg_test::outcome;
using sg_test::record;
using sg_test::rows;
using sg_test::run_until_done;

namespace {

const auto reset = std::make_error_code(std::errc::connection_reset);

sg_test::scripted_async_shard scripted(asio::io_context& io, int value, std::vector<std::error_code> script = {}) {
  return sg_test::scripted_async_shard{&io, value, std::move(script)};
}

// Fixed waits: 10 ms, then 20 ms, 40 ms...
sg::retry<manual_timer> fixed_retry(unsigned attempts) {
  return {.max_attempts = attempts, .backoff = {.initial = 10ms, .max = 1s}, .jitter = sg::jitter::none};
}

}  // namespace

TEST_CASE("retry: a shard that fails twice answers on its third attempt, after the backoff", "[policy][retry][async]") {
  asio::io_context io;
  std::vector<sg_test::scripted_async_shard> shards{scripted(io, 1), scripted(io, 2, {reset, reset})};
  auto pipe = sg::scatter(shards) | sg::with(fixed_retry(3)) | sg::on(io.get_executor()) |
              sg::gather(sg::merge::concat());
  outcome o;
  pipe.async(0, record(o));
  io.poll();
  CHECK(*shards[1].calls == 1);
  manual_clock::advance(9ms);
  io.poll();
  CHECK(*shards[1].calls == 1);  // the first wait is 10 ms
  manual_clock::advance(1ms);
  io.poll();
  CHECK(*shards[1].calls == 2);
  manual_clock::advance(19ms);
  io.poll();
  CHECK(*shards[1].calls == 2);  // the second wait is 20 ms
  manual_clock::advance(1ms);
  io.poll();
  io.poll();
  REQUIRE(o.calls == 1);
  CHECK(!o.ec);
  CHECK(o.result->value == rows{1, 2});
  CHECK(*shards[0].calls == 1);  // answers already received are kept: no second call
  CHECK(*shards[1].calls == 3);
}

TEST_CASE("retry: attempts run out, or the error is not retryable", "[policy][retry][async]") {
  asio::io_context io;
  const auto bad = std::make_error_code(std::errc::invalid_argument);
  std::vector<sg_test::scripted_async_shard> shards{scripted(io, 1, {reset, reset, reset}), scripted(io, 2, {bad})};
  auto pipe = sg::scatter(shards) | sg::with(fixed_retry(3)) | sg::on(io.get_executor()) |
              sg::gather(sg::merge::concat());
  outcome o;
  pipe.async(0, record(o));
  run_until_done(io, o);
  REQUIRE(o.calls == 1);
  CHECK(o.ec == sg::errc::partial_result);
  REQUIRE(o.result->failures.size() == 2);
  CHECK(o.result->failures[0].error == std::errc::connection_reset);
  CHECK(o.result->failures[0].attempts == 3);
  CHECK(o.result->failures[1].error == std::errc::invalid_argument);  // bad input: never retried
  CHECK(o.result->failures[1].attempts == 1);
  CHECK(*shards[1].calls == 1);
}

TEST_CASE("retry: no retry that would start after the deadline", "[policy][retry][async]") {
  asio::io_context io;
  std::vector<sg_test::scripted_async_shard> shards{scripted(io, 1, {reset, reset})};
  auto pipe = sg::scatter(shards) | sg::with(fixed_retry(5), sg::deadline<manual_timer>{25ms}) |
              sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
  outcome o;
  pipe.async(0, record(o));
  run_until_done(io, o);
  REQUIRE(o.calls == 1);
  // Attempt 1 at 0 ms, attempt 2 at 10 ms; a third would start at 30 ms, past the deadline.
  CHECK(*shards[0].calls == 2);
  REQUIRE(o.result->failures.size() == 1);
  CHECK(o.result->failures[0].attempts == 2);
  CHECK(o.result->failures[0].error == std::errc::connection_reset);
}

TEST_CASE("retry: a server's push-back decides the wait, or that there is none", "[policy][retry][async]") {
  asio::io_context io;
  auto policy = fixed_retry(3);
  policy.push_back = [](std::error_code const& ec, std::string_view) -> sg::retry_decision {
    if (ec == std::errc::connection_refused) return sg::no_retry;
    return 5ms;
  };
  std::vector<sg_test::scripted_async_shard> shards{scripted(io, 1, {reset}),
                                              scripted(io, 2, {std::make_error_code(std::errc::connection_refused)})};
  auto pipe = sg::scatter(shards) | sg::with(policy) | sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
  outcome o;
  pipe.async(0, record(o));
  io.poll();
  manual_clock::advance(4ms);
  io.poll();
  CHECK(*shards[0].calls == 1);
  manual_clock::advance(1ms);
  io.poll();
  io.poll();
  REQUIRE(o.calls == 1);
  CHECK(*shards[0].calls == 2);  // retried after the pushed-back 5 ms
  CHECK(*shards[1].calls == 1);  // "do not retry"
  CHECK(o.result->value == rows{1});
}

TEST_CASE("retry: cancelling during a wait ends it, with the gather cancelled", "[policy][retry][async]") {
  asio::io_context io;
  std::vector<sg_test::scripted_async_shard> shards{scripted(io, 1, {reset})};
  auto pipe = sg::scatter(shards) | sg::with(fixed_retry(3)) | sg::on(io.get_executor()) |
              sg::gather(sg::merge::concat());
  asio::cancellation_signal cancel;
  outcome o;
  pipe.async(0, asio::bind_cancellation_slot(cancel.slot(), record(o)));
  io.poll();  // the first attempt failed; waiting 10 ms
  cancel.emit(asio::cancellation_type::terminal);
  io.poll();
  io.poll();
  REQUIRE(o.calls == 1);
  CHECK(o.ec == sg::errc::cancelled);
  CHECK(*shards[0].calls == 1);
  REQUIRE(o.result->failures.size() == 1);
  CHECK(o.result->failures[0].error == sg::errc::cancelled);
}

TEST_CASE("retry: the backoff and the AWS jitter formulas", "[policy][retry][property]") {
  SG_SEEDED_RNG(rng);
  sg::retry<> r{.max_attempts = 10, .backoff = {.initial = 10ms, .max = 200ms, .multiplier = 2.0}};
  const std::chrono::nanoseconds bases[] = {10ms, 20ms, 40ms, 80ms, 160ms, 200ms, 200ms};
  for (int trial = 0; trial < 200; ++trial) {
    std::chrono::nanoseconds previous = 10ms;
    for (unsigned n = 1; n <= 7; ++n) {
      const auto base = bases[n - 1];
      r.jitter = sg::jitter::none;
      CHECK(r.wait_before(n, previous, rng) == base);
      r.jitter = sg::jitter::full;
      auto w = r.wait_before(n, previous, rng);
      CHECK((w >= 0ms && w <= base));
      r.jitter = sg::jitter::equal;
      w = r.wait_before(n, previous, rng);
      CHECK((w >= base / 2 && w <= base));
      r.jitter = sg::jitter::decorrelated;
      w = r.wait_before(n, previous, rng);
      CHECK((w >= 10ms && w <= std::min<std::chrono::nanoseconds>(200ms, 3 * previous)));
      previous = w;
    }
  }
}

TEST_CASE("retry: validated by sg::with, and the default retryable errors", "[policy][retry]") {
  CHECK_THROWS_AS(sg::with(sg::retry<>{.max_attempts = 0}), std::invalid_argument);
  CHECK_THROWS_AS(sg::with(sg::retry<>{.backoff = {.initial = 0ms}}), std::invalid_argument);
  CHECK_THROWS_AS(sg::with(sg::retry<>{.backoff = {.initial = 2s, .max = 1s}}), std::invalid_argument);
  CHECK_THROWS_AS(sg::with(sg::retry<>{.backoff = {.multiplier = 0.5}}), std::invalid_argument);
  CHECK(sg::default_retryable(sg::errc::timeout));
  CHECK(sg::default_retryable(std::make_error_code(std::errc::broken_pipe)));
  CHECK(!sg::default_retryable(sg::errc::bad_input));
  CHECK(!sg::default_retryable(sg::errc::cancelled));
  CHECK(!sg::default_retryable(sg::errc::circuit_open));
}
