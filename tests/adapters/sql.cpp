// The dialect-neutral SQL renderer: the same query in SQLite's and PostgreSQL's SQL, with
// its parameters in marker order.
#include <sg/adapters/sql.hpp>
#include <sg/agg/count.hpp>
#include <sg/agg/sum.hpp>
#include <sg/query/predicate.hpp>
#include <sg/query/query.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace {

struct order {
  std::int64_t id;
  std::string region;
  double price;
  std::optional<std::int64_t> coupon;
};

// A host that knows the four columns and writes anything else as a marker of its own.
struct host {
  template <class P>
  std::optional<std::string> column(P const&) const {
    if constexpr (std::is_same_v<P, std::int64_t order::*> || std::is_same_v<P, std::string order::*> ||
                  std::is_same_v<P, double order::*> || std::is_same_v<P, std::optional<std::int64_t> order::*>) {
      if constexpr (std::is_same_v<P, std::int64_t order::*>) return std::string("id");
      if constexpr (std::is_same_v<P, std::string order::*>) return std::string("region");
      if constexpr (std::is_same_v<P, double order::*>) return std::string("price");
      if constexpr (std::is_same_v<P, std::optional<std::int64_t> order::*>) return std::string("coupon");
    }
    return std::nullopt;
  }
  template <class P>
  std::string projection(P const&) const {
    return "f()";
  }
  template <class N>
  std::string opaque(N const&) const {
    return "opaque()";
  }
};

template <class Dialect, class P>
std::pair<std::string, std::vector<sg::sql::param>> render(P const& p) {
  sg::sql::writer<Dialect> w;
  host h;
  std::string s = w.template condition<order>(h, p);
  return {s, w.params};
}

using sq = sg::sql::sqlite_dialect;
using pg = sg::sql::postgres_dialect;
using params = std::vector<sg::sql::param>;

}  // namespace

TEST_CASE("sql: comparisons, NULL tests and logic in both dialects", "[adapters][sql]") {
  const auto p = (sg::eq(&order::region, "eu") || sg::ge(&order::id, 7)) && !sg::is_null(&order::coupon);
  auto [s, ps] = render<sq>(p);
  CHECK(s == R"(((("region" = ?) OR ("id" >= ?)) AND (NOT ("coupon" IS NULL))))");
  CHECK(ps == params{std::string("eu"), std::int64_t{7}});
  auto [g, gs] = render<pg>(p);
  CHECK(g == R"(((("region" = $1::text) OR ("id" >= $2::int8)) AND (NOT ("coupon" IS NULL))))");
  CHECK(gs == ps);
}

TEST_CASE("sql: text orders as bytes on PostgreSQL (COLLATE C), equality needs no collation", "[adapters][sql]") {
  CHECK(render<pg>(sg::lt(&order::region, "m")).first == R"(("region" COLLATE "C" < $1::text))");
  CHECK(render<pg>(sg::between(&order::region, std::string("a"), std::string("b"))).first ==
        R"(("region" COLLATE "C" BETWEEN $1::text AND $2::text))");
  CHECK(render<pg>(sg::ne(&order::region, "m")).first == R"(("region" <> $1::text))");
  CHECK(render<sq>(sg::lt(&order::region, "m")).first == R"(("region" < ?))");
}

TEST_CASE("sql: NaN binds on PostgreSQL and is the host's on SQLite", "[adapters][sql]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK(render<sq>(sg::gt(&order::price, nan)).first == "opaque()");
  CHECK(render<sq>(sg::in(&order::price, {1.0, nan})).first == "opaque()");
  auto [g, gs] = render<pg>(sg::gt(&order::price, nan));
  CHECK(g == R"(("price" > $1::float8))");
  REQUIRE(gs.size() == 1);
  CHECK(std::isnan(std::get<double>(gs[0])));
}

TEST_CASE("sql: IN lists as ? lists on SQLite and one array on PostgreSQL", "[adapters][sql]") {
  const auto p = sg::in(&order::id, {3, 1, 2, 3});
  CHECK(render<sq>(p).first == R"(("id" IN (?, ?, ?)))");
  CHECK(render<sq>(p).second == params{std::int64_t{1}, std::int64_t{2}, std::int64_t{3}});
  CHECK(render<pg>(p).first == R"(("id" = ANY($1::int8[])))");
  CHECK(render<pg>(p).second == params{std::vector<std::int64_t>{1, 2, 3}});
  CHECK(render<pg>(sg::in(&order::region, {"b", "a"})).second == params{std::vector<std::string>{"a", "b"}});
  const std::vector<std::int64_t> none;
  CHECK(render<sq>(sg::in(&order::id, none)).first == R"(("id" IS NULL AND NULL))");
  CHECK(render<pg>(sg::in(&order::id, none)).first == R"(("id" = ANY($1::int8[])))");
  // beyond INT64_MAX: a value a double holds exactly (2^63) is bound as one, compared as
  // doubles (above every int8); one that no double holds (UINT64_MAX rounds to 2^64, which
  // a float8 column can hold) is evaluated by the host, in both dialects
  const std::uint64_t two63 = std::uint64_t{1} << 63;
  CHECK(render<pg>(sg::in(&order::id, {std::uint64_t{1}, two63})).first == R"(("id" = ANY($1::float8[])))");
  const std::uint64_t big = std::numeric_limits<std::uint64_t>::max();
  CHECK(render<pg>(sg::in(&order::id, {std::uint64_t{1}, big})).first == "opaque()");
  CHECK(render<sq>(sg::in(&order::id, {std::uint64_t{1}, big})).first == "opaque()");
}

TEST_CASE("sql: LIKE as exact GLOB on SQLite, LIKE ... ESCAPE or bytea LIKE on PostgreSQL", "[adapters][sql]") {
  auto [s, ps] = render<sq>(sg::like(&order::region, "e*%"));
  CHECK(s == R"((CASE WHEN instr(CAST("region" AS BLOB), x'00') > 0 THEN opaque() ELSE "region" GLOB ? END))");
  CHECK(ps == params{std::string("e[*]*")});
  CHECK(render<sq>(sg::like(&order::region, "e_")).first == "opaque()");  // '_' is a byte to sg, a character to GLOB
  auto [g, gs] = render<pg>(sg::like(&order::region, R"(a\b%)"));
  CHECK(g == R"(("region" LIKE $1::text ESCAPE E'\\'))");
  CHECK(gs == params{std::string(R"(a\\b%)")});
  auto [b, bs] = render<pg>(sg::like(&order::region, "é_"));
  CHECK(b == R"((convert_to("region", 'UTF8') LIKE $1::bytea))");
  REQUIRE(bs.size() == 1);
  CHECK(std::get<sg::sql::param_blob>(bs[0]).size() == 3);
}

TEST_CASE("sql: a column the host does not know, and a custom predicate, are the host's", "[adapters][sql]") {
  const auto p = sg::eq([](order const& o) { return o.id; }, 1) && sg::predicate([](order const&) { return true; });
  CHECK(render<pg>(p).first == "(opaque() AND opaque())");
}

TEST_CASE("sql: row and grouped SELECTs with ORDER BY, NULL order and LIMIT in both dialects", "[adapters][sql]") {
  const std::vector<std::string> cols{"id", "region", "price", "coupon"};
  const sg::sql::table_ref t{"orders", cols, "id"};
  host h;
  const auto q = sg::query(sg::where(sg::gt(&order::price, 1.5)),
                           sg::order_by(sg::desc(&order::coupon), &order::region), sg::limit(10, 5));
  sg::sql::writer<pg> w;
  CHECK(w.rows_select<order>(h, q, t) ==
        R"(SELECT "id", "region", "price", "coupon" FROM "orders" WHERE ("price" > $1::float8) ORDER BY "coupon" DESC NULLS LAST, "region" COLLATE "C", id LIMIT $2::int8)");
  CHECK(w.params == params{1.5, std::int64_t{15}});
  sg::sql::writer<sq> s;
  CHECK(s.rows_select<order>(h, q, t) ==
        R"(SELECT "id", "region", "price", "coupon" FROM "orders" WHERE ("price" > ?) ORDER BY "coupon" DESC, "region", id LIMIT ?)");
  const auto d = sg::query(sg::distinct(), sg::order_by(sg::asc(&order::coupon)));
  sg::sql::writer<pg> wd;
  CHECK(wd.rows_select<order>(h, d, t) ==
        R"(SELECT "id", "region", "price", "coupon" FROM "orders" GROUP BY 1, 2, 3, 4 ORDER BY "coupon" NULLS FIRST, MIN(id))");
  const auto g = sg::query(sg::where(sg::in(&order::region, {"eu", "us"})), sg::group_by(&order::region),
                           sg::aggregate(sg::agg::count(), sg::agg::sum(&order::price)));
  sg::sql::writer<pg> wg;
  CHECK(wg.grouped_select<order>(h, g, t, [](auto const&, auto i) { return "a" + std::to_string(i.value); }) ==
        R"(SELECT "region", a0, a1 FROM "orders" WHERE ("region" = ANY($1::text[])) GROUP BY 1)");
  const auto global = sg::query(sg::aggregate(sg::agg::count()));
  sg::sql::writer<sq> sg_;
  CHECK(sg_.grouped_select<order>(h, global, t, [](auto const&, auto) { return std::string("n"); }) ==
        R"(SELECT n, COUNT(*) FROM "orders")");
  sg::sql::writer<pg> wl;
  CHECK(wl.limit(3, 4) == " LIMIT $1::int8 OFFSET $2::int8");
  CHECK(wl.limit(std::numeric_limits<std::size_t>::max()).empty());
}

TEST_CASE("sql: identifiers are quoted with their quotes doubled", "[adapters][sql]") {
  CHECK(sg::sql::quote_identifier(R"(a"b)") == R"("a""b")");
}
