#include <sg/partition/jump.hpp>
#include <sg/partition/modulo.hpp>
#include <sg/partition/range.hpp>
#include <sg/partition/split.hpp>

#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {
struct row {
  int key;
  int seq;
  friend bool operator==(row const&, row const&) = default;
};
// A partitioner that answers out of range, as a buggy user one might.
struct broken {
  std::size_t shard_of(int k) const { return k == 13 ? 99 : 0; }
  std::size_t shard_count() const { return 2; }
};
}  // namespace

TEST_CASE("split equals per-row placement, stable within buckets", "[partition][split][property]") {
  SG_SEEDED_RNG(rng);
  std::uniform_int_distribution<int> key(0, 50);
  for (int round = 0; round < 100; ++round) {
    std::vector<row> rows(rng() % 300);
    for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = {key(rng), static_cast<int>(i)};
    const sg::partition::jump<> p(1 + rng() % 20);
    // reference: push each row to its bucket in input order
    std::vector<std::vector<row>> expected(p.shard_count());
    for (auto const& r : rows) expected[p.shard_of(r.key)].push_back(r);
    auto buckets = sg::partition::split(rows, p, &row::key);
    CHECK(buckets == expected);
    for (std::size_t s = 0; s < buckets.size(); ++s)
      CHECK(buckets[s].capacity() == buckets[s].size());  // allocated once, exactly
  }
}

TEST_CASE("split_into appends and reuses buffers", "[partition][split]") {
  const sg::partition::range p{std::vector<int>{10}};
  std::vector<std::vector<int>> buckets;
  sg::partition::split_into(std::vector<int>{1, 15, 3}, p, std::identity{}, buckets);
  sg::partition::split_into(std::vector<int>{20, 2}, p, std::identity{}, buckets);
  CHECK(buckets == std::vector<std::vector<int>>{{1, 3, 2}, {15, 20}});
}

TEST_CASE("split moves from an rvalue container, copies from lvalues and views", "[partition][split]") {
  const sg::partition::modulo<> p(3);
  std::vector<std::unique_ptr<int>> owned;
  for (int i = 0; i < 10; ++i) owned.push_back(std::make_unique<int>(i));
  auto buckets = sg::partition::split(std::move(owned), p, [](auto const& ptr) { return *ptr; });
  std::size_t total = 0;
  for (auto const& b : buckets) total += b.size();
  CHECK(total == 10);

  std::vector<std::string> names{"ann", "bob"};
  auto copied = sg::partition::split(std::views::all(names), p);
  CHECK(names == std::vector<std::string>{"ann", "bob"});  // a view's rows are not moved from
  (void)copied;
}

TEST_CASE("split of nothing, and a partitioner out of range", "[partition][split]") {
  const sg::partition::jump<> p(4);
  auto empty = sg::partition::split(std::vector<int>{}, p);
  CHECK(empty.size() == 4);
  for (auto const& b : empty) CHECK(b.empty());
  CHECK_THROWS_WITH(sg::partition::split(std::vector<int>{1, 13}, broken{}),
                    Catch::Contains("row 1 on shard 99, but there are 2 shards"));
}
