// sg::wire on sg::agg's partial states and a grouped query's partial tables: round trips,
// merges of decoded states equal to merges of the originals, and hostile sketches refused.
#include <sg/agg/count.hpp>
#include <sg/agg/hyperloglog.hpp>
#include <sg/agg/kll.hpp>
#include <sg/agg/minmax.hpp>
#include <sg/agg/sum.hpp>
#include <sg/agg/variance.hpp>
#include <sg/query/local.hpp>
#include <sg/query/query.hpp>
#include <sg/wire/agg.hpp>
#include <sg/wire/gathered.hpp>

#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <system_error>
#include <vector>

namespace {

struct sale {
  std::int64_t region;
  std::string sku;
  std::int64_t cents;
  double weight;
};

// big: sums of cents leave 64 bits (finish() then reports an overflow).
std::vector<sale> random_sales(std::mt19937_64& rng, std::size_t n, bool big = true) {
  std::vector<sale> rows;
  for (std::size_t i = 0; i < n; ++i)
    rows.push_back({static_cast<std::int64_t>(rng() % 5), "sku" + std::to_string(rng() % 100),
                    static_cast<std::int64_t>(rng() % 2 == 0 ? rng() >> (big ? 1 : 20) : -(rng() >> (big ? 2 : 20))),
                    static_cast<double>(rng() % 10000) / 7.0});
  return rows;
}

auto grouped_query() {
  return sg::query(sg::group_by(&sale::region),
                   sg::aggregate(sg::agg::count(), sg::agg::sum(&sale::cents), sg::agg::avg(&sale::cents),
                                 sg::agg::sum(&sale::weight), sg::agg::min(&sale::sku), sg::agg::max(&sale::weight),
                                 sg::agg::variance(&sale::weight), sg::agg::approx_count_distinct(&sale::sku, 8),
                                 sg::agg::approx_quantile(&sale::weight, 0.5, 32),
                                 sg::agg::approx_quantile(&sale::sku, 0.9, 16)));
}

template <class T>
std::string refusal(std::vector<std::byte> const& bytes) {
  try {
    (void)sg::wire::decode<T>(bytes);
  } catch (std::system_error const& e) {
    CHECK(e.code() == sg::errc::bad_input);
    return e.what();
  }
  FAIL("decoded bytes that should have been refused");
  return {};
}

}  // namespace

TEST_CASE("wire: every partial state of sg::agg reads back equal", "[wire][agg][property]") {
  SG_SEEDED_RNG(rng);
  const auto q = grouped_query();
  for (int round = 0; round < 30; ++round) {
    const auto rows = random_sales(rng, rng() % 3000);
    const auto table = sg::local::run(q, rows);
    using table_t = std::remove_cvref_t<decltype(table)>;
    const auto back = sg::wire::decode<table_t>(sg::wire::encode(table));
    REQUIRE(back.size() == table.size());
    for (std::size_t i = 0; i < table.size(); ++i) {
      CHECK(back[i].key == table[i].key);
      auto const& [n, s, a, sw, mn, mx, var, hll, kll, kll_s] = table[i].states;
      auto const& [n2, s2, a2, sw2, mn2, mx2, var2, hll2, kll2, kll_s2] = back[i].states;
      CHECK(n2 == n);
      CHECK(s2 == s);
      CHECK(a2 == a);
      CHECK(std::bit_cast<std::uint64_t>(sw2) == std::bit_cast<std::uint64_t>(sw));
      CHECK(mn2 == mn);
      CHECK(mx2 == mx);
      CHECK(var2 == var);
      CHECK(hll2 == hll);
      CHECK(kll2.to_parts() == kll.to_parts());
      CHECK(kll_s2.to_parts() == kll_s.to_parts());
    }
  }
}

TEST_CASE("wire: the answer from decoded partial tables equals the answer from the originals", "[wire][agg][property]") {
  SG_SEEDED_RNG(rng);
  const auto q = grouped_query();
  for (int round = 0; round < 10; ++round) {
    std::vector<std::vector<sale>> shards(1 + rng() % 4);
    for (auto& s : shards) s = random_sales(rng, rng() % 2000, false);
    using table_t = decltype(sg::local::run(q, shards[0]));
    std::vector<table_t> direct, crossed;
    for (auto const& s : shards) {
      direct.push_back(sg::local::run(q, s));
      crossed.push_back(sg::wire::decode<table_t>(sg::wire::encode(direct.back())));
    }
    auto finish = [&](std::vector<table_t> const& answers) {
      auto rows = q(answers);
      std::sort(rows.begin(), rows.end(), [](auto const& x, auto const& y) { return std::get<0>(x) < std::get<0>(y); });
      return rows;
    };
    auto a = finish(direct), b = finish(crossed);
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      CHECK(std::get<0>(a[i]) == std::get<0>(b[i]));
      CHECK(std::get<2>(a[i]) == std::get<2>(b[i]));  // the exact sum
      CHECK(std::get<8>(a[i]) == std::get<8>(b[i]));  // HyperLogLog estimate
      CHECK(std::get<9>(a[i]) == std::get<9>(b[i]));  // KLL median
    }
  }
}

TEST_CASE("wire: a 128-bit sum crosses intact and still reports its overflow", "[wire][agg]") {
  sg::agg::detail::wide_total<true> t;
  t.add(std::numeric_limits<std::int64_t>::max());
  t.add(std::numeric_limits<std::int64_t>::max());
  const auto back = sg::wire::decode<sg::agg::detail::wide_total<true>>(sg::wire::encode(t));
  CHECK(back == t);
  CHECK_THROWS_WITH(sg::agg::sum(&sale::cents).finish(back), Catch::Contains("18446744073709551614"));
}

TEST_CASE("wire: hostile HyperLogLog sketches are refused", "[wire][agg]") {
  sg::agg::hyperloglog h(4);
  h.add(1);
  h.add(2);
  auto bytes = sg::wire::encode(h);
  CHECK(sg::wire::decode<sg::agg::hyperloglog>(bytes) == h);
  auto p = bytes;
  p[12] = std::byte{30};
  CHECK_THAT(refusal<sg::agg::hyperloglog>(p), Catch::Contains("precision is 30, outside [4, 18]"));
  p[12] = std::byte{18};  // a precision that wants 256 KiB of registers from 16 bytes
  CHECK_THAT(refusal<sg::agg::hyperloglog>(p), Catch::Contains("truncated"));
  auto r = bytes;
  r[13 + 5] = std::byte{62};  // precision 4: ranks at most 61
  CHECK_THAT(refusal<sg::agg::hyperloglog>(r), Catch::Contains("register 5 holds 62, above the largest rank"));
}

TEST_CASE("wire: hostile KLL sketches are refused before they reach a merge", "[wire][agg]") {
  using sketch = sg::agg::kll_sketch<double>;
  sketch s(16);
  for (int i = 0; i < 500; ++i) s.add(i * 0.5);
  const auto good = s.to_parts();
  CHECK(sg::wire::decode<sketch>(sg::wire::encode(s)).to_parts() == good);
  auto refused = [&](auto change, char const* words) {
    auto p = good;
    change(p);
    INFO(words);
    CHECK_THROWS_WITH(sketch::from_parts(p), Catch::Contains(words));
  };
  refused([](auto& p) { p.count += 1; }, "the items weigh 500 rows, but the count is 501");
  refused([](auto& p) { p.levels[0].push_back(std::nan("")); }, "NaN");
  refused([](auto& p) { p.levels.back().push_back(1e9); }, "outside [min, max]");
  refused([](auto& p) { p.min_k = 17; }, "8 <= min_k <= k");
  refused([](auto& p) { p.k = 7; }, "8 <= min_k <= k");
  refused([](auto& p) { p.levels.clear(); }, "0 levels");
  refused([](auto& p) { p.levels.resize(65); }, "65 levels");
  refused([](auto& p) { p.max.reset(); }, "min and max must be present");
  refused([](auto& p) { std::swap(p.min, p.max); }, "max is below min");
  refused([](auto& p) { p.levels.resize(64), p.levels[63].assign(3, 1.0); }, "overflow");
  // An over-full level that passes the checks is compacted, not trusted.
  auto full = good;
  full.levels[0].clear();
  full.levels.resize(2);
  full.levels[1].clear();
  full.count = 0;
  for (int i = 0; i < 200; ++i) full.levels[0].push_back(1.0 + i % 3), ++full.count;
  full.min = 1.0, full.max = 3.0;
  full.levels.resize(1);
  const auto rebuilt = sketch::from_parts(full);
  CHECK(rebuilt.count() == 200);
  CHECK(rebuilt.retained() < 200);
  auto merged = rebuilt;
  merged.merge(s);
  CHECK(merged.count() == 700);
  // Through the codec: a lying level count and a lying level length are refused too.
  auto bytes = sg::wire::encode(s);
  const std::size_t levels_at = 12 + 2 + 2 + 8 + 8 + 9 + 9;
  auto b = bytes;
  b[levels_at] = std::byte{0};
  CHECK_THAT(refusal<sketch>(b), Catch::Contains("0 levels"));
  b = bytes;
  b[levels_at + 1 + 7] = std::byte{0x7f};  // the first level's count, top byte
  CHECK_THAT(refusal<sketch>(b), Catch::Contains("bytes remain"));
}

TEST_CASE("wire: random byte flips in a partial table never cause undefined behaviour later", "[wire][agg][property]") {
  SG_SEEDED_RNG(rng);
  const auto q = grouped_query();
  const auto rows = random_sales(rng, 400, false);
  using table_t = decltype(sg::local::run(q, rows));
  const auto bytes = sg::wire::encode(sg::local::run(q, rows));
  std::size_t decoded = 0;
  for (int round = 0; round < 3000; ++round) {
    auto b = bytes;
    const auto flips = 1 + rng() % 3;
    for (std::uint64_t i = 0; i < flips; ++i) b[rng() % b.size()] ^= static_cast<std::byte>(1u << (rng() % 8));
    try {
      auto table = sg::wire::decode<table_t>(b);
      ++decoded;
      try {
        (void)q(std::vector<table_t>{std::move(table), sg::local::run(q, rows)});
      } catch (std::system_error const& e) {  // a flipped sum may overflow: an error, not UB
        CHECK(e.code() == sg::errc::overflow);
      }
    } catch (std::system_error const& e) {
      CHECK(e.code() == sg::errc::bad_input);
    }
  }
  CHECK(decoded > 0);  // flips in the data (not the lengths) decode to other values
}
