// sg/order.hpp: the total order (PostgreSQL's for floating point), its equality, hash and
// canonical form — checked against a plain reference: a rank for each value.
#include <sg/order.hpp>

#include "support/seed.hpp"

#include <boost/unordered/unordered_flat_set.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace {

constexpr double inf = std::numeric_limits<double>::infinity();
const double qnan = std::numeric_limits<double>::quiet_NaN();
// A NaN with the sign bit set (what 0.0 / 0.0 gives on x86) and one with a payload.
const double negative_nan = -std::numeric_limits<double>::quiet_NaN();
const double payload_nan = std::bit_cast<double>(std::uint64_t{0x7ff8'0000'0000'1234});

// The reference: the class of a value, as an integer rank (NaN last, zeros together).
int rank(double x) {
  static const double order[] = {-inf, -2.5, -1, 0, 1, 2.5, inf};
  if (std::isnan(x)) return 100;
  for (int i = 0; i < 7; ++i)
    if (x == order[i]) return i;
  FAIL("no rank for " << x);
  return -1;
}

std::vector<double> specials() { return {qnan, negative_nan, payload_nan, inf, -inf, -0.0, 0.0, 1, -1, 2.5, -2.5}; }

}  // namespace

TEST_CASE("total_less, total_equal and total_hash follow the rank of each value", "[order]") {
  for (double a : specials()) {
    for (double b : specials()) {
      INFO(a << " vs " << b);
      CHECK(sg::total_less(a, b) == (rank(a) < rank(b)));
      CHECK(sg::total_greater(a, b) == (rank(a) > rank(b)));
      CHECK(sg::total_equal(a, b) == (rank(a) == rank(b)));
      if (rank(a) == rank(b)) {
        CHECK(sg::total_hash(a) == sg::total_hash(b));
        CHECK(std::bit_cast<std::uint64_t>(sg::canonical(a)) == std::bit_cast<std::uint64_t>(sg::canonical(b)));
      }
      // float and mixed arithmetic types follow the same order
      CHECK(sg::total_less(static_cast<float>(a), static_cast<float>(b)) == (rank(a) < rank(b)));
      CHECK(sg::total_less(a, static_cast<float>(b)) == (rank(a) < rank(b)));
    }
  }
  CHECK(sg::total_less(1, qnan));
  CHECK_FALSE(sg::total_less(qnan, 1));
  CHECK(sg::total_less(2, 3));
  CHECK(sg::total_less(std::string("a"), std::string("b")));
  CHECK(std::bit_cast<std::uint64_t>(sg::canonical(-0.0)) == std::bit_cast<std::uint64_t>(0.0));
  CHECK(std::bit_cast<std::uint64_t>(sg::canonical(negative_nan)) ==
        std::bit_cast<std::uint64_t>(std::numeric_limits<double>::quiet_NaN()));
  STATIC_REQUIRE(sg::total_less(1.0, 2.0));
  STATIC_REQUIRE(sg::total_equal(0.0, -0.0));
}

TEST_CASE("the order applies element by element in optionals, pairs and tuples", "[order]") {
  using key = std::tuple<int, double, std::optional<double>>;
  const key a{1, qnan, std::nullopt}, b{1, negative_nan, std::nullopt}, c{1, -0.0, 2.0}, d{1, 0.0, 2.0};
  CHECK(sg::total_equal(a, b));
  CHECK(sg::total_hash(a) == sg::total_hash(b));
  CHECK(sg::total_equal(c, d));
  CHECK(sg::total_hash(c) == sg::total_hash(d));
  CHECK(sg::total_less(c, a));  // 0.0 < NaN
  CHECK_FALSE(sg::total_less(a, b));
  CHECK(sg::total_less(key{1, qnan, std::nullopt}, key{1, qnan, -inf}));  // NULL first
  // A tuple of references hashes and compares as the tuple of values it refers to.
  const double z = -0.0;
  const std::tuple<int const&, double const&> ref{std::get<0>(c), z};
  CHECK(sg::total_hash(ref) == sg::total_hash(std::tuple<int, double>{1, 0.0}));
  CHECK(sg::total_equal(ref, std::tuple<int, double>{1, 0.0}));
  CHECK(sg::total_equal(std::pair{qnan, 1}, std::pair{payload_nan, 1}));
  const key canon = sg::canonical(key{1, negative_nan, -0.0});
  CHECK(std::bit_cast<std::uint64_t>(std::get<1>(canon)) == std::bit_cast<std::uint64_t>(qnan));
  CHECK_FALSE(std::signbit(*std::get<2>(canon)));
}

TEST_CASE("a hash set with total_hash and total_equal holds one NaN and one zero", "[order]") {
  boost::unordered_flat_set<double, sg::total_hash_fn, sg::total_equal_fn> set;
  for (double x : specials()) set.insert(x);
  CHECK(set.size() == 8u);  // NaN, ±inf, 0, ±1, ±2.5
}

TEST_CASE("sorting with total_less is a strict weak order on random doubles with NaN", "[order][property]") {
  SG_SEEDED_RNG(rng);
  const auto pool = specials();
  std::uniform_int_distribution<std::size_t> pick(0, pool.size() - 1), size(0, 200);
  for (int round = 0; round < 200; ++round) {
    std::vector<double> v(size(rng));
    for (auto& x : v) x = pool[pick(rng)];
    std::vector<double> sorted = v;
    std::ranges::stable_sort(sorted, sg::total_less);
    for (std::size_t i = 1; i < sorted.size(); ++i) REQUIRE(rank(sorted[i - 1]) <= rank(sorted[i]));
    std::vector<double> down = v;
    std::ranges::stable_sort(down, sg::total_greater);
    for (std::size_t i = 1; i < down.size(); ++i) REQUIRE(rank(down[i - 1]) >= rank(down[i]));
  }
}
