// Floating-point keys and values in typed queries (issue #30 items 1–3): with NaN, ±inf,
// -0.0 and ordinary values, every query shape gives the same answer for every split of the
// rows over 1–8 shards and every arrival order of the answers, equal to sg::local::run
// over all rows, in sg's total order (sg/order.hpp; docs/reliability.md).
#include <sg/agg/count.hpp>
#include <sg/agg/hyperloglog.hpp>
#include <sg/agg/minmax.hpp>
#include <sg/agg/sum.hpp>
#include <sg/agg/variance.hpp>
#include <sg/merge/sorted.hpp>
#include <sg/merge/top_k.hpp>
#include <sg/order.hpp>
#include <sg/pipeline.hpp>
#include <sg/query/local.hpp>
#include <sg/query/query.hpp>

#include "support/arrival.hpp"
#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <tuple>
#include <vector>

namespace {

constexpr double inf = std::numeric_limits<double>::infinity();
const double qnan = std::numeric_limits<double>::quiet_NaN();
const double negative_nan = -std::numeric_limits<double>::quiet_NaN();
const double payload_nan = std::bit_cast<double>(std::uint64_t{0x7ff8'0000'0000'0042});

// (shard key s, key d, value v): tuple rows, so DISTINCT compares them element by element.
using row = std::tuple<int, double, double>;
constexpr auto s = sg::col<0>;
constexpr auto d = sg::col<1>;
constexpr auto v = sg::col<2>;

struct memory_shard {
  std::vector<row> rows_;
  auto execute(auto const& q) const { return sg::local::run(q, rows_); }
};

double special(std::mt19937_64& rng) {
  static const double pool[] = {qnan, negative_nan, payload_nan, inf, -inf, -0.0, 0.0, 0.0, 1, 1, 2, -3, 7, 7, 7, 100};
  return pool[std::uniform_int_distribution<std::size_t>(0, std::size(pool) - 1)(rng)];
}

std::vector<row> random_rows(std::mt19937_64& rng) {
  std::vector<row> rows(std::uniform_int_distribution<std::size_t>(0, 60)(rng));
  for (auto& r : rows) r = {std::uniform_int_distribution<int>(0, 2)(rng), special(rng), special(rng)};
  return rows;
}

// A split into k shards, each a contiguous run of the rows (some maybe empty): the shards'
// rows in shard order are the rows in order, so even ties and DISTINCT's first row agree.
std::vector<std::vector<row>> contiguous_split(std::vector<row> const& rows, std::size_t k, std::mt19937_64& rng) {
  std::vector<std::size_t> cuts(k - 1);
  for (auto& c : cuts) c = std::uniform_int_distribution<std::size_t>(0, rows.size())(rng);
  std::ranges::sort(cuts);
  cuts.push_back(rows.size());
  std::vector<std::vector<row>> out(k);
  std::size_t at = 0;
  for (std::size_t i = 0; i < k; ++i) {
    out[i].assign(rows.begin() + static_cast<std::ptrdiff_t>(at), rows.begin() + static_cast<std::ptrdiff_t>(cuts[i]));
    at = cuts[i];
  }
  return out;
}

// A split where each row goes to any shard.
std::vector<std::vector<row>> scattered_split(std::vector<row> const& rows, std::size_t k, std::mt19937_64& rng) {
  std::vector<std::vector<row>> out(k);
  for (auto const& r : rows) out[std::uniform_int_distribution<std::size_t>(0, k - 1)(rng)].push_back(r);
  return out;
}

// Equal in sg's total order, and close for values a merge may round differently.
bool same_value(double a, double b, bool rounded) {
  if (sg::total_equal(a, b)) return true;
  if (!rounded || std::isnan(a) || std::isnan(b) || std::isinf(a) || std::isinf(b)) return false;
  return std::abs(a - b) <= 1e-9 * std::max({1.0, std::abs(a), std::abs(b)});
}
template <class T>
bool same_value(T const& a, T const& b, bool rounded) {
  if constexpr (std::is_floating_point_v<T>) {
    return same_value(static_cast<double>(a), static_cast<double>(b), rounded);
  } else if constexpr (requires { std::tuple_size<T>::value; }) {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      return (true && ... && same_value(std::get<I>(a), std::get<I>(b), rounded));
    }(std::make_index_sequence<std::tuple_size_v<T>>{});
  } else {
    return a == b;
  }
}
template <class Rows>
bool same_rows(Rows const& a, Rows const& b, bool rounded = false) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!same_value(a[i], b[i], rounded)) return false;
  return true;
}

// The query over `rows` split every way (1–8 shards, contiguous; grouped queries also
// scattered), the answers merged in a random arrival order and through a pipeline: each
// equals sg::local::evaluate over all rows (grouped results compared as sets).
template <class Q>
void check_splits(Q const& q, std::mt19937_64& rng, bool rounded = false) {
  for (int round = 0; round < 60; ++round) {
    const auto rows = random_rows(rng);
    auto expected = sg::local::evaluate(q, rows);
    if constexpr (Q::grouped) std::ranges::sort(expected, sg::total_less);
    for (std::size_t k = 1; k <= 8; ++k) {
      for (bool scattered : {false, true}) {
        if (scattered && !Q::grouped) continue;
        const auto parts = scattered ? scattered_split(rows, k, rng) : contiguous_split(rows, k, rng);
        using answer = decltype(sg::local::run(q, parts[0]));
        std::vector<answer> answers;
        for (auto const& p : parts) answers.push_back(sg::local::run(q, p));
        auto merged = sg_test::merge_in_random_order(q, answers, rng);
        std::vector<memory_shard> shards;
        for (auto const& p : parts) shards.push_back({p});
        auto piped = (sg::scatter(shards) | sg::gather(q))(q).value;
        if constexpr (Q::grouped) {
          std::ranges::sort(merged, sg::total_less);
          std::ranges::sort(piped, sg::total_less);
        }
        INFO("round " << round << ", " << k << " shards" << (scattered ? " (scattered)" : "") << ", "
                      << rows.size() << " rows");
        REQUIRE(same_rows(merged, expected, rounded));
        REQUIRE(same_rows(piped, expected, rounded));
      }
    }
  }
}

}  // namespace

// --- the three defects of issue #30, each failing before the total order ------------------

TEST_CASE("float order: MIN/MAX with NaN do not depend on the split or the arrival order (#30.1)",
          "[query][float-order]") {
  const auto q = sg::query(sg::group_by(s), sg::aggregate(sg::agg::min(d), sg::agg::max(d)));
  const std::vector<row> shard0{{0, 3, 0}, {0, qnan, 0}}, shard1{{0, qnan, 0}, {0, 1, 0}};
  std::vector<row> all = shard0;
  all.insert(all.end(), shard1.begin(), shard1.end());
  // PostgreSQL: min(d) = 1 (NaN is above every number), max(d) = NaN.
  auto check = [](auto const& result) {
    REQUIRE(result.size() == 1u);
    CHECK(std::get<1>(result[0]) == 1.0);
    CHECK(std::isnan(std::get<2>(result[0])));
  };
  check(sg::local::evaluate(q, all));
  const std::vector<memory_shard> shards{{shard0}, {shard1}};
  check((sg::scatter(shards) | sg::gather(q))(q).value);
  for (std::size_t first : {0u, 1u}) {
    auto acc = q.accumulator<decltype(sg::local::run(q, shard0))>();
    acc.add(first, sg::local::run(q, first == 0 ? shard0 : shard1));
    acc.add(1 - first, sg::local::run(q, first == 0 ? shard1 : shard0));
    check(std::move(acc).finish());
  }
  // A state whose first value is NaN keeps the real values that follow.
  const auto m = sg::agg::min(d);
  auto state = m.init<row>();
  m.update(state, row{0, qnan, 0});
  m.update(state, row{0, 5, 0});
  CHECK(m.finish(state) == 5.0);
  // MIN is NaN only when every value is.
  CHECK(std::isnan(std::get<1>(sg::local::evaluate(q, std::vector<row>{{0, qnan, 0}, {0, negative_nan, 0}})[0])));
}

TEST_CASE("float order: GROUP BY a double key makes one group of every NaN and one of both zeros (#30.2)",
          "[query][float-order]") {
  const auto q = sg::query(sg::group_by(d), sg::aggregate(sg::agg::count()));
  const std::vector<row> rows{{0, qnan, 0}, {0, negative_nan, 0}, {0, payload_nan, 0}, {0, -0.0, 0}, {0, 0.0, 0}, {0, 1, 0}};
  auto groups = sg::local::evaluate(q, rows);
  std::ranges::sort(groups, sg::total_less);
  REQUIRE(groups.size() == 3u);
  CHECK(std::get<0>(groups[0]) == 0.0);
  CHECK_FALSE(std::signbit(std::get<0>(groups[0])));  // the canonical key, whichever zero came first
  CHECK(std::get<1>(groups[0]) == 2u);
  CHECK(std::get<0>(groups[1]) == 1.0);
  CHECK(std::isnan(std::get<0>(groups[2])));
  CHECK(std::get<1>(groups[2]) == 3u);
  // Inside a composite key, and split over shards (the merge's table).
  const auto q2 = sg::query(sg::group_by(s, d), sg::aggregate(sg::agg::count()));
  const std::vector<memory_shard> shards{{{rows[0], rows[3]}}, {{rows[1], rows[4]}}, {{rows[2], rows[5]}}};
  CHECK((sg::scatter(shards) | sg::gather(q2))(q2).value.size() == 3u);
  // DISTINCT, too.
  const auto q3 = sg::query(sg::distinct());
  CHECK(sg::local::evaluate(q3, std::vector<row>{{0, qnan, 1}, {0, negative_nan, 1}, {0, -0.0, 1}, {0, 0.0, 1}}).size() == 2u);
}

TEST_CASE("float order: ORDER BY a double key with NaN gives one order for every split (#30.3)",
          "[query][float-order]") {
  const auto q = sg::query(sg::order_by(d));
  const std::vector<row> rows{{0, qnan, 0}, {1, 2, 0}, {2, 1, 0}, {3, -inf, 0}, {4, inf, 0}};
  const std::vector<int> expected_order{3, 2, 1, 4, 0};  // -inf, 1, 2, inf, NaN
  auto order_of = [](std::vector<row> const& r) {
    std::vector<int> out;
    for (auto const& x : r) out.push_back(std::get<0>(x));
    return out;
  };
  CHECK(order_of(sg::local::evaluate(q, rows)) == expected_order);
  for (std::size_t cut = 0; cut <= rows.size(); ++cut) {
    const std::vector<memory_shard> shards{{{rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(cut)}},
                                           {{rows.begin() + static_cast<std::ptrdiff_t>(cut), rows.end()}}};
    INFO("cut at " << cut);
    CHECK(order_of((sg::scatter(shards) | sg::gather(q))(q).value) == expected_order);
  }
  const auto down = sg::query(sg::order_by(sg::desc(d)), sg::limit(2));
  CHECK(order_of(sg::local::evaluate(down, rows)) == std::vector<int>{0, 4});  // NaN first descending
}

// --- every query shape, every split, every arrival order ----------------------------------

TEST_CASE("float order: row queries over NaN, ±inf and -0.0 equal single-node evaluation for every split",
          "[query][float-order][property]") {
  SG_SEEDED_RNG(rng);
  SECTION("filter") {
    check_splits(sg::query(sg::where(sg::gt(d, 1.0))), rng);  // NaN passes, as in PostgreSQL
    check_splits(sg::query(sg::where(sg::le(d, 0.0) || sg::eq(v, qnan))), rng);
    check_splits(sg::query(sg::where(sg::between(d, -inf, inf))), rng);
  }
  SECTION("order by, limit") {
    check_splits(sg::query(sg::order_by(d)), rng);
    check_splits(sg::query(sg::order_by(sg::desc(d), v)), rng);
    check_splits(sg::query(sg::order_by(d, sg::desc(v)), sg::limit(5, 2)), rng);
    check_splits(sg::query(sg::order_by(sg::desc(v)), sg::limit(3)), rng);
    check_splits(sg::query(sg::where(sg::ne(d, 7.0)), sg::order_by(v), sg::limit(4)), rng);
  }
  SECTION("distinct") {
    check_splits(sg::query(sg::distinct()), rng);
    check_splits(sg::query(sg::distinct(), sg::order_by(d), sg::limit(6, 1)), rng);
  }
}

TEST_CASE("float order: grouped queries over NaN, ±inf and -0.0 equal single-node evaluation for every split",
          "[query][float-order][property]") {
  SG_SEEDED_RNG(rng);
  SECTION("group by a double key, each aggregate") {
    check_splits(sg::query(sg::group_by(d), sg::aggregate(sg::agg::count())), rng);
    check_splits(sg::query(sg::group_by(d), sg::aggregate(sg::agg::min(v), sg::agg::max(v))), rng);
    check_splits(sg::query(sg::group_by(d), sg::aggregate(sg::agg::sum(v), sg::agg::avg(v))), rng);
    check_splits(sg::query(sg::group_by(d), sg::aggregate(sg::agg::variance(v))), rng, true);
    check_splits(sg::query(sg::group_by(d), sg::aggregate(sg::agg::approx_count_distinct(v))), rng);
  }
  SECTION("composite keys, global aggregates, having, order and limit") {
    check_splits(sg::query(sg::group_by(s, d), sg::aggregate(sg::agg::count(), sg::agg::min(d), sg::agg::max(v))), rng);
    check_splits(sg::query(sg::aggregate(sg::agg::min(d), sg::agg::max(d), sg::agg::min(v), sg::agg::count())), rng);
    check_splits(sg::query(sg::group_by(d), sg::aggregate(sg::agg::max(v)), sg::order_by(sg::desc(sg::col<1>), sg::col<0>),
                           sg::limit(3)),
                 rng);
    check_splits(sg::query(sg::group_by(v), sg::aggregate(sg::agg::count()), sg::having(sg::gt(sg::col<0>, 0.0))), rng);
  }
  SECTION("the group's key is canonical") {
    for (int round = 0; round < 20; ++round) {
      const auto rows = random_rows(rng);
      for (auto const& [key, n] : sg::local::evaluate(sg::query(sg::group_by(d), sg::aggregate(sg::agg::count())), rows)) {
        const std::uint64_t bits = std::bit_cast<std::uint64_t>(key);
        CHECK((bits == std::bit_cast<std::uint64_t>(sg::canonical(key))));
        CHECK(n > 0u);
      }
    }
  }
}

TEST_CASE("float order: sorted and top-k merges with NaN give one order for every split",
          "[query][float-order][merge][property]") {
  SG_SEEDED_RNG(rng);
  for (int round = 0; round < 100; ++round) {
    const auto rows = random_rows(rng);
    std::vector<double> keys;
    for (auto const& r : rows) keys.push_back(std::get<1>(r));
    for (bool descending : {false, true}) {
      auto want = keys;
      if (descending)
        std::ranges::stable_sort(want, sg::total_greater);
      else
        std::ranges::stable_sort(want, sg::total_less);
      std::vector<row> want_rows = rows;
      std::ranges::stable_sort(want_rows, sg::total_less, [](row const& r) { return std::get<1>(r); });
      for (std::size_t k = 1; k <= 8; ++k) {
        // Plain doubles (the merge tree, and the loser tree for one or two runs) and rows
        // through a projection (the loser tree), split anyhow.
        std::vector<std::vector<double>> runs(k);
        std::vector<std::vector<row>> row_runs(k);
        for (std::size_t i = 0; i < rows.size(); ++i) {
          const auto at = std::uniform_int_distribution<std::size_t>(0, k - 1)(rng);
          runs[at].push_back(keys[i]);
          row_runs[at].push_back(rows[i]);
        }
        for (auto& r : runs) {
          if (descending)
            std::ranges::stable_sort(r, sg::total_greater);
          else
            std::ranges::stable_sort(r, sg::total_less);
        }
        for (auto& r : row_runs) std::ranges::stable_sort(r, sg::total_less, [](row const& x) { return std::get<1>(x); });
        INFO("round " << round << ", " << k << " runs, " << (descending ? "descending" : "ascending"));
        std::vector<double> got;
        if (descending)
          got = sg_test::merge_in_random_order(sg::merge::sorted(sg::total_greater), runs, rng);
        else
          got = sg_test::merge_in_random_order(sg::merge::sorted(), runs, rng);
        REQUIRE(same_rows(got, want));
        const auto proj = [](row const& x) { return std::get<1>(x); };
        const auto merged_rows = sg_test::merge_in_random_order(sg::merge::sorted(sg::total_less, proj), row_runs, rng);
        REQUIRE(merged_rows.size() == want_rows.size());
        for (std::size_t i = 0; i < want_rows.size(); ++i) REQUIRE(sg::total_equal(std::get<1>(merged_rows[i]), std::get<1>(want_rows[i])));
        const std::size_t top = std::uniform_int_distribution<std::size_t>(0, 10)(rng);
        // top-k (ascending) takes the runs sorted either way: it selects from unsorted ones.
        const auto best = sg_test::merge_in_random_order(sg::merge::top_k(top, sg::merge::offset{2}), runs, rng);
        std::vector<double> ascending = keys;
        std::ranges::stable_sort(ascending, sg::total_less);
        std::vector<double> want_top;
        for (std::size_t i = 2; i < ascending.size() && i < 2 + top; ++i) want_top.push_back(ascending[i]);
        REQUIRE(same_rows(best, want_top));
      }
    }
  }
}
