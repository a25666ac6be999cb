#include <sg/policy/partial.hpp>

#include <catch2/catch.hpp>

#include <limits>
#include <stdexcept>

TEST_CASE("sg::partial accepts from its ratio up, and never zero answers", "[policy][partial]") {
  STATIC_REQUIRE(sg::policy<sg::partial>);
  const sg::partial all{};
  CHECK(all.accepts(4, 4));
  CHECK_FALSE(all.accepts(3, 4));

  const sg::partial most{.min_success_ratio = 0.75};
  CHECK(most.accepts(3, 4));
  CHECK_FALSE(most.accepts(2, 4));
  // ratios that are not exact in binary still compare as the user wrote them
  const sg::partial seven_tenths{.min_success_ratio = 0.7};
  CHECK(seven_tenths.accepts(7, 10));
  CHECK_FALSE(seven_tenths.accepts(69, 100));

  const sg::partial any{.min_success_ratio = 0.0};
  CHECK(any.accepts(1, 100));
  CHECK_FALSE(any.accepts(0, 100));  // "all shards failed" is never a success
}

TEST_CASE("sg::partial rejects a ratio outside 0 to 1", "[policy][partial]") {
  for (double bad : {-0.1, 1.5, std::numeric_limits<double>::quiet_NaN(),
                     std::numeric_limits<double>::infinity()}) {
    INFO(bad);
    CHECK_THROWS_WITH(sg::partial{.min_success_ratio = bad}.validate(),
                      Catch::Contains("min_success_ratio must be in [0, 1]"));
  }
  CHECK_NOTHROW(sg::partial{.min_success_ratio = 0.0}.validate());
  CHECK_NOTHROW(sg::partial{.min_success_ratio = 1.0}.validate());
}

// --- fail_fast: pipe.async completes once the rule can no longer be met ------------------

#include <sg/exec/async.hpp>
#include <sg/merge/concat.hpp>
#include <sg/pipeline.hpp>
#include <sg/policy/observe.hpp>

#include "support/async_shards.hpp"
#include "support/seed.hpp"

#include <boost/asio/io_context.hpp>

#include <random>
#include <string>
#include <vector>

namespace {
using namespace std::chrono_literals;
namespace asio = boost::asio;
}  // namespace

TEST_CASE("sg::partial fail_fast: a known failure completes the gather at once, cancelling the rest",
          "[policy][partial][async]") {
  asio::io_context io;
  const auto refused = std::make_error_code(std::errc::connection_refused);
  for (bool fast : {false, true}) {
    INFO("fail_fast " << fast);
    // Shard 1 is down (fails after 1 ms); shards 0 and 2 take 500 ms.
    std::vector<sg_test::delayed_shard> shards{sg_test::after(io, 10, {500ms}), sg_test::after(io, 20, {1ms}, {refused}),
                                               sg_test::after(io, 30, {500ms})};
    auto pipe = sg::scatter(shards) | sg::with(sg::partial{.fail_fast = fast}) | sg::on(io.get_executor()) |
                sg::gather(sg::merge::concat());
    sg_test::outcome o;
    pipe.async(0, sg_test::record(o));
    const auto took = sg_test::run_until_done(io, o);
    REQUIRE(o.calls == 1);
    CHECK(o.ec == sg::errc::partial_result);
    REQUIRE(o.result->completeness.targeted == 3);
    if (fast) {
      CHECK(took <= 2ms);
      CHECK(o.result->completeness.succeeded == 0);
      REQUIRE(o.result->failures.size() == 3);
      CHECK(o.result->failures[1].error == std::errc::connection_refused);
      for (std::size_t i : {0u, 2u}) {
        CHECK(o.result->failures[i].error == sg::errc::cancelled);
        CHECK(o.result->failures[i].what == "cancelled: the completion rule could no longer be met");
      }
      CHECK(*shards[0].cancelled == 1);  // the shards were told, and the gather waited for them
      CHECK(*shards[2].cancelled == 1);
    } else {
      CHECK(took >= 499ms);
      CHECK(o.result->completeness.succeeded == 2);
      CHECK(o.result->value == sg_test::rows{10, 30});  // the answers were waited for
    }
  }
}

TEST_CASE("sg::partial fail_fast: gives up exactly when the shards left cannot make up the ratio",
          "[policy][partial][async][property]") {
  SG_SEEDED_RNG(rng);
  asio::io_context io;
  for (int round = 0; round < 200; ++round) {
    const std::size_t n = 1 + rng() % 8;
    const double ratio = std::uniform_real_distribution<double>(0, 1)(rng);
    std::vector<sg_test::delayed_shard> shards;
    std::vector<bool> fails(n);
    std::vector<int> delay(n);
    for (std::size_t i = 0; i < n; ++i) {
      fails[i] = rng() % 2 == 0;
      delay[i] = 1 + static_cast<int>(rng() % 20);
      shards.push_back(sg_test::after(io, static_cast<int>(i), {std::chrono::milliseconds(delay[i])},
                                      fails[i] ? std::vector<std::error_code>{std::make_error_code(std::errc::io_error)}
                                               : std::vector<std::error_code>{}));
    }
    auto pipe = sg::scatter(shards) | sg::with(sg::partial{.min_success_ratio = ratio, .fail_fast = true}) |
                sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
    sg_test::outcome o;
    pipe.async(0, sg_test::record(o));
    sg_test::run_until_done(io, o);
    INFO("round " << round << ": " << n << " shards, ratio " << ratio);
    REQUIRE(o.calls == 1);
    // Reference: replay the outcomes in time order (ties: shard order, as the timers fire)
    // and find when the rule first became unreachable.
    std::vector<std::size_t> order(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return delay[a] < delay[b]; });
    const sg::partial rule{.min_success_ratio = ratio};
    std::size_t ok = 0, outstanding = n;
    int gave_up_at = -1;
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t i = order[k];
      --outstanding;
      ok += fails[i] ? 0 : 1;
      if (!rule.accepts(ok + outstanding, n)) {
        gave_up_at = delay[i];
        break;
      }
    }
    std::size_t total_ok = 0;
    for (std::size_t i = 0; i < n; ++i) total_ok += fails[i] ? 0 : 1;
    const bool met = rule.accepts(total_ok, n);  // monotone: unreachable at some point iff not met at the end
    CHECK(met == (gave_up_at < 0));
    CHECK(static_cast<bool>(o.ec) == !met);
    CHECK(o.result->completeness.succeeded + o.result->completeness.failed == n);
    std::size_t cancelled = 0;
    for (auto const& f : o.result->failures) cancelled += f.error == sg::errc::cancelled;
    if (gave_up_at < 0) {
      CHECK(cancelled == 0);
    } else {
      // Every shard slower than the one that decided it was cancelled, and no other.
      std::size_t slower = 0;
      for (std::size_t i = 0; i < n; ++i) slower += delay[i] >= gave_up_at;
      CHECK(cancelled <= slower);
      for (auto const& f : o.result->failures)
        if (f.error == sg::errc::cancelled) CHECK(delay[f.shard] >= gave_up_at);
    }
    // Nothing lost: every answer merged is a shard that succeeded.
    CHECK(o.result->value.size() == o.result->completeness.succeeded);
  }
}
