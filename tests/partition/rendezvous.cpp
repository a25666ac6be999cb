#include <sg/partition/rendezvous.hpp>

#include "partition/support.hpp"
#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstddef>
#include <limits>
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

namespace {

// Whether the loads follow the relative weights within `sd` binomial standard deviations.
bool follows(std::vector<std::size_t> const& load, std::vector<double> const& relative, double sd) {
  double total_load = 0, total_weight = 0;
  for (std::size_t i = 0; i < load.size(); ++i) total_load += static_cast<double>(load[i]), total_weight += relative[i];
  for (std::size_t i = 0; i < load.size(); ++i) {
    const double p = relative[i] / total_weight, expected = total_load * p;
    if (std::abs(static_cast<double>(load[i]) - expected) > sd * std::sqrt(total_load * p * (1 - p)) + 1e-9)
      return false;
  }
  return true;
}

}  // namespace

TEST_CASE("rendezvous: keys follow the weights anywhere in double's range", "[partition][rendezvous][property]") {
  // issue #30, defect 7: with weights {1e308, 1e308} the score -w / ln(u) overflowed to
  // infinity and ties went to shard 0, which got 60 % of the keys.
  SG_SEEDED_RNG(rng);
  constexpr double huge = std::numeric_limits<double>::max(), tiny = std::numeric_limits<double>::denorm_min();
  {
    rendezvous<> p(std::vector<double>{1e308, 1e308});
    const auto load = sg_test::loads(p, rng, 100000);
    INFO("loads " << load[0] << ", " << load[1]);
    CHECK(follows(load, {1, 1}, 5));
  }
  for (double scale : {tiny, 1e-320, 1e-308, 1e-300, 1e-200, 1e-100, 1.0, 1e100, 1e200, 1e300, 1e307, huge / 4}) {
    INFO("weights {1, 3, 1, 2} × " << scale);
    const std::vector<double> relative{1, 3, 1, 2};
    std::vector<double> w;
    for (double r : relative) w.push_back(r * scale);
    rendezvous<> p(w);
    const auto load = sg_test::loads(p, rng, 70000);
    INFO("loads " << load[0] << ", " << load[1] << ", " << load[2] << ", " << load[3]);
    CHECK(follows(load, relative, 5));
  }
  {
    rendezvous<> p(std::vector<double>{huge, huge, huge});
    CHECK(follows(sg_test::loads(p, rng, 60000), {1, 1, 1}, 5));
  }
  {
    // 1e-300 against 1e308: the small shard's share is 1e-608, so it gets no key
    rendezvous<> p(std::vector<double>{1e-300, 1e308, 1e308});
    const auto load = sg_test::loads(p, rng, 60000);
    CHECK(load[0] == 0);
    CHECK(follows({load[1], load[2]}, {1, 1}, 5));
  }
}

TEST_CASE("rendezvous: with extreme weights, adding or removing a shard moves only its keys",
          "[partition][rendezvous][property]") {
  SG_SEEDED_RNG(rng);
  const std::vector<double> w{1e-300, 1e308, 5e307, 1.0, 1e300, std::numeric_limits<double>::denorm_min()};
  const rendezvous<> base(w);
  std::vector<double> grown_w = w;
  grown_w.push_back(7e307);
  const rendezvous<> grown(grown_w);
  std::vector<double> shrunk_w = w;
  shrunk_w[1] = 0;
  const rendezvous<> shrunk(shrunk_w);
  for (int k = 0; k < 20000; ++k) {
    const auto key = rng();
    const auto a = base.shard_of(key);
    const auto g = grown.shard_of(key);
    if (g != a) CHECK(g == 6);
    if (a != 1) CHECK(shrunk.shard_of(key) == a);
    CHECK(shrunk.shard_of(key) != 1);
  }
}

TEST_CASE("rendezvous: the plain and the split score choose the same shards", "[partition][rendezvous][property]") {
  // Weights within [2^-1000, 2^960] compare w / -ln u directly; one weight outside makes
  // every score take the exponent + mantissa form. Both must order keys the same way, so
  // adding a shard of weight 1e-305 (which wins no key) moves nothing.
  SG_SEEDED_RNG(rng);
  const std::vector<double> w{1, 3, 1, 2, 0.5, 7};
  std::vector<double> wide = w;
  wide.push_back(1e-305);
  std::vector<double> scaled;  // the same ratios, all in the split form's range
  for (double x : w) scaled.push_back(x * 0x1.0p970);
  const rendezvous<> plain(w), split(wide), high(scaled);
  for (int k = 0; k < 100000; ++k) {
    const auto key = rng();
    const auto a = plain.shard_of(key);
    CHECK(split.shard_of(key) == a);
    CHECK(high.shard_of(key) == a);  // scaling every weight by a power of two moves nothing
  }
}
