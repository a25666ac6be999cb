#include <sg/exec/on.hpp>
#include <sg/merge/concat.hpp>
#include <sg/pipeline.hpp>

#include "support/property.hpp"
#include "support/seed.hpp"
#include "support/shards.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <catch2/catch.hpp>
#include <range/v3/view/iota.hpp>
#include <range/v3/view/transform.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <vector>

using rows = std::vector<int>;
using namespace std::chrono_literals;

namespace {

// Runs nothing it is given: every shard must then run on the calling thread.
struct black_hole_executor {
  std::shared_ptr<std::atomic<int>> offered = std::make_shared<std::atomic<int>>(0);
  template <class F>
  void execute(F&&) const {
    ++*offered;
  }
};

struct throwing_executor {
  template <class F>
  void execute(F&&) const {
    throw std::runtime_error("queue full");
  }
};

// Keeps its tasks and runs them only when told: tasks that run after the gather completed.
struct deferred_executor {
  std::shared_ptr<std::vector<std::function<void()>>> tasks =
      std::make_shared<std::vector<std::function<void()>>>();
  template <class F>
  void execute(F&& f) const {
    tasks->emplace_back(std::forward<F>(f));
  }
};

}  // namespace

TEST_CASE("sg::on accepts executors and contexts", "[exec][on]") {
  boost::asio::thread_pool pool(1);
  STATIC_REQUIRE(sg::executor<boost::asio::thread_pool::executor_type>);
  STATIC_REQUIRE(sg::executor<black_hole_executor>);
  STATIC_REQUIRE_FALSE(sg::executor<int>);
  rows data{1};
  std::vector<rows> shards{data};
  auto identity = [](rows const& r) { return r; };
  CHECK((sg::scatter(shards) | sg::on(pool) | sg::gather(sg::merge::concat()))(identity).value == data);
  CHECK((sg::scatter(shards) | sg::on(pool.get_executor()) | sg::gather(sg::merge::concat()))(identity).value ==
        data);
}

TEST_CASE("the pipeline property holds on a thread pool", "[exec][on][property]") {
  SG_SEEDED_RNG(rng);
  for (std::size_t threads : {1u, 2u, 4u}) {
    boost::asio::thread_pool pool(threads);
    sg_test::check_pipeline_property(
        rng,
        [&](auto const& shards, sg::partial rule) {
          return sg::scatter(shards) | sg::on(pool) | sg::with(rule) | sg::gather(sg::merge::concat());
        },
        150);
  }
}

TEST_CASE("answers arriving out of order still come out in shard order", "[exec][on]") {
  boost::asio::thread_pool pool(4);
  // shard i sleeps (n - i) ms: later shards finish first
  std::vector<std::function<rows(int)>> shards;
  const int n = 6;
  for (int i = 0; i < n; ++i)
    shards.emplace_back([i](int) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2 * (n - i)));
      return rows{i, i};
    });
  auto r = (sg::scatter(shards) | sg::on(pool) | sg::gather(sg::merge::concat()))(0);
  CHECK(r.value == rows{0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5});
}

TEST_CASE("shards run in parallel on the pool and the calling thread", "[exec][on]") {
  boost::asio::thread_pool pool(2);
  std::mutex m;
  std::condition_variable cv;
  int started = 0;
  std::set<std::thread::id> threads;
  auto meet = [&](int) {
    std::unique_lock lock(m);
    ++started;
    threads.insert(std::this_thread::get_id());
    cv.notify_all();
    // all three must be running at once; a serial run would time out here
    return cv.wait_for(lock, 10s, [&] { return started == 3; }) ? rows{1} : rows{};
  };
  std::vector<std::function<rows(int)>> shards(3, meet);
  auto r = (sg::scatter(shards) | sg::on(pool) | sg::gather(sg::merge::concat()))(0);
  CHECK(r.value == rows{1, 1, 1});
  CHECK(threads.size() == 3);
  CHECK(threads.count(std::this_thread::get_id()) == 1);  // the caller took part
}

TEST_CASE("a gather completes when the executor runs nothing", "[exec][on][robust]") {
  std::vector<rows> shards{{1}, {2}, {3}};
  auto identity = [](rows const& r) { return r; };

  SECTION("tasks dropped") {
    black_hole_executor ex;
    auto r = (sg::scatter(shards) | sg::on(ex) | sg::gather(sg::merge::concat()))(identity);
    CHECK(r.value == rows{1, 2, 3});
    CHECK(*ex.offered == 2);  // shard 0 is always the caller's
  }
  SECTION("execute throws") {
    auto r = (sg::scatter(shards) | sg::on(throwing_executor{}) | sg::gather(sg::merge::concat()))(identity);
    CHECK(r.value == rows{1, 2, 3});
  }
  SECTION("the pool was stopped") {
    boost::asio::thread_pool pool(2);
    pool.stop();
    auto r = (sg::scatter(shards) | sg::on(pool) | sg::gather(sg::merge::concat()))(identity);
    CHECK(r.value == rows{1, 2, 3});
  }
  SECTION("tasks run after the gather completed touch nothing of the caller's") {
    deferred_executor ex;
    std::atomic<int> calls = 0;
    auto counting = [&](rows const& r) {
      ++calls;
      return r;
    };
    {
      auto r = (sg::scatter(shards) | sg::on(ex) | sg::gather(sg::merge::concat()))(counting);
      CHECK(r.value == rows{1, 2, 3});
    }
    CHECK(calls == 3);
    for (auto& task : *ex.tasks) task();  // late: every shard is claimed already
    CHECK(calls == 3);
  }
}

TEST_CASE("a gather called from inside its own one-thread pool does not deadlock", "[exec][on][robust]") {
  boost::asio::thread_pool pool(1);
  std::vector<rows> shards{{1}, {2}, {3}, {4}};
  auto pipe = sg::scatter(shards) | sg::on(pool) | sg::gather(sg::merge::concat());
  std::promise<rows> result;
  boost::asio::post(pool, [&] { result.set_value(pipe([](rows const& r) { return r; }).value); });
  auto future = result.get_future();
  REQUIRE(future.wait_for(30s) == std::future_status::ready);
  CHECK(future.get() == rows{1, 2, 3, 4});
}

TEST_CASE("tuple shards on a pool", "[exec][on][set]") {
  boost::asio::thread_pool pool(2);
  auto t = std::make_tuple([](int x) { return rows{x}; }, [](int x) { return rows{x + 1}; },
                           [](int) -> rows { throw std::runtime_error("no"); });
  std::error_code ec;
  auto r = (sg::scatter(t) | sg::on(pool) | sg::gather(sg::merge::concat()))(1, ec);
  CHECK(ec == sg::errc::partial_result);
  CHECK(r.value == rows{1, 2});
  REQUIRE(r.failures.size() == 1);
  CHECK(r.failures[0].shard == 2);
}

TEST_CASE("many gathers at once on one pool", "[exec][on][concurrency]") {
  boost::asio::thread_pool pool(2);
  std::vector<sg_test::scripted_shard> shards(16);
  for (std::size_t i = 0; i < shards.size(); ++i) shards[i].rows = {static_cast<int>(i)};
  shards[5].behaviour = sg_test::mode::throw_exception;
  const auto pipe = sg::scatter(shards) | sg::on(pool) |
                    sg::with(sg::partial{.min_success_ratio = 0.5}) | sg::gather(sg::merge::concat());
  const rows expected = sg_test::reference(shards, 0);
  std::atomic<int> wrong = 0;
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t)
    callers.emplace_back([&] {
      for (int i = 0; i < 200; ++i)
        if (pipe(0).value != expected) ++wrong;
    });
  for (auto& c : callers) c.join();
  CHECK(wrong == 0);
}

TEST_CASE("a view that makes its shards on the fly runs on a pool", "[exec][on][set]") {
  // views::transform yields each shard as a prvalue: the pool must not keep pointers to them
  boost::asio::thread_pool pool(2);
  auto shards = ranges::views::iota(0, 16) |
                ranges::views::transform([](int k) { return [k](int x) { return rows{k * x}; }; });
  auto pipe = sg::scatter(shards) | sg::on(pool) | sg::gather(sg::merge::concat());
  rows expected;
  for (int k = 0; k < 16; ++k) expected.push_back(k * 3);
  for (int i = 0; i < 20; ++i) CHECK(pipe(3).value == expected);
}
