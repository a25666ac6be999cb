#include <sg/adapters/sqlite.hpp>
#include <sg/agg/count.hpp>
#include <sg/agg/sum.hpp>
#include <sg/merge/concat.hpp>
#include <sg/merge/hash_aggregate.hpp>
#include <sg/partition/jump.hpp>
#include <sg/partition/split.hpp>
#include <sg/pipeline.hpp>
#include <sg/policy/partial.hpp>

#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <system_error>
#include <thread>
#include <tuple>
#include <vector>

#include <unistd.h>

namespace {

namespace sq = sg::sqlite;

struct order {
  std::int64_t id;
  std::string region;
  double amount;
  std::optional<std::int64_t> coupon;
};

constexpr char const* schema =
    "CREATE TABLE orders (id INTEGER PRIMARY KEY, region TEXT NOT NULL, amount REAL NOT NULL, coupon INTEGER)";
constexpr char const* insert = "INSERT INTO orders VALUES (?, ?, ?, ?)";

std::vector<order> random_orders(std::mt19937_64& rng, std::size_t n) {
  static char const* const regions[] = {"eu", "us", "apac", "latam"};
  std::vector<order> out;
  for (std::size_t i = 0; i < n; ++i) {
    std::optional<std::int64_t> coupon;
    if (rng() % 3 == 0) coupon = static_cast<std::int64_t>(rng() % 50);
    out.push_back({static_cast<std::int64_t>(i), regions[rng() % 4], static_cast<double>(rng() % 100000) / 100.0, coupon});
  }
  return out;
}

// Expects `f` to throw std::system_error whose code is `code` and whose text holds `text`.
template <class F>
void require_error(F&& f, std::error_code code, std::string const& text) {
  try {
    f();
    FAIL("no error; expected: " << text);
  } catch (std::system_error const& e) {
    INFO(e.what());
    CHECK(e.code() == code);
    CHECK(std::string(e.what()).find(text) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("sqlite: rows read as tuples, structs, one column, or through a mapper", "[adapters][sqlite]") {
  sq::connection db(":memory:");
  db.exec(schema);
  const std::vector<order> rows{{1, "eu", 10.5, std::nullopt}, {2, "us", 20.0, 7}, {3, "eu", 0.25, 0}};
  CHECK(db.insert_all(insert, rows) == 3);

  const auto structs = db.rows<order>("SELECT id, region, amount, coupon FROM orders ORDER BY id");
  REQUIRE(structs.size() == 3);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    CHECK(structs[i].id == rows[i].id);
    CHECK(structs[i].region == rows[i].region);
    CHECK(structs[i].amount == rows[i].amount);
    CHECK(structs[i].coupon == rows[i].coupon);
  }
  using tuple = std::tuple<std::string, std::int64_t, double>;
  CHECK(db.rows<tuple>("SELECT region, COUNT(*), SUM(amount) FROM orders GROUP BY region ORDER BY region") ==
        std::vector<tuple>{{"eu", 2, 10.75}, {"us", 1, 20.0}});
  CHECK(db.rows<std::int64_t>("SELECT id FROM orders WHERE amount > ? ORDER BY id", 1.0) ==
        std::vector<std::int64_t>{1, 2});
  CHECK(db.rows<std::optional<std::int64_t>>("SELECT coupon FROM orders ORDER BY id") ==
        std::vector<std::optional<std::int64_t>>{std::nullopt, 7, 0});
  CHECK(db.rows<bool>("SELECT coupon IS NULL FROM orders ORDER BY id") == std::vector<bool>{true, false, false});
  // Parameters: strings (owned or not), NULL, optional, bool.
  CHECK(db.rows<std::int64_t>("SELECT COUNT(*) FROM orders WHERE region = ?", std::string("eu")) ==
        std::vector<std::int64_t>{2});
  CHECK(db.rows<std::int64_t>("SELECT COUNT(*) FROM orders WHERE coupon IS ?", std::nullopt) ==
        std::vector<std::int64_t>{1});
  CHECK(db.rows<std::int64_t>("SELECT COUNT(*) FROM orders WHERE coupon = ?", std::optional<int>(7)) ==
        std::vector<std::int64_t>{1});
  CHECK(db.rows<std::int64_t>("SELECT ? + ?", true, std::uint8_t{4}) == std::vector<std::int64_t>{5});
  // Blobs round-trip byte for byte, zeros included.
  const sq::blob bytes{std::byte{0}, std::byte{255}, std::byte{7}, std::byte{0}};
  CHECK(db.rows<sq::blob>("SELECT ?", bytes) == std::vector<sq::blob>{bytes});
  // A mapper sees the row by column.
  sq::shard s(std::move(db));
  auto mapped = sg::execute(s, sq::sql(
                                   [](sq::row_view const& r) {
                                     CHECK(r.size() == 2);
                                     CHECK(r.name(0) == "region");
                                     return r.get<std::string>(0) + ":" +
                                            (r.is_null(1) ? std::string("-") : std::to_string(r.get<std::int64_t>(1)));
                                   },
                                   "SELECT region, coupon FROM orders ORDER BY id"));
  CHECK(mapped == std::vector<std::string>{"eu:-", "us:7", "eu:0"});
}

TEST_CASE("sqlite: bad input and SQLite failures are errors in words, never defaults", "[adapters][sqlite]") {
  sq::connection db(":memory:");
  db.exec(schema);
  db.insert_all(insert, std::vector<order>{{1, "eu", 2.5, std::nullopt}});
  const auto bad = sg::make_error_code(sg::errc::bad_input);
  require_error([&] { db.rows<std::int64_t>("SELECT coupon FROM orders"); }, bad,
                "column 0 (coupon) holds NULL, which does not convert to an integer (read it into a std::optional)");
  require_error([&] { db.rows<std::int64_t>("SELECT amount FROM orders"); }, bad, "holds a REAL");
  require_error([&] { db.rows<double>("SELECT region FROM orders"); }, bad, "holds TEXT");
  require_error([&] { db.rows<std::int8_t>("SELECT 300"); }, bad, "300, out of the range");
  require_error([&] { db.rows<std::uint32_t>("SELECT -1"); }, bad, "-1, out of the range");
  require_error([&] { db.rows<bool>("SELECT 2"); }, bad, "not a bool");
  require_error([&] { db.rows<std::tuple<std::int64_t, double>>("SELECT id FROM orders"); }, bad,
                "gives 1 columns, but the row type has 2");
  require_error([&] { db.rows<std::int64_t>("SELECT id FROM orders WHERE id = ?"); }, bad,
                "takes 1 parameters, but 0 were given");
  require_error([&] { db.rows<std::int64_t>("SELECT 1; DELETE FROM orders"); }, bad, "holds more than one statement");
  CHECK(db.rows<std::int64_t>("SELECT 1; ") == std::vector<std::int64_t>{1});  // a trailing ; is one statement
  require_error([&] { db.rows<std::int64_t>("SELECT ?", std::uint64_t{1} << 63); }, bad,
                "does not fit SQLite's 64-bit signed integer");
  // SQLite's own errors keep SQLite's code and message.
  try {
    db.rows<std::int64_t>("SELEC 1");
    FAIL("no error");
  } catch (std::system_error const& e) {
    CHECK(e.code().category() == sq::category());
    CHECK((e.code().value() & 0xff) == SQLITE_ERROR);
    CHECK(std::string(e.what()).find("syntax error") != std::string::npos);
  }
  require_error([&] { db.rows<std::int64_t>("SELECT x FROM missing"); }, sq::make_error_code(SQLITE_ERROR),
                "no such table: missing");
  require_error([&] { db.run("INSERT INTO orders VALUES (1, 'us', 1.0, NULL)"); },
                sq::make_error_code(SQLITE_CONSTRAINT_PRIMARYKEY), "UNIQUE constraint failed: orders.id");
  require_error([&] { sq::connection("/nonexistent/dir/x.db"); }, sq::make_error_code(SQLITE_CANTOPEN),
                "opening \"/nonexistent/dir/x.db\"");
  // insert_all is one transaction: a bad row part-way leaves no row of the batch behind.
  require_error([&] { db.insert_all(insert, std::vector<order>{{5, "us", 1, 1}, {6, "us", 2, 2}, {1, "us", 3, 3}}); },
                sq::make_error_code(SQLITE_CONSTRAINT_PRIMARYKEY), "UNIQUE constraint failed");
  CHECK(db.rows<std::int64_t>("SELECT COUNT(*) FROM orders") == std::vector<std::int64_t>{1});
  // Inside a transaction of the caller's, the caller's ROLLBACK undoes a good batch too.
  db.exec("BEGIN");
  CHECK(db.insert_all(insert, std::vector<order>{{7, "us", 1, 1}}) == 1);
  CHECK(db.rows<std::int64_t>("SELECT COUNT(*) FROM orders") == std::vector<std::int64_t>{2});
  db.exec("ROLLBACK");
  CHECK(db.rows<std::int64_t>("SELECT COUNT(*) FROM orders") == std::vector<std::int64_t>{1});
  // The connection stays usable after every error above.
  CHECK(db.rows<std::int64_t>("SELECT id FROM orders") == std::vector<std::int64_t>{1});
}

TEST_CASE("sqlite: a busy database says so, and is_busy sees it", "[adapters][sqlite]") {
  std::string name("sg_sqlite_busy_");
  name += std::to_string(::getpid());
  name += ".db";
  const auto path = std::filesystem::temp_directory_path() / name;
  std::filesystem::remove(path);
  {
    sq::connection writer(path.string());
    writer.exec(schema);
    sq::connection other(path.string(), {.busy_timeout_ms = 0});
    writer.exec("BEGIN IMMEDIATE");
    try {
      other.run("INSERT INTO orders VALUES (9, 'eu', 1.0, NULL)");
      FAIL("no error");
    } catch (std::system_error const& e) {
      CHECK(sq::is_busy(e.code()));
      CHECK(e.code() == std::errc::device_or_resource_busy);
    }
    writer.exec("COMMIT");
    CHECK(other.run("INSERT INTO orders VALUES (9, 'eu', 1.0, NULL)") == 1);
    CHECK_FALSE(sq::is_busy(sq::make_error_code(SQLITE_ERROR)));
    CHECK_FALSE(sq::is_busy(sg::make_error_code(sg::errc::timeout)));
  }
  std::filesystem::remove(path);
}

TEST_CASE("sqlite: shards split by a partitioner answer as one database would", "[adapters][sqlite][property]") {
  SG_SEEDED_RNG(rng);
  for (int round = 0; round < 12; ++round) {
    const std::size_t n = 1 + rng() % 6;
    const auto all = random_orders(rng, rng() % 2000);
    sq::connection whole(":memory:");
    whole.exec(schema);
    whole.insert_all(insert, all);
    std::vector<sq::shard> targets;
    const sg::partition::jump<> p(n);
    auto buckets = sg::partition::split(all, p, &order::region);
    for (auto& b : buckets) {
      targets.emplace_back(":memory:");
      targets.back().connection_unlocked().exec(schema);
      targets.back().connection_unlocked().insert_all(insert, b);
    }

    // Concatenated rows: the same multiset as the single database's.
    const std::string select = "SELECT id, region, amount, coupon FROM orders WHERE amount > ?";
    auto rows = (sg::scatter(targets) | sg::gather(sg::merge::concat()))(sq::sql<order>(select, 250.0));
    CHECK(rows.completeness.complete());
    auto ids = [](std::vector<order> const& v) {
      std::vector<std::int64_t> out;
      for (auto const& o : v) out.push_back(o.id);
      std::ranges::sort(out);
      return out;
    };
    CHECK(ids(rows.value) == ids(whole.rows<order>(select, 250.0)));

    // Grouped in SQL on each shard, merged by sg: counts and integer sums exact.
    using partial = std::tuple<std::string, std::int64_t, std::int64_t>;
    const std::string grouped = "SELECT region, COUNT(*), SUM(CAST(amount * 100 AS INTEGER)) FROM orders GROUP BY region";
    auto merged = (sg::scatter(targets) |
                   sg::gather(sg::merge::hash_aggregate([](partial const& r) { return std::get<0>(r); },
                                                        sg::agg::sum([](partial const& r) { return std::get<1>(r); }),
                                                        sg::agg::sum([](partial const& r) { return std::get<2>(r); }))))(
        sq::sql<partial>(grouped));
    std::map<std::string, std::pair<std::int64_t, std::int64_t>> got, want;
    for (auto const& [k, c, s] : merged.value) got[k] = {c, s};
    for (auto const& [k, c, s] : whole.rows<partial>(grouped + " ORDER BY region")) want[k] = {c, s};
    CHECK(got == want);
  }
}

TEST_CASE("sqlite: a failing shard is a shard failure carrying SQLite's message", "[adapters][sqlite]") {
  std::vector<sq::shard> shards;
  shards.emplace_back(":memory:");
  shards.emplace_back(":memory:");  // no orders table
  shards[0].connection_unlocked().exec(schema);
  shards[0].connection_unlocked().insert_all(insert, std::vector<order>{{1, "eu", 1, std::nullopt}});
  auto pipe = sg::scatter(shards) | sg::with(sg::partial{.min_success_ratio = 0.5}) | sg::gather(sg::merge::concat());
  auto r = pipe(sq::sql<std::int64_t>("SELECT id FROM orders"));
  CHECK(r.value == std::vector<std::int64_t>{1});
  CHECK(r.completeness.succeeded == 1);
  REQUIRE(r.failures.size() == 1);
  CHECK(r.failures[0].shard == 1);
  CHECK(r.failures[0].error.category() == sq::category());
  CHECK(r.failures[0].what.find("no such table: orders") != std::string::npos);
  // Without the partial rule the query fails as a whole, naming the shard's error.
  auto strict = sg::scatter(shards) | sg::gather(sg::merge::concat());
  CHECK_THROWS_WITH(strict(sq::sql<std::int64_t>("SELECT id FROM orders")), Catch::Contains("no such table"));
}

TEST_CASE("sqlite: one shard called from several threads at once takes turns", "[adapters][sqlite][threads]") {
  sq::shard s(":memory:");
  s.connection_unlocked().exec(schema);
  std::vector<order> rows;
  for (std::int64_t i = 0; i < 500; ++i) rows.push_back({i, i % 2 ? "eu" : "us", static_cast<double>(i), std::nullopt});
  s.connection_unlocked().insert_all(insert, rows);
  std::vector<std::thread> threads;
  std::vector<std::int64_t> sums(4);
  for (std::size_t t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        // Two texts alternate, so the statement cache is shared and reused across threads.
        auto got = sg::execute(s, sq::sql<std::int64_t>(i % 2 ? "SELECT SUM(id) FROM orders WHERE region = ?"
                                                              : "SELECT SUM(id) FROM orders WHERE region <> ?",
                                                        "eu"));
        sums[t] += got.at(0);
      }
    });
  for (auto& t : threads) t.join();
  std::int64_t eu = 0, us = 0;
  for (auto const& o : rows) (o.region == "eu" ? eu : us) += o.id;
  for (auto v : sums) CHECK(v == 25 * (eu + us));
}
