#include <sg/partition/ring.hpp>

#include "partition/support.hpp"
#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

using sg::partition::ring;

TEST_CASE("ring lookup agrees with a linear scan of its points", "[partition][ring][property]") {
  SG_SEEDED_RNG(rng);
  for (std::size_t n : {1u, 3u, 17u, 200u}) {
    for (std::size_t vnodes : {1u, 5u, 40u}) {
      INFO(n << " shards, " << vnodes << " vnodes");
      const ring<sg::partition::identity_hash> p(n, vnodes);
      REQUIRE(p.point_count() == n * vnodes);
      auto pos = p.positions();
      auto own = p.owners();
      REQUIRE(std::is_sorted(pos.begin(), pos.end()));
      auto linear = [&](std::uint64_t h) -> std::size_t {
        for (std::size_t i = 0; i < pos.size(); ++i)
          if (pos[i] >= h) return own[i];
        return own[0];  // wrap around the circle
      };
      for (int k = 0; k < 500; ++k) {
        const std::uint64_t h = rng();
        CHECK(p.shard_of(h) == linear(h));
      }
      // the edges: exactly on a point, just after it, the ends of the circle
      for (std::size_t i = 0; i < pos.size(); i += std::max<std::size_t>(1, pos.size() / 50)) {
        CHECK(p.shard_of(pos[i]) == own[i]);
        CHECK(p.shard_of(pos[i] + 1) == linear(pos[i] + 1));
      }
      CHECK(p.shard_of(std::uint64_t{0}) == linear(0));
      CHECK(p.shard_of(~std::uint64_t{0}) == linear(~std::uint64_t{0}));
    }
  }
}

TEST_CASE("ring: adding a shard moves keys only to it, removing one moves only its keys",
          "[partition][ring][property]") {
  SG_SEEDED_RNG(rng);
  const ring<> base(10, 100);
  const ring<> grown = base.with_shard();
  const ring<> same_as_grown(11, 100);
  const ring<> shrunk = base.without_shard(3);
  CHECK(grown == same_as_grown);
  std::size_t moved_in = 0;
  const std::size_t keys = 50000;
  for (std::size_t k = 0; k < keys; ++k) {
    const auto key = rng();
    const auto a = base.shard_of(key);
    const auto g = grown.shard_of(key);
    CHECK(g == same_as_grown.shard_of(key));  // ring{n+1, v} is base.with_shard()
    if (a != g) {
      CHECK(g == 10);
      ++moved_in;
    }
    const auto s = shrunk.shard_of(key);
    CHECK(s != 3);
    if (a != 3) CHECK(s == a);  // keys of other shards stay where they are
  }
  // about 1/11 of the keys move to the new shard (vnode variance: within a factor 2)
  CHECK(moved_in > keys / 22);
  CHECK(moved_in < keys * 2 / 11);
}

TEST_CASE("ring balance: the published figures for 100 and 1000 vnodes", "[partition][ring]") {
  SG_SEEDED_RNG(rng);
  // relative standard deviation of load over 100 shards: ~10% at 100 vnodes, ~3% at 1000
  ring<> coarse(100, 100), fine(100, 1000);
  const auto c = sg_test::stats(sg_test::loads(coarse, rng, 400000));
  const auto f = sg_test::stats(sg_test::loads(fine, rng, 400000));
  INFO("100 vnodes: sd " << c.relative_sd << ", 1000 vnodes: sd " << f.relative_sd);
  CHECK(c.relative_sd < 0.15);
  CHECK(f.relative_sd < 0.06);
  CHECK(f.relative_sd < c.relative_sd);
}

TEST_CASE("ring weights", "[partition][ring]") {
  SG_SEEDED_RNG(rng);
  const std::vector<double> w{1, 3, 1, 0, 2};
  ring<> p(w, 1000);
  const auto load = sg_test::loads(p, rng, 300000);
  CHECK(load[3] == 0);
  const auto s = sg_test::stats(load, w);
  INFO("max/expected " << s.max_over_mean);
  CHECK(s.max_over_mean < 1.1);
  CHECK_THROWS_WITH(ring<>(std::vector<double>{1, -1}, 10), Catch::Contains("weight of shard 1"));
  CHECK_THROWS_WITH(ring<>(std::vector<double>{0, 0}, 10), Catch::Contains("all weights 0"));
  CHECK_THROWS_WITH(ring<>(4, 0), Catch::Contains("vnodes"));
  CHECK_THROWS_WITH(ring<>(0, 10), Catch::Contains("at least 1"));
  CHECK_THROWS_AS(p.without_shard(5), std::out_of_range);
}

TEST_CASE("ring: weights that would pass and then fail are refused up front, in a sentence", "[partition][ring]") {
  // issue #30, defect 7: {1, 1e30} overflowed llround and exhausted memory building the
  // ring; {1, 1e8} took 13 s to do the same; a tiny weight silently gave its shard no point.
  using w = std::vector<double>;
  CHECK_THROWS_WITH(ring<>(w{1.0, 1e30}, 100), Catch::Contains("shard 1's weight 1e+30") &&
                                                   Catch::Contains("more than the 2^24"));
  CHECK_THROWS_WITH(ring<>(w{1.0, 1e8}, 100), Catch::Contains("more than the 2^24"));
  CHECK_THROWS_WITH(ring<>(w{1.0, 1.0}, (std::size_t{1} << 23) + 1), Catch::Contains("the weights at"));
  CHECK_THROWS_WITH(ring<>(std::size_t{1} << 20, std::size_t{1} << 10), Catch::Contains("more than the 2^24"));
  CHECK_THROWS_WITH(ring<>(~std::size_t{0}, 1), Catch::Contains("more than the 2^24"));  // before allocating
  CHECK_THROWS_WITH(ring<>(std::size_t{1} << 40, 0), Catch::Contains("vnodes must be at least 1"));  // found by fuzzing
  CHECK_THROWS_WITH(ring<>(1, ~std::size_t{0}), Catch::Contains("more than the 2^24"));
  CHECK_THROWS_WITH(ring<>(w{1.0}, ~std::size_t{0}), Catch::Contains("more than the 2^24"));
  CHECK_THROWS_WITH(ring<>(w{1.0, std::numeric_limits<double>::max()}, 1), Catch::Contains("shard 1"));
  CHECK_THROWS_WITH(ring<>(w{1.0, std::nan("")}, 10), Catch::Contains("weight of shard 1 must be finite"));
  CHECK_THROWS_WITH(ring<>(w{std::numeric_limits<double>::infinity()}, 10), Catch::Contains("weight of shard 0"));
  CHECK_THROWS_WITH(ring<>(w{1.0, -0.5}, 10), Catch::Contains("not negative"));
  // a positive weight too small for any point: refused, with the vnodes that would do
  CHECK_THROWS_WITH(ring<>(w{1.0, 0.004}, 100), Catch::Contains("shard 1's weight 0.004 at 100 vnodes gives it no point") &&
                                                    Catch::Contains("raise vnodes to at least 125"));
  CHECK_THROWS_WITH(ring<>(w{1.0, 1e-300}, 100), Catch::Contains("no point") && Catch::Contains("scale every weight up"));
  CHECK_THROWS_WITH(ring<>(w{1.0, std::numeric_limits<double>::denorm_min()}, 1), Catch::Contains("no point"));
  const ring<> base(w{1.0, 1.0}, 100);
  CHECK_THROWS_WITH(base.with_shard(1e30), Catch::Contains("shard 2's weight"));
  CHECK_THROWS_WITH(base.with_shard(0.001), Catch::Contains("no point"));
}

TEST_CASE("ring: every accepted weight gives its shard its points and its keys", "[partition][ring][property]") {
  SG_SEEDED_RNG(rng);
  // vnodes · weight = 0.5 rounds to one point: the smallest weight accepted
  const ring<> edge(std::vector<double>{1.0, 0.005}, 100);
  CHECK(edge.point_count() == 101);
  CHECK(std::count(edge.owners().begin(), edge.owners().end(), 1u) == 1);
  // large weights well inside the limit, and ratios
  const std::vector<double> w{1e4, 3e4, 1e4};
  const ring<> big(w, 1);
  CHECK(big.point_count() == 50000);
  const auto load = sg_test::loads(big, rng, 200000);
  const auto s = sg_test::stats(load, {1, 3, 1});
  INFO("max/expected " << s.max_over_mean);
  CHECK(s.max_over_mean < 1.05);
  // random weights: each shard's point count is round(vnodes · w), and every shard with
  // a positive weight owns at least one point
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<double> ws(1 + rng() % 20);
    const std::size_t vnodes = 1 + rng() % 200;
    for (auto& x : ws) x = rng() % 5 == 0 ? 0.0 : std::ldexp(1.0 + static_cast<double>(rng() % 1000) / 1000, static_cast<int>(rng() % 8));
    if (std::all_of(ws.begin(), ws.end(), [](double x) { return x == 0; })) ws[0] = 1;
    const ring<> p(ws, vnodes);
    for (std::size_t i = 0; i < ws.size(); ++i)
      CHECK(static_cast<std::size_t>(std::count(p.owners().begin(), p.owners().end(), i)) ==
            static_cast<std::size_t>(std::llround(static_cast<double>(vnodes) * ws[i])));
  }
}
