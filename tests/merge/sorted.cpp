#include <sg/merge/loser_tree.hpp>
#include <sg/merge/sorted.hpp>
#include <sg/pipeline.hpp>

#include "support/arrival.hpp"
#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <cstdint>
#include <forward_list>
#include <functional>
#include <iterator>
#include <list>
#include <memory>
#include <numeric>
#include <random>
#include <ranges>
#include <span>
#include <string>
#include <system_error>
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

// --- m(runs) on runs the caller keeps, and into the caller's output ------------------------

namespace {

// The error a merge gives for run `shard`, out of order at `at`; "" when it gives none.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (std::system_error const& e) {
    CHECK(e.code() == sg::errc::bad_input);
    return e.what();
  }
  return "";
}

std::string unsorted_message(std::size_t shard, std::size_t at) {
  return "sg::merge::sorted: the answer of shard " + std::to_string(shard) + " is not sorted: its element " +
         std::to_string(at) + " goes before element " + std::to_string(at - 1);
}

}  // namespace

TEST_CASE("sorted reads const runs, spans and ranges of ranges in place, into any output",
          "[merge][sorted][property]") {
  SG_SEEDED_RNG(rng);
  const auto m = sg::merge::sorted(std::ranges::less{}, &row::key);
  for (int round = 0; round < 200; ++round) {
    const auto runs = random_runs(rng, round % 3 == 0 ? 3 : 1000, false);
    const auto expected = reference(runs, std::ranges::less{}, &row::key);
    INFO("round " << round << ": " << runs.size() << " runs");
    CHECK(m(runs) == expected);  // const std::vector<std::vector<row>>&
    std::vector<std::span<row const>> spans(runs.begin(), runs.end());
    CHECK(m(spans) == expected);
    CHECK(m(std::span(spans)) == expected);
    CHECK(m(runs | std::views::transform([](auto const& r) { return std::span(r); })) == expected);  // made on the fly
    std::vector<std::list<row>> lists;
    for (auto const& r : runs) lists.emplace_back(r.begin(), r.end());
    CHECK(m(lists) == expected);

    std::vector<row> out;
    m(runs, std::back_inserter(out));
    CHECK(out == expected);
    std::vector<row> room(expected.size() + 3, row{-1, -1, -1});
    auto end = m(spans, room.begin());
    CHECK(end == room.begin() + static_cast<std::ptrdiff_t>(expected.size()));
    CHECK(std::equal(expected.begin(), expected.end(), room.begin()));
    CHECK(room.back() == row{-1, -1, -1});  // nothing written past the rows
    auto written = m(lists, std::span(room));
    CHECK(written.data() == room.data());
    CHECK(std::ranges::equal(written, expected));

    auto moved = runs;
    CHECK(m(std::move(moved)) == expected);
  }
}

TEST_CASE("sorted on arithmetic runs in place: any output, every engine", "[merge][sorted][property]") {
  SG_SEEDED_RNG(rng);
  for (int round = 0; round < 60; ++round) {
    const std::size_t k = round % 6 == 0 ? 0 : (round % 6 == 1 ? 1 : rng() % 70);
    std::vector<std::vector<std::int64_t>> runs(k);
    std::vector<std::int64_t> all;
    for (auto& r : runs) {
      r.resize(rng() % 4 == 0 ? 0 : rng() % (k < 4 ? 12000 : 600));  // windows of 64 to 4096 rows
      for (auto& x : r) x = static_cast<std::int64_t>(rng() % 50) - 25;  // duplicates
      std::ranges::sort(r);
      all.insert(all.end(), r.begin(), r.end());
    }
    std::ranges::stable_sort(all);
    INFO("k " << k);
    const auto m = sg::merge::sorted();
    CHECK(m(runs) == all);
    std::vector<std::int64_t> out(all.size());
    CHECK(m(runs, std::span(out)).size() == all.size());
    CHECK(out == all);
    std::vector<std::int64_t> appended;
    m(std::vector<std::span<std::int64_t const>>(runs.begin(), runs.end()), std::back_inserter(appended));
    CHECK(appended == all);
  }
}

TEST_CASE("sorted into a span too small: a clear error before anything is written", "[merge][sorted][bad-input]") {
  const std::vector<std::vector<int>> runs{{1, 4}, {2, 3, 5}};
  std::vector<int> small(4, -1);
  const auto what = error_of([&] { (void)sg::merge::sorted()(runs, std::span(small)); });
  CHECK_THAT(what, Catch::Contains("sg::merge::sorted: the output span holds 4 rows, but the merge has 5"));
  CHECK(small == std::vector<int>(4, -1));
  // Runs that do not know their size: the error comes with the row that does not fit.
  std::vector<std::forward_list<std::string>> lists{{"a", "c"}, {"b"}};
  std::vector<std::string> two(2);
  CHECK_THAT(error_of([&] { (void)sg::merge::sorted()(lists, std::span(two)); }),
             Catch::Contains("the output span holds 2 rows, but the merge has more"));
  std::vector<int> exact(5);
  CHECK(sg::merge::sorted()(runs, std::span(exact)).size() == 5);
  CHECK(exact == std::vector<int>{1, 2, 3, 4, 5});
}

TEST_CASE("sorted in place finds an unsorted run at any position of any run", "[merge][sorted][bad-input][property]") {
  SG_SEEDED_RNG(rng);
  for (int round = 0; round < 300; ++round) {
    const bool arithmetic = round % 2 == 0;
    const std::size_t k = 1 + rng() % (round % 5 == 0 ? 70 : 6);
    const std::size_t length = round % 3 == 0 ? 9000 : 2 + rng() % 200;  // several windows
    std::vector<std::vector<std::int64_t>> runs(k);
    for (auto& r : runs) {
      r.resize(length);
      for (auto& x : r) x = static_cast<std::int64_t>(rng() % 1000);
      std::ranges::sort(r);
    }
    // One element of one run made smaller than the one before it: the first, the last, a
    // window's edge, anywhere.
    const std::size_t shard = rng() % k;
    const std::size_t picks[] = {1, length - 1, std::min<std::size_t>(length - 1, 64),
                                 std::min<std::size_t>(length - 1, 4096), 1 + rng() % (length - 1)};
    const std::size_t at = picks[rng() % 5];
    auto& r = runs[shard];
    r[at] = r[at - 1] - 1 - static_cast<std::int64_t>(rng() % 3);
    const std::size_t first_bad =
        static_cast<std::size_t>(std::ranges::is_sorted_until(r) - r.begin());  // `at`, or an earlier one it made
    INFO("k " << k << ", length " << length << ", shard " << shard << ", position " << at);
    const auto expected = Catch::StartsWith(unsorted_message(shard, first_bad) + ": ");
    if (arithmetic) {
      CHECK_THAT(error_of([&] { (void)sg::merge::sorted()(runs); }), expected);
      std::vector<std::int64_t> out(k * length);
      CHECK_THAT(error_of([&] { (void)sg::merge::sorted()(runs, std::span(out)); }), expected);
    } else {
      std::vector<std::vector<row>> rows(k);
      for (std::size_t s = 0; s < k; ++s)
        for (auto x : runs[s]) rows[s].push_back({static_cast<int>(x), static_cast<int>(s), 0});
      CHECK_THAT(error_of([&] { (void)sg::merge::sorted(std::ranges::less{}, &row::key)(rows); }), expected);
    }
    // Through the accumulator the bad run is rejected whole and the others are merged.
    auto acc = sg::merge::sorted().accumulator<std::vector<std::int64_t>>();
    std::vector<std::int64_t> rest;
    for (std::size_t s = 0; s < k; ++s) {
      if (s == shard) {
        CHECK_THAT(error_of([&] { acc.add(s, std::vector<std::int64_t>(runs[s])); }), expected);
      } else {
        acc.add(s, std::vector<std::int64_t>(runs[s]));
        rest.insert(rest.end(), runs[s].begin(), runs[s].end());
      }
    }
    std::ranges::sort(rest);
    CHECK(std::move(acc).finish() == rest);
  }
}

TEST_CASE("sorted refuses a NaN out of place in the total order, on the vector path and the scalar tail alike",
          "[merge][sorted][bad-input][float-order]") {
  // NaN sorts after every number (sg/order.hpp): [.., NaN, x, ..] is out of order, and so is
  // a NaN ahead of a number in a descending run's reverse. Long runs reach the AVX2 check,
  // short ones its scalar tail.
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  for (std::size_t length : {5u, 63u, 64u, 65u, 200u, 9000u}) {
    for (std::size_t at : {std::size_t{1}, length / 2, length - 1}) {
      INFO("length " << length << ", NaN at " << at - 1);
      std::vector<std::vector<double>> runs(2);
      for (std::size_t i = 0; i < length; ++i) runs[0].push_back(static_cast<double>(i));
      runs[1] = runs[0];
      runs[1][at - 1] = nan;  // a NaN before a number: out of order
      CHECK_THAT(error_of([&] { (void)sg::merge::sorted()(runs); }),
                 Catch::StartsWith(unsorted_message(1, at) + ": "));
      // NaN last is in order, and merges last.
      runs[1] = runs[0];
      runs[1].back() = nan;
      const auto merged = sg::merge::sorted()(runs);
      REQUIRE(merged.size() == 2 * length);
      CHECK(std::isnan(merged.back()));
      CHECK(std::is_sorted(merged.begin(), merged.end() - 1));
    }
  }
}
