#include <sg/policy/partial.hpp>

#include <catch2/catch.hpp>

#include <limits>
#include <stdexcept>

TEST_CASE("sg::partial accepts from its ratio up, and never zero answers", "[policy][partial]") {
  STATIC_REQUIRE(sg::policy<sg::partial>);
  const sg::partial all{};
  CHECK(all.accepts(4, 4));
  CHECK_FALSE(all.accepts(3, 4));

  const sg::partial most{.min_success_ratio = 0.75};
  CHECK(most.accepts(3, 4));
  CHECK_FALSE(most.accepts(2, 4));
  // ratios that are not exact in binary still compare as the user wrote them
  const sg::partial seven_tenths{.min_success_ratio = 0.7};
  CHECK(seven_tenths.accepts(7, 10));
  CHECK_FALSE(seven_tenths.accepts(69, 100));

  const sg::partial any{.min_success_ratio = 0.0};
  CHECK(any.accepts(1, 100));
  CHECK_FALSE(any.accepts(0, 100));  // "all shards failed" is never a success
}

TEST_CASE("sg::partial rejects a ratio outside 0 to 1", "[policy][partial]") {
  for (double bad : {-0.1, 1.5, std::numeric_limits<double>::quiet_NaN(),
                     std::numeric_limits<double>::infinity()}) {
    INFO(bad);
    CHECK_THROWS_WITH(sg::partial{.min_success_ratio = bad}.validate(),
                      Catch::Contains("min_success_ratio must be in [0, 1]"));
  }
  CHECK_NOTHROW(sg::partial{.min_success_ratio = 0.0}.validate());
  CHECK_NOTHROW(sg::partial{.min_success_ratio = 1.0}.validate());
}
