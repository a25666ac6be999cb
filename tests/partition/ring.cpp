#include <sg/partition/ring.hpp>

#include "partition/support.hpp"
#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
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
