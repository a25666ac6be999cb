#include <sg/exec/async.hpp>
#include <sg/merge/concat.hpp>
#include <sg/pipeline.hpp>
#include <sg/policy/time.hpp>

#include "support/async_shards.hpp"
#include "support/manual_clock.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <type_traits>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using sg_test::manual_clock;
using sg_test::manual_timer;
using sg_test::outcome;
using sg_test::record;
using sg_test::rows;

namespace {


std::vector<sg_test::parked_shard> parked(asio::io_context& io, int n) {
  std::vector<sg_test::parked_shard> shards;
  for (int i = 0; i < n; ++i) shards.emplace_back(io, i);
  return shards;
}

}  // namespace

TEST_CASE("deadline: shards still out when it passes are cancelled and time out", "[policy][time][async]") {
  asio::io_context io;
  auto shards = parked(io, 3);
  auto pipe = sg::scatter(shards) | sg::with(sg::deadline<manual_timer>{100ms}) | sg::on(io.get_executor()) |
              sg::gather(sg::merge::concat());
  outcome o;
  pipe.async(0, record(o));
  io.poll();
  shards[0].release();
  manual_clock::advance(99ms);
  io.poll();
  CHECK(o.calls == 0);  // not yet
  manual_clock::advance(2ms);
  io.poll();
  io.poll();
  REQUIRE(o.calls == 1);
  CHECK(o.ec == sg::errc::timeout);
  CHECK(o.result->value == rows{0});  // what answered in time is delivered
  REQUIRE(o.result->failures.size() == 2);
  for (auto const& f : o.result->failures) CHECK(f.error == sg::errc::timeout);
  for (auto& s : shards) CHECK(!s.parked());  // every child completed before the handler
}

TEST_CASE("deadline with a partial rule: the shards that answered in time are the answer", "[policy][time][async]") {
  asio::io_context io;
  auto shards = parked(io, 4);
  auto pipe = sg::scatter(shards) |
              sg::with(sg::deadline<manual_timer>{50ms}, sg::partial{.min_success_ratio = 0.5}) |
              sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
  outcome o;
  pipe.async(0, record(o));
  io.poll();
  shards[3].release();
  shards[1].release();
  io.poll();
  manual_clock::advance(60ms);
  io.poll();
  io.poll();
  REQUIRE(o.calls == 1);
  CHECK(!o.ec);
  CHECK(o.result->value == rows{1, 3});  // concat puts the answers in shard order
  CHECK(o.result->completeness.succeeded == 2);
  CHECK(o.result->completeness.failed == 2);
}

TEST_CASE("timeout: an attempt that outlives it fails with timeout, the others are unaffected", "[policy][time][async]") {
  asio::io_context io;
  auto shards = parked(io, 3);
  auto pipe = sg::scatter(shards) | sg::with(sg::timeout<manual_timer>{30ms}) | sg::on(io.get_executor()) |
              sg::gather(sg::merge::concat());
  outcome o;
  pipe.async(0, record(o));
  io.poll();
  shards[0].release();
  shards[2].release();
  io.poll();
  CHECK(o.calls == 0);
  manual_clock::advance(31ms);
  io.poll();
  io.poll();
  REQUIRE(o.calls == 1);
  CHECK(o.ec == sg::errc::partial_result);
  REQUIRE(o.result->failures.size() == 1);
  CHECK(o.result->failures[0].shard == 1);
  CHECK(o.result->failures[0].error == sg::errc::timeout);
  CHECK(o.result->failures[0].what == "the attempt's timeout passed");
}

TEST_CASE("time limits: answers in time complete the gather with no timer left running", "[policy][time][async]") {
  asio::io_context io;
  std::vector<sg_test::posting_shard> shards{{&io, 1}, {&io, 2}};
  auto pipe = sg::scatter(shards) | sg::with(sg::deadline<manual_timer>{1s}, sg::timeout<manual_timer>{1s}) |
              sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
  outcome o;
  pipe.async(10, record(o));
  io.run();  // returns only when no work is left: the timers were cancelled and completed
  REQUIRE(o.calls == 1);
  CHECK(!o.ec);
  CHECK(o.result->value == rows{11, 12});
}

TEST_CASE("timeout: a sync shard not started when it passes is never called", "[policy][time][async]") {
  asio::io_context io;
  asio::io_context workers;  // not run until after the timeout
  std::atomic<int> calls{0};
  std::vector<sg_test::counting_shard> shards(2, sg_test::counting_shard{&calls});
  auto pipe = sg::scatter(shards) | sg::with(sg::timeout<manual_timer>{10ms}) | sg::on(workers.get_executor()) |
              sg::gather(sg::merge::concat());
  outcome o;
  pipe.async(5, asio::bind_executor(io, record(o)));
  io.poll();
  manual_clock::advance(11ms);
  io.poll();
  workers.run();
  io.run();
  REQUIRE(o.calls == 1);
  CHECK(calls == 0);
  REQUIRE(o.result->failures.size() == 2);
  for (auto const& f : o.result->failures) CHECK(f.error == sg::errc::timeout);
}

TEST_CASE("time limits: validated by sg::with, and sg::deadline{d} names a steady_timer", "[policy][time]") {
  CHECK_THROWS_AS(sg::with(sg::deadline{-1ms}), std::invalid_argument);
  CHECK_THROWS_AS(sg::with(sg::timeout{0ms}), std::invalid_argument);
  STATIC_REQUIRE(std::is_same_v<decltype(sg::deadline{200ms})::timer_type, asio::steady_timer>);
  STATIC_REQUIRE(std::is_same_v<decltype(sg::timeout{5s})::timer_type, asio::steady_timer>);
}
