#include <sg/merge/top_k.hpp>
#include <sg/pipeline.hpp>

#include "support/arrival.hpp"
#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <limits>
#include <list>
#include <random>
#include <span>
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

// --- m(answers) on answers the caller keeps, and into the caller's output -----------------

TEST_CASE("top_k reads const answers and spans in place, into any output", "[merge][top_k][property]") {
  SG_SEEDED_RNG(rng);
  for (int round = 0; round < 300; ++round) {
    std::vector<std::vector<row>> answers(round % 10 == 0 ? 0 : (round % 10 == 1 ? 1 : rng() % 12));
    const bool unsorted = round % 4 == 0;  // then one answer is not sorted: it is selected from
    for (std::size_t s = 0; s < answers.size(); ++s) {
      std::vector<int> prices(rng() % 5 == 0 ? 0 : rng() % 300);
      for (auto& p : prices) p = static_cast<int>(rng() % 40);
      std::ranges::sort(prices, std::greater<>{});
      if (unsorted && s == 0 && prices.size() > 1) std::swap(prices.front(), prices[rng() % prices.size()]);
      for (std::size_t i = 0; i < prices.size(); ++i)
        answers[s].push_back({prices[i], static_cast<int>(s), static_cast<int>(i)});
    }
    const std::size_t k = round % 7 == 0 ? 0 : (round % 7 == 1 ? std::numeric_limits<std::size_t>::max() : rng() % 50);
    const std::size_t skip = round % 3 == 0 ? 0 : rng() % 30;
    INFO("round " << round << ", k " << k << ", offset " << skip << (unsorted ? ", one answer unsorted" : ""));
    const auto m = sg::merge::top_k(k, sg::merge::offset{skip}, std::greater<>{}, &row::price);
    const auto want = reference(answers, k, skip, std::greater<>{});
    CHECK(m(answers) == want);
    std::vector<std::span<row const>> spans(answers.begin(), answers.end());
    CHECK(m(spans) == want);
    std::vector<row> out;
    m(answers, std::back_inserter(out));
    CHECK(out == want);
    std::vector<row> room(want.size() + 2);
    CHECK(std::ranges::equal(m(spans, std::span(room)), want));
    if (!unsorted) CHECK(m.presorted_answers()(spans) == want);
    auto moved = answers;
    CHECK(m(std::move(moved)) == want);
  }
}

TEST_CASE("top_k in place: arithmetic answers, a span too small, an unsorted answer", "[merge][top_k]") {
  // Long sorted int64 answers (the branch-free check), one of them unsorted at its very last
  // row: that row is the smallest of all, so it must be in an ascending top 3.
  std::vector<std::vector<std::int64_t>> answers(5);
  for (std::size_t s = 0; s < answers.size(); ++s)
    for (std::int64_t i = 0; i < 1000; ++i) answers[s].push_back(10 + i * 5 + static_cast<std::int64_t>(s));
  CHECK(sg::merge::top_k(3)(answers) == std::vector<std::int64_t>{10, 11, 12});
  answers[3].back() = 1;
  CHECK(sg::merge::top_k(3)(answers) == std::vector<std::int64_t>{1, 10, 11});
  std::vector<std::int64_t> two(2);
  try {
    (void)sg::merge::top_k(3)(answers, std::span(two));
    FAIL("a span of 2 took 3 rows");
  } catch (std::system_error const& e) {
    CHECK(e.code() == sg::errc::bad_input);
    CHECK_THAT(std::string(e.what()),
               Catch::Contains("sg::merge::top_k: the output span holds 2 rows, but the merge has"));
  }
  std::vector<std::int64_t> three(3);
  CHECK(sg::merge::top_k(3)(answers, std::span(three)).size() == 3);
  CHECK(three == std::vector<std::int64_t>{1, 10, 11});
  // presorted_answers() reads only what it takes: the unsorted last row goes unseen, as documented.
  CHECK(sg::merge::top_k(3).presorted_answers()(answers) == std::vector<std::int64_t>{10, 11, 12});
  CHECK(sg::merge::top_k(0)(answers, std::span(two)).empty());
}
