// Attempt layers (sg/policy/layer.hpp): a user's own policy around every attempt, and the
// two example layers (examples/layers/): a bulkhead that queues attempts, and a request
// decorator. Also the engine's guard against a shard or a layer completing twice.
#include <sg/exec/async.hpp>
#include <sg/merge/concat.hpp>
#include <sg/pipeline.hpp>
#include <sg/policy/layer.hpp>
#include <sg/policy/partial.hpp>
#include <sg/policy/retry.hpp>
#include <sg/policy/time.hpp>

#include "layers/bulkhead.hpp"
#include "layers/decorate.hpp"
#include "support/async_shards.hpp"
#include "support/manual_clock.hpp"
#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <tuple>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using sg_test::manual_timer;
using sg_test::outcome;
using sg_test::record;
using sg_test::rows;

namespace {

// Answers {request} (posted), failing its first `failures` calls with connection_reset.
// Records every request it was sent.
struct echo_shard {
  asio::io_context* io;
  int failures = 0;
  std::shared_ptr<std::vector<int>> seen = std::make_shared<std::vector<int>>();

  template <class Token>
  auto async_execute(int request, Token&& token) {
    return asio::async_initiate<Token, void(std::error_code, rows)>(
        [this](auto handler, int r) {
          seen->push_back(r);
          const bool fail = static_cast<int>(seen->size()) <= failures;
          auto ex = asio::get_associated_executor(handler, io->get_executor());
          asio::post(ex, [h = std::move(handler), fail, r]() mutable {
            if (fail)
              std::move(h)(std::make_error_code(std::errc::connection_reset), rows{});
            else
              std::move(h)(std::error_code{}, rows{r});
          });
        },
        token, request);
  }
};

// Completes every call twice: first {value}, then {value + 1} (or an error).
struct twice_shard {
  asio::io_context* io;
  int value;
  bool second_is_error = false;

  template <class Token>
  auto async_execute(int, Token&& token) {
    return asio::async_initiate<Token, void(std::error_code, rows)>(
        [this](auto handler) {
          auto ex = asio::get_associated_executor(handler, io->get_executor());
          auto h = std::make_shared<decltype(handler)>(std::move(handler));
          asio::post(ex, [h, v = value] { (*h)(std::error_code{}, rows{v}); });
          asio::post(ex, [h, v = value, e = second_is_error] {
            (*h)(e ? std::make_error_code(std::errc::io_error) : std::error_code{}, rows{v + 1});
          });
        },
        token);
  }
};

// Logs "name>" when an attempt enters it and "<name" when the attempt's result passes
// back out through it.
struct logging_layer {
  using policy_tag = sg::layer_tag;
  std::string name;
  std::vector<std::string>* log;

  template <class Ctx, class Req, class Next, class Done>
  void operator()(Ctx const&, Req const& req, Next next, Done done) const {
    log->push_back(name + ">");
    next(req, [n = name, l = log, done = std::move(done)](auto&& result) mutable {
      l->push_back("<" + n);
      std::move(done)(std::forward<decltype(result)>(result));
    });
  }
};

// Fails every attempt itself, without calling the shard.
struct refusing_layer {
  using policy_tag = sg::layer_tag;
  template <class Ctx, class Req, class Next, class Done>
  void operator()(Ctx const&, Req const&, Next, Done done) const {
    std::move(done)(sg::attempt_error{std::make_error_code(std::errc::permission_denied), "tenant over quota"});
  }
};

// Throws before calling next.
struct throwing_layer {
  using policy_tag = sg::layer_tag;
  template <class Ctx, class Req, class Next, class Done>
  void operator()(Ctx const&, Req const&, Next, Done) const {
    throw std::runtime_error("layer refused: bad tenant");
  }
};

// Calls done twice, and the shard's result through too.
struct double_done_layer {
  using policy_tag = sg::layer_tag;
  template <class Ctx, class Req, class Next, class Done>
  void operator()(Ctx const&, Req const& req, Next next, Done done) const {
    next(req, [done](auto&& result) {
      done(result);
      done(sg::attempt_error{std::make_error_code(std::errc::io_error), "second completion"});
    });
  }
};

}  // namespace

TEST_CASE("layer: a decorator changes each attempt's request, retries included, never the gather's",
          "[policy][layer]") {
  asio::io_context io;
  std::vector<echo_shard> shards{{&io, 0}, {&io, 2}};  // shard 1 fails its first two calls
  struct seen_ctx {
    std::size_t shard, replica;
    unsigned attempt;
    sg::events::attempt_kind kind;
  };
  std::vector<seen_ctx> contexts;
  auto tag = example::decorate{[&](int& r, auto const& ctx) {
    contexts.push_back({ctx.shard(), ctx.replica(), ctx.attempt(), ctx.kind()});
    r = r * 100 + static_cast<int>(ctx.shard()) * 10 + static_cast<int>(ctx.attempt());
  }};
  auto pipe = sg::scatter(shards) |
              sg::with(sg::retry<manual_timer>{.max_attempts = 3, .backoff = {.initial = 1ms, .max = 1ms}}, tag) |
              sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
  outcome o;
  const int request = 7;
  pipe.async(request, record(o));
  sg_test::run_until_done(io, o);
  REQUIRE(o.calls == 1);
  CHECK(!o.ec);
  CHECK(o.result->value == rows{701, 713});
  CHECK(*shards[0].seen == std::vector<int>{701});
  CHECK(*shards[1].seen == std::vector<int>{711, 712, 713});  // each retry decorated anew
  REQUIRE(contexts.size() == 4);
  std::sort(contexts.begin(), contexts.end(),
            [](seen_ctx const& a, seen_ctx const& b) { return a.shard != b.shard ? a.shard < b.shard : a.attempt < b.attempt; });
  CHECK(contexts[0].shard == 0);
  CHECK(contexts[0].kind == sg::events::attempt_kind::first);
  CHECK(contexts[1].attempt == 1);
  CHECK(contexts[2].attempt == 2);
  CHECK(contexts[2].kind == sg::events::attempt_kind::retry);
  CHECK(contexts[3].attempt == 3);
  for (auto const& c : contexts) CHECK(c.replica == 0);
}

TEST_CASE("layer: layers apply in the order given, outermost first, around the call", "[policy][layer]") {
  asio::io_context io;
  std::vector<echo_shard> shards{{&io, 0}};
  std::vector<std::string> log;
  auto pipe = sg::scatter(shards) | sg::with(logging_layer{"a", &log}, sg::partial{}) |
              sg::with(logging_layer{"b", &log}) | sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
  outcome o;
  pipe.async(3, record(o));
  io.run();
  REQUIRE(o.calls == 1);
  CHECK(o.result->value == rows{3});
  CHECK(log == std::vector<std::string>{"a>", "b>", "<b", "<a"});
}

TEST_CASE("layer: a layer's own failure is the attempt's, in words, and so is a throw before next",
          "[policy][layer]") {
  asio::io_context io;
  std::vector<echo_shard> shards{{&io, 0}, {&io, 0}};
  SECTION("done(attempt_error)") {
    auto pipe = sg::scatter(shards) | sg::with(refusing_layer{}, sg::partial{.min_success_ratio = 0}) |
                sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
    outcome o;
    pipe.async(1, record(o));
    io.run();
    REQUIRE(o.calls == 1);
    CHECK(o.ec == sg::errc::partial_result);  // no shard answered
    REQUIRE(o.result->failures.size() == 2);
    CHECK(o.result->failures[0].error == std::errc::permission_denied);
    CHECK(o.result->failures[0].what == "tenant over quota");
    CHECK(shards[0].seen->empty());  // the shard was never called
  }
  SECTION("a throw") {
    auto pipe = sg::scatter(shards) | sg::with(throwing_layer{}, sg::partial{.min_success_ratio = 0}) |
                sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
    outcome o;
    pipe.async(1, record(o));
    io.run();
    REQUIRE(o.calls == 1);
    REQUIRE(o.result->failures.size() == 2);
    CHECK(o.result->failures[1].what == "layer refused: bad tenant");
    CHECK(o.result->failures[1].error == sg::errc::shard_failed);
  }
}

TEST_CASE("layer: a shard that completes twice changes nothing but its own first answer", "[policy][layer][async]") {
  asio::io_context io;
  // Without layers (the engine's own guard) and below a layer.
  for (bool layered : {false, true}) {
    for (bool second_is_error : {false, true}) {
      INFO("layered " << layered << ", second completion an error " << second_is_error);
      std::vector<twice_shard> shards{{&io, 10, second_is_error}, {&io, 20, second_is_error}, {&io, 30, second_is_error}};
      outcome o;
      std::vector<std::string> log;
      // (Each pipeline outlives its operation, as it must.)
      auto layered_pipe = sg::scatter(shards) | sg::with(logging_layer{"l", &log}) | sg::on(io.get_executor()) |
                          sg::gather(sg::merge::concat());
      auto plain_pipe = sg::scatter(shards) | sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
      if (layered)
        layered_pipe.async(0, record(o));
      else
        plain_pipe.async(0, record(o));
      io.restart();
      io.run();
      REQUIRE(o.calls == 1);
      CHECK(!o.ec);
      CHECK(o.result->completeness.succeeded == 3);
      CHECK(o.result->failures.empty());
      CHECK(o.result->value == rows{10, 20, 30});
      if (layered) CHECK(std::count(log.begin(), log.end(), "<l") == 3);  // the layer saw one result each
    }
  }
}

TEST_CASE("layer: a layer that calls done twice changes nothing but its attempt's first result",
          "[policy][layer][async]") {
  asio::io_context io;
  std::vector<echo_shard> shards{{&io, 0}, {&io, 0}};
  auto pipe = sg::scatter(shards) | sg::with(double_done_layer{}) | sg::on(io.get_executor()) |
              sg::gather(sg::merge::concat());
  outcome o;
  pipe.async(4, record(o));
  io.run();
  REQUIRE(o.calls == 1);
  CHECK(!o.ec);
  CHECK(o.result->value == rows{4, 4});
  CHECK(o.result->completeness.succeeded == 2);
}

TEST_CASE("layer: the bulkhead runs at most max_concurrent attempts a shard, across gathers, in arrival order",
          "[policy][layer][bulkhead]") {
  asio::io_context io;
  std::vector<sg_test::delayed_shard> shards{sg_test::after(io, 1, {10ms}), sg_test::after(io, 2, {10ms})};
  example::bulkhead_limits limits({.max_concurrent = 1, .max_queued = 8});
  auto pipe = sg::scatter(shards) | sg::with(example::bulkhead{&limits}) | sg::on(io.get_executor()) |
              sg::gather(sg::merge::concat());
  std::vector<outcome> o(3);
  std::vector<std::int64_t> done_at(3, -1);
  const auto t0 = sg_test::manual_clock::now();
  for (std::size_t q = 0; q < 3; ++q)
    pipe.async(0, [&, q](std::error_code ec, sg::gathered<rows> g) {
      record(o[q])(ec, std::move(g));
      done_at[q] = std::chrono::duration_cast<std::chrono::milliseconds>(sg_test::manual_clock::now() - t0).count();
    });
  io.poll();
  CHECK(limits.running(0) == 1);
  CHECK(limits.queued(0) == 2);
  for (int ms = 0; ms < 40 && o[2].calls == 0; ++ms) {
    sg_test::manual_clock::advance(1ms);
    io.restart();
    io.poll();
  }
  for (std::size_t q = 0; q < 3; ++q) {
    REQUIRE(o[q].calls == 1);
    CHECK(!o[q].ec);
    CHECK(o[q].result->value == rows{1, 2});
  }
  CHECK(done_at == std::vector<std::int64_t>{10, 20, 30});  // one at a time, first come first served
  CHECK(limits.peak() == 1);
  CHECK(*shards[0].calls == 3);
  CHECK(limits.running(0) == 0);
  CHECK(limits.queued(0) == 0);
}

TEST_CASE("layer: a waiting attempt leaves the bulkhead's queue on its timeout, and a full queue rejects at once",
          "[policy][layer][bulkhead]") {
  asio::io_context io;
  std::vector<sg_test::delayed_shard> shards{sg_test::after(io, 1, {50ms})};
  example::bulkhead_limits limits({.max_concurrent = 1, .max_queued = 1});
  auto pipe = sg::scatter(shards) | sg::with(sg::timeout<manual_timer>{20ms}, example::bulkhead{&limits}) |
              sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
  std::vector<outcome> o(3);
  for (auto& x : o) pipe.async(0, record(x));
  io.poll();
  // The first runs, the second waits, the third finds the queue full.
  REQUIRE(o[2].calls == 1);
  REQUIRE(o[2].result->failures.size() == 1);
  CHECK(o[2].result->failures[0].error == std::errc::device_or_resource_busy);
  CHECK(limits.queued(0) == 1);
  for (int ms = 0; ms < 30; ++ms) {
    sg_test::manual_clock::advance(1ms);
    io.restart();
    io.poll();
  }
  // At 20 ms both time out: the first on the shard, the second in the queue.
  for (std::size_t q = 0; q < 2; ++q) {
    REQUIRE(o[q].calls == 1);
    CHECK(o[q].ec == sg::errc::partial_result);
    REQUIRE(o[q].result->failures.size() == 1);
    CHECK(o[q].result->failures[0].error == sg::errc::timeout);
  }
  CHECK(*shards[0].calls == 1);  // the one that waited never reached the shard
  CHECK(limits.queued(0) == 0);
  CHECK(limits.running(0) == 0);
}

TEST_CASE("layer: the bulkhead under many gathers on a thread pool: the limit holds, nothing is lost",
          "[policy][layer][bulkhead][threads]") {
  SG_SEEDED_RNG(rng);
  asio::thread_pool pool(4);
  constexpr std::size_t n = 4;
  std::atomic<int> running[n] = {};
  std::atomic<int> peak{0};
  // Sync shards on the pool: each call counts itself in and out.
  struct counted_shard {
    std::atomic<int>* running;
    std::atomic<int>* peak;
    int value;
    rows execute(int) const {
      const int now = ++*running;
      int p = peak->load();
      while (now > p && !peak->compare_exchange_weak(p, now)) {
      }
      std::this_thread::sleep_for(std::chrono::microseconds(50));
      --*running;
      return rows{value};
    }
  };
  std::vector<counted_shard> shards;
  for (std::size_t i = 0; i < n; ++i) shards.push_back({&running[i], &peak, static_cast<int>(i)});
  const std::size_t limit = 1 + rng() % 2;
  example::bulkhead_limits limits({.max_concurrent = limit, .max_queued = 1000});
  auto pipe = sg::scatter(shards) | sg::with(example::bulkhead{&limits}) | sg::on(pool.get_executor()) |
              sg::gather(sg::merge::concat());
  std::vector<std::future<std::tuple<std::error_code, sg::gathered<rows>>>> futures;
  for (int q = 0; q < 40; ++q) futures.push_back(pipe.async(q, asio::use_future));
  for (auto& f : futures) {
    auto [ec, g] = f.get();
    CHECK(!ec);
    auto v = g.value;
    std::sort(v.begin(), v.end());
    CHECK(v == rows{0, 1, 2, 3});
  }
  CHECK(static_cast<std::size_t>(peak.load()) <= limit);
  CHECK(limits.peak() <= limit);
  pool.join();
}

TEST_CASE("layer: sync shards on an io_context pass through the decorator and the bulkhead",
          "[policy][layer]") {
  asio::io_context io;
  std::atomic<int> calls{0};
  std::vector<sg_test::counting_shard> shards{{&calls}, {&calls}};
  example::bulkhead_limits limits({.max_concurrent = 1, .max_queued = 4});
  auto tag = example::decorate{[](int& r, auto const& ctx) { r += 100 * static_cast<int>(ctx.shard()); }};
  auto pipe = sg::scatter(shards) | sg::with(tag, example::bulkhead{&limits}) | sg::on(io.get_executor()) |
              sg::gather(sg::merge::concat());
  outcome o;
  pipe.async(5, record(o));
  io.run();
  REQUIRE(o.calls == 1);
  CHECK(!o.ec);
  CHECK(o.result->value == rows{5, 105});
  CHECK(calls == 2);
}

namespace {

// A layer of a user's own that stops what is below it, as sg::timeout does: a signal of
// its own, bound to the handler it gives `next`, emitted when the call takes longer than
// `patience`; it then fails the attempt in its own words, and says so with an event of its
// own type.
struct impatient {
  using policy_tag = sg::layer_tag;
  std::chrono::milliseconds patience;

  struct gave_up {  // the layer's own event
    std::size_t shard;
    unsigned attempt;
  };

  template <class Ctx, class Req, class Next, class Done>
  void operator()(Ctx const& ctx, Req const& request, Next next, Done done) const {
    struct op_state {
      explicit op_state(typename Ctx::executor_type const& ex, Done d) : timer(ex), done(std::move(d)) {}
      manual_timer timer;
      asio::cancellation_signal below;
      Done done;
      bool fired = false;
    };
    auto op = std::make_shared<op_state>(ctx.executor(), std::move(done));
    if (auto above = ctx.cancellation_slot(); above.is_connected())  // cancellation from above passes
      above.assign([weak = std::weak_ptr(op)](asio::cancellation_type type) {  // weakly: see sg/policy/layer.hpp
        if (auto alive = weak.lock()) alive->below.emit(type);
      });
    op->timer.expires_after(patience);
    op->timer.async_wait([op, ctx](std::error_code ec) {
      if (ec) return;
      op->fired = true;
      ctx.emit(gave_up{ctx.shard(), ctx.attempt()});
      op->below.emit(asio::cancellation_type::terminal);
    });
    next(request, asio::bind_cancellation_slot(op->below.slot(), [op](auto&& result) {
           op->timer.cancel();
           if (op->fired)
             std::move(op->done)(sg::attempt_error{std::make_error_code(std::errc::operation_not_permitted),
                                                   "impatient: gave up"});
           else
             std::move(op->done)(std::forward<decltype(result)>(result));
         }));
  }
};

struct gave_up_log {
  std::vector<std::size_t> shards;
  int gathers = 0;
  void on(impatient::gave_up const& e) { shards.push_back(e.shard); }
  void on(sg::events::gather_end const&) { ++gathers; }  // sg::observe wants one of sg's events too
};

}  // namespace

TEST_CASE("layer: a layer cancels what is below it through a slot of its own, and emits its own events",
          "[policy][layer][async]") {
  asio::io_context io;
  std::vector<sg_test::delayed_shard> shards{sg_test::after(io, 1, {5ms}), sg_test::after(io, 2, {50ms})};
  gave_up_log log;
  auto pipe = sg::scatter(shards) |
              sg::with(impatient{10ms}, sg::observe(&log), sg::partial{.min_success_ratio = 0.5}) |
              sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
  outcome o;
  pipe.async(0, record(o));
  const auto took = sg_test::run_until_done(io, o);
  REQUIRE(o.calls == 1);
  CHECK(took < 15ms);  // not the slow shard's 50 ms: the layer stopped it at 10 ms
  CHECK(!o.ec);
  CHECK(o.result->value == rows{1});
  REQUIRE(o.result->failures.size() == 1);
  CHECK(o.result->failures[0].shard == 1);
  CHECK(o.result->failures[0].error == std::errc::operation_not_permitted);
  CHECK(o.result->failures[0].what == "impatient: gave up");
  CHECK(*shards[1].cancelled == 1);  // the shard itself saw the cancellation
  CHECK(*shards[0].cancelled == 0);
  CHECK(log.shards == std::vector<std::size_t>{1});
}

TEST_CASE("layer: cancellation from above passes through a layer that has a slot of its own",
          "[policy][layer][async]") {
  asio::io_context io;
  std::vector<sg_test::delayed_shard> shards{sg_test::after(io, 1, {50ms})};
  gave_up_log log;
  auto pipe = sg::scatter(shards) | sg::with(sg::timeout<manual_timer>{20ms}, impatient{40ms}, sg::observe(&log)) |
              sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
  outcome o;
  pipe.async(0, record(o));
  const auto took = sg_test::run_until_done(io, o);
  REQUIRE(o.calls == 1);
  // sg::timeout (outermost) fires at 20 ms: through the impatient layer, which forwards its
  // ctx.cancellation_slot() to its own signal, the shard is cancelled then, not at 40 ms.
  CHECK(took >= 20ms);
  CHECK(took < 25ms);
  REQUIRE(o.result->failures.size() == 1);
  CHECK(o.result->failures[0].error == sg::errc::timeout);
  CHECK(o.result->failures[0].what == "the attempt's timeout passed");
  CHECK(*shards[0].cancelled == 1);
  CHECK(log.shards.empty());  // the impatient layer never fired
}
