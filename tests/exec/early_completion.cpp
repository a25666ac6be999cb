// Early completion of a merge that settles (sg::settling_accumulator): a LIMIT without
// ORDER BY keeps the first rows in shard order, so once the shards before the first
// unfinished one have given enough rows, the rest are not called (inline), not started
// (on a pool) or cancelled (pipe.async). The answer is the one a full gather gives; the
// shards not needed are counted as pruned.
#include <sg/exec/async.hpp>
#include <sg/exec/on.hpp>
#include <sg/pipeline.hpp>
#include <sg/policy/partial.hpp>
#include <sg/policy/retry.hpp>
#include <sg/query/local.hpp>
#include <sg/query/query.hpp>

#include "support/manual_clock.hpp"
#include "support/seed.hpp"

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace {

namespace asio = boost::asio;
using sg_test::manual_clock;
using sg_test::manual_timer;

struct item {
  int shard;
  int n;
  friend bool operator==(item const&, item const&) = default;
  friend std::size_t hash_value(item const& i) { return static_cast<std::size_t>(i.shard) * 1000003u + static_cast<std::size_t>(i.n); }
};
using rows = std::vector<item>;

// Shard i holds sizes[i] rows {i, 0..}; counts its calls; fails when told to.
struct counted_shard {
  rows rows_;
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
  bool fails = false;
  auto execute(auto const& q) const {
    ++*calls;
    if (fails) throw std::runtime_error("shard down");
    return sg::local::run(q, rows_);
  }
};

std::vector<counted_shard> make_shards(std::vector<int> const& sizes) {
  std::vector<counted_shard> out(sizes.size());
  for (std::size_t i = 0; i < sizes.size(); ++i)
    for (int k = 0; k < sizes[i]; ++k) out[i].rows_.push_back({static_cast<int>(i), k});
  return out;
}

rows all_rows(std::vector<counted_shard> const& shards) {
  rows all;
  for (auto const& s : shards) all.insert(all.end(), s.rows_.begin(), s.rows_.end());
  return all;
}

int calls(std::vector<counted_shard> const& shards) {
  int n = 0;
  for (auto const& s : shards) n += *s.calls;
  return n;
}

// Answers a typed query after `delay` on the manual clock; cancellation ends the wait with
// operation_canceled. Counts calls and cancellations.
struct delayed_query_shard {
  asio::io_context* io;
  rows rows_;
  std::chrono::milliseconds delay;
  std::error_code error{};
  std::shared_ptr<int> calls = std::make_shared<int>(0);
  std::shared_ptr<int> cancelled = std::make_shared<int>(0);

  template <class Q, class Token>
  auto async_execute(Q const& q, Token&& token) {
    using answer = decltype(sg::local::run(q, rows_));
    return asio::async_initiate<Token, void(std::error_code, answer)>(
        [this, q](auto handler) {
          ++*calls;
          auto timer = std::make_shared<manual_timer>(*io);
          timer->expires_after(delay);
          auto slot = asio::get_associated_cancellation_slot(handler);
          if (slot.is_connected())
            slot.assign([timer, c = cancelled](asio::cancellation_type) {
              ++*c;
              timer->cancel();
            });
          timer->async_wait([h = std::move(handler), timer, ec = error, v = sg::local::run(q, rows_)](
                                std::error_code waited) mutable {
            asio::get_associated_cancellation_slot(h).clear();
            const std::error_code out = waited ? std::make_error_code(std::errc::operation_canceled) : ec;
            auto ex = asio::get_associated_executor(h);
            asio::dispatch(ex, [h = std::move(h), out, v = std::move(v)]() mutable {
              std::move(h)(out, out ? answer{} : std::move(v));
            });
          });
        },
        token);
  }
};

template <class G>
void check_counts(G const& g, std::size_t targeted, std::size_t succeeded, std::size_t failed, std::size_t pruned) {
  CHECK(g.completeness.targeted == targeted);
  CHECK(g.completeness.succeeded == succeeded);
  CHECK(g.completeness.failed == failed);
  CHECK(g.completeness.pruned == pruned);
}

}  // namespace

TEST_CASE("early completion: inline, a limit without order_by calls only the shards it needs",
          "[exec][early_completion][query]") {
  auto shards = make_shards({5, 5, 5, 5, 5, 5, 5, 5});
  const auto all = all_rows(shards);
  auto pipe = sg::scatter(shards) | sg::gather(sg::query(sg::limit(7)));

  auto g = pipe();
  CHECK(g.value == sg::local::evaluate(sg::query(sg::limit(7)), all));
  CHECK(calls(shards) == 2);
  check_counts(g, 2, 2, 0, 6);
  CHECK(g.completeness.complete());

  SECTION("an offset counts: rows [5, 12) need three shards") {
    auto q = sg::query(sg::limit(7, 5));
    auto p = sg::scatter(shards) | sg::gather(q);
    auto h = p();
    CHECK(h.value == sg::local::evaluate(q, all));
    CHECK(calls(shards) == 2 + 3);
    check_counts(h, 3, 3, 0, 5);
  }
  SECTION("limit 0 needs one answer, and no more") {
    auto q = sg::query(sg::limit(0));
    auto h = (sg::scatter(shards) | sg::gather(q))();
    CHECK(h.value.empty());
    CHECK(calls(shards) == 2 + 1);
    CHECK(h.completeness.complete());
  }
  SECTION("a limit larger than every row calls every shard") {
    auto q = sg::query(sg::limit(1000));
    auto h = (sg::scatter(shards) | sg::gather(q))();
    CHECK(h.value == all);
    CHECK(calls(shards) == 2 + 8);
    check_counts(h, 8, 8, 0, 0);
  }
  SECTION("with order_by every shard is needed") {
    auto q = sg::query(sg::order_by(&item::n), sg::limit(1));
    auto h = (sg::scatter(shards) | sg::gather(q))();
    CHECK(calls(shards) == 2 + 8);
    CHECK(h.value.size() == 1);
    check_counts(h, 8, 8, 0, 0);
  }
  SECTION("with distinct every shard is needed") {
    auto q = sg::query(sg::distinct(), sg::limit(1));
    (void)(sg::scatter(shards) | sg::gather(q))();
    CHECK(calls(shards) == 2 + 8);
  }
}

TEST_CASE("early completion: a failure before the limit is reached is never hidden",
          "[exec][early_completion][query]") {
  auto shards = make_shards({5, 5, 5, 5, 5, 5});
  shards[0].fails = true;
  SECTION("every shard must answer: shard 0's rows were needed, so the gather fails as before") {
    std::error_code ec;
    auto g = (sg::scatter(shards) | sg::gather(sg::query(sg::limit(7))))(sg::query(sg::limit(7)), ec);
    CHECK(ec == sg::errc::partial_result);
    CHECK(g.completeness.failed == 1);
    CHECK(g.completeness.targeted == 6);  // nothing stopped early: the rule did not accept
  }
  SECTION("a rule that accepts the failure settles once the rows after it suffice") {
    auto pipe = sg::scatter(shards) | sg::with(sg::partial{.min_success_ratio = 0.5}) |
                sg::gather(sg::query(sg::limit(7)));
    std::error_code ec;
    auto g = pipe(sg::query(sg::limit(7)), ec);
    CHECK(!ec);
    rows want;
    for (int k = 0; k < 5; ++k) want.push_back({1, k});
    for (int k = 0; k < 2; ++k) want.push_back({2, k});
    CHECK(g.value == want);
    check_counts(g, 3, 2, 1, 3);
    CHECK_FALSE(g.completeness.complete());
    REQUIRE(g.failures.size() == 1);
    CHECK(g.failures[0].shard == 0);
    CHECK(calls(shards) == 3);
  }
}

TEST_CASE("early completion: on a thread pool, random sizes and limits equal a full gather",
          "[exec][early_completion][query][property]") {
  SG_SEEDED_RNG(rng);
  asio::thread_pool pool(3);
  for (int round = 0; round < 200; ++round) {
    std::uniform_int_distribution<int> count(1, 12), size(0, 6);
    std::vector<int> sizes(static_cast<std::size_t>(count(rng)));
    for (int& s : sizes) s = size(rng);
    auto shards = make_shards(sizes);
    const auto all = all_rows(shards);
    const std::size_t limit = std::uniform_int_distribution<std::size_t>(0, all.size() + 2)(rng);
    const std::size_t offset = std::uniform_int_distribution<std::size_t>(0, 3)(rng);
    INFO("round " << round << ", " << sizes.size() << " shards, limit " << limit << " offset " << offset);
    const auto q = sg::query(sg::limit(limit, offset));
    auto pipe = sg::scatter(shards) | sg::on(pool.get_executor()) | sg::gather(q);
    auto g = pipe();
    CHECK(g.value == sg::local::evaluate(q, all));
    CHECK(g.completeness.complete());
    CHECK(g.completeness.targeted + g.completeness.pruned == sizes.size());
    CHECK(static_cast<std::size_t>(calls(shards)) >= g.completeness.succeeded);
  }
  pool.join();
}

TEST_CASE("early completion: pipe.async cancels the shards a settled limit no longer needs",
          "[exec][early_completion][query][async]") {
  asio::io_context io;
  std::vector<delayed_query_shard> shards;
  // Shard 0 answers last: nothing settles before it, since its rows come first.
  const int delays[] = {30, 10, 5, 50, 50, 50};
  for (int i = 0; i < 6; ++i) {
    rows r;
    for (int k = 0; k < 4; ++k) r.push_back({i, k});
    shards.push_back({&io, std::move(r), std::chrono::milliseconds(delays[i])});
  }
  const auto q = sg::query(sg::limit(10));
  auto pipe = sg::scatter(shards) | sg::on(io.get_executor()) | sg::gather(q);
  std::optional<sg::gathered<rows>> got;
  std::error_code got_ec;
  pipe.async([&](std::error_code ec, sg::gathered<rows> g) {
    got_ec = ec;
    got.emplace(std::move(g));
  });
  auto waited = std::chrono::milliseconds(0);
  while (!got && waited < std::chrono::seconds(5)) {
    io.poll();
    manual_clock::advance(std::chrono::milliseconds(1));
    waited += std::chrono::milliseconds(1);
    io.restart();
  }
  REQUIRE(got);
  CHECK(!got_ec);
  rows all;
  for (auto const& s : shards) all.insert(all.end(), s.rows_.begin(), s.rows_.end());
  CHECK(got->value == sg::local::evaluate(q, all));
  // At 30 ms shards 0, 1, 2 have given 12 rows >= 10: shards 3, 4, 5 are cancelled.
  CHECK(waited < std::chrono::milliseconds(45));
  check_counts(*got, 3, 3, 0, 3);
  for (int i = 3; i < 6; ++i) CHECK(*shards[static_cast<std::size_t>(i)].cancelled == 1);
  for (int i = 0; i < 3; ++i) CHECK(*shards[static_cast<std::size_t>(i)].cancelled == 0);
}

TEST_CASE("early completion: pipe.async over random delays and failures equals the full gather",
          "[exec][early_completion][query][async][property]") {
  SG_SEEDED_RNG(rng);
  for (int round = 0; round < 150; ++round) {
    asio::io_context io;
    std::uniform_int_distribution<int> count(1, 9), size(0, 5), delay(0, 20), coin(0, 9);
    const std::size_t n = static_cast<std::size_t>(count(rng));
    std::vector<delayed_query_shard> shards;
    for (std::size_t i = 0; i < n; ++i) {
      rows r;
      for (int k = size(rng); k > 0; --k) r.push_back({static_cast<int>(i), k});
      shards.push_back({&io, std::move(r), std::chrono::milliseconds(delay(rng))});
      if (coin(rng) == 0) shards.back().error = std::make_error_code(std::errc::connection_refused);
    }
    std::size_t total = 0;
    for (auto const& s : shards) total += s.rows_.size();
    const std::size_t limit = std::uniform_int_distribution<std::size_t>(0, total + 1)(rng);
    const auto q = sg::query(sg::limit(limit));
    INFO("round " << round << ", " << n << " shards, limit " << limit);
    auto pipe = sg::scatter(shards) | sg::on(io.get_executor()) | sg::with(sg::partial{.min_success_ratio = 0.0}) |
                sg::gather(q);
    std::optional<sg::gathered<rows>> got;
    std::error_code got_ec;
    pipe.async([&](std::error_code ec, sg::gathered<rows> g) {
      got_ec = ec;
      got.emplace(std::move(g));
    });
    for (int t = 0; t < 100 && !got; ++t) {
      io.restart();
      io.poll();
      manual_clock::advance(std::chrono::milliseconds(1));
    }
    io.restart();
    io.poll();
    REQUIRE(got);
    // The answer: the first `limit` rows of the shards that answered, in shard order,
    // whichever shards the gather stopped early.
    rows answered;
    for (auto const& s : shards)
      if (!s.error) answered.insert(answered.end(), s.rows_.begin(), s.rows_.end());
    if (answered.size() > limit) answered.resize(limit);
    if (got->completeness.succeeded == 0) {
      CHECK(got_ec);
      continue;
    }
    CHECK(!got_ec);
    CHECK(got->value == answered);
    CHECK(got->completeness.targeted + got->completeness.pruned == n);
    CHECK(got->completeness.succeeded + got->completeness.failed == got->completeness.targeted);
    for (auto const& f : got->failures) CHECK(shards[f.shard].error);  // no unneeded shard shows as failed
  }
}
