#include <sg/cache.hpp>
#include <sg/exec/async.hpp>
#include <sg/merge/concat.hpp>
#include <sg/pipeline.hpp>
#include <sg/policy/partial.hpp>

#include "support/async_shards.hpp"
#include "support/manual_clock.hpp"
#include "support/seed.hpp"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using sg_test::manual_clock;
using sg_test::rows;

// The plain model: a list, most recently used first; weight = the value.
struct reference_lru {
  std::size_t budget;
  std::list<std::pair<int, std::size_t>> entries;
  std::uint64_t hits = 0, misses = 0, evictions = 0, rejections = 0;

  std::optional<std::size_t> find(int key) {
    auto it = std::ranges::find(entries, key, &std::pair<int, std::size_t>::first);
    if (it == entries.end()) {
      ++misses;
      return std::nullopt;
    }
    ++hits;
    entries.splice(entries.begin(), entries, it);
    return it->second;
  }
  void put(int key, std::size_t value) {
    std::erase_if(entries, [&](auto const& e) { return e.first == key; });
    if (value > budget) {
      ++rejections;
      return;
    }
    entries.emplace_front(key, value);
    auto total = [&] {
      std::size_t n = 0;
      for (auto const& e : entries) n += e.second;
      return n;
    };
    while (total() > budget) {
      entries.pop_back();
      ++evictions;
    }
  }
};

using weighed_cache = sg::cache<int, std::size_t>;

weighed_cache::options by_value(std::size_t budget) {
  return {.max_bytes = budget, .weigh = [](int const&, std::size_t const& v) { return v; }};
}

}  // namespace

TEST_CASE("cache: least recently used eviction under a byte budget equals a plain model", "[cache][property]") {
  SG_SEEDED_RNG(rng);
  for (int round = 0; round < 20; ++round) {
    const std::size_t budget = 10 + rng() % 200;
    weighed_cache c(by_value(budget));
    reference_lru model{budget, {}};
    for (int op = 0; op < 2000; ++op) {
      const int key = static_cast<int>(rng() % 40);
      switch (rng() % 4) {
        case 0:
        case 1: {
          auto got = c.find(key);
          auto want = model.find(key);
          REQUIRE(static_cast<bool>(got) == want.has_value());
          if (got) REQUIRE(*got == *want);
          break;
        }
        case 2: {
          const std::size_t value = 1 + rng() % (budget / 3 + 2) + (rng() % 50 == 0 ? budget : 0);
          c.put(key, value);
          model.put(key, value);
          break;
        }
        default:
          c.erase(key);
          std::erase_if(model.entries, [&](auto const& e) { return e.first == key; });
      }
      REQUIRE(c.size() == model.entries.size());
      REQUIRE(c.bytes() <= budget);
    }
    const auto s = c.statistics();
    CHECK(s.hits == model.hits);
    CHECK(s.misses == model.misses);
    CHECK(s.evictions == model.evictions);
    CHECK(s.rejections == model.rejections);
    std::size_t bytes = 0;
    for (auto const& e : model.entries) bytes += e.second;
    CHECK(s.bytes == bytes);
  }
}

TEST_CASE("cache: entries expire after their time to live, on the cache's clock", "[cache]") {
  sg::cache<std::string, int, manual_clock> c({.ttl = 10s});
  c.put("a", 1);
  manual_clock::advance(9s);
  c.put("b", 2);
  CHECK(c.get("a") == 1);  // a hit does not extend the time to live
  manual_clock::advance(1s);
  CHECK(c.get("a") == std::nullopt);
  CHECK(c.get("b") == 2);
  manual_clock::advance(9s);
  CHECK(c.size() == 1);
  CHECK(c.purge_expired() == 1);
  CHECK(c.size() == 0);
  const auto s = c.statistics();
  CHECK(s.hits == 2);
  CHECK(s.misses == 1);
  CHECK(s.expirations == 2);
  CHECK(s.bytes == 0);
  sg::cache<std::string, int, manual_clock> forever;  // ttl max: no expiry, and no overflow
  forever.put("x", 1);
  manual_clock::advance(std::chrono::hours(24 * 365));
  CHECK(forever.get("x") == 1);
}

TEST_CASE("cache: a value above the budget is rejected and takes the older value with it, and entries are limited too",
          "[cache]") {
  weighed_cache c(by_value(100));
  CHECK(c.put(1, 60));
  CHECK_FALSE(c.put(1, 101));
  CHECK(c.find(1) == nullptr);  // never the stale value
  CHECK(c.statistics().rejections == 1);
  CHECK(c.put(2, 100));  // exactly the budget fits
  CHECK(c.put(3, 1));
  CHECK(c.find(2) == nullptr);  // evicted for 3
  CHECK(c.bytes() == 1);

  sg::cache<int, int> few({.max_entries = 2});
  few.put(1, 1);
  few.put(2, 2);
  CHECK(few.get(1) == 1);  // 1 is now the most recently used
  few.put(3, 3);
  CHECK(few.get(2) == std::nullopt);
  CHECK(few.get(1) == 1);
  CHECK(few.get(3) == 3);
  CHECK(few.statistics().evictions == 1);
}

TEST_CASE("cache: invalidation by key, by predicate, and all", "[cache]") {
  sg::cache<std::string, int> c;
  auto name = [](int i) {
    std::string k = "k";
    k += std::to_string(i);
    return k;
  };
  for (int i = 0; i < 10; ++i) c.put(name(i), i);
  CHECK(c.erase("k3"));
  CHECK_FALSE(c.erase("k3"));
  CHECK(c.erase_if([](std::string const&, int v) { return v % 2 == 0; }) == 5);
  CHECK(c.size() == 4);
  for (int i : {1, 5, 7, 9}) CHECK(c.get(name(i)) == i);
  c.clear();
  CHECK(c.size() == 0);
  CHECK(c.bytes() == 0);
  CHECK(c.statistics().invalidations == 10);
}

TEST_CASE("cache: bad options are refused in words", "[cache]") {
  using int_cache = sg::cache<int, int>;
  using options = int_cache::options;
  CHECK_THROWS_WITH(int_cache(options{.max_bytes = 0}), Catch::Contains("max_bytes must be at least 1"));
  CHECK_THROWS_WITH(int_cache(options{.max_entries = 0}), Catch::Contains("max_entries"));
  CHECK_THROWS_WITH(int_cache(options{.ttl = 0s}), Catch::Contains("ttl must be positive"));
}

namespace {
struct row_with_text {
  std::int64_t id;
  std::string text;
};
}  // namespace

TEST_CASE("cache: approximate_bytes counts what a value reaches on the heap", "[cache]") {
  std::vector<std::int64_t> v;
  v.reserve(100);
  v.push_back(1);
  CHECK(sg::approximate_bytes(v) == sizeof(v) + 100 * sizeof(std::int64_t));
  const std::string small = "abc", big(1000, 'x');
  CHECK(sg::approximate_bytes(small) == sizeof(std::string));
  CHECK(sg::approximate_bytes(big) >= sizeof(std::string) + 1000);
  std::vector<row_with_text> rows_(3, row_with_text{1, big});
  CHECK(sg::approximate_bytes(rows_) >= sizeof(rows_) + 3 * (sizeof(row_with_text) + 1000));
  sg::gathered<std::vector<row_with_text>> g{rows_, {}, {sg::shard_failure{0, {}, big, 1}}};
  CHECK(sg::approximate_bytes(g) >= sg::approximate_bytes(rows_) + 1000);
  CHECK(sg::approximate_bytes(std::optional<std::string>(big)) >= 1000);
  CHECK(sg::approximate_bytes(std::tuple<int, std::string>(1, big)) >= 1000);
}

TEST_CASE("cached: a repeated request answers from the cache, a partial or failed one is not stored",
          "[cache][pipeline]") {
  std::atomic<int> calls{0};
  std::vector<sg_test::counting_shard> shards(3, sg_test::counting_shard{&calls});
  using result = sg::gathered<rows>;
  sg::cache<int, result> results;
  auto pipe = sg::scatter(shards) | sg::gather(sg::merge::concat()) | sg::cached(results);
  CHECK(pipe(7).value == rows{7, 7, 7});
  CHECK(calls == 3);
  const auto again = pipe(7);
  CHECK(again.value == rows{7, 7, 7});
  CHECK(again.completeness.complete());
  CHECK(calls == 3);  // no shard asked
  CHECK(pipe(8).value == rows{8, 8, 8});
  CHECK(calls == 6);
  CHECK(results.statistics().hits == 1);
  results.erase(7);
  pipe(7);
  CHECK(calls == 9);

  // A key of the request's choosing: requests with the same key share an entry.
  sg::cache<int, result> by_parity;
  auto parity = sg::scatter(shards) | sg::gather(sg::merge::concat()) |
                sg::cached(by_parity, [](int r) { return r % 2; });
  parity(2);
  CHECK(parity(4).value == rows{2, 2, 2});

  // One shard throws: below the rule the pipeline throws and nothing is stored; above it,
  // the partial result is stored only when asked.
  struct half_down {
    std::atomic<int>* calls;
    int index;
    rows execute(int r) const {
      ++*calls;
      if (index == 1) throw std::runtime_error("down");
      return rows{r};
    }
  };
  std::vector<half_down> half{{&calls, 0}, {&calls, 1}};
  sg::cache<int, result> strict_cache, partial_cache, asked_cache;
  auto strict = sg::scatter(half) | sg::gather(sg::merge::concat()) | sg::cached(strict_cache);
  CHECK_THROWS_AS(strict(1), sg::scatter_error);
  CHECK(strict_cache.size() == 0);
  auto lenient = sg::scatter(half) | sg::with(sg::partial{.min_success_ratio = 0.5}) |
                 sg::gather(sg::merge::concat()) | sg::cached(partial_cache);
  CHECK(lenient(1).value == rows{1});
  CHECK(partial_cache.size() == 0);
  auto asked = sg::scatter(half) | sg::with(sg::partial{.min_success_ratio = 0.5}) |
               sg::gather(sg::merge::concat()) | sg::cached(asked_cache, {.partial = true});
  const int before = calls;
  const auto first = asked(1);
  const auto second = asked(1);
  CHECK(calls == before + 2);  // the second came from the cache
  CHECK(second.value == rows{1});
  CHECK(second.completeness == first.completeness);  // still flagged partial
  CHECK_FALSE(second.completeness.complete());
  CHECK(second.failures.size() == 1);
}

TEST_CASE("cached: pipe.async answers a hit later on the executor, and stores a miss", "[cache][pipeline][async]") {
  boost::asio::io_context io;
  std::vector<sg_test::posting_shard> shards{{&io, 10}, {&io, 20}};
  using result = sg::gathered<rows>;
  sg::cache<int, result> results;
  auto pipe = sg::scatter(shards) | sg::on(io.get_executor()) | sg::gather(sg::merge::concat()) | sg::cached(results);
  sg_test::outcome miss, hit;
  pipe.async(1, sg_test::record(miss));
  io.run();
  REQUIRE(miss.calls == 1);
  CHECK(!miss.ec);
  CHECK(miss.result->value == rows{11, 21});
  CHECK(results.size() == 1);

  pipe.async(1, sg_test::record(hit));
  CHECK(hit.calls == 0);  // not inside the call
  io.restart();
  io.run();
  REQUIRE(hit.calls == 1);
  CHECK(hit.result->value == rows{11, 21});
  CHECK(results.statistics().hits == 1);

  // A failing shard: the error comes through, nothing is stored.
  std::vector<sg_test::posting_shard> failing{{&io, 10}, {&io, 20, std::make_error_code(std::errc::connection_reset)}};
  sg::cache<int, result> none;
  auto bad = sg::scatter(failing) | sg::on(io.get_executor()) | sg::gather(sg::merge::concat()) | sg::cached(none);
  sg_test::outcome o;
  bad.async(1, sg_test::record(o));
  io.restart();
  io.run();
  REQUIRE(o.calls == 1);
  CHECK(o.ec);
  CHECK(none.size() == 0);
}

TEST_CASE("cache: four threads reading, writing and invalidating keep the budget and the counts",
          "[cache][threads]") {
  weighed_cache c(by_value(500));
  std::atomic<std::uint64_t> finds{0}, wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      std::uint64_t x = static_cast<std::uint64_t>(t) * 7919 + 1;
      for (int i = 0; i < 20000; ++i) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        const int key = static_cast<int>((x >> 33) % 64);
        switch ((x >> 20) % 8) {
          case 0: c.put(key, (x >> 40) % 60); break;
          case 1: c.erase(key); break;
          case 2:
            if (i % 100 == 0) c.erase_if([](int k, std::size_t) { return k % 7 == 0; });
            break;
          default:
            if (auto v = c.find(key); v && *v >= 60) ++wrong;  // (Catch2 asserts on one thread only)
            ++finds;
        }
      }
    });
  for (auto& th : threads) th.join();
  CHECK(wrong == 0);
  const auto s = c.statistics();
  CHECK(s.hits + s.misses == finds);
  CHECK(s.bytes <= 500);
  std::size_t bytes = 0;
  for (int k = 0; k < 64; ++k)
    if (auto v = c.find(k)) bytes += *v;
  CHECK(bytes == s.bytes);
}
