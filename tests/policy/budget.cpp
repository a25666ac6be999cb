#include <sg/exec/async.hpp>
#include <sg/merge/concat.hpp>
#include <sg/pipeline.hpp>
#include <sg/policy/budget.hpp>
#include <sg/policy/retry.hpp>

#include "support/async_shards.hpp"
#include "support/manual_clock.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;

TEST_CASE("retry_budget: failures take a token, successes give back a fraction, half full stops retries",
          "[policy][budget]") {
  sg::retry_budget b({.max_tokens = 10, .token_ratio = 0.5});
  CHECK(b.tokens() == 10);
  CHECK(b.may_retry());
  for (int i = 0; i < 5; ++i) b.on_failure();
  CHECK(b.tokens() == 5);
  CHECK(!b.may_retry());  // at half: no more retries
  b.on_success();
  CHECK(b.tokens() == 5.5);
  CHECK(b.may_retry());
  for (int i = 0; i < 100; ++i) b.on_success();
  CHECK(b.tokens() == 10);  // never above the maximum
  for (int i = 0; i < 100; ++i) b.on_failure();
  CHECK(b.tokens() == 0);  // never below zero
  CHECK_THROWS_AS(sg::retry_budget({.max_tokens = 0}), std::invalid_argument);
  CHECK_THROWS_AS(sg::retry_budget({.token_ratio = 1.5}), std::invalid_argument);
}

TEST_CASE("retry_budget: shared by threads, it stays within its bounds", "[policy][budget]") {
  sg::retry_budget b({.max_tokens = 100, .token_ratio = 0.1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&b, t] {
      for (int i = 0; i < 20000; ++i) {
        if ((i + t) % 3 == 0)
          b.on_failure();
        else
          b.on_success();
        (void)b.may_retry();
      }
    });
  for (auto& t : threads) t.join();
  CHECK(b.tokens() >= 0);
  CHECK(b.tokens() <= 100);
}

TEST_CASE("retry_budget: during an outage, retries stop once the budget is half spent", "[policy][budget][async]") {
  asio::io_context io;
  sg::retry_budget budget({.max_tokens = 4, .token_ratio = 0.1});
  const auto reset = std::make_error_code(std::errc::connection_reset);
  std::vector<sg_test::scripted_async_shard> shards;
  for (int i = 0; i < 3; ++i) shards.push_back(sg_test::scripted_async_shard{&io, i, {reset, reset, reset, reset}});
  auto policy = sg::retry<sg_test::manual_timer>{.max_attempts = 4,
                                                 .backoff = {.initial = 1ms, .max = 1ms},
                                                 .jitter = sg::jitter::none,
                                                 .budget = &budget};
  auto pipe = sg::scatter(shards) | sg::with(policy) | sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
  sg_test::outcome o;
  pipe.async(0, sg_test::record(o));
  for (int step = 0; step < 50 && o.calls == 0; ++step) {
    io.poll();
    sg_test::manual_clock::advance(1ms);
  }
  io.poll();
  REQUIRE(o.calls == 1);
  // Three first attempts fail: 4 → 1 token, at most one retry could start before the
  // budget fell to half; without the budget there would be 3 × 4 = 12 calls.
  int calls = 0;
  for (auto const& s : shards) calls += *s.calls;
  CHECK(calls <= 4);
  CHECK(budget.tokens() < 2);
}
