#include <sg/agg/count.hpp>
#include <sg/agg/hyperloglog.hpp>
#include <sg/agg/kll.hpp>
#include <sg/agg/minmax.hpp>
#include <sg/agg/sum.hpp>
#include <sg/agg/variance.hpp>
#include <sg/merge/hash_aggregate.hpp>
#include <sg/pipeline.hpp>

#include "support/arrival.hpp"
#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <list>
#include <map>
#include <random>
#include <string>
#include <system_error>
#include <tuple>
#include <vector>

namespace {

struct row {
  int region;
  std::string customer;
  std::int64_t cents;
  double price;
};

using shards_t = std::vector<std::vector<row>>;

const auto by_region = sg::merge::hash_aggregate(&row::region, sg::agg::count(), sg::agg::sum(&row::cents),
                                                 sg::agg::min(&row::cents), sg::agg::max(&row::customer),
                                                 sg::agg::avg(&row::price), sg::agg::variance_pop(&row::price));

using result_row = std::tuple<int, std::uint64_t, std::int64_t, std::int64_t, std::string, double, double>;

// The reference: std::map, one pass over all rows, two-pass variance.
std::vector<result_row> reference(shards_t const& shards) {
  std::map<int, std::vector<row>> groups;
  for (auto const& s : shards)
    for (auto const& r : s) groups[r.region].push_back(r);
  std::vector<result_row> out;
  for (auto const& [key, rows] : groups) {
    std::int64_t sum = 0;
    double psum = 0;
    for (auto const& r : rows) sum += r.cents, psum += r.price;
    const double mean = psum / static_cast<double>(rows.size());
    double m2 = 0;
    for (auto const& r : rows) m2 += (r.price - mean) * (r.price - mean);
    out.emplace_back(key, rows.size(), sum, std::ranges::min(rows, {}, &row::cents).cents,
                     std::ranges::max(rows, {}, &row::customer).customer, mean, m2 / static_cast<double>(rows.size()));
  }
  return out;
}

template <class Rows>
std::vector<result_row> sorted(Rows rows) {
  std::vector<result_row> out(rows.begin(), rows.end());
  std::ranges::sort(out, {}, [](auto const& r) { return std::get<0>(r); });
  return out;
}

// Integers exactly, floating point within a relative 1e-9 (documented in docs/merges.md).
bool same(result_row const& a, result_row const& b) {
  auto close = [](double x, double y) { return std::abs(x - y) <= 1e-9 * std::max({1.0, std::abs(x), std::abs(y)}); };
  return std::get<0>(a) == std::get<0>(b) && std::get<1>(a) == std::get<1>(b) && std::get<2>(a) == std::get<2>(b) &&
         std::get<3>(a) == std::get<3>(b) && std::get<4>(a) == std::get<4>(b) &&
         close(std::get<5>(a), std::get<5>(b)) && close(std::get<6>(a), std::get<6>(b));
}

void check_equal(std::vector<result_row> const& got, std::vector<result_row> const& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (same(got[i], want[i])) continue;
    auto const& [k, n, sum, lo, hi, mean, var] = got[i];
    auto const& [wk, wn, wsum, wlo, whi, wmean, wvar] = want[i];
    FAIL("group " << wk << ": got (" << k << ", " << n << ", " << sum << ", " << lo << ", " << hi << ", " << mean
                  << ", " << var << "), want (" << wk << ", " << wn << ", " << wsum << ", " << wlo << ", " << whi
                  << ", " << wmean << ", " << wvar << ")");
  }
}

shards_t random_shards(std::mt19937_64& rng, int keys, std::size_t max_rows) {
  shards_t shards(rng() % 20);
  std::uniform_int_distribution<std::int64_t> cents(-1'000'000, 1'000'000);
  for (auto& s : shards) {
    s.resize(rng() % 5 == 0 ? 0 : rng() % (max_rows + 1));
    for (auto& r : s)
      r = {static_cast<int>(rng() % static_cast<unsigned>(keys)), std::string(1, static_cast<char>('a' + rng() % 26)), cents(rng),
           static_cast<double>(rng() % 10000) / 100.0};
  }
  return shards;
}

}  // namespace

TEST_CASE("hash_aggregate: two phases equal one phase and a std::map reference", "[merge][hash_aggregate][property]") {
  SG_SEEDED_RNG(rng);
  for (int round = 0; round < 150; ++round) {
    const int keys = round % 5 == 0 ? 1 : (round % 5 == 1 ? 5000 : 40);  // all equal, many, some
    const auto shards = random_shards(rng, keys, 200);
    const auto want = reference(shards);

    std::vector<sg::merge::partial_table_t<decltype(by_region), row>> tables;
    for (auto const& s : shards) tables.push_back(by_region.partial(s));
    for (auto const& t : tables) {  // a partial table has one entry per group of its shard
      std::vector<int> ks;
      for (auto const& g : t) ks.push_back(g.key);
      std::ranges::sort(ks);
      CHECK(std::ranges::adjacent_find(ks) == ks.end());
    }
    check_equal(sorted(by_region(tables)), want);                                    // two phases
    check_equal(sorted(sg_test::merge_in_random_order(by_region, tables, rng)), want);  // any arrival order
    check_equal(sorted(by_region(shards)), want);                                    // one phase
  }
}

TEST_CASE("hash_aggregate: beyond the cache-sized table it partitions, and loses nothing", "[merge][hash_aggregate]") {
  SG_SEEDED_RNG(rng);
  // 200k groups over 6 shards: far more than the single table holds, so the merge moves
  // to radix partitions, buffers and flushes — then every group must still be exact.
  constexpr int groups = 200'000;
  shards_t shards(6);
  for (int k = 0; k < groups; ++k) {
    const int copies = 1 + static_cast<int>(rng() % 3);
    for (int c = 0; c < copies; ++c)
      shards[rng() % shards.size()].push_back({k, "c", static_cast<std::int64_t>(k) * 3 + c, 1.0 * c});
  }
  const auto want = reference(shards);
  std::vector<sg::merge::partial_table_t<decltype(by_region), row>> tables;
  for (auto const& s : shards) tables.push_back(by_region.partial(s));
  check_equal(sorted(sg_test::merge_in_random_order(by_region, tables, rng)), want);
  check_equal(sorted(by_region(shards)), want);  // one phase: rows aggregated on arrival
  // Answers of another container type are copied into the merge's own storage.
  using group = sg::merge::partial_table_t<decltype(by_region), row>::value_type;
  std::vector<std::list<group>> lists;
  for (auto const& t : tables) lists.emplace_back(t.begin(), t.end());
  check_equal(sorted(by_region(lists)), want);
  // The same tables fed twice: every count and sum doubles (a repeated key merges).
  auto twice = tables;
  twice.insert(twice.end(), tables.begin(), tables.end());
  const auto doubled = sorted(by_region(twice));
  REQUIRE(doubled.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    CHECK(std::get<1>(doubled[i]) == 2 * std::get<1>(want[i]));
    CHECK(std::get<2>(doubled[i]) == 2 * std::get<2>(want[i]));
  }
}

TEST_CASE("hash_aggregate: a whole hash table adopted first, after other answers, or before many more",
          "[merge][hash_aggregate]") {
  // group_table::adopt is the single-node path (sg::local::evaluate, a co-located shard):
  // a table of distinct groups taken without hashing again when nothing came before it,
  // merged group by group otherwise; later answers still merge into it, past the
  // partitioning threshold too.
  SG_SEEDED_RNG(rng);
  const auto aggs = boost::hana::make_tuple(sg::agg::count(), sg::agg::sum(&row::cents));
  using traits = sg::merge::detail::row_traits<row, int row::*, decltype(sg::agg::count()),
                                               decltype(sg::agg::sum(&row::cents))>;
  using table = sg::merge::detail::group_table<int, traits::states_type, std::remove_const_t<decltype(aggs)>>;
  auto map_of = [&](std::vector<row> const& rows) {
    return sg::merge::detail::partial_map<int, traits::states_type>(&row::region, aggs, rows);
  };
  auto drained = [](table& t) {
    std::map<int, std::pair<std::uint64_t, std::int64_t>> out;
    t.drain_finished([&](int&& k, std::uint64_t n, std::int64_t sum) { CHECK(out.emplace(k, std::pair{n, sum}).second); });
    return out;
  };
  auto want_of = [](shards_t const& shards) {
    std::map<int, std::pair<std::uint64_t, std::int64_t>> out;
    for (auto const& s : shards)
      for (auto const& r : s) {
        auto& [n, sum] = out[r.region];
        ++n;
        sum += r.cents;
      }
    return out;
  };
  for (const int keys : {1, 40, 5000, 300'000}) {
    shards_t shards(3);
    for (auto& s : shards)
      for (int i = 0; i < (keys > 5000 ? 150'000 : 500); ++i)
        s.push_back({static_cast<int>(rng() % static_cast<unsigned>(keys)), "c", static_cast<std::int64_t>(rng() % 1000), 0});
    const auto want = want_of(shards);
    table first(aggs);  // adopted into an empty table, then two answers merged into it
    first.adopt(map_of(shards[0]));
    first.merge_all(sg::merge::detail::partial_table<int, traits::states_type>(&row::region, aggs, shards[1]));
    first.merge_all(sg::merge::detail::partial_table<int, traits::states_type>(&row::region, aggs, shards[2]));
    CHECK(drained(first) == want);
    table later(aggs);  // adopted after an answer: merged group by group
    later.merge_all(sg::merge::detail::partial_table<int, traits::states_type>(&row::region, aggs, shards[0]));
    later.adopt(map_of(shards[1]));
    later.adopt(map_of(shards[2]));
    CHECK(drained(later) == want);
  }
}

TEST_CASE("hash_aggregate: composite keys, string keys, sketches", "[merge][hash_aggregate]") {
  shards_t shards{{{1, "ann", 10, 1.0}, {1, "bob", 20, 2.0}, {2, "ann", 5, 3.0}},
                  {{1, "ann", 30, 4.0}},
                  {}};
  auto by_pair = sg::merge::hash_aggregate([](row const& r) { return std::tuple{r.region, r.customer}; },
                                           sg::agg::sum(&row::cents));
  auto result = by_pair(shards);
  std::ranges::sort(result);
  using key = std::tuple<int, std::string>;
  CHECK(result == std::vector<std::tuple<key, std::int64_t>>{{{1, "ann"}, 40}, {{1, "bob"}, 20}, {{2, "ann"}, 5}});

  auto by_customer = sg::merge::hash_aggregate(&row::customer, sg::agg::approx_count_distinct(&row::region),
                                               sg::agg::approx_quantile(&row::cents, 0.5));
  std::vector<sg::merge::partial_table_t<decltype(by_customer), row>> tables;
  for (auto const& s : shards) tables.push_back(by_customer.partial(s));
  auto sketched = by_customer(tables);
  std::ranges::sort(sketched);
  REQUIRE(sketched.size() == 2);
  auto const& [name, regions, median] = sketched[0];
  CHECK(name == "ann");
  CHECK(regions == 2);
  CHECK(median == 10);  // the lower median of {5, 10, 30}... of ann's cents {10, 5, 30}
}

TEST_CASE("hash_aggregate: no answers, empty answers", "[merge][hash_aggregate]") {
  CHECK(by_region(shards_t{}).empty());
  CHECK(by_region(shards_t{{}, {}}).empty());
  std::vector<sg::merge::partial_table_t<decltype(by_region), row>> none;
  CHECK(by_region(none).empty());
}

TEST_CASE("hash_aggregate: a failure part-way poisons the merge, and overflow fails the query", "[merge][hash_aggregate]") {
  auto distinct = sg::merge::hash_aggregate(&row::region, sg::agg::approx_count_distinct(&row::customer, 10));
  using table = sg::merge::partial_table_t<decltype(distinct), row>;
  table good = distinct.partial(std::vector<row>{{1, "a", 0, 0}, {2, "b", 0, 0}});
  table bad = good;
  bad[1].states = std::tuple{sg::agg::hyperloglog(12)};  // a shard built with another precision
  auto acc = distinct.accumulator<table>();
  acc.add(0, table(good));
  try {
    acc.add(1, table(bad));
    FAIL("merged a sketch of another precision");
  } catch (std::system_error const& e) {
    CHECK(e.code() == sg::errc::bad_input);
  }
  acc.add(2, table(good));  // ignored: the result is already lost
  CHECK_THROWS_AS(std::move(acc).finish(), std::system_error);

  const auto total = sg::merge::hash_aggregate(&row::region, sg::agg::sum(&row::cents));
  constexpr auto big = std::numeric_limits<std::int64_t>::max();
  try {
    (void)total(shards_t{{{1, "", big, 0}}, {{1, "", 1, 0}}});
    FAIL("an overflowing sum was returned");
  } catch (std::system_error const& e) {
    CHECK(e.code() == sg::errc::overflow);
  }
}

TEST_CASE("hash_aggregate in a pipeline: shards answer partial tables", "[merge][hash_aggregate]") {
  shards_t data{{{1, "a", 1, 0}, {2, "b", 2, 0}}, {{1, "c", 3, 0}}, {{3, "d", 4, 0}}};
  auto count_sum = sg::merge::hash_aggregate(&row::region, sg::agg::count(), sg::agg::sum(&row::cents));
  // The request is a function of a shard's rows (sg's request-as-function form): each
  // shard runs the first phase and answers its partial table.
  auto shard_side = [&](std::vector<row> const& rows) { return count_sum.partial(rows); };
  auto pipe = sg::scatter(data) | sg::gather(count_sum);
  auto g = pipe(shard_side);
  CHECK(g.completeness.complete());
  auto rows = g.value;
  std::ranges::sort(rows);
  CHECK(rows == std::vector<std::tuple<int, std::uint64_t, std::int64_t>>{{1, 2, 4}, {2, 1, 2}, {3, 1, 4}});
}
