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

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>
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

TEST_CASE("retry: no cap (max = nanoseconds::max()) and a large multiplier saturate at max",
          "[policy][retry]") {
  // issue #30, defect 5: a base of 2^63 as a double cast to int64 gave a wait of -2^63 ns
  // (jitter::none), uniform_int_distribution(0, negative) (full), and 3 × previous
  // overflowed (decorrelated).
  SG_SEEDED_RNG(rng);
  using ns = std::chrono::nanoseconds;
  sg::retry<> r{.max_attempts = 100, .backoff = {.initial = 10ms, .max = ns::max(), .multiplier = 1e6}};
  r.validate();
  r.jitter = sg::jitter::none;
  CHECK(r.wait_before(1, 0ns, rng) == 10ms);
  CHECK(r.wait_before(2, 0ns, rng) == 10000s);
  CHECK(r.wait_before(10, 0ns, rng) == ns::max());
  CHECK(r.wait_before(std::numeric_limits<unsigned>::max(), 0ns, rng) == ns::max());
  r.jitter = sg::jitter::full;
  for (int i = 0; i < 100; ++i) {
    const auto w = r.wait_before(10, 0ns, rng);
    CHECK((w >= 0ns && w <= ns::max()));
  }
  r.jitter = sg::jitter::equal;
  for (int i = 0; i < 100; ++i) CHECK(r.wait_before(10, 0ns, rng) >= ns::max() / 2);
  r.jitter = sg::jitter::decorrelated;
  bool above_initial = false;
  for (int i = 0; i < 100; ++i) {
    const auto w = r.wait_before(10, ns::max() / 2, rng);  // 3 × previous saturates at max
    CHECK((w >= 10ms && w <= ns::max()));
    above_initial = above_initial || w > ns::max() / 4;
  }
  CHECK(above_initial);  // uniform in [10 ms, max], not stuck at 10 ms
}

namespace {

// A positive count of nanoseconds, log-uniform over [1, 2^63 - 1], with the ends often.
std::int64_t any_positive_ns(std::mt19937_64& rng) {
  switch (rng() % 8) {
    case 0: return std::numeric_limits<std::int64_t>::max();
    case 1: return 1;
    default: {
      const unsigned bits = 1 + static_cast<unsigned>(rng() % 63);
      return std::max<std::int64_t>(1, static_cast<std::int64_t>(rng() >> (64 - bits)));
    }
  }
}

// The plain reference: min(max, initial · multiplier^(n−1)) in long double.
long double reference_base(sg::exponential const& b, unsigned n) {
  const long double max = static_cast<long double>(b.max.count());
  const long double v = static_cast<long double>(b.initial.count()) *
                        std::pow(static_cast<long double>(b.multiplier), static_cast<long double>(n - 1));
  return std::isnan(v) ? max : std::min(v, max);
}

}  // namespace

TEST_CASE("retry: every wait is between 0 and max and the base grows to max and stays, for any parameters",
          "[policy][retry][property]") {
  SG_SEEDED_RNG(rng);
  using ns = std::chrono::nanoseconds;
  const double multipliers[] = {1.0, std::nextafter(1.0, 2.0), 1.000001, 1.5, 2.0, 3.7, 10.0, 1e3, 1e18, 1e300,
                                std::numeric_limits<double>::max(), std::numeric_limits<double>::infinity()};
  const unsigned ns_of_n[] = {1u, 2u, 3u, 10u, 62u, 63u, 64u, 65u, 1000u, 1u << 20, 0xfffffffeu, 0xffffffffu};
  const ns previous_waits[] = {0ns, -1ns, ns::min(), ns::max(), ns::max() / 3, ns::max() / 3 + 1ns};
  for (int trial = 0; trial < 3000; ++trial) {
    sg::retry<> r;
    const std::int64_t a = any_positive_ns(rng), b = any_positive_ns(rng);
    r.backoff.initial = ns(std::min(a, b));
    r.backoff.max = rng() % 4 == 0 ? ns::max() : ns(std::max(a, b));
    r.backoff.multiplier = rng() % 3 == 0 ? 1.0 + std::uniform_real_distribution<double>(0, 3)(rng)
                                          : multipliers[rng() % std::size(multipliers)];
    REQUIRE_NOTHROW(r.validate());
    const auto initial = r.backoff.initial, max = r.backoff.max;
    INFO("initial " << initial.count() << " ns, max " << max.count() << " ns, multiplier " << r.backoff.multiplier);
    ns last_base = 0ns;
    for (unsigned n : ns_of_n) {
      INFO("n = " << n);
      r.jitter = sg::jitter::none;
      const ns base = r.wait_before(n, 0ns, rng);
      // within rounding of the plain reference, at most max, and never below the last one
      const long double ref = reference_base(r.backoff, n);
      CHECK(std::abs(static_cast<long double>(base.count()) - ref) <= 1e-12L * ref + 1);
      CHECK((base >= initial && base <= max));
      CHECK(base >= last_base);
      if (last_base == max) CHECK(base == max);
      last_base = base;
      const ns previous = rng() % 2 == 0 ? previous_waits[rng() % std::size(previous_waits)]
                                         : ns(any_positive_ns(rng));
      r.jitter = sg::jitter::full;
      ns w = r.wait_before(n, previous, rng);
      CHECK((w >= 0ns && w <= base));
      r.jitter = sg::jitter::equal;
      w = r.wait_before(n, previous, rng);
      CHECK((w >= base / 2 && w <= base));
      r.jitter = sg::jitter::decorrelated;
      w = r.wait_before(n, previous, rng);
      const long double three_prev = 3.0L * static_cast<long double>(std::max(previous, initial).count());
      CHECK((w >= initial && w <= max));
      CHECK(static_cast<long double>(w.count()) <= std::max(three_prev, static_cast<long double>(initial.count())));
    }
  }
}

TEST_CASE("retry: parameters validate() refuses still give a wait between 0 and max, without UB", "[policy][retry]") {
  SG_SEEDED_RNG(rng);
  using ns = std::chrono::nanoseconds;
  const sg::exponential bad[] = {{.initial = 0ns, .max = 1s, .multiplier = 2},
                                 {.initial = -5s, .max = 1s, .multiplier = 2},
                                 {.initial = 2s, .max = 1s, .multiplier = 2},
                                 {.initial = 1s, .max = -1s, .multiplier = 2},
                                 {.initial = 1ms, .max = 1s, .multiplier = std::nan("")},
                                 {.initial = 1ms, .max = 1s, .multiplier = 0.5},
                                 {.initial = ns::min(), .max = ns::min(), .multiplier = -1e300}};
  for (auto const& b : bad) {
    for (auto j : {sg::jitter::none, sg::jitter::full, sg::jitter::equal, sg::jitter::decorrelated}) {
      const sg::retry<> r{.backoff = b, .jitter = j};
      for (unsigned n : {0u, 1u, 2u, 100u, 0xffffffffu}) {
        const ns w = r.wait_before(n, ns::max(), rng);
        CHECK(w >= 0ns);
        CHECK(w <= std::max(b.max, 0ns));
      }
    }
  }
}
