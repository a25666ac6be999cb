#include <sg/gathered.hpp>

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

TEST_CASE("completeness: complete() and ratio()", "[gathered][completeness]") {
  CHECK(sg::completeness{4, 4, 0, 0}.complete());
  CHECK(sg::completeness{4, 4, 0, 2}.complete());  // pruned shards were never needed
  CHECK_FALSE(sg::completeness{4, 3, 1, 0}.complete());
  CHECK_FALSE(sg::completeness{0, 0, 0, 3}.complete());  // nothing targeted: not an answer
  CHECK(sg::completeness{4, 3, 1, 0}.ratio() == 0.75);
  CHECK(sg::completeness{0, 0, 0, 0}.ratio() == 0.0);
  STATIC_REQUIRE(sg::completeness{2, 2, 0, 0}.complete());
}

TEST_CASE("gathered is an aggregate with class template argument deduction", "[gathered]") {
  sg::gathered<std::vector<int>> g{{1, 2}, {2, 2, 0, 0}, {}};
  sg::gathered copy = g;  // CTAD from a gathered<T>
  STATIC_REQUIRE(std::is_same_v<decltype(copy), sg::gathered<std::vector<int>>>);
  CHECK(copy.value == std::vector<int>{1, 2});
  CHECK(copy.completeness.complete());
  CHECK(copy.failures.empty());
}

TEST_CASE("scatter_error carries the partial result and says what failed", "[gathered][error]") {
  std::vector<sg::shard_failure> failures{
      {1, sg::errc::timeout, "timed out", 1},
      {3, std::make_error_code(std::errc::connection_reset), "connection reset", 2},
  };
  sg::gathered<std::vector<int>> partial{{7, 8}, {4, 2, 2, 0}, failures};
  const sg::scatter_error e(sg::errc::partial_result, partial);

  CHECK(e.code() == sg::errc::partial_result);
  CHECK(e.completeness() == sg::completeness{4, 2, 2, 0});
  REQUIRE(e.failures().size() == 2);
  CHECK(e.failures()[1] == failures[1]);
  const std::string what = e.what();
  CHECK_THAT(what, Catch::Contains("2 of 4 shards failed") && Catch::Contains("shard 1: timed out") &&
                       Catch::Contains("shard 3: connection reset"));

  REQUIRE(e.partial<std::vector<int>>() != nullptr);
  CHECK(e.partial<std::vector<int>>()->value == std::vector<int>{7, 8});
  CHECK(e.partial<std::vector<long>>() == nullptr);  // asked for the wrong type: no result

  // copies share the (immutable) partial result; catching by base class works
  try {
    throw e;
  } catch (std::system_error const& base) {
    auto const& again = dynamic_cast<sg::scatter_error const&>(base);
    CHECK(again.partial<std::vector<int>>() == e.partial<std::vector<int>>());
  }
}

TEST_CASE("scatter_error lists at most three failures in its message", "[gathered][error]") {
  std::vector<sg::shard_failure> failures;
  for (std::size_t i = 0; i < 5; ++i) failures.push_back({i, sg::errc::shard_failed, "boom", 1});
  const sg::scatter_error e(sg::errc::partial_result,
                            sg::gathered<int>{0, {5, 0, 5, 0}, failures});
  const std::string what = e.what();
  CHECK_THAT(what, Catch::Contains("shard 2: boom") && Catch::Contains("...") &&
                       !Catch::Contains("shard 3"));
  CHECK(e.failures().size() == 5);  // all of them are still there
}

TEST_CASE("scatter_error holds a move-only result", "[gathered][error]") {
  sg::gathered<std::unique_ptr<int>> g{std::make_unique<int>(42), {1, 0, 1, 0}, {}};
  const sg::scatter_error e(sg::errc::no_shards, std::move(g));
  REQUIRE(e.partial<std::unique_ptr<int>>() != nullptr);
  CHECK(*e.partial<std::unique_ptr<int>>()->value == 42);
  CHECK_THAT(std::string(e.what()), Catch::Contains("targets no shard"));
}
