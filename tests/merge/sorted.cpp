#include <sg/merge/loser_tree.hpp>
#include <sg/merge/sorted.hpp>
#include <sg/pipeline.hpp>

#include "support/arrival.hpp"
#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

namespace {

struct row {
  int key;
  int shard;
  int seq;  // position within the shard's run
  friend bool operator==(row const&, row const&) = default;
};

// The reference: concatenate in shard order, then a stable sort.
template <class Comp, class Proj>
std::vector<row> reference(std::vector<std::vector<row>> const& runs, Comp comp, Proj proj) {
  std::vector<row> all;
  for (auto const& r : runs) all.insert(all.end(), r.begin(), r.end());
  std::ranges::stable_sort(all, comp, proj);
  return all;
}

std::vector<std::vector<row>> random_runs(std::mt19937_64& rng, int max_key, bool descending) {
  std::uniform_int_distribution<std::size_t> shards(0, 70), size(0, 40);
  std::uniform_int_distribution<int> key(0, max_key);
  std::vector<std::vector<row>> runs(shards(rng));
  for (std::size_t s = 0; s < runs.size(); ++s) {
    std::vector<int> keys(rng() % 5 == 0 ? 0 : size(rng));
    for (auto& k : keys) k = key(rng);
    if (descending)
      std::sort(keys.begin(), keys.end(), std::greater<>{});
    else
      std::sort(keys.begin(), keys.end());
    for (std::size_t i = 0; i < keys.size(); ++i)
      runs[s].push_back({keys[i], static_cast<int>(s), static_cast<int>(i)});
  }
  return runs;
}

}  // namespace

TEST_CASE("sorted equals a stable sort of the concatenation", "[merge][sorted][property]") {
  SG_SEEDED_RNG(rng);
  for (int round = 0; round < 400; ++round) {
    const int max_key = round % 4 == 0 ? 0 : (round % 4 == 1 ? 3 : 1000);  // all equal, few, many
    const bool descending = round % 2 == 1;
    const auto runs = random_runs(rng, max_key, descending);
    INFO("round " << round << ": " << runs.size() << " runs, keys up to " << max_key);
    if (descending) {
      const auto m = sg::merge::sorted(std::greater<>{}, &row::key);
      CHECK(m(runs) == reference(runs, std::greater<>{}, &row::key));
    } else {
      const auto m = sg::merge::sorted(std::ranges::less{}, &row::key);
      const auto expected = reference(runs, std::ranges::less{}, &row::key);
      CHECK(m(runs) == expected);
      // answers arriving in any order give the same, stable result
      CHECK(sg_test::merge_in_random_order(m, runs, rng) == expected);
    }
  }
}

TEST_CASE("sorted: no runs, one run, empty runs, other range types", "[merge][sorted]") {
  CHECK(sg::merge::sorted()(std::vector<std::vector<int>>{}).empty());
  CHECK(sg::merge::sorted()(std::vector<std::vector<int>>{{}, {}, {}}).empty());
  CHECK(sg::merge::sorted()(std::vector<std::vector<int>>{{1, 2, 2, 9}}) == std::vector<int>{1, 2, 2, 9});
  CHECK(sg::merge::sorted()(std::vector<std::vector<int>>{{}, {5}, {}, {1, 7}}) == std::vector<int>{1, 5, 7});
  std::vector<std::list<std::string>> lists{{"b", "d"}, {"a", "c", "e"}};
  CHECK(sg::merge::sorted()(lists) == std::vector<std::string>{"a", "b", "c", "d", "e"});
}

TEST_CASE("sorted moves move-only rows out of rvalue runs", "[merge][sorted]") {
  std::vector<std::vector<std::unique_ptr<int>>> runs(2);
  runs[0].push_back(std::make_unique<int>(1));
  runs[0].push_back(std::make_unique<int>(4));
  runs[1].push_back(std::make_unique<int>(2));
  auto out = sg::merge::sorted(std::ranges::less{}, [](auto const& p) { return *p; })(std::move(runs));
  REQUIRE(out.size() == 3);
  CHECK((*out[0] == 1 && *out[1] == 2 && *out[2] == 4));
}

TEST_CASE("sorted rejects an unsorted run, naming the shard and the position", "[merge][sorted][bad-input]") {
  auto acc = sg::merge::sorted().accumulator<std::vector<int>>();
  acc.add(0, {1, 3, 5});
  try {
    acc.add(4, {1, 2, 9, 3, 10});
    FAIL("no exception");
  } catch (std::system_error const& e) {
    CHECK(e.code() == sg::errc::bad_input);
    CHECK_THAT(std::string(e.what()), Catch::Contains("shard 4 is not sorted: its element 3 goes before element 2"));
  }
  acc.add(1, {2});
  CHECK(std::move(acc).finish() == std::vector<int>{1, 2, 3, 5});  // the bad run kept nothing

  // in a pipeline, that shard is a failure with sg::errc::bad_input: nothing silently wrong
  std::vector<std::vector<int>> shards{{1, 4}, {3, 2}, {0, 9}};
  auto identity = [](std::vector<int> const& v) { return v; };
  std::error_code ec;
  auto r = (sg::scatter(shards) | sg::gather(sg::merge::sorted()))(identity, ec);
  CHECK(ec == sg::errc::partial_result);
  CHECK(r.value == std::vector<int>{0, 1, 4, 9});
  REQUIRE(r.failures.size() == 1);
  CHECK(r.failures[0].shard == 1);
  CHECK(r.failures[0].error == sg::errc::bad_input);
}

TEST_CASE("loser tree: the winner sequence of a k-way merge", "[merge][sorted][loser_tree]") {
  SG_SEEDED_RNG(rng);
  for (std::size_t k = 1; k <= 33; ++k) {
    std::vector<std::vector<int>> runs(k);
    for (auto& r : runs) {
      r.resize(rng() % 6);
      for (auto& x : r) x = static_cast<int>(rng() % 10);
      std::sort(r.begin(), r.end());
    }
    std::vector<std::size_t> pos(k, 0);
    auto beats = [&](std::uint32_t a, std::uint32_t b) {
      if (pos[a] == runs[a].size()) return false;
      if (pos[b] == runs[b].size()) return true;
      return runs[a][pos[a]] != runs[b][pos[b]] ? runs[a][pos[a]] < runs[b][pos[b]] : a < b;
    };
    sg::merge::detail::loser_tree tree;
    tree.build(k, beats);
    std::vector<std::pair<int, std::size_t>> got, expected;
    for (std::size_t s = 0; s < k; ++s)
      for (int x : runs[s]) expected.push_back({x, s});
    std::stable_sort(expected.begin(), expected.end(), [](auto a, auto b) { return a.first < b.first; });
    for (;;) {
      const auto w = tree.winner();
      if (pos[w] == runs[w].size()) break;
      got.push_back({runs[w][pos[w]++], w});
      tree.replay(beats);
    }
    INFO("k = " << k);
    CHECK(got == expected);
  }
}

TEST_CASE("sorted on arithmetic runs (the buffered merge tree) equals std::sort", "[merge][sorted][property]") {
  SG_SEEDED_RNG(rng);
  for (int round = 0; round < 120; ++round) {
    // Up to 1100 runs (buffers shrink to their minimum), ties, empty runs, both orders.
    const std::size_t k = round % 10 == 0 ? 1100 : rng() % 40;
    const bool descending = round % 2 == 1;
    const std::int64_t max_key = round % 3 == 0 ? 3 : 1'000'000;
    std::vector<std::vector<std::int64_t>> runs(k);
    std::vector<std::int64_t> all;
    for (auto& r : runs) {
      r.resize(rng() % 4 == 0 ? 0 : rng() % (k > 100 ? 50 : 3000));
      for (auto& x : r) x = static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(max_key)) - max_key / 2;
      if (descending)
        std::ranges::sort(r, std::greater<>{});
      else
        std::ranges::sort(r);
      all.insert(all.end(), r.begin(), r.end());
    }
    INFO("k " << k << (descending ? ", descending" : ", ascending"));
    if (descending) {
      std::ranges::sort(all, std::greater<>{});
      CHECK(sg::merge::sorted(std::greater<>{})(runs) == all);
    } else {
      std::ranges::sort(all);
      CHECK(sg::merge::sorted()(runs) == all);
      CHECK(sg_test::merge_in_random_order(sg::merge::sorted(std::less<std::int64_t>{}), runs, rng) == all);
    }
  }
  std::vector<std::vector<double>> doubles{{0.5, 1.5}, {-2.0, 1.5, 7.0}, {}};
  CHECK(sg::merge::sorted()(doubles) == std::vector<double>{-2.0, 0.5, 1.5, 1.5, 7.0});
}
