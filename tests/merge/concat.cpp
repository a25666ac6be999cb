#include <sg/merge/concat.hpp>

#include "support/arrival.hpp"
#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <deque>
#include <iterator>
#include <list>
#include <memory>
#include <numeric>
#include <random>
#include <ranges>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using rows = std::vector<int>;

// The reference: every answer's rows, shard 0's first.
rows reference_concat(std::vector<rows> const& answers) {
  rows out;
  for (auto const& a : answers) out.insert(out.end(), a.begin(), a.end());
  return out;
}

std::vector<rows> random_answers(std::mt19937_64& rng) {
  std::uniform_int_distribution<std::size_t> shards(0, 40), size(0, 30);
  std::uniform_int_distribution<int> value(-5, 5);  // many duplicates
  std::vector<rows> answers(shards(rng));
  for (auto& a : answers) {
    a.resize(size(rng) * (rng() % 4 == 0 ? 0 : 1));  // a quarter of the answers are empty
    for (auto& x : a) x = value(rng);
  }
  return answers;
}

}  // namespace

TEST_CASE("concat equals the reference for any arrival order", "[merge][concat][property]") {
  SG_SEEDED_RNG(rng);
  for (int round = 0; round < 500; ++round) {
    const auto answers = random_answers(rng);
    const rows expected = reference_concat(answers);

    // in shard order, through m(responses)
    CHECK(sg::merge::concat()(answers) == expected);

    // in a random arrival order, through the accumulator
    CHECK(sg_test::merge_in_random_order(sg::merge::concat(), answers, rng) == expected);
  }
}

TEST_CASE("concat with gaps in the shard indices (pruned shards)", "[merge][concat]") {
  auto acc = sg::merge::concat().accumulator<rows>();
  acc.add(7, {7, 7});
  acc.add(2, {2});
  acc.add(40, {40});
  acc.add(0, {});
  CHECK(std::move(acc).finish() == rows{2, 7, 7, 40});
}

TEST_CASE("concat of no answers, one answer, empty answers", "[merge][concat]") {
  CHECK(sg::merge::concat()(std::vector<rows>{}).empty());
  CHECK(sg::merge::concat()(std::vector<rows>{{}, {}, {}}).empty());
  CHECK(sg::merge::concat()(std::vector<rows>{{3, 1, 2}}) == rows{3, 1, 2});  // order kept
  CHECK(sg::merge::concat().accumulator<rows>().finish().empty());
}

TEST_CASE("concat copies from an lvalue range and moves from an rvalue one", "[merge][concat]") {
  std::vector<std::vector<std::string>> answers{{"a", "b"}, {"c"}};
  auto copy = sg::merge::concat()(answers);
  CHECK(copy == std::vector<std::string>{"a", "b", "c"});
  CHECK(answers[0][0] == "a");  // untouched

  std::vector<std::vector<std::unique_ptr<int>>> owned(2);
  owned[0].push_back(std::make_unique<int>(1));
  owned[1].push_back(std::make_unique<int>(2));
  auto moved = sg::merge::concat()(std::move(owned));  // move-only rows
  REQUIRE(moved.size() == 2);
  CHECK(*moved[0] == 1);
  CHECK(*moved[1] == 2);
}

TEST_CASE("concat takes any range of rows", "[merge][concat]") {
  std::vector<std::list<int>> lists{{1, 2}, {3}};
  CHECK(sg::merge::concat()(lists) == rows{1, 2, 3});
  std::vector<std::deque<int>> deques{{4}, {}, {5, 6}};
  CHECK(sg::merge::concat()(deques) == rows{4, 5, 6});
}

TEST_CASE("concat reuses the first answer's buffer", "[merge][concat]") {
  rows first{1, 2, 3};
  const int* buffer = first.data();
  auto acc = sg::merge::concat().accumulator<rows>();
  acc.add(0, std::move(first));
  CHECK(std::move(acc).finish().data() == buffer);
}

namespace {
// A row whose copy throws on the n-th copy, to test the strong guarantee of add().
struct fragile {
  static inline int copies_left = 1000;
  int value = 0;
  explicit fragile(int v) : value(v) {}
  fragile(fragile const& o) : value(o.value) {
    if (--copies_left < 0) throw std::runtime_error("copy failed");
  }
  fragile& operator=(fragile const&) = default;
  friend bool operator==(fragile const&, fragile const&) = default;
};
// A range of fragile rows whose iterator yields lvalues, so rows are copied.
struct fragile_batch {
  std::vector<fragile> rows;
  auto begin() const { return rows.begin(); }
  auto end() const { return rows.end(); }
};
}  // namespace

TEST_CASE("concat add() gives the strong guarantee", "[merge][concat]") {
  auto acc = sg::merge::concat().accumulator<fragile_batch>();
  fragile::copies_left = 1000;
  acc.add(0, fragile_batch{{fragile(1), fragile(2)}});
  fragile_batch bad{{fragile(3), fragile(4), fragile(5), fragile(6)}};
  fragile::copies_left = 2;  // the third copy of this answer's rows throws
  CHECK_THROWS_AS(acc.add(1, std::move(bad)), std::runtime_error);
  fragile::copies_left = 1000;
  acc.add(2, fragile_batch{{fragile(7)}});
  auto out = std::move(acc).finish();
  std::vector<int> values;
  for (auto const& f : out) values.push_back(f.value);
  CHECK(values == std::vector<int>{1, 2, 7});  // none of shard 1's rows, all of the others
}

TEST_CASE("concat: a late answer after many in-order ones", "[merge][concat]") {
  // 40 answers in shard order but for shard 5, which arrives last: the accumulator must
  // remember where each of the first 39 starts, beyond its inline capacity.
  for (std::size_t late : {std::size_t{0}, std::size_t{5}, std::size_t{20}, std::size_t{39}}) {
    INFO("late shard " << late);
    std::vector<rows> answers(40);
    for (std::size_t i = 0; i < answers.size(); ++i)
      answers[i] = rows(i % 3 + 1, static_cast<int>(i));  // 1 to 3 rows each
    auto acc = sg::merge::concat().accumulator<rows>();
    for (std::size_t i = 0; i < answers.size(); ++i)
      if (i != late) acc.add(i, rows(answers[i]));
    acc.add(late, rows(answers[late]));
    CHECK(std::move(acc).finish() == reference_concat(answers));
  }
}

TEST_CASE("concat: rows of a late answer are moved, not copied", "[merge][concat]") {
  auto acc = sg::merge::concat().accumulator<std::vector<std::unique_ptr<int>>>();
  std::vector<std::unique_ptr<int>> a, b;
  a.push_back(std::make_unique<int>(1));
  b.push_back(std::make_unique<int>(0));
  acc.add(1, std::move(a));
  acc.add(0, std::move(b));  // out of order: held, then placed first
  auto out = std::move(acc).finish();
  REQUIRE(out.size() == 2);
  CHECK(*out[0] == 0);
  CHECK(*out[1] == 1);
}

TEST_CASE("concat reads the caller's answers in place, into any output", "[merge][concat][property]") {
  SG_SEEDED_RNG(rng);
  for (int round = 0; round < 200; ++round) {
    const auto answers = random_answers(rng);
    const rows expected = reference_concat(answers);
    std::vector<std::span<int const>> spans(answers.begin(), answers.end());
    CHECK(sg::merge::concat()(spans) == expected);
    CHECK(sg::merge::concat()(answers | std::views::transform([](rows const& a) { return std::span(a); })) == expected);
    rows out{99};
    sg::merge::concat()(answers, std::back_inserter(out));
    CHECK(std::equal(out.begin() + 1, out.end(), expected.begin(), expected.end()));
    rows room(expected.size());
    CHECK(std::ranges::equal(sg::merge::concat()(spans, std::span(room)), expected));
    if (!expected.empty()) {
      rows small(expected.size() - 1, 7);
      CHECK_THROWS_WITH(sg::merge::concat()(answers, std::span(small)),
                        Catch::Contains("sg::merge::concat: the output span holds " + std::to_string(small.size()) +
                                        " rows, but the merge has " + std::to_string(expected.size())));
      CHECK(small == rows(expected.size() - 1, 7));  // nothing written
    }
  }
}
