// The local pieces of the plans of sg::cost: the hash join, and the three phases of a
// re-partitioned aggregation (exchange, merge_exchanged, q.colocated()).
#include <sg/agg/count.hpp>
#include <sg/agg/minmax.hpp>
#include <sg/agg/sum.hpp>
#include <sg/partition/jump.hpp>
#include <sg/query/join.hpp>
#include <sg/query/local.hpp>
#include <sg/query/query.hpp>

#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <list>
#include <optional>
#include <random>
#include <ranges>
#include <string>
#include <utility>
#include <vector>

namespace {

struct order {
  int id;
  std::optional<int> region;
  std::int64_t cents;
  friend bool operator==(order const&, order const&) = default;
};
struct region {
  long id;
  std::string name;
  friend bool operator==(region const&, region const&) = default;
};

// The reference: a nested loop, left order then right order, NULL never equal.
std::vector<std::pair<order, region>> nested_loop(std::vector<order> const& l, std::vector<region> const& r) {
  std::vector<std::pair<order, region>> out;
  for (auto const& a : l)
    for (auto const& b : r)
      if (a.region && *a.region == b.id) out.emplace_back(a, b);
  return out;
}

// Sends every key where jump<>(2) does not.
struct opposite {
  std::size_t shard_of(auto const& key) const { return 1 - sg::partition::jump<>(2).shard_of(key); }
  std::size_t shard_count() const { return 2; }
};

}  // namespace

TEST_CASE("hash_join: equals a nested loop, in its order, NULL keys matching nothing", "[query][join]") {
  SG_SEEDED_RNG(rng);
  for (int round = 0; round < 300; ++round) {
    const int keys = std::uniform_int_distribution<int>(1, 12)(rng);
    std::uniform_int_distribution<int> key(0, keys);
    std::vector<order> l(std::uniform_int_distribution<std::size_t>(0, 60)(rng));
    int id = 0;
    for (auto& o : l) o = {id++, key(rng) == 0 ? std::nullopt : std::optional<int>(key(rng)), key(rng) * 100};
    std::vector<region> r(std::uniform_int_distribution<std::size_t>(0, 30)(rng));  // duplicate ids on purpose
    for (auto& x : r) x = {key(rng), std::to_string(id++)};
    if (round % 2 == 1) {  // every id once, in a random order: the join without chains
      for (std::size_t i = 0; i < r.size(); ++i) r[i].id = static_cast<int>(i);
      std::shuffle(r.begin(), r.end(), rng);
    }
    REQUIRE(sg::local::hash_join(l, r, &order::region, &region::id) == nested_loop(l, r));
    // A build side that is not random-access (addressed through pointers), the same answer.
    const std::list<region> listed(r.begin(), r.end());
    REQUIRE(sg::local::hash_join(l, listed, &order::region, &region::id) == nested_loop(l, r));
  }
  CHECK(sg::local::hash_join(std::vector<order>{}, std::vector<region>{{1, "a"}}, &order::region, &region::id).empty());
  CHECK(sg::local::hash_join(std::vector<order>{{1, 1, 5}}, std::vector<region>{}, &order::region, &region::id).empty());
  // Keys computed by a lambda, and a view as the probe side.
  std::vector<int> xs{1, 2, 3, 4, 5, 6};
  auto evens = xs | std::views::filter([](int x) { return x % 2 == 0; });
  const auto j = sg::local::hash_join(evens, xs, [](int x) { return x / 2; }, [](int y) { return y; });
  CHECK(j == std::vector<std::pair<int, int>>{{2, 1}, {4, 2}, {6, 3}});
  // A filtering view (not const-iterable) as the build side.
  CHECK(sg::local::hash_join(xs, evens, [](int x) { return 2 * x; }, [](int y) { return y; }) ==
        std::vector<std::pair<int, int>>{{1, 2}, {2, 4}, {3, 6}});
  // A build side whose rows are made on the fly (prvalues): still joined, nothing dangles.
  auto tens = xs | std::views::transform([](int x) { return x * 10; });
  const auto k = sg::local::hash_join(xs, tens, [](int x) { return x * 10; }, [](int y) { return y; });
  CHECK(k == std::vector<std::pair<int, int>>{{1, 10}, {2, 20}, {3, 30}, {4, 40}, {5, 50}, {6, 60}});
  // The answer reserves one row per left row, but not beyond 64 MiB: a selective join of a
  // big left side (here 10,000,000 rows, one match) does not claim 80 MB it will not use.
  const std::vector<int> many(10'000'000, 7);
  auto few = sg::local::hash_join(std::views::iota(0, 10'000'000), std::vector<int>{3},
                                  std::identity{}, std::identity{});
  CHECK(few == std::vector<std::pair<int, int>>{{3, 3}});
  CHECK(few.capacity() * sizeof(std::pair<int, int>) <= std::size_t{64} << 20);
  const auto small = sg::local::hash_join(xs, std::vector<int>{1, 2}, std::identity{}, std::identity{});
  CHECK(small.capacity() >= xs.size());  // reserved up front, below the cap
  CHECK(sg::local::hash_join(many, std::vector<int>{7}, std::identity{}, std::identity{}).size() == many.size());
}

TEST_CASE("three-phase aggregation: exchange, merge a slice per shard, coordinator concatenates", "[query][exchange]") {
  SG_SEEDED_RNG(rng);
  auto q = sg::query(sg::where(sg::ge(&order::cents, 100)), sg::group_by(&order::region),
                     sg::aggregate(sg::agg::count(), sg::agg::sum(&order::cents), sg::agg::max(&order::id)),
                     sg::having(sg::ge(sg::col<1>, 2)), sg::order_by(sg::desc(sg::col<2>), sg::asc(sg::col<0>)),
                     sg::limit(7, 2));
  for (int round = 0; round < 100; ++round) {
    const std::size_t shards = std::uniform_int_distribution<std::size_t>(1, 7)(rng);
    const int groups = std::uniform_int_distribution<int>(1, 40)(rng);
    std::vector<order> all(std::uniform_int_distribution<std::size_t>(0, 400)(rng));
    std::vector<std::vector<order>> data(shards);
    int id = 0;
    for (auto& o : all) {
      const int g = std::uniform_int_distribution<int>(0, groups)(rng);
      o = {id++, g == 0 ? std::nullopt : std::optional<int>(g), std::uniform_int_distribution<std::int64_t>(0, 999)(rng)};
      data[std::uniform_int_distribution<std::size_t>(0, shards - 1)(rng)].push_back(o);
    }
    // Phase 1: every shard splits its partial table by key among the shards.
    const sg::partition::jump<> p(shards);
    std::vector<std::vector<decltype(sg::local::run(q, data[0]))>> inbox(shards);
    for (auto const& rows : data) {
      auto parts = sg::local::exchange(q, rows, p);
      REQUIRE(parts.size() == shards);
      for (std::size_t j = 0; j < shards; ++j) inbox[j].push_back(std::move(parts[j]));
    }
    // Phase 2: each shard finishes its slice; phase 3: the colocated query's merge.
    auto acc = q.colocated().accumulator<decltype(sg::local::merge_exchanged(q, inbox[0]))>();
    const auto sent = inbox;
    for (std::size_t j = 0; j < shards; ++j) acc.add(j, sg::local::merge_exchanged(q, inbox[j]));
    REQUIRE(inbox == sent);  // an lvalue range is read, not moved from
    REQUIRE(std::move(acc).finish() == sg::local::evaluate(q, all));
  }
}

TEST_CASE("three-phase aggregation: a group split across slices is caught by the coordinator", "[query][exchange]") {
  // Two shards that use different partitioners (here: opposite ones) break the exchange's
  // promise: the same group reaches two slices, and the colocated merge says so rather than
  // count it twice.
  auto q = sg::query(sg::group_by(&order::region), sg::aggregate(sg::agg::count()));
  std::vector<order> a, b;
  for (int i = 0; i < 64; ++i) (i % 2 ? a : b).push_back({i, (i / 2) % 8, 1});  // both shards hold every group
  auto pa = sg::local::exchange(q, a, sg::partition::jump<>(2));
  auto pb = sg::local::exchange(q, b, opposite{});
  std::vector<decltype(pa)> inbox(2);
  for (std::size_t j = 0; j < 2; ++j) inbox[j] = {pa[j], pb[j]};
  auto acc = q.colocated().accumulator<decltype(sg::local::merge_exchanged(q, inbox[0]))>();
  acc.add(0, sg::local::merge_exchanged(q, inbox[0]));
  CHECK_THROWS_WITH(acc.add(1, sg::local::merge_exchanged(q, inbox[1])), Catch::Contains("groups_colocated()"));
}

TEST_CASE("hash_join: double keys match in sg's total order (NaN with NaN, -0.0 with 0.0)", "[query][join][float-order]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<std::pair<int, double>> left{{1, nan}, {2, -0.0}, {3, 1.5}, {4, -nan}};
  const std::vector<std::pair<double, char>> right{{0.0, 'z'}, {-nan, 'n'}, {2.5, 'x'}};
  const auto joined = sg::local::hash_join(left, right, [](auto const& l) { return l.second; },
                                           [](auto const& r) { return r.first; });
  std::vector<std::pair<int, char>> got;
  for (auto const& [l, r] : joined) got.emplace_back(l.first, r.second);
  CHECK(got == std::vector<std::pair<int, char>>{{1, 'n'}, {2, 'z'}, {4, 'n'}});
}
