#include <sg/agg/count.hpp>
#include <sg/agg/sum.hpp>
#include <sg/exec/async.hpp>
#include <sg/merge/concat.hpp>
#include <sg/merge/sorted.hpp>
#include <sg/pipeline.hpp>
#include <sg/query/local.hpp>
#include <sg/query/query.hpp>

#include "support/async_shards.hpp"
#include "support/query_shard.hpp"
#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <tuple>
#include <vector>

namespace asio = boost::asio;
using sg_test::outcome;
using sg_test::record;
using sg_test::rows;

namespace {


// A merge whose accumulator logs the shards in the order it is given their answers.
struct logging_merge {
  std::vector<std::size_t>* log;
  template <class Resp>
  auto accumulator() const {
    struct acc {
      std::vector<std::size_t>* log;
      rows all;
      void add(std::size_t shard, rows&& r) {
        log->push_back(shard);
        all.insert(all.end(), r.begin(), r.end());
      }
      rows finish() && { return std::move(all); }
    };
    return acc{log, {}};
  }
};

}  // namespace

TEST_CASE("async: async shards answer through a callback, merged in shard order", "[exec][async]") {
  asio::io_context io;
  std::vector<sg_test::posting_shard> shards{{&io, 10}, {&io, 20}, {&io, 30}};
  auto pipe = sg::scatter(shards) | sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
  outcome o;
  pipe.async(1, record(o));
  CHECK(o.calls == 0);  // never inside the initiating call
  io.run();
  REQUIRE(o.calls == 1);
  CHECK(!o.ec);
  CHECK(o.result->value == rows{11, 21, 31});
  CHECK(o.result->completeness.complete());
}

TEST_CASE("async: the merge is fed as answers arrive, in arrival order", "[exec][async]") {
  asio::io_context io;
  std::vector<sg_test::parked_shard> shards{sg_test::parked_shard(io, 0), sg_test::parked_shard(io, 1),
                                            sg_test::parked_shard(io, 2)};
  std::vector<std::size_t> log;
  auto pipe = sg::scatter(shards) | sg::on(io.get_executor()) | sg::gather(logging_merge{&log});
  outcome o;
  pipe.async(0, record(o));
  io.poll();
  for (auto& s : shards) CHECK(s.parked());
  shards[2].release();
  io.poll();
  CHECK(log == std::vector<std::size_t>{2});  // merged before the others answered
  CHECK(o.calls == 0);
  shards[0].release();
  io.poll();
  CHECK(log == std::vector<std::size_t>{2, 0});
  shards[1].release();
  io.run();
  CHECK(log == std::vector<std::size_t>{2, 0, 1});
  REQUIRE(o.calls == 1);
  CHECK(o.result->value == rows{2, 0, 1});
}

TEST_CASE("async: sync shards run on the pipeline's executor, use_future", "[exec][async]") {
  asio::thread_pool pool(2);
  std::vector<rows> data{{1, 4}, {2}, {3, 5}};
  auto pipe = sg::scatter(data) | sg::on(pool.get_executor()) | sg::gather(sg::merge::sorted());
  auto read_all = [](rows const& shard) { return shard; };  // the request: a function of the shard
  auto f = pipe.async(read_all, asio::use_future);
  auto [ec, g] = f.get();  // a std::error_code completes as a value: no exception, no lost result
  CHECK(!ec);
  CHECK(g.value == rows{1, 2, 3, 4, 5});
  CHECK(g.completeness.complete());
  pool.join();
}

using sg_test::query_shard;
using sg_test::sale;

TEST_CASE("async: a typed query is its own request and merge, on a pool, use_future", "[exec][async][query]") {
  SG_SEEDED_RNG(rng);
  asio::thread_pool pool(2);
  std::vector<query_shard> shards(5);
  std::vector<sale> all;
  for (int i = 0; i < 2000; ++i) {
    const sale s{static_cast<int>(rng() % 40), static_cast<long>(rng() % 1000)};
    shards[rng() % shards.size()].rows_.push_back(s);
    all.push_back(s);
  }
  auto q = sg::query(sg::where(sg::ge(&sale::cents, 100)), sg::group_by(&sale::region),
                     sg::aggregate(sg::agg::count(), sg::agg::sum(&sale::cents)),
                     sg::order_by(sg::desc(sg::col<2>), sg::asc(sg::col<0>)), sg::limit(10));
  auto pipe = sg::scatter(shards) | sg::on(pool.get_executor()) | sg::gather(q);
  auto [ec, g] = pipe.async(q, asio::use_future).get();
  CHECK(!ec);
  CHECK(g.completeness.complete());
  CHECK(g.value == sg::local::evaluate(q, all));
  CHECK(g.value.size() == 10);
  pool.join();
}

TEST_CASE("async: a tuple of an async and a sync shard, deferred and use_awaitable", "[exec][async]") {
  asio::io_context io;
  struct sync_shard {
    rows execute(int r) const { return rows{100 + r}; }
  };
  std::tuple<sg_test::posting_shard, sync_shard> shards{{&io, 10}, {}};
  auto pipe = sg::scatter(shards) | sg::on(io.get_executor()) | sg::gather(sg::merge::concat());

  outcome o;
  auto op = pipe.async(5, asio::deferred);
  CHECK(o.calls == 0);
  std::move(op)(record(o));
  io.run();
  REQUIRE(o.calls == 1);
  CHECK(o.result->value == rows{15, 105});

  io.restart();
  rows from_coroutine;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto [ec, g] = co_await pipe.async(7, asio::use_awaitable);
        CHECK(!ec);
        from_coroutine = g.value;
      },
      asio::detached);
  io.run();
  CHECK(from_coroutine == rows{17, 107});
}

TEST_CASE("async: failures are recorded, below the partial rule the error comes with the partial result",
          "[exec][async]") {
  asio::io_context io;
  std::vector<sg_test::posting_shard> shards{
      {&io, 10}, {&io, 20, std::make_error_code(std::errc::connection_reset)}, {&io, 30}};
  {
    auto pipe = sg::scatter(shards) | sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
    outcome o;
    pipe.async(1, record(o));
    io.run();
    REQUIRE(o.calls == 1);
    CHECK(o.ec == sg::errc::partial_result);
    CHECK(o.result->value == rows{11, 31});  // delivered with the error
    REQUIRE(o.result->failures.size() == 1);
    CHECK(o.result->failures[0].shard == 1);
    CHECK(o.result->failures[0].error == std::errc::connection_reset);
  }
  io.restart();
  {
    auto pipe = sg::scatter(shards) | sg::with(sg::partial{.min_success_ratio = 0.5}) | sg::on(io.get_executor()) |
                sg::gather(sg::merge::concat());
    outcome o;
    pipe.async(1, record(o));
    io.run();
    CHECK(!o.ec);
    CHECK(o.result->completeness.succeeded == 2);
  }
}

namespace {
// Completes with void(std::exception_ptr, rows): an exception carries the failure's words.
struct throwing_async_shard {
  asio::io_context* io;
  std::exception_ptr error;

  template <class Token>
  auto async_execute(int request, Token&& token) {
    return asio::async_initiate<Token, void(std::exception_ptr, rows)>(
        [this](auto handler, int r) {
          auto ex = asio::get_associated_executor(handler, io->get_executor());
          asio::post(ex, [h = std::move(handler), e = error, r]() mutable { std::move(h)(e, e ? rows{} : rows{r}); });
        },
        token, request);
  }
};
}  // namespace

TEST_CASE("async: a shard completing with an exception_ptr fails with the exception's code and words",
          "[exec][async]") {
  STATIC_REQUIRE(sg::async_shard_for<throwing_async_shard, int>);
  asio::io_context io;
  std::vector<throwing_async_shard> shards{
      {&io, nullptr},
      {&io, std::make_exception_ptr(std::system_error(std::make_error_code(std::errc::connection_reset),
                                                      "server closed the connection unexpectedly"))},
      {&io, std::make_exception_ptr(std::runtime_error("relation \"orders\" does not exist"))}};
  auto pipe = sg::scatter(shards) | sg::with(sg::partial{.min_success_ratio = 0.3}) | sg::on(io.get_executor()) |
              sg::gather(sg::merge::concat());
  outcome o;
  pipe.async(7, record(o));
  io.run();
  REQUIRE(o.calls == 1);
  CHECK(!o.ec);
  CHECK(o.result->value == rows{7});
  REQUIRE(o.result->failures.size() == 2);
  CHECK(o.result->failures[0].error == std::errc::connection_reset);
  CHECK_THAT(o.result->failures[0].what, Catch::Contains("server closed the connection unexpectedly"));
  CHECK(o.result->failures[1].error == sg::errc::shard_failed);
  CHECK(o.result->failures[1].what == "relation \"orders\" does not exist");
}

TEST_CASE("async: cancelling the gather cancels every child and completes after all of them", "[exec][async]") {
  asio::io_context io;
  std::vector<sg_test::parked_shard> shards{sg_test::parked_shard(io, 0), sg_test::parked_shard(io, 1),
                                            sg_test::parked_shard(io, 2)};
  auto pipe = sg::scatter(shards) | sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
  asio::cancellation_signal cancel;
  outcome o;
  pipe.async(0, asio::bind_cancellation_slot(cancel.slot(), record(o)));
  io.poll();
  shards[1].release();  // one answers before the cancellation
  io.poll();
  cancel.emit(asio::cancellation_type::terminal);
  io.run();
  REQUIRE(o.calls == 1);
  CHECK(o.ec == sg::errc::cancelled);
  for (auto& s : shards) CHECK(!s.parked());  // every child completed
  CHECK(o.result->value == rows{1});
  REQUIRE(o.result->failures.size() == 2);
  for (auto const& f : o.result->failures) CHECK(f.error == sg::errc::cancelled);
}

TEST_CASE("async: cancelled sync shards that have not started never run", "[exec][async]") {
  asio::io_context io;       // the handler's
  asio::io_context workers;  // the sync shards', not run until after the cancellation
  std::atomic<int> calls{0};
  std::vector<sg_test::counting_shard> shards(3, sg_test::counting_shard{&calls});
  auto pipe = sg::scatter(shards) | sg::on(workers.get_executor()) | sg::gather(sg::merge::concat());
  asio::cancellation_signal cancel;
  outcome o;
  pipe.async(9, asio::bind_executor(io, asio::bind_cancellation_slot(cancel.slot(), record(o))));
  cancel.emit(asio::cancellation_type::terminal);
  io.poll();
  workers.run();
  io.run();
  REQUIRE(o.calls == 1);
  CHECK(calls == 0);
  CHECK(o.ec == sg::errc::cancelled);
  CHECK(o.result->completeness.failed == 3);
}

TEST_CASE("async: no targeted shard completes with no_shards, never inside the call", "[exec][async]") {
  asio::io_context io;
  std::vector<sg_test::posting_shard> none;
  auto pipe = sg::scatter(none) | sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
  outcome o;
  pipe.async(1, record(o));
  CHECK(o.calls == 0);
  io.run();
  REQUIRE(o.calls == 1);
  CHECK(o.ec == sg::errc::no_shards);
}

TEST_CASE("async: many gathers at once on a multi-threaded io_context", "[exec][async]") {
  SG_SEEDED_RNG(rng);
  asio::io_context io;
  std::vector<sg_test::posting_shard> shards;
  for (int i = 0; i < 16; ++i) shards.push_back({&io, i * 1000});
  auto pipe = sg::scatter(shards) | sg::on(io.get_executor()) | sg::gather(sg::merge::sorted());
  constexpr int gathers = 300;
  std::vector<outcome> results(gathers);
  for (int i = 0; i < gathers; ++i) pipe.async(i, record(results[static_cast<std::size_t>(i)]));
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) threads.emplace_back([&] { io.run(); });
  for (auto& t : threads) t.join();
  for (int i = 0; i < gathers; ++i) {
    auto const& o = results[static_cast<std::size_t>(i)];
    REQUIRE(o.calls == 1);
    CHECK(!o.ec);
    rows want;
    for (int s = 0; s < 16; ++s) want.push_back(s * 1000 + i);
    CHECK(o.result->value == want);
  }
}

// --- a typed query is given once ---------------------------------------------------------

TEST_CASE("a pipeline built for query q runs q: pipe() and pipe.async(token), one limit everywhere",
          "[exec][async][query][pipeline]") {
  SG_SEEDED_RNG(rng);
  std::vector<query_shard> shards(4);
  std::vector<sale> all;
  for (int i = 0; i < 500; ++i) {
    const sale s{static_cast<int>(rng() % 30), static_cast<long>(i) * 37 % 1009};  // distinct: no ties to order
    shards[rng() % shards.size()].rows_.push_back(s);
    all.push_back(s);
  }
  auto top = [](std::size_t n) { return sg::query(sg::order_by(sg::desc(&sale::cents)), sg::limit(n)); };
  const auto top10 = top(10);
  const auto top1 = top(1);
  auto pipe = sg::scatter(shards) | sg::gather(top10);
  // Given once: the pipeline's own query.
  auto g = pipe();
  CHECK(g.value == sg::local::evaluate(top10, all));
  CHECK(g.value.size() == 10);
  // A query of the same type as the request: it drives the shards and the coordinator
  // alike. (Before, the shards cut to 1 row and the coordinator merged for 10: 2 rows,
  // marked complete, came back for LIMIT 1 from 2 shards.)
  auto one = pipe(top1);
  CHECK(one.value == sg::local::evaluate(top1, all));
  CHECK(one.value.size() == 1);
  CHECK(one.completeness.complete());
  // The same through pipe.async(token).
  asio::io_context io;
  auto apipe = sg::scatter(shards) | sg::on(io.get_executor()) | sg::gather(top10);
  std::optional<sg::gathered<std::vector<sale>>> got, got1;
  apipe.async([&](std::error_code ec, sg::gathered<std::vector<sale>> r) {
    CHECK(!ec);
    got.emplace(std::move(r));
  });
  apipe.async(top1, [&](std::error_code ec, sg::gathered<std::vector<sale>> r) {
    CHECK(!ec);
    got1.emplace(std::move(r));
  });
  io.run();
  REQUIRE(got);
  REQUIRE(got1);
  CHECK(got->value == sg::local::evaluate(top10, all));
  CHECK(got1->value == sg::local::evaluate(top1, all));
}

TEST_CASE("async: pipe(request) over async shards waits for pipe.async, running the io_context",
          "[exec][async][blocking]") {
  asio::io_context io;  // nobody runs it but the call itself
  std::vector<sg_test::posting_shard> shards{{&io, 10}, {&io, 20}, {&io, 30}};
  auto pipe = sg::scatter(shards) | sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
  auto g = pipe(1);
  CHECK(g.value == rows{11, 21, 31});
  CHECK(g.completeness.complete());
  // Again: the io_context ran out of work after the first call and is restarted.
  CHECK(pipe(2).value == rows{12, 22, 32});

  SECTION("a failure throws sg::scatter_error with the partial result, or sets ec") {
    shards[1].error = std::make_error_code(std::errc::connection_refused);
    try {
      (void)pipe(1);
      FAIL("no exception");
    } catch (sg::scatter_error const& e) {
      CHECK(e.code() == sg::errc::partial_result);
      REQUIRE(e.partial<rows>() != nullptr);
      CHECK(e.partial<rows>()->value == rows{11, 31});
    }
    std::error_code ec;
    auto partial = pipe(1, ec);
    CHECK(ec == sg::errc::partial_result);
    CHECK(partial.value == rows{11, 31});
    REQUIRE(partial.failures.size() == 1);
    CHECK(partial.failures[0].shard == 1);
  }
  SECTION("every policy of pipe.async applies: a retry after a failure") {
    std::vector<sg_test::scripted_async_shard> flaky{{&io, 7, {std::make_error_code(std::errc::connection_reset)}},
                                                      {&io, 8}};
    auto retrying = sg::scatter(flaky) |
                    sg::with(sg::retry<>{.max_attempts = 2, .backoff = {.initial = std::chrono::milliseconds(1)}}) |
                    sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
    auto r = retrying(0);
    CHECK(r.value == rows{7, 8});
    CHECK(*flaky[0].calls == 2);
  }
}

TEST_CASE("async: pipe(request) over async shards on a thread pool waits for the pool's threads",
          "[exec][async][blocking]") {
  asio::thread_pool pool(2);
  asio::io_context io;  // the shards post to the handler's executor: the pool's strand
  std::vector<sg_test::posting_shard> shards{{&io, 1}, {&io, 2}};
  auto pipe = sg::scatter(shards) | sg::on(pool.get_executor()) | sg::gather(sg::merge::concat());
  for (int i = 0; i < 20; ++i) CHECK(pipe(i).value == rows{1 + i, 2 + i});
  pool.join();
}
