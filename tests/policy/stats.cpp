#include <sg/agg/count.hpp>
#include <sg/agg/sum.hpp>
#include <sg/exec/async.hpp>
#include <sg/exec/on.hpp>
#include <sg/merge/concat.hpp>
#include <sg/merge/sorted.hpp>
#include <sg/pipeline.hpp>
#include <sg/policy/hedge.hpp>
#include <sg/policy/observe.hpp>
#include <sg/policy/partial.hpp>
#include <sg/policy/retry.hpp>
#include <sg/policy/stats.hpp>
#include <sg/policy/time.hpp>
#include <sg/query/explain.hpp>
#include <sg/query/local.hpp>
#include <sg/query/query.hpp>
#include <sg/replicas.hpp>

#include "support/async_shards.hpp"
#include "support/manual_clock.hpp"
#include "support/query_shard.hpp"
#include "support/shards.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

using namespace std::chrono_literals;
using namespace sg_test;  // asio, the shards, manual_clock, outcome, record, run_until_done

namespace {

using sg::events::attempt_outcome;
const auto reset = std::make_error_code(std::errc::connection_reset);

sg::shard_stats shard(std::size_t index, attempt_outcome o, unsigned attempts, std::chrono::milliseconds latency,
                      std::optional<std::size_t> rows = 1) {
  sg::shard_stats s;
  s.shard = index;
  s.outcome = o;
  s.attempts = attempts;
  s.latency = latency;
  s.rows = rows;
  return s;
}


}  // namespace

TEST_CASE("stats: each shard's attempts, retries, rows and latency, in the result", "[policy][stats][async]") {
  asio::io_context io;
  std::vector<delayed_shard> shards{after(io, 1, {5ms}, {reset}), after(io, 2, {3ms})};
  auto pipe = sg::scatter(shards) |
              sg::with(sg::retry<manual_timer>{.max_attempts = 2, .backoff = {.initial = 1ms}, .jitter = sg::jitter::none},
                       sg::collect_stats{}) |
              sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
  outcome o;
  pipe.async(0, record(o));
  run_until_done(io, o);
  REQUIRE(o.calls == 1);
  REQUIRE(o.result->stats);
  auto const& st = *o.result->stats;
  auto first = shard(0, attempt_outcome::answered, 2, 11ms);
  first.retries = 1;
  CHECK(st.shards == std::vector<sg::shard_stats>{first, shard(1, attempt_outcome::answered, 1, 3ms)});
  CHECK(st.elapsed == 11ms);
  CHECK(st.merge_time >= 0ns);
  CHECK(st.plan.empty());
  CHECK_THAT(st.to_string(), Catch::Contains("shard 0: answered in 11.000 ms, 2 attempts, 1 retry, 1 row"));
}

TEST_CASE("stats: a hedge that wins, and a shard cut off by the deadline", "[policy][stats][async]") {
  asio::io_context io;
  delayed_shard slow = after(io, 7, {100ms}), fast = after(io, 7, {5ms});
  std::vector<decltype(sg::replicas(slow, fast))> shards;
  shards.push_back(sg::replicas(slow, fast));
  auto hedged = sg::scatter(shards) | sg::with(sg::hedge<manual_timer>{.delay = 10ms}, sg::collect_stats{}) |
                sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
  outcome o;
  hedged.async(0, record(o));
  run_until_done(io, o);
  REQUIRE(o.result->stats);
  auto won = shard(0, attempt_outcome::answered, 2, 15ms);
  won.hedges = 1;
  won.replica = 1;
  CHECK(o.result->stats->shards == std::vector<sg::shard_stats>{won});  // the loser does not count

  std::vector<delayed_shard> two{after(io, 1, {50ms}), after(io, 2, {30ms})};
  auto limited = sg::scatter(two) |
                 sg::with(sg::deadline<manual_timer>{35ms}, sg::partial{.min_success_ratio = 0}, sg::collect_stats{}) |
                 sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
  outcome p;
  limited.async(0, record(p));
  run_until_done(io, p);
  REQUIRE(p.result->stats);
  CHECK(p.result->stats->shards ==
        std::vector<sg::shard_stats>{shard(0, attempt_outcome::deadline, 1, 35ms, std::nullopt),
                                     shard(1, attempt_outcome::answered, 1, 30ms)});
  CHECK(p.result->stats->elapsed == 35ms);
}

TEST_CASE("stats: a typed query's plan, and nothing without the policy", "[policy][stats][async][query]") {
  asio::io_context io;
  std::vector<query_shard> shards(3);
  for (int i = 0; i < 300; ++i) shards[static_cast<std::size_t>(i) % 3].rows_.push_back({i % 7, i});
  auto q = sg::query(sg::group_by(&sale::region), sg::aggregate(sg::agg::count(), sg::agg::sum(&sale::cents)),
                     sg::order_by(sg::desc(sg::col<2>)), sg::limit(3));
  auto with_stats = sg::scatter(shards) | sg::with(sg::collect_stats{}) | sg::on(io.get_executor()) | sg::gather(q);
  bool checked = false;
  with_stats.async(q, [&](std::error_code ec, auto g) {
    CHECK(!ec);
    REQUIRE(g.stats);
    CHECK(g.stats->plan == sg::explain(q));
    CHECK(g.stats->shards.size() == 3);
    for (auto const& s : g.stats->shards) CHECK(s.outcome == attempt_outcome::answered);
    CHECK_THAT(g.stats->to_string(), Catch::Contains("plan:\nshards:"));
    checked = true;
  });
  io.run();
  CHECK(checked);

  auto without = sg::scatter(shards) | sg::on(io.get_executor()) | sg::gather(q);
  bool called = false;
  without.async(q, [&](std::error_code, auto r) {
    called = true;
    CHECK(r.stats == nullptr);
  });
  io.restart();
  io.run();
  CHECK(called);
}

TEST_CASE("stats: an observer beside the statistics still gets its events", "[policy][stats][observe][async]") {
  asio::io_context io;
  struct ends {
    int n = 0;
    void on(sg::events::attempt_end const&) { ++n; }
  } seen;
  std::vector<delayed_shard> shards{after(io, 1, {2ms}), after(io, 2, {1ms})};
  auto pipe = sg::scatter(shards) | sg::with(sg::observe{&seen}, sg::collect_stats{}) | sg::on(io.get_executor()) |
              sg::gather(sg::merge::concat());
  outcome o;
  pipe.async(0, record(o));
  run_until_done(io, o);
  CHECK(seen.n == 2);
  REQUIRE(o.result->stats);
  CHECK(o.result->stats->shards.size() == 2);
}

TEST_CASE("stats: the synchronous gather, inline and on a pool, one attempt a shard", "[policy][stats][sync]") {
  std::vector<scripted_shard> shards{{{1, 2, 3}}, {{4}, mode::throw_exception}, {{5, 6}}};
  auto check = [](sg::gathered<std::vector<int>> const& g) {
    REQUIRE(g.stats);
    auto const& st = *g.stats;
    REQUIRE(st.shards.size() == 3);
    CHECK(st.shards[0].outcome == attempt_outcome::answered);
    CHECK(st.shards[0].rows == std::optional<std::size_t>(3));
    CHECK(st.shards[1].outcome == attempt_outcome::failed);
    CHECK(st.shards[1].rows == std::nullopt);
    CHECK(st.shards[2].rows == std::optional<std::size_t>(2));
    for (auto const& s : st.shards) {
      CHECK(s.attempts == 1);
      CHECK(s.latency <= st.elapsed);
    }
    CHECK(st.merge_time <= st.elapsed);
    CHECK(st.plan.empty());
  };
  auto inline_pipe = sg::scatter(shards) | sg::with(sg::partial{.min_success_ratio = 0.5}, sg::collect_stats{}) |
                     sg::gather(sg::merge::concat());
  const auto g = inline_pipe(0);
  check(g);
  CHECK(g.stats->shards[0].latency <= g.stats->shards[2].latency);  // inline: in shard order
  asio::thread_pool pool(2);
  auto pooled = sg::scatter(shards) | sg::with(sg::partial{.min_success_ratio = 0.5}, sg::collect_stats{}) |
                sg::on(pool) | sg::gather(sg::merge::concat());
  check(pooled(0));
  pool.join();

  auto plain = sg::scatter(shards) | sg::with(sg::partial{.min_success_ratio = 0.5}) | sg::gather(sg::merge::concat());
  CHECK(plain(0).stats == nullptr);
}

TEST_CASE("stats: an answer the merge rejects is a failed shard, and a typed query's plan, synchronously",
          "[policy][stats][sync]") {
  std::vector<std::vector<int>> runs{{1, 3}, {4, 2}};
  auto sorted = sg::scatter(runs) | sg::with(sg::partial{.min_success_ratio = 0.5}, sg::collect_stats{}) |
                sg::gather(sg::merge::sorted());
  const auto g = sorted([](std::vector<int> const& rows) { return rows; });
  REQUIRE(g.stats);
  CHECK(g.stats->shards[0].outcome == attempt_outcome::answered);
  CHECK(g.stats->shards[1].outcome == attempt_outcome::failed);  // not sorted: rejected
  CHECK(g.stats->shards[1].rows == std::nullopt);

  std::vector<query_shard> shards(2);
  for (int i = 0; i < 40; ++i) shards[static_cast<std::size_t>(i) % 2].rows_.push_back({i % 3, i});
  auto q = sg::query(sg::group_by(&sale::region), sg::aggregate(sg::agg::count()));
  const auto r = (sg::scatter(shards) | sg::with(sg::collect_stats{}) | sg::gather(q))(q);
  REQUIRE(r.stats);
  CHECK(r.stats->plan == sg::explain(q));
  CHECK(r.value.size() == 3);
}
