#include <sg/merge/top_k.hpp>
#include <sg/pipeline.hpp>

#include "support/arrival.hpp"
#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstddef>
#include <functional>
#include <limits>
#include <list>
#include <random>
#include <string>
#include <system_error>
#include <vector>

namespace {

struct row {
  int price;
  int shard;
  int seq;
  friend bool operator==(row const&, row const&) = default;
};

// The reference: concatenate in shard order, stable sort, take [offset, offset + k).
template <class Comp>
std::vector<row> reference(std::vector<std::vector<row>> const& answers, std::size_t k, std::size_t skip, Comp comp) {
  std::vector<row> all;
  for (auto const& a : answers) all.insert(all.end(), a.begin(), a.end());
  std::ranges::stable_sort(all, comp, &row::price);
  if (skip >= all.size()) return {};
  const std::size_t end = std::min(all.size(), skip + std::min(k, all.size()));
  return {all.begin() + static_cast<std::ptrdiff_t>(skip), all.begin() + static_cast<std::ptrdiff_t>(end)};
}

}  // namespace

TEST_CASE("top_k equals the slice of a stable sort, sorted answers or not", "[merge][top_k][property]") {
  SG_SEEDED_RNG(rng);
  for (int round = 0; round < 400; ++round) {
    const bool descending = round % 2 == 1;
    std::vector<std::vector<row>> answers(rng() % 12);
    const int max_price = round % 7 == 0 ? 0 : 30;  // all equal, or many ties
    for (std::size_t s = 0; s < answers.size(); ++s) {
      std::vector<int> prices(rng() % 4 == 0 ? 0 : rng() % 40);
      for (auto& p : prices) p = static_cast<int>(rng() % static_cast<unsigned>(max_price + 1));
      if (rng() % 3 != 0) {  // most shards answer sorted; some do not
        if (descending)
          std::ranges::sort(prices, std::greater<>{});
        else
          std::ranges::sort(prices);
      }
      for (std::size_t i = 0; i < prices.size(); ++i)
        answers[s].push_back({prices[i], static_cast<int>(s), static_cast<int>(i)});
    }
    const std::size_t k = round % 11 == 0 ? 0 : (round % 13 == 0 ? 1000 : rng() % 20);
    const std::size_t skip = round % 3 == 0 ? 0 : rng() % 50;  // sometimes beyond the data
    INFO("k " << k << ", offset " << skip << ", " << (descending ? "descending" : "ascending"));
    if (descending) {
      const auto m = sg::merge::top_k(k, sg::merge::offset{skip}, std::greater<>{}, &row::price);
      const auto want = reference(answers, k, skip, std::greater<>{});
      CHECK(m(answers) == want);
      CHECK(sg_test::merge_in_random_order(m, answers, rng) == want);
    } else {
      const auto m = sg::merge::top_k(k, sg::merge::offset{skip}, std::less<>{}, &row::price);
      const auto want = reference(answers, k, skip, std::less<>{});
      CHECK(m(answers) == want);
      CHECK(sg_test::merge_in_random_order(m, answers, rng) == want);
      // The shard-side rewrite: each shard answers only its own first offset + k rows.
      std::vector<std::vector<row>> pushed_down;
      for (auto const& a : answers) {
        pushed_down.push_back(m.partial(a));
        CHECK(pushed_down.back().size() == std::min(a.size(), k == 0 ? 0 : m.shard_limit()));
      }
      CHECK(m(pushed_down) == want);
      // Told that answers are sorted, and they are: the same answer.
      CHECK(m.presorted_answers()(pushed_down) == want);
    }
  }
}

TEST_CASE("top_k: the 10 highest prices, in a pipeline, and from non-vector answers", "[merge][top_k]") {
  std::vector<std::vector<int>> shards{{5, 90, 30}, {70, 80}, {}, {100, 1}};
  auto top3 = sg::merge::top_k(3, std::greater<>{});
  CHECK(top3.shard_limit() == 3);
  auto pipe = sg::scatter(shards) | sg::gather(top3);
  auto shard_side = [&](std::vector<int> const& rows) { return top3.partial(rows); };
  CHECK(pipe(shard_side).value == std::vector<int>{100, 90, 80});

  std::vector<std::list<std::string>> lists{{"b", "d"}, {"a", "c", "e"}};
  CHECK(sg::merge::top_k(4)(lists) == std::vector<std::string>{"a", "b", "c", "d"});
  CHECK(sg::merge::top_k(4, sg::merge::offset{3})(lists) == std::vector<std::string>{"d", "e"});
  CHECK(sg::merge::top_k(0)(lists).empty());
  CHECK(sg::merge::top_k(2)(std::vector<std::vector<int>>{}).empty());
  // offset + k saturates instead of wrapping to a small limit.
  const auto huge = sg::merge::top_k(std::numeric_limits<std::size_t>::max(), sg::merge::offset{5});
  CHECK(huge.shard_limit() == std::numeric_limits<std::size_t>::max());
  CHECK(huge(std::vector<std::vector<int>>{{1, 2, 3}, {4, 5, 6, 7}}) == std::vector<int>{6, 7});
}

TEST_CASE("top_k presorted: rows out of order among those taken are bad input", "[merge][top_k]") {
  const auto m = sg::merge::top_k(3).presorted_answers();
  CHECK(m(std::vector<std::vector<int>>{{1, 4, 6}, {2, 3, 9}}) == std::vector<int>{1, 2, 3});
  try {
    (void)m(std::vector<std::vector<int>>{{1, 4, 6}, {3, 2, 9}});
    FAIL("an unsorted answer went unseen among the rows taken");
  } catch (std::system_error const& e) {
    CHECK(e.code() == sg::errc::bad_input);
    CHECK(std::string(e.what()).find("shard 1") != std::string::npos);
  }
  // Without presorted_answers() the same answers are simply selected from.
  CHECK(sg::merge::top_k(3)(std::vector<std::vector<int>>{{1, 4, 6}, {3, 2, 9}}) == std::vector<int>{1, 2, 3});
}
