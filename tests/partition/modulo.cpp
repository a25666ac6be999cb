#include <sg/partition/modulo.hpp>

#include "partition/support.hpp"
#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>

using sg::partition::modulo;
using sg::partition::mulhi64;

TEST_CASE("mulhi64 is the exact high half of the product", "[partition][modulo]") {
  STATIC_REQUIRE(mulhi64(~0ULL, ~0ULL) == ~0ULL - 1);
  STATIC_REQUIRE(mulhi64(1ULL << 63, 4) == 2);
  STATIC_REQUIRE(mulhi64(12345, 678) == 0);
}

TEST_CASE("modulo spreads sequential keys evenly", "[partition][modulo]") {
  const std::size_t n = 10, keys = 100000;
  modulo<> p(n);
  std::vector<std::size_t> load(n, 0);
  for (std::size_t k = 0; k < keys; ++k) ++load.at(p.shard_of(k));  // 0, 1, 2, ...
  // binomial bound: 6 standard deviations
  const double mean = keys / double(n), sd = std::sqrt(mean);
  for (auto l : load) CHECK(std::abs(static_cast<double>(l) - mean) < 6 * sd);
  CHECK(p.shard_count() == n);
  CHECK_THROWS_WITH(modulo<>(0), Catch::Contains("at least 1"));
}

TEST_CASE("modulo moves most keys when n grows", "[partition][modulo]") {
  SG_SEEDED_RNG(rng);
  const modulo<> a(10), b(11);
  std::size_t moved = 0;
  for (int k = 0; k < 10000; ++k) {
    const auto key = rng();
    moved += a.shard_of(key) != b.shard_of(key);
  }
  CHECK(moved > 4000);  // unlike jump (about 1/11): documented
}
