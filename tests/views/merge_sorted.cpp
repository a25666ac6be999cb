#include <sg/merge/sorted.hpp>
#include <sg/views/merge_sorted.hpp>

#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <range/v3/range/conversion.hpp>
#include <range/v3/view/take.hpp>
#include <range/v3/view/transform.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace {
struct row {
  int key;
  int run;
  int seq;
  friend bool operator==(row const&, row const&) = default;
};
}  // namespace

TEST_CASE("merge_sorted yields what sg::merge::sorted returns, by reference", "[views][merge_sorted][property]") {
  SG_SEEDED_RNG(rng);
  for (int round = 0; round < 300; ++round) {
    std::vector<std::vector<row>> runs(rng() % 40);
    const int max_key = round % 5 == 0 ? 0 : 50;
    for (std::size_t r = 0; r < runs.size(); ++r) {
      std::vector<int> keys(rng() % 4 == 0 ? 0 : rng() % 30);
      for (auto& k : keys) k = static_cast<int>(rng() % static_cast<unsigned>(max_key + 1));
      std::ranges::sort(keys, std::greater<>{});
      for (std::size_t i = 0; i < keys.size(); ++i) runs[r].push_back({keys[i], static_cast<int>(r), static_cast<int>(i)});
    }
    const auto want = sg::merge::sorted(std::greater<>{}, &row::key)(runs);
    std::vector<row> got;
    for (row const& x : sg::views::merge_sorted(runs, std::greater<>{}, &row::key)) {
      // A reference into the runs themselves: nothing is copied.
      CHECK(&x == &runs[static_cast<std::size_t>(x.run)][static_cast<std::size_t>(x.seq)]);
      got.push_back(x);
    }
    CHECK(got == want);
    const std::size_t n = rng() % 40;
    auto first = sg::views::merge_sorted(runs, std::greater<>{}, &row::key) | ranges::views::take(n) |
                 ranges::to<std::vector<row>>();
    CHECK(first == std::vector<row>(want.begin(), want.begin() + static_cast<std::ptrdiff_t>(std::min(n, want.size()))));
  }
}

TEST_CASE("merge_sorted | take(n) stops early: O(n log k) comparisons, whatever the run length", "[views][merge_sorted]") {
  constexpr std::size_t k = 64, length = 100'000, n = 100;
  std::vector<std::vector<int>> runs(k);
  for (std::size_t r = 0; r < k; ++r)
    for (std::size_t i = 0; i < length; ++i) runs[r].push_back(static_cast<int>(i * k + r));
  long comparisons = 0;
  auto counting = [&](int a, int b) {
    ++comparisons;
    return a < b;
  };
  auto first = sg::views::merge_sorted(runs, counting) | ranges::views::take(n) | ranges::to<std::vector<int>>();
  REQUIRE(first.size() == n);
  for (std::size_t i = 0; i < n; ++i) CHECK(first[i] == static_cast<int>(i));
  // Build: < 2k; each step: one order check and at most 2·log2(k) tie-aware comparisons.
  CHECK(comparisons <= static_cast<long>(2 * k + n * (1 + 2 * 6)));
}

TEST_CASE("merge_sorted: an unsorted run is bad input, named with its position", "[views][merge_sorted]") {
  std::vector<std::vector<int>> runs{{1, 5, 9}, {2, 6, 4, 8}};
  std::vector<int> seen;
  try {
    for (int x : sg::views::merge_sorted(runs)) seen.push_back(x);
    FAIL("no error for an unsorted run");
  } catch (std::system_error const& e) {
    CHECK(e.code() == sg::errc::bad_input);
    CHECK(std::string(e.what()).find("run 1 is not sorted: its element 2 goes before element 1") != std::string::npos);
  }
  CHECK(seen == std::vector<int>{1, 2, 5, 6});  // produced before the step that met 4 after 6
}

TEST_CASE("merge_sorted: no runs, empty runs, views of runs, strings", "[views][merge_sorted]") {
  std::vector<std::vector<int>> none;
  CHECK((sg::views::merge_sorted(none) | ranges::to<std::vector<int>>()).empty());
  std::vector<std::vector<int>> empties(3);
  CHECK((sg::views::merge_sorted(empties) | ranges::to<std::vector<int>>()).empty());

  std::vector<int> a{1, 3}, b{2, 4};
  std::vector<std::span<int const>> spans{a, b};  // borrowed ranges as runs
  CHECK((sg::views::merge_sorted(spans) | ranges::to<std::vector<int>>()) == std::vector<int>{1, 2, 3, 4});

  std::vector<std::vector<std::string>> words{{"fig", "apple"}, {"banana", "cherry"}};
  auto by_length = sg::views::merge_sorted(words, std::less<>{}, &std::string::size);
  CHECK((by_length | ranges::to<std::vector<std::string>>()) ==
        std::vector<std::string>{"fig", "apple", "banana", "cherry"});
  STATIC_REQUIRE(ranges::input_range<decltype(by_length)>);
  STATIC_REQUIRE(ranges::view_<decltype(by_length)>);
}
