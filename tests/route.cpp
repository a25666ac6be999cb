#include <sg/merge/concat.hpp>
#include <sg/partition/jump.hpp>
#include <sg/partition/modulo.hpp>
#include <sg/partition/range.hpp>
#include <sg/partition/round_robin.hpp>
#include <sg/pipeline.hpp>
#include <sg/route.hpp>

#include "support/seed.hpp"

#include <boost/asio/thread_pool.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <functional>
#include <set>
#include <string>
#include <vector>

namespace {

struct row {
  int key;
  std::string value;
  friend bool operator==(row const&, row const&) = default;
};

// A shard that counts its calls and answers its rows with a key in the request's set.
struct counting_shard {
  std::vector<row> rows;
  mutable std::atomic<int> calls{0};
  counting_shard(std::vector<row> r = {}) : rows(std::move(r)) {}
  counting_shard(counting_shard const& o) : rows(o.rows) {}
  template <class Req>
  std::vector<row> execute(Req const& req) const {
    ++calls;
    std::vector<row> out;
    for (auto const& r : rows)
      if (req.wants(r.key)) out.push_back(r);
    return out;
  }
};

struct by_keys {
  std::vector<int> keys;
  bool wants(int k) const { return std::find(keys.begin(), keys.end(), k) != keys.end(); }
};
struct by_range {
  int lo, hi;
  bool wants(int k) const { return lo <= k && k <= hi; }
};
struct everything {
  bool wants(int) const { return true; }
};

// Rows 0..99 placed on 8 shards by a partitioner.
template <class P>
std::vector<counting_shard> place(P const& p) {
  std::vector<counting_shard> shards(p.shard_count());
  for (int k = 0; k < 100; ++k) {
    std::string value = std::to_string(k);  // not "v" + ...: GCC 12 -O3 warns falsely (-Wrestrict)
    value.insert(value.begin(), 'v');
    shards[p.shard_of(k)].rows.push_back({k, std::move(value)});
  }
  return shards;
}

int total_calls(std::vector<counting_shard> const& shards) {
  int n = 0;
  for (auto const& s : shards) n += s.calls;
  return n;
}

}  // namespace

TEST_CASE("route: a point key goes to its one shard", "[route]") {
  const sg::partition::jump<> p(8);
  auto shards = place(p);
  auto pipe = sg::scatter(shards) |
              sg::route(p, [](by_keys const& r) { return r.keys.front(); }) |
              sg::gather(sg::merge::concat());
  auto r = pipe(by_keys{{42}});
  CHECK(r.value == std::vector<row>{{42, "v42"}});
  CHECK(r.completeness == sg::completeness{1, 1, 0, 7});
  CHECK(r.completeness.complete());
  CHECK(total_calls(shards) == 1);
  CHECK(shards[p.shard_of(42)].calls == 1);
}

TEST_CASE("route: an IN-list goes to each of its shards once", "[route][property]") {
  SG_SEEDED_RNG(rng);
  const sg::partition::modulo<> p(8);
  auto shards = place(p);
  auto pipe = sg::scatter(shards) |
              sg::route(p, [](by_keys const& r) { return sg::key_set{r.keys}; }) |
              sg::gather(sg::merge::concat());
  for (int round = 0; round < 50; ++round) {
    by_keys req;
    for (std::size_t i = 0, n = rng() % 6 + 1; i < n; ++i) req.keys.push_back(static_cast<int>(rng() % 100));
    std::set<std::size_t> expected_shards;
    for (int k : req.keys) expected_shards.insert(p.shard_of(k));
    for (auto& s : shards) s.calls = 0;
    auto r = pipe(req);
    CHECK(r.completeness.targeted == expected_shards.size());
    CHECK(r.completeness.pruned == 8 - expected_shards.size());
    for (std::size_t s = 0; s < shards.size(); ++s) CHECK(shards[s].calls == (expected_shards.count(s) ? 1 : 0));
    // every requested key's row, once, shard order
    std::vector<row> expected;
    for (auto const& s : shards)
      for (auto const& row_ : s.rows)
        if (req.wants(row_.key)) expected.push_back(row_);
    CHECK(r.value == expected);
  }
}

TEST_CASE("route: a key range prunes on a range partitioner only", "[route]") {
  const sg::partition::range ranged{std::vector<int>{25, 50, 75}};  // 4 shards
  auto shards = place(ranged);
  auto pipe = sg::scatter(shards) |
              sg::route(ranged, [](by_range const& r) { return sg::key_range{r.lo, r.hi}; }) |
              sg::gather(sg::merge::concat());
  auto r = pipe(by_range{30, 60});
  CHECK(r.completeness == sg::completeness{2, 2, 0, 2});
  REQUIRE(r.value.size() == 31);
  CHECK(r.value.front().key == 30);
  CHECK(r.value.back().key == 60);
  CHECK(shards[0].calls == 0);
  CHECK(shards[3].calls == 0);

  // an empty range targets nothing: the no_shards error
  std::error_code ec;
  (void)pipe(by_range{60, 30}, ec);
  CHECK(ec == sg::errc::no_shards);

  // a hash partitioner cannot prune a range: every shard
  const sg::partition::jump<> hashed(4);
  auto hshards = place(hashed);
  auto hpipe = sg::scatter(hshards) |
               sg::route(hashed, [](by_range const& q) { return sg::key_range{q.lo, q.hi}; }) |
               sg::gather(sg::merge::concat());
  CHECK(hpipe(by_range{30, 60}).completeness == sg::completeness{4, 4, 0, 0});
}

TEST_CASE("route: all_shards, on a pool, with tuples", "[route]") {
  const sg::partition::jump<> p(8);
  auto shards = place(p);
  boost::asio::thread_pool pool(2);
  auto pipe = sg::scatter(shards) | sg::on(pool) |
              sg::route(p, [](by_keys const& r) {
                return r.keys.empty() ? sg::key_set<int>{} : sg::key_set{r.keys};
              }) |
              sg::gather(sg::merge::concat());
  auto r = pipe(by_keys{{3, 97, 3}});
  CHECK(r.value.size() == 2);
  CHECK(r.completeness.targeted == (p.shard_of(3) == p.shard_of(97) ? 1u : 2u));

  auto all = sg::scatter(shards) | sg::on(pool) | sg::route(p, [](everything) { return sg::all_shards; }) |
             sg::gather(sg::merge::concat());
  CHECK(all(everything{}).value.size() == 100);
  CHECK(all(everything{}).completeness == sg::completeness{8, 8, 0, 0});

  auto t = std::make_tuple([](int) { return std::vector<int>{0}; }, [](int) { return std::vector<int>{1}; },
                           [](int) { return std::vector<int>{2}; });
  const sg::partition::modulo<sg::partition::identity_hash> identity(3);
  auto tp = sg::scatter(t) | sg::route(identity, [](int k) { return sg::key_set{k, k + 1}; }) |
            sg::gather(sg::merge::concat());
  auto tr = tp(0);
  CHECK(tr.completeness.targeted + tr.completeness.pruned == 3);
}

TEST_CASE("route: failures name the original shard index", "[route][failure]") {
  std::vector<std::function<std::vector<int>(int)>> shards(6, [](int k) { return std::vector<int>{k}; });
  shards[4] = [](int) -> std::vector<int> { throw std::runtime_error("shard four is down"); };
  struct key_is_shard {  // a user partitioner: key k lives on shard k
    std::size_t shard_of(int k) const { return static_cast<std::size_t>(k); }
    std::size_t shard_count() const { return 6; }
  } p;
  auto pipe = sg::scatter(shards) | sg::route(p, [](int) { return sg::key_set{1, 4}; }) |
              sg::gather(sg::merge::concat());
  std::error_code ec;
  auto r = pipe(7, ec);
  CHECK(ec == sg::errc::partial_result);
  REQUIRE(r.failures.size() == 1);
  CHECK(r.failures[0].shard == 4);
  CHECK(r.value == std::vector<int>{7});
  CHECK(r.completeness == sg::completeness{2, 1, 1, 4});
}

TEST_CASE("route: a mismatched or broken partitioner is a clear error", "[route][bad-input]") {
  std::vector<std::vector<int>> shards(4);
  auto identity = [](std::vector<int> const& v) { return v; };
  const sg::partition::jump<> five(5);
  auto mismatched = sg::scatter(shards) | sg::route(five, [](auto const&) { return 1; }) |
                    sg::gather(sg::merge::concat());
  try {
    (void)mismatched(identity);
    FAIL("no exception");
  } catch (std::system_error const& e) {
    CHECK(e.code() == sg::errc::bad_input);
    CHECK_THAT(std::string(e.what()), Catch::Contains("partitioner has 5 shards but the shard set has 4"));
  }
  struct liar {
    std::size_t shard_of(int) const { return 9; }
    std::size_t shard_count() const { return 4; }
  };
  auto broken = sg::scatter(shards) | sg::route(liar{}, [](auto const&) { return 1; }) |
                sg::gather(sg::merge::concat());
  CHECK_THROWS_WITH(broken(identity), Catch::Contains("returned shard 9 for a set of 4 shards"));
}

TEST_CASE("route with a shared concurrent_round_robin", "[route][round_robin]") {
  std::vector<std::vector<int>> shards{{0}, {1}, {2}};
  sg::partition::concurrent_round_robin rr(3);
  auto pipe = sg::scatter(shards) | sg::route(std::ref(rr), [](auto const&) { return 0; }) |
              sg::gather(sg::merge::concat());
  auto identity = [](std::vector<int> const& v) { return v; };
  std::vector<int> seen;
  for (int i = 0; i < 6; ++i) seen.push_back(pipe(identity).value.at(0));
  CHECK(seen == std::vector<int>{0, 1, 2, 0, 1, 2});
}

TEST_CASE("key_set deduces keys, not characters, from strings", "[route]") {
  const std::vector<std::string> names{"ann", "bob"};
  STATIC_REQUIRE(std::is_same_v<decltype(sg::key_set{names}), sg::key_set<std::string>>);
  STATIC_REQUIRE(std::is_same_v<decltype(sg::key_set{std::string("ann")}), sg::key_set<std::string>>);
  STATIC_REQUIRE(std::is_same_v<decltype(sg::key_set{1, 2, 3}), sg::key_set<int>>);
  CHECK(sg::key_set{std::string("ann")}.keys == std::vector<std::string>{"ann"});
  CHECK(sg::key_set{names}.keys == names);
  CHECK(sg::key_set{std::string("a"), std::string("b")}.keys.size() == 2);
}
