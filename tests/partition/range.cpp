#include <sg/partition/range.hpp>

#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstddef>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

using sg::partition::range;

TEST_CASE("range: shard i holds the keys from boundary i-1 up to boundary i", "[partition][range]") {
  range p{std::vector<int>{100, 200, 300}};
  CHECK(p.shard_count() == 4);
  CHECK(p.shard_of(-5) == 0);
  CHECK(p.shard_of(99) == 0);
  CHECK(p.shard_of(100) == 1);  // a boundary belongs to the shard it starts
  CHECK(p.shard_of(199) == 1);
  CHECK(p.shard_of(300) == 3);
  CHECK(p.shard_of(1000000) == 3);
  range<int> one(std::vector<int>{});  // no boundary: one shard holds everything
  CHECK(one.shard_count() == 1);
  CHECK(one.shard_of(42) == 0);
}

TEST_CASE("range: shards_for returns exactly the shards a closed range touches",
          "[partition][range][property]") {
  SG_SEEDED_RNG(rng);
  std::uniform_int_distribution<int> value(-50, 1050);
  for (int round = 0; round < 200; ++round) {
    std::vector<int> bounds;
    for (int i = 0; i < 1 + round % 12; ++i) bounds.push_back(value(rng));
    std::sort(bounds.begin(), bounds.end());
    bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
    const range p{bounds};
    const int lo = value(rng), hi = value(rng);
    // reference: the shards of every key in [lo, hi]
    std::vector<std::size_t> expected;
    for (int k = lo; k <= hi; ++k)
      if (expected.empty() || expected.back() != p.shard_of(k)) expected.push_back(p.shard_of(k));
    std::vector<std::size_t> got;
    for (auto s : p.shards_for(lo, hi)) got.push_back(s);
    INFO("lo " << lo << " hi " << hi);
    CHECK(got == expected);
  }
}

TEST_CASE("range: boundaries must strictly increase", "[partition][range]") {
  CHECK_THROWS_WITH(range{std::vector<int>({10, 20, 20})},
                    Catch::Contains("boundary 2 (20) is not greater than boundary 1 (20)"));
  CHECK_THROWS_WITH(range{std::vector<int>({10, 5})},
                    Catch::Contains("strictly increase"));
  CHECK_THROWS_WITH(range{std::vector<std::string>({"m", "c"})},
                    Catch::Contains("boundary 1 (\"c\")"));
}

TEST_CASE("range over strings and with a comparator", "[partition][range]") {
  range<std::string> p(std::vector<std::string>{"g", "p"});
  CHECK(p.shard_of(std::string("apple")) == 0);
  CHECK(p.shard_of(std::string("grape")) == 1);
  CHECK(p.shard_of(std::string("zebra")) == 2);
  range<int, std::ranges::greater> down(std::vector<int>{300, 200, 100});  // descending keys
  CHECK(down.shard_of(350) == 0);
  CHECK(down.shard_of(150) == 2);
  CHECK(down.shard_of(50) == 3);
}

TEST_CASE("range over doubles follows sg's total order: -0.0 is 0.0, and a NaN boundary holds the NaN keys",
          "[partition][range][float-order]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  range p{std::vector<double>{0.0, 10.0, nan}};  // (< 0), [0, 10), [10, NaN), NaN
  CHECK(p.shard_count() == 4);
  CHECK(p.shard_of(-inf) == 0);
  CHECK(p.shard_of(-0.0) == 1);  // -0.0 equals the boundary 0.0
  CHECK(p.shard_of(0.0) == 1);
  CHECK(p.shard_of(inf) == 2);
  CHECK(p.shard_of(nan) == 3);
  CHECK(p.shard_of(-nan) == 3);  // every NaN, whatever its sign
  CHECK(p.shard_of(std::numeric_limits<double>::signaling_NaN()) == 3);
  CHECK(std::ranges::equal(p.shards_for(5.0, nan), std::vector<std::size_t>{1, 2, 3}));
  CHECK(std::ranges::equal(p.shards_for(nan, nan), std::vector<std::size_t>{3}));
  CHECK(p.shards_for(nan, 5.0).empty());  // hi < lo
  range only_nan{std::vector<double>{nan}};  // numbers on shard 0, NaN on shard 1
  CHECK(only_nan.shard_of(inf) == 0);
  CHECK(only_nan.shard_of(nan) == 1);
  // Not strictly increasing in the total order: named in words.
  CHECK_THROWS_AS(range(std::vector<double>{nan, 1.0}), std::invalid_argument);
  CHECK_THROWS_WITH(range(std::vector<double>{1.0, nan, nan}), Catch::Contains("boundary 2 (nan) is not greater than boundary 1 (nan)"));
  CHECK_THROWS_WITH(range(std::vector<double>{-0.0, 0.0}), Catch::Contains("boundary 1"));
}
