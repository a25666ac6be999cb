#include <sg/partition/rendezvous.hpp>

#include "partition/support.hpp"
#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <vector>

using sg::partition::rendezvous;

TEST_CASE("rendezvous: weights are honoured", "[partition][rendezvous]") {
  SG_SEEDED_RNG(rng);
  const std::vector<double> w{1, 3, 1, 0, 2.5};
  rendezvous<> p(w);
  const auto load = sg_test::loads(p, rng, 200000);
  CHECK(load[3] == 0);
  const auto s = sg_test::stats(load, w);
  INFO("max/expected " << s.max_over_mean << ", sd " << s.relative_sd);
  CHECK(s.max_over_mean < 1.03);  // ~5 binomial standard deviations at these counts
  // weight 3 against weight 1
  CHECK(std::abs(static_cast<double>(load[1]) / static_cast<double>(load[0]) - 3.0) < 0.15);
}

TEST_CASE("rendezvous: adding or removing a shard moves only its keys", "[partition][rendezvous]") {
  SG_SEEDED_RNG(rng);
  const rendezvous<> base(std::vector<double>(8, 1.0));
  const rendezvous<> grown(std::vector<double>(9, 1.0));
  std::vector<double> w(8, 1.0);
  w[2] = 0;
  const rendezvous<> shrunk(w);
  std::size_t moved = 0;
  const std::size_t keys = 30000;
  for (std::size_t k = 0; k < keys; ++k) {
    const auto key = rng();
    const auto a = base.shard_of(key);
    if (grown.shard_of(key) != a) {
      CHECK(grown.shard_of(key) == 8);
      ++moved;
    }
    if (a != 2) CHECK(shrunk.shard_of(key) == a);
    CHECK(shrunk.shard_of(key) != 2);
  }
  const double p = 1.0 / 9, sd = std::sqrt(keys * p * (1 - p));
  CHECK(std::abs(static_cast<double>(moved) - keys * p) < 5 * sd);
}

TEST_CASE("rendezvous rejects bad weights", "[partition][rendezvous]") {
  CHECK_THROWS_WITH(rendezvous<>(std::vector<double>{}), Catch::Contains("at least 1"));
  CHECK_THROWS_WITH(rendezvous<>(std::vector<double>{0, 0}), Catch::Contains("all weights are 0"));
  CHECK_THROWS_WITH(rendezvous<>(std::vector<double>{1, std::nan("")}), Catch::Contains("weight of shard 1"));
}
