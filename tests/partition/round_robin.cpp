#include <sg/partition/round_robin.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

using sg::partition::concurrent_round_robin;
using sg::partition::round_robin;

TEST_CASE("round_robin hands out 0..n-1 in turn", "[partition][round_robin]") {
  round_robin p(3);
  std::vector<std::size_t> got;
  for (int i = 0; i < 7; ++i) got.push_back(i % 2 ? p.next() : p.shard_of("ignored"));
  CHECK(got == std::vector<std::size_t>{0, 1, 2, 0, 1, 2, 0});
  round_robin q(3, 5);
  CHECK(q.next() == 2);
  CHECK_THROWS_AS(round_robin(0), std::invalid_argument);
}

TEST_CASE("concurrent_round_robin is exact under contention", "[partition][round_robin][concurrency]") {
  const std::size_t n = 5, threads = 4, per_thread = 10000;
  concurrent_round_robin p(n);
  std::vector<std::atomic<std::size_t>> counts(n);
  std::vector<std::thread> workers;
  for (std::size_t t = 0; t < threads; ++t)
    workers.emplace_back([&] {
      for (std::size_t i = 0; i < per_thread; ++i) ++counts[p.next()];
    });
  for (auto& w : workers) w.join();
  for (auto& c : counts) CHECK(c == threads * per_thread / n);  // exactly k each
}
