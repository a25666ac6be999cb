// The typed query: on random data split over random shard counts, the scatter-gather
// answer equals a plain single-node evaluation of the same query, for every shape.
#include <sg/agg/count.hpp>
#include <sg/agg/minmax.hpp>
#include <sg/agg/sum.hpp>
#include <sg/agg/variance.hpp>
#include <sg/pipeline.hpp>
#include <sg/query/explain.hpp>
#include <sg/query/local.hpp>
#include <sg/query/query.hpp>

#include "support/arrival.hpp"
#include "support/seed.hpp"

#include <boost/container_hash/hash.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <vector>

namespace {

struct sale {
  int region;
  int day;
  std::string sku;
  std::optional<int> discount;
  std::int64_t cents;
  double weight;
  friend bool operator==(sale const&, sale const&) = default;
  friend std::size_t hash_value(sale const& s) {
    std::size_t h = 0;
    boost::hash_combine(h, s.region);
    boost::hash_combine(h, s.day);
    boost::hash_combine(h, s.sku);
    boost::hash_combine(h, s.discount.value_or(-1));
    boost::hash_combine(h, s.discount.has_value());
    boost::hash_combine(h, s.cents);
    boost::hash_combine(h, s.weight);
    return h;
  }
};

// An in-memory shard: the one line the issue promises.
struct memory_shard {
  std::vector<sale> rows_;
  auto execute(auto const& q) const { return sg::local::run(q, rows_); }
};

// Random rows from a small pool, so that keys, ties and duplicate rows are common.
std::vector<sale> random_rows(std::mt19937_64& rng, std::size_t n) {
  static const char* const skus[] = {"A-1", "A-2", "B-1", "TEST-1", "TEST-22", "C"};
  std::uniform_int_distribution<int> region(0, 4), day(0, 9), sku(0, 5), disc(0, 9), pool(0, 39);
  std::uniform_int_distribution<std::int64_t> cents(-500, 2000);
  std::uniform_real_distribution<double> weight(0.0, 10.0);
  std::vector<sale> distinct_rows;
  for (int i = 0; i < 40; ++i) {
    const int d = disc(rng);
    distinct_rows.push_back({region(rng), day(rng), skus[sku(rng)], d < 3 ? std::nullopt : std::optional<int>(d),
                             cents(rng), weight(rng)});
  }
  std::vector<sale> rows;
  for (std::size_t i = 0; i < n; ++i) rows.push_back(distinct_rows[static_cast<std::size_t>(pool(rng))]);
  return rows;
}

// Splits rows over `shards` shards at random (some may be empty), or by `key` when given.
template <class Key = std::nullptr_t>
std::vector<memory_shard> split(std::mt19937_64& rng, std::vector<sale> const& rows, std::size_t shards, Key key = {}) {
  std::vector<memory_shard> out(shards);
  std::uniform_int_distribution<std::size_t> pick(0, shards - 1);
  for (auto const& r : rows) {
    std::size_t s;
    if constexpr (std::is_same_v<Key, std::nullptr_t>)
      s = pick(rng);
    else
      s = static_cast<std::size_t>(key(r)) % shards;
    out[s].rows_.push_back(r);
  }
  return out;
}

// --- the reference: single-node evaluation, written plainly ------------------------------

template <class A>
auto reference_aggregate(A const& a, std::vector<sale> const& rows) {
  using T = std::remove_cvref_t<A>;
  if constexpr (std::is_same_v<T, sg::agg::count_fn>) {
    return static_cast<std::uint64_t>(rows.size());
  } else if constexpr (T::sql_name == std::string_view("SUM")) {
    std::remove_cvref_t<decltype(std::invoke(a.proj, rows.front()))> s{};
    for (auto const& r : rows) s += std::invoke(a.proj, r);
    return s;
  } else if constexpr (T::sql_name == std::string_view("AVG")) {
    std::remove_cvref_t<decltype(std::invoke(a.proj, rows.front()))> s{};
    for (auto const& r : rows) s += std::invoke(a.proj, r);
    return static_cast<double>(s) / static_cast<double>(rows.size());
  } else if constexpr (T::sql_name == std::string_view("MIN") || T::sql_name == std::string_view("MAX")) {
    auto best = std::invoke(a.proj, rows.front());
    for (auto const& r : rows) {
      auto v = std::invoke(a.proj, r);
      if (T::is_min ? v < best : best < v) best = v;
    }
    return best;
  } else {  // variance and standard deviation, two-pass
    const double n = static_cast<double>(rows.size());
    double mean = 0;
    for (auto const& r : rows) mean += static_cast<double>(std::invoke(a.proj, r));
    mean /= n;
    double m2 = 0;
    for (auto const& r : rows) m2 += (static_cast<double>(std::invoke(a.proj, r)) - mean) * (static_cast<double>(std::invoke(a.proj, r)) - mean);
    const std::string_view name = T::sql_name;
    const bool sample = name.ends_with("SAMP");
    if (rows.size() < (sample ? 2u : 1u)) return std::numeric_limits<double>::quiet_NaN();
    const double var = m2 / (sample ? n - 1 : n);
    return name.starts_with("STDDEV") ? std::sqrt(var) : var;
  }
}

template <class Row>
bool approx_equal(Row const& a, Row const& b) {
  return [&]<std::size_t... I>(std::index_sequence<I...>) {
    auto one = [](auto const& x, auto const& y) {
      if constexpr (std::is_floating_point_v<std::remove_cvref_t<decltype(x)>>) {
        if (std::isnan(x) || std::isnan(y)) return std::isnan(x) && std::isnan(y);
        return std::abs(x - y) <= 1e-9 * std::max({1.0, std::abs(x), std::abs(y)});
      } else {
        return x == y;
      }
    };
    return (true && ... && one(std::get<I>(a), std::get<I>(b)));
  }(std::make_index_sequence<std::tuple_size_v<Row>>{});
}

template <class Q>
auto reference(Q const& q, std::vector<sale> const& all) {
  std::vector<sale> rows;
  for (auto const& r : all) {
    if constexpr (sg::has_clause<decltype(q.where_part)>) {
      if (!q.where_part.predicate(r)) continue;
    }
    rows.push_back(r);
  }
  using out_row = typename Q::template result_row_type<sale>;
  std::vector<out_row> out;
  if constexpr (Q::grouped) {
    using key = typename Q::template key_type<sale>;
    std::map<key, std::vector<sale>> groups;
    for (auto const& r : rows) groups[key(q.key_projection()(r))].push_back(r);
    for (auto const& [k, members] : groups) {
      auto values = boost::hana::unpack(q.aggregates(), [&](auto const&... a) {
        return std::tuple<decltype(reference_aggregate(a, members))...>(reference_aggregate(a, members)...);
      });
      out_row row = std::tuple_cat(k, values);
      if constexpr (sg::has_clause<decltype(q.having_part)>) {
        if (!q.having_part.predicate(row)) continue;
      }
      out.push_back(row);
    }
  } else {
    for (auto const& r : rows) {
      if constexpr (sg::has_clause<decltype(q.distinct_part)>) {
        if (std::find(out.begin(), out.end(), r) != out.end()) continue;
      }
      out.push_back(r);
    }
  }
  if constexpr (sg::has_clause<decltype(q.order_by_part)>) std::stable_sort(out.begin(), out.end(), q.order_by_part.order);
  return out;
}

// The answer's rows [offset, offset + count) of `all`, as the reference keeps them.
template <class Q, class Rows>
Rows reference_slice(Q const& q, Rows all) {
  if constexpr (sg::has_clause<decltype(q.limit_part)>) {
    const auto& l = q.limit_part;
    const std::size_t from = std::min(l.offset, all.size());
    const std::size_t to = all.size() - from < l.count ? all.size() : from + l.count;
    return Rows(all.begin() + static_cast<std::ptrdiff_t>(from), all.begin() + static_cast<std::ptrdiff_t>(to));
  } else {
    return all;
  }
}

// Checks `got` against the single-node reference over `all` (the shards' rows in shard order).
template <class Q, class Rows>
void check_answer(Q const& q, std::vector<sale> const& all, Rows const& got) {
  const auto full = reference(q, all);
  const auto want = reference_slice(q, full);
  if constexpr (!Q::grouped) {
    // Row queries are deterministic: ties stably, limits from the first rows.
    CHECK(got == want);
  } else {
    // Groups: which of equal-ranked (or, without order_by, which) groups come is
    // unspecified; everything else is exact.
    REQUIRE(got.size() == want.size());
    using row = typename Rows::value_type;
    constexpr std::size_t keys = std::tuple_size_v<typename Q::template key_type<sale>>;
    auto key_of = [](row const& r) {
      return [&]<std::size_t... I>(std::index_sequence<I...>) { return std::tuple(std::get<I>(r)...); }(
          std::make_index_sequence<keys>{});
    };
    std::map<decltype(key_of(full.front())), row> by_key;
    for (auto const& r : full) by_key.emplace(key_of(r), r);
    std::map<decltype(key_of(full.front())), int> seen;
    for (auto const& r : got) {
      INFO("group " << std::get<0>(r));
      auto at = by_key.find(key_of(r));
      REQUIRE(at != by_key.end());
      CHECK(approx_equal(r, at->second));
      CHECK(++seen[key_of(r)] == 1);
    }
    if constexpr (sg::has_clause<decltype(q.order_by_part)>) {
      auto const& order = q.order_by_part.order;
      CHECK(std::is_sorted(got.begin(), got.end(), order));
      for (std::size_t i = 0; i < got.size(); ++i) {  // the same rank at every position
        CHECK_FALSE(order(got[i], want[i]));
        CHECK_FALSE(order(want[i], got[i]));
      }
    }
  }
}

// Runs query q over random data on random shard counts, through a pipeline and through
// the merge fed in random arrival order, against the reference.
template <class Q, class SplitKey = std::nullptr_t>
void check_query(Q const& q, std::mt19937_64& rng, int rounds = 60, SplitKey split_key = {}) {
  std::uniform_int_distribution<std::size_t> shard_count(1, 8), row_count(0, 300);
  for (int round = 0; round < rounds; ++round) {
    const auto rows = random_rows(rng, round % 10 == 0 ? 0 : row_count(rng));
    const std::size_t n = round % 7 == 0 ? 1 : shard_count(rng);
    const auto shards = split(rng, rows, n, split_key);
    INFO("round " << round << ": " << rows.size() << " rows on " << n << " shards");
    std::vector<sale> all;
    for (auto const& s : shards) all.insert(all.end(), s.rows_.begin(), s.rows_.end());

    auto pipe = sg::scatter(shards) | sg::gather(q);
    const auto g = pipe(q);
    CHECK(g.completeness.complete());
    check_answer(q, all, g.value);

    std::vector<decltype(sg::local::run(q, all))> answers;
    for (auto const& s : shards) answers.push_back(sg::local::run(q, s.rows_));
    check_answer(q, all, sg_test::merge_in_random_order(q, answers, rng));
    check_answer(q, all, sg::local::evaluate(q, all));
  }
}

}  // namespace

TEST_CASE("query: row shapes equal single-node evaluation", "[query][property]") {
  SG_SEEDED_RNG(rng);
  SECTION("every row") { check_query(sg::query(), rng); }
  SECTION("filter") {
    check_query(sg::query(sg::where(sg::ge(&sale::day, 3) && !sg::like(&sale::sku, "TEST%"))), rng);
    check_query(sg::query(sg::where(sg::is_null(&sale::discount) || sg::lt(&sale::discount, 6))), rng);
    check_query(sg::query(sg::where([](sale const& s) { return s.cents % 3 == 0; })), rng);
  }
  SECTION("order by, with ties") {
    check_query(sg::query(sg::order_by(&sale::region)), rng);
    check_query(sg::query(sg::order_by(sg::desc(&sale::day), &sale::sku), sg::where(sg::ne(&sale::region, 2))), rng);
  }
  SECTION("order by with limit and offset") {
    check_query(sg::query(sg::order_by(&sale::region), sg::limit(5, 3)), rng);
    check_query(sg::query(sg::order_by(sg::desc(&sale::cents)), sg::limit(1)), rng);
    check_query(sg::query(sg::order_by(&sale::day), sg::limit(0, 2)), rng);
    check_query(sg::query(sg::order_by(&sale::day), sg::limit(std::numeric_limits<std::size_t>::max(), 7)), rng);
  }
  SECTION("limit without order takes the first rows") {
    check_query(sg::query(sg::limit(7, 2)), rng);
    check_query(sg::query(sg::limit(3), sg::where(sg::gt(&sale::cents, 0))), rng);
    check_query(sg::query(sg::limit(4, 100000)), rng);
  }
  SECTION("distinct") {
    check_query(sg::query(sg::distinct()), rng);
    check_query(sg::query(sg::distinct(), sg::order_by(sg::desc(&sale::day)), sg::limit(4, 1)), rng);
    check_query(sg::query(sg::distinct(), sg::limit(6, 2), sg::where(sg::in(&sale::region, {1, 3}))), rng);
    check_query(sg::query(sg::distinct(), sg::order_by(&sale::sku)), rng);
  }
}

TEST_CASE("query: grouped shapes equal single-node evaluation", "[query][property]") {
  SG_SEEDED_RNG(rng);
  SECTION("group by one key") {
    check_query(sg::query(sg::group_by(&sale::region), sg::aggregate(sg::agg::count())), rng);
    check_query(sg::query(sg::group_by(&sale::sku)), rng);  // the distinct keys
  }
  SECTION("group by two and three keys, every aggregate") {
    check_query(sg::query(sg::group_by(&sale::region, &sale::day),
                          sg::aggregate(sg::agg::sum(&sale::cents), sg::agg::avg(&sale::cents),
                                        sg::agg::min(&sale::sku), sg::agg::max(&sale::weight))),
                rng);
    check_query(sg::query(sg::group_by(&sale::region, &sale::day, &sale::sku),
                          sg::aggregate(sg::agg::count(), sg::agg::variance(&sale::weight),
                                        sg::agg::stddev_pop(&sale::cents), sg::agg::variance_pop(&sale::weight),
                                        sg::agg::stddev(&sale::cents)),
                          sg::where(sg::between(&sale::cents, -100, 1500))),
                rng);
  }
  SECTION("a global aggregate") {
    check_query(sg::query(sg::aggregate(sg::agg::count(), sg::agg::sum(&sale::cents), sg::agg::min(&sale::day))), rng);
    check_query(sg::query(sg::aggregate(sg::agg::count()), sg::having(sg::gt(sg::col<0>, 100u))), rng);
  }
  SECTION("having, order by and limit over groups") {
    check_query(sg::query(sg::group_by(&sale::region), sg::aggregate(sg::agg::count(), sg::agg::avg(&sale::cents)),
                          sg::having(sg::gt(sg::col<1>, 3u)), sg::order_by(sg::desc(sg::col<1>), sg::col<0>),
                          sg::limit(2, 1)),
                rng);
    check_query(sg::query(sg::group_by(&sale::day), sg::aggregate(sg::agg::count()), sg::order_by(sg::col<1>)), rng);
    check_query(sg::query(sg::group_by(&sale::day, &sale::region), sg::aggregate(sg::agg::count()),
                          sg::order_by(sg::desc(sg::col<2>)), sg::limit(3)),
                rng);
    check_query(sg::query(sg::group_by(&sale::region), sg::limit(2)), rng);
    check_query(sg::query(sg::group_by(&sale::region), sg::distinct(), sg::limit(0)), rng);
  }
  SECTION("groups colocated on their shards") {
    auto by_region = [](sale const& s) { return s.region; };
    check_query(sg::query(sg::group_by(&sale::region, &sale::day), sg::groups_colocated(),
                          sg::aggregate(sg::agg::count(), sg::agg::sum(&sale::cents)),
                          sg::having(sg::gt(sg::col<2>, 0)), sg::order_by(sg::desc(sg::col<2>)), sg::limit(3, 1)),
                rng, 60, by_region);
    check_query(sg::query(sg::group_by(&sale::region), sg::groups_colocated(), sg::aggregate(sg::agg::avg(&sale::weight))),
                rng, 60, by_region);
    check_query(sg::query(sg::group_by(&sale::region), sg::groups_colocated(), sg::limit(2)), rng, 60, by_region);
  }
}

namespace {
struct ranked_row {
  int key;
  int pos;
  friend bool operator==(ranked_row const&, ranked_row const&) = default;
};
}  // namespace

// The shard's ORDER BY ... LIMIT keeps a buffer of candidates it cuts to the first offset + n
// whenever it holds twice as many, and lets in only rows before the last kept one: every
// input order (best rows first, last, all equal, random) and every size around the cuts
// must give exactly the stable sort's first rows.
TEST_CASE("query: run's ORDER BY with LIMIT gives the stable sort's first rows for any input order",
          "[query][property]") {
  SG_SEEDED_RNG(rng);
  for (std::size_t cap : {std::size_t{1}, std::size_t{2}, std::size_t{7}, std::size_t{64}}) {
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, cap - 1, cap, cap + 1, 2 * cap - 1, 2 * cap, 2 * cap + 1,
                          5 * cap + 3, std::size_t{3000}}) {
      for (int shape = 0; shape < 5; ++shape) {
        std::vector<ranked_row> rows(n);
        std::uniform_int_distribution<int> few(0, 3), many(0, 1 << 20);
        for (std::size_t i = 0; i < n; ++i) {
          const int p = static_cast<int>(i);
          rows[i] = {shape == 0 ? p : shape == 1 ? -p : shape == 2 ? 5 : shape == 3 ? few(rng) : many(rng), p};
        }
        for (bool descending : {false, true}) {
          INFO("cap " << cap << ", " << n << " rows, shape " << shape << (descending ? ", descending" : ""));
          std::vector<ranked_row> want = rows;
          if (descending)
            std::ranges::stable_sort(want, std::greater<>{}, &ranked_row::key);
          else
            std::ranges::stable_sort(want, std::less<>{}, &ranked_row::key);
          want.resize(std::min(cap, want.size()));
          const auto got = descending ? sg::local::run(sg::query(sg::order_by(sg::desc(&ranked_row::key)), sg::limit(cap)), rows)
                                      : sg::local::run(sg::query(sg::order_by(&ranked_row::key), sg::limit(cap)), rows);
          CHECK(got == want);
        }
      }
    }
  }
}

TEST_CASE("query: zero answers give an empty result", "[query]") {
  std::vector<std::vector<sale>> none;
  CHECK(sg::query(sg::order_by(&sale::day), sg::limit(3))(none).empty());
  auto q = sg::query(sg::aggregate(sg::agg::count()));
  std::vector<decltype(sg::local::run(q, std::vector<sale>{}))> no_tables;
  CHECK(q(no_tables).empty());  // no row passed: no row, not COUNT = 0 (see the header)
  CHECK(sg::local::evaluate(q, std::vector<sale>{}).empty());
}

TEST_CASE("query: strings as group keys are looked up without copies, and copied once per group",
          "[query]") {
  std::vector<sale> rows{{0, 0, "b", {}, 1, 0}, {0, 0, "a", {}, 2, 0}, {0, 0, "b", {}, 3, 0}};
  auto q = sg::query(sg::group_by(&sale::sku), sg::aggregate(sg::agg::sum(&sale::cents)), sg::order_by(sg::col<0>));
  using key = decltype(q)::key_type<sale>;
  STATIC_REQUIRE(std::is_same_v<key, std::tuple<std::string>>);
  STATIC_REQUIRE(std::is_same_v<decltype(q.key_projection()(rows[0])), std::tuple<std::string const&>>);
  const auto got = sg::local::evaluate(q, rows);
  REQUIRE(got.size() == 2);
  CHECK(got[0] == std::tuple<std::string, std::int64_t>{"a", 2});
  CHECK(got[1] == std::tuple<std::string, std::int64_t>{"b", 4});
}

TEST_CASE("query: a broken colocation promise fails the shard that breaks it, naming both",
          "[query]") {
  // Region 1 on two shards, though the query says groups are colocated.
  std::vector<memory_shard> shards(3);
  shards[0].rows_ = {{1, 0, "a", {}, 5, 0}};
  shards[1].rows_ = {{2, 0, "a", {}, 5, 0}};
  shards[2].rows_ = {{1, 0, "b", {}, 7, 0}};
  auto q = sg::query(sg::group_by(&sale::region), sg::groups_colocated(), sg::aggregate(sg::agg::count()));
  auto pipe = sg::scatter(shards) | sg::gather(q);
  std::error_code ec;
  const auto g = pipe(q, ec);
  CHECK(ec == sg::errc::partial_result);
  REQUIRE(g.failures.size() == 1);
  CHECK(g.failures[0].shard == 2);
  CHECK(g.failures[0].error == sg::errc::bad_input);
  CHECK(g.failures[0].what.find("came from shards 0 and 2") != std::string::npos);
  CHECK(g.value.size() == 2);  // the other shards' groups, each once

  std::vector<std::vector<std::tuple<int, std::uint64_t>>> twice{{{1, 1}, {1, 2}}};
  CHECK_THROWS_WITH(q(twice), Catch::Contains("shard 0 answered one group twice"));
}

TEST_CASE("query: a store that answers an ordered query unsorted is a failed shard, not a wrong order",
          "[query]") {
  auto q = sg::query(sg::order_by(&sale::day));
  std::vector<std::vector<sale>> answers{{{0, 1, "a", {}, 0, 0}, {0, 0, "a", {}, 0, 0}}};
  CHECK_THROWS_AS(q(answers), std::system_error);
}

TEST_CASE("query: an overflowing SUM fails the query, it does not wrap", "[query]") {
  const std::int64_t big = std::numeric_limits<std::int64_t>::max() / 2 + 1;
  std::vector<memory_shard> shards(2);
  shards[0].rows_ = {{0, 0, "a", {}, big, 0}};
  shards[1].rows_ = {{0, 0, "a", {}, big, 0}};
  auto q = sg::query(sg::aggregate(sg::agg::sum(&sale::cents)));
  auto pipe = sg::scatter(shards) | sg::gather(q);
  CHECK_THROWS_AS(pipe(q), std::system_error);
}

TEST_CASE("query: explain says what each shard computes and how the answers merge", "[query][explain]") {
  auto grouped = sg::query(sg::where(sg::eq(sg::named("region", &sale::region), 3) && sg::ge(sg::named("day", &sale::day), 2)),
                           sg::group_by(sg::named("sku", &sale::sku)),
                           sg::aggregate(sg::agg::count(), sg::agg::avg(sg::named("cents", &sale::cents))),
                           sg::having(sg::gt(sg::col<1>, 10u)), sg::order_by(sg::desc(sg::col<2>)), sg::limit(5, 10));
  CHECK(sg::explain(grouped) ==
        "shards:      keep rows where (region = 3 AND day >= 2); group them by sku; fold each group into "
        "COUNT(*) as a count, AVG(cents) as a sum and a count; answer one partial state per group, with no "
        "limit (a group's rows may be on several shards)\n"
        "coordinator: merge the partial states by group key (hash aggregate) and finish them; keep the groups "
        "where column 1 > 10; sort by column 2 descending; keep 5 rows after skipping 10\n");

  auto rows = sg::query(sg::distinct(), sg::limit(3));
  CHECK(sg::explain(rows) ==
        "shards:      drop duplicate rows; keep the first 3 rows (and stop reading)\n"
        "coordinator: drop rows another shard gave first; concatenate the answers in shard order; keep 3 rows\n");

  auto top = sg::query(sg::where(sg::like(sg::named("sku", &sale::sku), "A-%")), sg::order_by(sg::desc(&sale::cents)),
                       sg::limit(10));
  CHECK(sg::explain(top) ==
        "shards:      keep rows where sku LIKE \"A-%\"; sort by sale::<long int> descending; keep the first 10 rows\n"
        "coordinator: merge the sorted answers up to the limit (top-k); keep 10 rows\n");

  auto colocated = sg::query(sg::group_by(&sale::region), sg::groups_colocated(), sg::aggregate(sg::agg::count()));
  CHECK(sg::explain(colocated) ==
        "shards:      group rows by sale::<int>; compute COUNT(*) for each group; answer finished groups "
        "(groups_colocated: each group's rows are on one shard)\n"
        "coordinator: check that no group came from two shards; concatenate the answers in shard order\n");

  CHECK(sg::explain(sg::query()) == "shards:      answer every row\ncoordinator: concatenate the answers in shard order\n");
}
