#include <sg/partition/jump.hpp>

#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

using sg::partition::identity_hash;
using sg::partition::jump;

TEST_CASE("jump with identity_hash equals the reference implementation", "[partition][jump]") {
  // Values generated from the paper's reference C++ code (as published with dgryski's Go
  // port): bucket of `key` for 1, 2, ... buckets.
  struct vector_t {
    std::uint64_t key;
    std::vector<std::int32_t> buckets;
  };
  const vector_t reference[] = {
      {0, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
      {1, {0, 0, 0, 0, 0, 0, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 17, 17}},
      {0xdeadbeef, {0, 1, 2, 3, 3, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 16, 16, 16}},
      {0x0ddc0ffeebadf00d, {0, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 15, 15, 15, 15}},
  };
  for (auto const& v : reference)
    for (std::size_t i = 0; i < v.buckets.size(); ++i) {
      INFO("key " << v.key << ", " << i + 1 << " buckets");
      CHECK(jump<identity_hash>(i + 1).shard_of(v.key) == static_cast<std::size_t>(v.buckets[i]));
    }
  CHECK(jump<identity_hash>(1024).shard_of(std::uint64_t{256}) == 520);
  STATIC_REQUIRE(jump<>::bucket(0xdeadbeef, 4) == 3);
}

TEST_CASE("jump: growing n moves keys only to the new shard", "[partition][jump][property]") {
  SG_SEEDED_RNG(rng);
  for (std::size_t n : {1u, 7u, 64u, 999u}) {
    const jump<> before(n), after(n + 1);
    std::size_t moved = 0;
    const std::size_t keys = 20000;
    for (std::size_t k = 0; k < keys; ++k) {
      const auto key = rng();
      const auto a = before.shard_of(key), b = after.shard_of(key);
      CHECK(a < n);
      if (a != b) {
        CHECK(b == n);
        ++moved;
      }
    }
    // about 1/(n+1) of the keys move: within 5 standard deviations
    const double p = 1.0 / static_cast<double>(n + 1);
    const double expected = p * keys, sd = std::sqrt(keys * p * (1 - p));
    CHECK(std::abs(static_cast<double>(moved) - expected) <= 5 * sd + 1);
  }
}

TEST_CASE("jump rejects zero and too many shards", "[partition][jump]") {
  CHECK_THROWS_WITH(jump<>(0), Catch::Contains("at least 1"));
  CHECK_THROWS_WITH(jump<>(std::size_t{1} << 31), Catch::Contains("2^31 - 1"));
}
