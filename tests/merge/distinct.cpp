#include <sg/merge/distinct.hpp>
#include <sg/pipeline.hpp>

#include "support/arrival.hpp"
#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <iterator>
#include <numeric>
#include <random>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace {
struct row {
  int key;
  int origin;  // which shard and position it came from, to check which duplicate is kept
  friend bool operator==(row const&, row const&) = default;
};

std::vector<row> reference(std::vector<std::vector<row>> const& answers) {
  std::vector<row> out;
  std::set<int> seen;
  for (auto const& a : answers)
    for (auto const& r : a)
      if (seen.insert(r.key).second) out.push_back(r);
  return out;
}
}  // namespace

TEST_CASE("distinct keeps the first row of each key in shard order", "[merge][distinct][property]") {
  SG_SEEDED_RNG(rng);
  for (int round = 0; round < 300; ++round) {
    std::vector<std::vector<row>> answers(rng() % 20);
    const int keys = round % 3 == 0 ? 1 : 50;  // all equal, or many duplicates
    int origin = 0;
    for (auto& a : answers) {
      a.resize(rng() % 30);
      for (auto& r : a) r = {static_cast<int>(rng() % static_cast<unsigned>(keys)), origin++};
    }
    const auto expected = reference(answers);
    const auto m = sg::merge::distinct(&row::key);
    CHECK(m(answers) == expected);
    CHECK(sg_test::merge_in_random_order(m, answers, rng) == expected);
  }
}

TEST_CASE("distinct on whole values and strings, in a pipeline", "[merge][distinct]") {
  CHECK(sg::merge::distinct()(std::vector<std::vector<int>>{{3, 1, 3}, {1, 2}}) == std::vector<int>{3, 1, 2});
  CHECK(sg::merge::distinct()(std::vector<std::vector<int>>{}).empty());
  std::vector<std::vector<std::string>> shards{{"ann", "bob"}, {"bob", "cy"}};
  auto identity = [](std::vector<std::string> const& v) { return v; };
  auto r = (sg::scatter(shards) | sg::gather(sg::merge::distinct()))(identity);
  CHECK(r.value == std::vector<std::string>{"ann", "bob", "cy"});
}

TEST_CASE("distinct reads the caller's answers in place, into any output", "[merge][distinct][property]") {
  SG_SEEDED_RNG(rng);
  for (int round = 0; round < 100; ++round) {
    std::vector<std::vector<row>> answers(rng() % 10);
    int origin = 0;
    for (auto& a : answers) {
      a.resize(rng() % 30);
      for (auto& r : a) r = {static_cast<int>(rng() % 20), origin++};
    }
    const auto expected = reference(answers);
    const auto m = sg::merge::distinct(&row::key);
    std::vector<std::span<row const>> spans(answers.begin(), answers.end());
    CHECK(m(spans) == expected);
    std::vector<row> out;
    m(answers, std::back_inserter(out));
    CHECK(out == expected);
    std::vector<row> room(expected.size());
    CHECK(std::ranges::equal(m(answers, std::span(room)), expected));
    if (!expected.empty()) {
      std::vector<row> small(expected.size() - 1);
      CHECK_THROWS_WITH(m(answers, std::span(small)),
                        Catch::Contains("sg::merge::distinct: the output span holds " + std::to_string(small.size()) +
                                        " rows, but the merge has more"));
    }
    auto moved = answers;
    CHECK(m(std::move(moved)) == expected);
  }
}
