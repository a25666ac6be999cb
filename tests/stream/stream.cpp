#include <sg/stream/channel.hpp>
#include <sg/stream/stream.hpp>

#include "support/manual_clock.hpp"
#include "support/seed.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using sg_test::manual_clock;
using sg_test::manual_timer;
using batch = std::vector<int>;

// One read of a scripted source: after `delay` on the manual clock, `rows` or `error`.
struct step {
  batch rows;
  std::error_code error{};
  std::chrono::milliseconds delay{0};
};
const step hang{{}, {}, std::chrono::hours(1)};  // answers only when cancelled (or in an hour)

// A source that plays a script, one step a read; past the script it has ended. Cancelling
// a read ends its wait with operation_canceled, `cancel_delay` later (a source that takes
// time to acknowledge). Counts reads started, completed and cancelled (shared, so the test
// keeps them after the stream takes the source).
class script_source {
 public:
  using batch_type = batch;
  struct counts {
    int started = 0, completed = 0, cancelled = 0;
    int outstanding() const { return started - completed; }
  };

  script_source(asio::io_context& io, std::vector<step> steps, std::chrono::milliseconds cancel_delay = 0ms)
      : io_(&io), steps_(std::move(steps)), cancel_delay_(cancel_delay) {}

  std::shared_ptr<counts> counters() const { return counts_; }

  template <class Token>
  auto async_next(Token&& token) {
    return asio::async_initiate<Token, void(std::error_code, batch)>(
        [this](auto handler) {
          ++counts_->started;
          const step s = next_ < steps_.size() ? steps_[next_] : step{};
          ++next_;
          auto timer = std::make_shared<manual_timer>(*io_);
          timer->expires_after(s.delay);
          auto slot = asio::get_associated_cancellation_slot(handler);
          if (slot.is_connected())
            slot.assign([timer, c = counts_, io = io_, delay = cancel_delay_](asio::cancellation_type) {
              ++c->cancelled;
              if (delay == 0ms) return void(timer->cancel());
              auto later = std::make_shared<manual_timer>(*io);
              later->expires_after(delay);
              later->async_wait([timer, later](std::error_code) { timer->cancel(); });
            });
          timer->async_wait([h = std::move(handler), timer, s, c = counts_](std::error_code waited) mutable {
            asio::get_associated_cancellation_slot(h).clear();
            ++c->completed;
            const std::error_code ec = waited ? std::make_error_code(std::errc::operation_canceled) : s.error;
            auto ex = asio::get_associated_executor(h);
            asio::dispatch(ex, [h = std::move(h), ec, rows = ec ? batch{} : s.rows]() mutable {
              std::move(h)(ec, std::move(rows));
            });
          });
        },
        token);
  }

 private:
  asio::io_context* io_;
  std::vector<step> steps_;
  std::chrono::milliseconds cancel_delay_;
  std::size_t next_ = 0;
  std::shared_ptr<counts> counts_ = std::make_shared<counts>();
};

// What a consumer got: every row, the batches, and how the stream ended.
struct consumed {
  batch rows;
  std::vector<std::size_t> batch_sizes;
  std::error_code error;
  bool ended = false;
};

// Pulls from the stream until its end or an error, one async_next at a time.
template <class Stream>
void consume(Stream& s, consumed& out, std::function<void()> at_end = {}) {
  s.async_next([&s, &out, at_end](std::error_code ec, batch b) {
    if (ec || b.empty()) {
      out.error = ec;
      out.ended = true;
      if (at_end) at_end();
      return;
    }
    out.batch_sizes.push_back(b.size());
    out.rows.insert(out.rows.end(), b.begin(), b.end());
    consume(s, out, at_end);
  });
}

// Runs io on the manual clock, 1 ms at a time, until `done` or `limit` of virtual time.
void run_until(asio::io_context& io, std::function<bool()> done, std::chrono::milliseconds limit = 10s) {
  for (auto waited = 0ms; waited < limit; waited += 1ms) {
    io.restart();
    io.poll();
    if (done()) break;
    manual_clock::advance(1ms);
  }
  io.restart();
  io.poll();
}

std::vector<sg::stream::rows_source<int, asio::io_context::executor_type>> rows_sources(
    asio::io_context& io, std::vector<batch> const& per_source, std::size_t batch_rows) {
  std::vector<sg::stream::rows_source<int, asio::io_context::executor_type>> out;
  for (auto const& rows : per_source) out.push_back(sg::stream::from_rows(io.get_executor(), rows, batch_rows));
  return out;
}

}  // namespace

TEST_CASE("stream: every merge over in-memory sources gives its reference answer", "[stream][property]") {
  SG_SEEDED_RNG(rng);
  for (int round = 0; round < 200; ++round) {
    const std::size_t k = 1 + rng() % 5;
    std::vector<batch> per_source(k);
    batch all;
    for (auto& rows : per_source) {
      rows.resize(rng() % 200);
      for (auto& v : rows) v = static_cast<int>(rng() % 100);
      std::sort(rows.begin(), rows.end());
      all.insert(all.end(), rows.begin(), rows.end());
    }
    std::sort(all.begin(), all.end());
    const std::size_t batch_rows = 1 + rng() % 40, out_rows = 1 + rng() % 50;
    const std::size_t limit = rng() % 3 == 0 ? rng() % 300 : std::size_t(-1);
    const sg::stream::options<> opts{.buffer = 1 + rng() % 3, .batch_rows = out_rows, .limit = limit};
    INFO("round " << round << ", " << k << " sources, " << all.size() << " rows, limit " << limit);
    asio::io_context io;
    const int which = static_cast<int>(rng() % 4);
    consumed got;
    batch want;  // the whole answer, in order (concat, distinct: sorted)
    auto run = [&](auto merge) {
      auto s = sg::stream::open(io.get_executor(), rows_sources(io, per_source, batch_rows), merge, opts);
      consume(s, got);
      io.run();
      CHECK(s.completeness().complete());
      return s.peak_buffered_rows();
    };
    if (which == 0) {
      want = all;
      CHECK(run(sg::merge::sorted()) <= k * opts.buffer * batch_rows);
    } else if (which == 1) {
      want = all;
      CHECK(run(sg::merge::concat()) <= k * opts.buffer * batch_rows);
    } else if (which == 2) {
      const std::size_t top = rng() % 30;
      want.assign(all.rbegin(), all.rend());
      want.resize(std::min(want.size(), top));
      CHECK(run(sg::merge::top_k(top, std::greater<>{})) <= top);
    } else {
      want.assign(all.begin(), std::unique(all.begin(), all.end()));
      run(sg::merge::distinct());
    }
    CHECK(got.ended);
    CHECK(!got.error);
    for (auto n : got.batch_sizes) CHECK(n <= out_rows);
    if (which == 0 || which == 2) {
      if (limit < want.size()) want.resize(limit);
      CHECK(got.rows == want);
    } else {  // arrival order: compare as multisets; under a limit, any `limit` of them
      std::sort(got.rows.begin(), got.rows.end());
      CHECK(got.rows.size() == std::min(limit, want.size()));
      CHECK(std::includes(want.begin(), want.end(), got.rows.begin(), got.rows.end()));
      if (which == 3) CHECK(std::adjacent_find(got.rows.begin(), got.rows.end()) == got.rows.end());
    }
  }
}

TEST_CASE("stream: a slow consumer pauses fast sources (backpressure)", "[stream][backpressure]") {
  asio::io_context io;
  std::vector<script_source> sources;
  std::vector<std::shared_ptr<script_source::counts>> counts;
  for (int s = 0; s < 3; ++s) {
    std::vector<step> script;
    for (int b = 0; b < 1000; ++b) {  // 10,000 rows each: far more than the buffer
      batch rows;
      for (int r = 0; r < 10; ++r) rows.push_back(b * 10 + r);
      script.push_back({rows});
    }
    sources.emplace_back(io, std::move(script));
    counts.push_back(sources.back().counters());
  }
  auto s = sg::stream::open(io.get_executor(), std::move(sources), sg::merge::sorted(),
                            sg::stream::options<>{.buffer = 2, .batch_rows = 5});
  std::size_t taken = 0;
  for (int pull = 0; pull < 50; ++pull) {
    s.async_next([&](std::error_code ec, batch b) {
      REQUIRE(!ec);
      taken += b.size();
    });
    io.restart();
    io.run();  // returns once every source has filled its buffer: nothing more is read
    for (auto const& c : counts) CHECK(c->outstanding() == 0);
    // Each source delivered no more than its share of what was taken, plus two batches.
    std::size_t delivered = 0;
    for (auto const& st : s.statistics()) delivered += st.rows;
    CHECK(delivered <= taken + 3 * 2 * 10);
  }
  CHECK(taken == 250);
  CHECK(s.peak_buffered_rows() <= 3 * 2 * 10);
}

TEST_CASE("stream: a limit cancels the outstanding reads, and the end comes after them", "[stream][termination]") {
  asio::io_context io;
  std::vector<script_source> sources;
  sources.emplace_back(io, std::vector<step>{{{1, 2}}, {{3, 4}}, {{5, 6}}});
  sources.emplace_back(io, std::vector<step>{{{10}}, hang}, 5ms);  // slow to acknowledge
  sources.emplace_back(io, std::vector<step>{{{20}}, hang}, 5ms);
  std::vector<std::shared_ptr<script_source::counts>> counts;
  for (auto const& src : sources) counts.push_back(src.counters());
  auto s = sg::stream::open(io.get_executor(), std::move(sources), sg::merge::concat(),
                            sg::stream::options<manual_timer>{.limit = 4});
  consumed got;
  int outstanding_at_end = -1;
  consume(s, got, [&] {
    outstanding_at_end = 0;
    for (auto const& c : counts) outstanding_at_end += c->outstanding();
  });
  run_until(io, [&] { return got.ended; });
  REQUIRE(got.ended);
  CHECK(!got.error);
  CHECK(got.rows.size() == 4);
  CHECK(outstanding_at_end == 0);  // children first
  CHECK(counts[1]->cancelled + counts[2]->cancelled >= 1);
  CHECK(s.completeness().failed == 0);
  CHECK(s.completeness().succeeded == 3);  // cut off is not a failure
  CHECK(s.rows_emitted() == 4);
}

TEST_CASE("stream: async_close cancels the reads and completes after them", "[stream][termination]") {
  asio::io_context io;
  std::vector<script_source> sources;
  sources.emplace_back(io, std::vector<step>{hang}, 5ms);
  sources.emplace_back(io, std::vector<step>{{{1}}, hang}, 3ms);
  auto c0 = sources[0].counters(), c1 = sources[1].counters();
  auto s = sg::stream::open(io.get_executor(), std::move(sources), sg::merge::sorted(),
                            sg::stream::options<manual_timer>{});
  std::optional<std::error_code> next_ec, close_ec;
  int outstanding_at_close = -1;
  s.async_next([&](std::error_code ec, batch) { next_ec = ec; });
  run_until(io, [&] { return c1->started == 2; }, 50ms);
  CHECK(!next_ec);  // blocked on source 0
  s.async_close([&](std::error_code ec) {
    close_ec = ec;
    outstanding_at_close = c0->outstanding() + c1->outstanding();
  });
  run_until(io, [&] { return close_ec.has_value(); });
  REQUIRE(next_ec);
  CHECK(*next_ec == std::errc::operation_canceled);
  REQUIRE(close_ec);
  CHECK(!*close_ec);
  CHECK(outstanding_at_close == 0);
  std::optional<batch> after;
  s.async_next([&](std::error_code ec, batch b) {
    CHECK(!ec);
    after = std::move(b);
  });
  run_until(io, [&] { return after.has_value(); });
  REQUIRE(after);
  CHECK(after->empty());
}

TEST_CASE("stream: a read timeout fails its source, and the rule decides", "[stream][timeout]") {
  auto make = [](asio::io_context& io) {
    std::vector<script_source> sources;
    sources.emplace_back(io, std::vector<step>{{{1, 2}}, hang});
    sources.emplace_back(io, std::vector<step>{{{3}, {}, 10ms}});
    return sources;
  };
  SECTION("half the sources suffice: the rest of the stream goes on without it") {
    asio::io_context io;
    auto s = sg::stream::open(io.get_executor(), make(io), sg::merge::sorted(),
                              sg::stream::options<manual_timer>{.read_timeout = 50ms, .rule = {.min_success_ratio = 0.5}});
    consumed got;
    consume(s, got);
    run_until(io, [&] { return got.ended; });
    REQUIRE(got.ended);
    CHECK(!got.error);
    CHECK(got.rows == batch{1, 2, 3});  // source 0's rows before the timeout stand
    const auto f = s.failures();
    REQUIRE(f.size() == 1);
    CHECK(f[0].shard == 0);
    CHECK(f[0].error == sg::errc::timeout);
    CHECK_THAT(f[0].what, Catch::Contains("took longer than 50 ms"));
    CHECK(s.completeness().succeeded == 1);
    CHECK(s.statistics()[0].state == sg::stream::source_state::failed);
  }
  SECTION("every source required: the stream fails, and what went out is not taken back") {
    asio::io_context io;
    auto s = sg::stream::open(io.get_executor(), make(io), sg::merge::sorted(),
                              sg::stream::options<manual_timer>{.read_timeout = 50ms});
    consumed got;
    consume(s, got);
    run_until(io, [&] { return got.ended; });
    REQUIRE(got.ended);
    CHECK(got.error == sg::errc::partial_result);
    CHECK(got.rows == batch{1, 2});  // 3 waited for source 0, which never answered
  }
}

TEST_CASE("stream: an unsorted or failing source is flagged, its earlier rows stand", "[stream][errors]") {
  asio::io_context io;
  const auto reset = std::make_error_code(std::errc::connection_reset);
  std::vector<script_source> sources;
  sources.emplace_back(io, std::vector<step>{{{1, 5}}, {{3, 4}}, {{7}}});
  sources.emplace_back(io, std::vector<step>{{{2}}, {{6}}});
  sources.emplace_back(io, std::vector<step>{{{0}}, {{}, reset}});
  auto s = sg::stream::open(io.get_executor(), std::move(sources), sg::merge::sorted(),
                            sg::stream::options<manual_timer>{.rule = {.min_success_ratio = 0.3}});
  consumed got;
  consume(s, got);
  run_until(io, [&] { return got.ended; });
  REQUIRE(got.ended);
  CHECK(!got.error);
  CHECK(got.rows == batch{0, 1, 2, 5, 6});
  auto f = s.failures();
  REQUIRE(f.size() == 2);
  std::sort(f.begin(), f.end(), [](auto const& a, auto const& b) { return a.shard < b.shard; });
  CHECK(f[0].error == sg::errc::bad_input);
  CHECK_THAT(f[0].what, Catch::Contains("source 0 is not sorted"));
  CHECK(f[1].error == std::errc::connection_reset);
  CHECK(s.completeness() == sg::completeness{3, 1, 2, 0});
}

TEST_CASE("stream: zero sources is an error, bad options are refused", "[stream][errors]") {
  asio::io_context io;
  std::vector<script_source> none;
  auto s = sg::stream::open(io.get_executor(), none, sg::merge::concat(), sg::stream::options<manual_timer>{});
  std::error_code got;
  s.async_next([&](std::error_code ec, batch) { got = ec; });
  io.run();
  CHECK(got == sg::errc::no_shards);
  auto braced = sg::stream::open(io.get_executor(), none, sg::merge::concat(), {.limit = 3});  // as in the docs
  STATIC_REQUIRE(std::is_same_v<decltype(braced), sg::stream::merged<script_source, sg::merge::concat_merge>>);
  using opts = sg::stream::options<manual_timer>;
  CHECK_THROWS_WITH(sg::stream::open(io.get_executor(), none, sg::merge::concat(), opts{.buffer = 0}),
                    Catch::Contains("buffer must be at least 1"));
  CHECK_THROWS_WITH(sg::stream::open(io.get_executor(), none, sg::merge::concat(), opts{.batch_rows = 0}),
                    Catch::Contains("batch_rows must be at least 1"));
  CHECK_THROWS_WITH(sg::stream::open(io.get_executor(), none, sg::merge::concat(), opts{.read_timeout = 0ms}),
                    Catch::Contains("read_timeout must be positive"));
  CHECK_THROWS_AS(sg::stream::open(io.get_executor(), none, sg::merge::concat(), opts{.rule = {.min_success_ratio = 2}}),
                  std::invalid_argument);
}

TEST_CASE("stream: a cancelled async_next loses no row", "[stream][cancellation]") {
  asio::io_context io;
  std::vector<script_source> sources;
  sources.emplace_back(io, std::vector<step>{{{1, 2, 3}, {}, 100ms}, {{4}}});
  sources.emplace_back(io, std::vector<step>{{{5}, {}, 100ms}});
  auto s = sg::stream::open(io.get_executor(), std::move(sources), sg::merge::concat(),
                            sg::stream::options<manual_timer>{});
  asio::cancellation_signal signal;
  std::optional<std::error_code> first;
  batch rows;
  s.async_next(asio::bind_cancellation_slot(signal.slot(), [&](std::error_code ec, batch b) {
    first = ec;
    rows.insert(rows.end(), b.begin(), b.end());
  }));
  io.poll();
  CHECK(!first);  // nothing has arrived
  signal.emit(asio::cancellation_type::terminal);
  io.poll();
  REQUIRE(first);
  CHECK(*first == std::errc::operation_canceled);
  CHECK(rows.empty());
  consumed got;
  consume(s, got);
  run_until(io, [&] { return got.ended; });
  rows.insert(rows.end(), got.rows.begin(), got.rows.end());
  std::sort(rows.begin(), rows.end());
  CHECK(rows == batch{1, 2, 3, 4, 5});
  CHECK(!got.error);
}

TEST_CASE("stream: a cancellation emitted right after async_next, before the strand runs, is not lost",
          "[stream][cancellation]") {
  asio::io_context io;
  std::vector<script_source> sources;
  sources.emplace_back(io, std::vector<step>{{{1, 2}, {}, 100ms}});
  auto s = sg::stream::open(io.get_executor(), std::move(sources), sg::merge::concat(),
                            sg::stream::options<manual_timer>{});
  asio::cancellation_signal signal;
  std::optional<std::error_code> first;
  s.async_next(asio::bind_cancellation_slot(signal.slot(), [&](std::error_code ec, batch) { first = ec; }));
  signal.emit(asio::cancellation_type::terminal);  // nothing has run yet
  io.poll();
  REQUIRE(first);
  CHECK(*first == std::errc::operation_canceled);
  consumed got;  // the stream is still whole
  consume(s, got);
  run_until(io, [&] { return got.ended; });
  CHECK(got.rows == batch{1, 2});
  CHECK(!got.error);
}

namespace {

// A source written as a coroutine: each read is a co_spawn'd coroutine, so it completes
// with void(std::exception_ptr, batch). It throws at read `fail_at`.
struct coroutine_source {
  using batch_type = batch;
  asio::any_io_executor ex;
  int next = 0, reads = 3, fail_at = -1;

  template <class Token>
  auto async_next(Token&& token) {
    const int n = next++;
    return asio::co_spawn(ex, produce(n, reads, fail_at), std::forward<Token>(token));
  }
  static asio::awaitable<batch> produce(int n, int reads, int fail_at) {
    if (n == fail_at) throw std::runtime_error("the coroutine source broke at read " + std::to_string(n));
    if (n >= reads) co_return batch{};
    co_return batch{n * 10, n * 10 + 1};
  }
};
static_assert(sg::stream::batch_source<coroutine_source>);

using batch_channel = asio::experimental::channel<void(boost::system::error_code, batch)>;

// Sends first, first + 2, … (5 batches of one row) into the channel, then closes it.
asio::awaitable<void> produce_into(batch_channel& ch, int first) {
  for (int i = 0; i < 5; ++i) {
    batch rows(1, first + 2 * i);  // not a braced temporary inside co_await: GCC 12 rejects it
    co_await ch.async_send(boost::system::error_code{}, std::move(rows), asio::use_awaitable);
  }
  ch.close();
}

}  // namespace

TEST_CASE("stream: channels and coroutines as sources, a coroutine as consumer", "[stream][channel]") {
  asio::io_context io;
  using channel = batch_channel;
  channel a(io, 0), b(io, 0);
  asio::co_spawn(io, produce_into(a, 0), asio::detached);
  asio::co_spawn(io, produce_into(b, 1), asio::detached);
  std::vector<sg::stream::channel_source<channel, int>> sources{sg::stream::from_channel(a), sg::stream::from_channel(b)};
  batch got;
  auto consumer = [&]() -> asio::awaitable<void> {  // named: the coroutine refers to it
    auto s = sg::stream::open(io.get_executor(), std::move(sources), sg::merge::sorted(),
                              sg::stream::options<>{.buffer = 1});
    for (;;) {
      auto [ec, rows] = co_await s.async_next(asio::use_awaitable);
      CHECK(!ec);
      if (ec || rows.empty()) break;
      got.insert(got.end(), rows.begin(), rows.end());
    }
    CHECK(s.completeness().complete());
  };
  asio::co_spawn(io, consumer(), asio::detached);
  io.run();
  CHECK(got == batch{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});

  asio::io_context io2;
  std::vector<coroutine_source> coros{{io2.get_executor()}, {io2.get_executor(), 0, 3, 1}};
  auto s = sg::stream::open(io2.get_executor(), std::move(coros), sg::merge::concat(),
                            sg::stream::options<>{.rule = {.min_success_ratio = 0.5}});
  consumed c;
  consume(s, c);
  io2.run();
  std::sort(c.rows.begin(), c.rows.end());
  CHECK(c.rows == batch{0, 0, 1, 1, 10, 11, 20, 21});
  REQUIRE(s.failures().size() == 1);
  CHECK_THAT(s.failures()[0].what, Catch::Contains("broke at read 1"));
}

namespace {

// Source s of n of them yields s, s + n, s + 2n, … (rows_each of them): the merged stream
// is 0, 1, 2, … — checked without keeping it. Generated on demand, so the sources hold
// nothing but a counter.
struct counting_source {
  using batch_type = std::vector<std::uint64_t>;
  asio::any_io_executor ex;
  std::uint64_t next, step, left;
  std::size_t batch_rows;

  template <class Token>
  auto async_next(Token&& token) {
    return asio::async_initiate<Token, void(std::error_code, batch_type)>(
        [this](auto handler) {
          batch_type b;
          const auto n = std::min<std::uint64_t>(left, batch_rows);
          b.reserve(static_cast<std::size_t>(n));
          for (std::uint64_t i = 0; i < n; ++i, next += step) b.push_back(next);
          left -= n;
          auto hex = asio::get_associated_executor(handler, ex);
          asio::post(hex, [h = std::move(handler), b = std::move(b)]() mutable { std::move(h)(std::error_code{}, std::move(b)); });
        },
        token);
  }
};

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr std::uint64_t rows_per_source = 20'000;  // the sanitizers' share of the bound
#else
constexpr std::uint64_t rows_per_source = 1'000'000;
#endif

}  // namespace

TEST_CASE("stream: 64 sorted streams of a million rows merge in 64 buffers of memory", "[stream][memory]") {
  asio::io_context io;
  constexpr std::size_t sources = 64, batch_rows = 1024, buffer = 2;
  std::vector<counting_source> all;
  for (std::uint64_t s = 0; s < sources; ++s) all.push_back({io.get_executor(), s, sources, rows_per_source, batch_rows});
  auto s = sg::stream::open(io.get_executor(), std::move(all), sg::merge::sorted(),
                            sg::stream::options<>{.buffer = buffer, .batch_rows = batch_rows});
  std::uint64_t expected = 0;
  bool in_order = true, ended = false;
  std::function<void()> pull = [&] {
    s.async_next([&](std::error_code ec, std::vector<std::uint64_t> b) {
      REQUIRE(!ec);
      if (b.empty()) {
        ended = true;
        return;
      }
      for (auto v : b) in_order = in_order && v == expected++;
      pull();
    });
  };
  pull();
  io.run();
  CHECK(ended);
  CHECK(in_order);
  CHECK(expected == sources * rows_per_source);
  INFO("peak buffered rows: " << s.peak_buffered_rows());
  CHECK(s.peak_buffered_rows() <= sources * buffer * batch_rows);
}

TEST_CASE("stream: sources on a thread pool, consumed from another thread", "[stream][threads]") {
  asio::thread_pool pool(2);
  std::vector<sg::stream::rows_source<int, asio::thread_pool::executor_type>> sources;
  batch all;
  for (int s = 0; s < 8; ++s) {
    batch rows;
    for (int i = 0; i < 2000; ++i) rows.push_back(i * 8 + s);
    all.insert(all.end(), rows.begin(), rows.end());
    sources.push_back(sg::stream::from_rows(pool.get_executor(), std::move(rows), 100));
  }
  std::sort(all.begin(), all.end());
  auto s = sg::stream::open(pool.get_executor(), std::move(sources), sg::merge::sorted(), sg::stream::options<>{});
  batch got;
  for (;;) {
    auto [ec, rows] = s.async_next(asio::use_future).get();
    REQUIRE(!ec);
    if (rows.empty()) break;
    got.insert(got.end(), rows.begin(), rows.end());
  }
  CHECK(got == all);
  CHECK(s.completeness().complete());
  pool.join();
}
