// sg::partition::postgres_hash against placements a PostgreSQL 15 server made: the tables
// below were read back from tables PARTITION BY HASH with MODULUS 3, 7 and 16 (see
// tests/adapters/postgres_hash.cpp for the test that asks a live server).
#include <sg/merge/concat.hpp>
#include <sg/partition/postgres_hash.hpp>
#include <sg/partition/split.hpp>
#include <sg/pipeline.hpp>
#include <sg/route.hpp>

#include <catch2/catch.hpp>

#include <algorithm>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

using sg::partition::postgres_hash;

namespace {

constexpr std::int64_t int64_min = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t int64_max = std::numeric_limits<std::int64_t>::max();
constexpr std::int32_t int32_min = std::numeric_limits<std::int32_t>::min();
constexpr std::int32_t int32_max = std::numeric_limits<std::int32_t>::max();

struct int_case {
  int column;  // 4: int4, 8: int8
  std::optional<std::int64_t> key;
  std::size_t modulus, remainder;
};

struct text_case {
  std::string_view key;
  std::size_t modulus, remainder;
};

}  // namespace

TEST_CASE("postgres_hash: int4 and int8 keys land where PostgreSQL put them", "[partition][postgres_hash]") {
  constexpr auto none = std::nullopt;
  const int_case cases[] = {
      {4, int32_min, 3, 0},  {4, -42, 3, 2},     {4, -1, 3, 2},         {4, 0, 3, 2},        {4, 1, 3, 2},
      {4, 42, 3, 0},         {4, 123456789, 3, 1}, {4, int32_max, 3, 1}, {4, none, 3, 0},
      {8, int64_min, 3, 1},  {8, -4294967297, 3, 1}, {8, -1, 3, 2},      {8, 0, 3, 2},        {8, 1, 3, 2},
      {8, 42, 3, 0},         {8, 4294967296, 3, 2}, {8, 1234567890123, 3, 0}, {8, int64_max, 3, 0}, {8, none, 3, 0},
      {4, int32_min, 7, 3},  {4, -42, 7, 4},     {4, -1, 7, 0},         {4, 0, 7, 4},        {4, 1, 7, 5},
      {4, 42, 7, 0},         {4, 123456789, 7, 4}, {4, int32_max, 7, 0}, {4, none, 7, 0},
      {8, int64_min, 7, 0},  {8, -4294967297, 7, 4}, {8, -1, 7, 0},      {8, 0, 7, 4},        {8, 1, 7, 5},
      {8, 42, 7, 0},         {8, 4294967296, 7, 5}, {8, 1234567890123, 7, 0}, {8, int64_max, 7, 3}, {8, none, 7, 0},
      {4, int32_min, 16, 6}, {4, -42, 16, 2},    {4, -1, 16, 5},        {4, 0, 16, 0},       {4, 1, 16, 8},
      {4, 42, 16, 2},        {4, 123456789, 16, 13}, {4, int32_max, 16, 15}, {4, none, 16, 0},
      {8, int64_min, 16, 15}, {8, -4294967297, 16, 10}, {8, -1, 16, 5},   {8, 0, 16, 0},       {8, 1, 16, 8},
      {8, 42, 16, 2},        {8, 4294967296, 16, 8}, {8, 1234567890123, 16, 15}, {8, int64_max, 16, 6}, {8, none, 16, 0},
  };
  for (auto const& c : cases) {
    INFO("int" << c.column << " key " << (c.key ? std::to_string(*c.key) : "NULL") << ", MODULUS " << c.modulus);
    const postgres_hash p(c.modulus);
    CHECK(p.shard_of(c.key) == c.remainder);
    if (!c.key) continue;
    CHECK(p.shard_of(*c.key) == c.remainder);
    if (c.column == 4) {  // the int4 and int2 widths hash as int8 does for equal values
      CHECK(p.shard_of(static_cast<std::int32_t>(*c.key)) == c.remainder);
      if (*c.key >= -32768 && *c.key <= 32767) CHECK(p.shard_of(static_cast<std::int16_t>(*c.key)) == c.remainder);
    }
  }
}

TEST_CASE("postgres_hash: the row hash equals hashint8extended and hashtextextended with the partition seed", "[partition][postgres_hash]") {
  // SELECT hashint8extended(k, 8816678312871386365), hashtextextended(t, 8816678312871386365)
  // on the server; a single-column row hash is hash_combine64(0, that).
  constexpr std::uint64_t seed = 0x7A5B22367996DCFDULL;
  CHECK(static_cast<std::int64_t>(sg::partition::detail::pg::hash_int(0, seed)) == -4403592609991167795);
  CHECK(static_cast<std::int64_t>(sg::partition::detail::pg::hash_int(5, seed)) == -2840406021921404358);
  CHECK(static_cast<std::int64_t>(sg::partition::detail::pg::hash_int(int64_max, seed)) == 4938542303000433043);
  const std::pair<std::string_view, std::int64_t> text[] = {
      {"", -5700645584453517373},          {"a", -6705225459120232837},
      {"abcd", 4029384952263848046},       {"abcde", 4809259092934399961},
      {"abcdefgh", -7754745184861941070},  {"abcdefghi", -7860738947571725408},
      {"abcdefghijk", -2046435308545367432}, {"abcdefghijkl", -7876791541613377658},
      {"abcdefghijklmnopq", -4290088002765369671}, {"\xc3\xa9", 4377877661621198540},
  };
  for (auto const& [t, h] : text) {
    INFO("text '" << t << "'");
    CHECK(static_cast<std::int64_t>(sg::partition::detail::pg::hash_text(t, seed)) == h);
  }
  STATIC_REQUIRE(postgres_hash::row_hash(std::int64_t{0}) ==
                 sg::partition::detail::pg::combine(0, sg::partition::detail::pg::hash_int(0, seed)));
}

TEST_CASE("postgres_hash: text keys land where PostgreSQL put them", "[partition][postgres_hash]") {
  const text_case cases[] = {
      {"", 3, 2},  {"Z\xc3\xbcrich", 3, 1}, {"a", 3, 2},  {"abc", 3, 1},  {"abcdefghijkl", 3, 1},
      {"hello world", 3, 1}, {"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 3, 0},
      {"", 7, 1},  {"Z\xc3\xbcrich", 7, 4}, {"a", 7, 3},  {"abc", 7, 3},  {"abcdefghijkl", 7, 3},
      {"hello world", 7, 4}, {"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 7, 6},
      {"", 16, 6}, {"Z\xc3\xbcrich", 16, 6}, {"a", 16, 14}, {"abc", 16, 5}, {"abcdefghijkl", 16, 9},
      {"hello world", 16, 8}, {"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 16, 14},
  };
  for (auto const& c : cases) {
    INFO("text '" << c.key << "', MODULUS " << c.modulus);
    const postgres_hash p(c.modulus);
    CHECK(p.shard_of(c.key) == c.remainder);
    CHECK(p.shard_of(std::string(c.key)) == c.remainder);
    CHECK(p.shard_of(std::optional<std::string>(c.key)) == c.remainder);
  }
  const std::string x100(100, 'x');  // repeat('x', 100): several 12-byte blocks
  CHECK(postgres_hash(3).shard_of(x100) == 1);
  CHECK(postgres_hash(7).shard_of(x100) == 1);
  CHECK(postgres_hash(16).shard_of(x100) == 10);
  CHECK(postgres_hash(16).shard_of(std::optional<std::string>()) == 0);
}

TEST_CASE("postgres_hash: multi-column keys combine their columns in order, NULL columns left out", "[partition][postgres_hash]") {
  // PARTITION BY HASH (a int4, b text), MODULUS 7.
  using key = std::tuple<std::optional<std::int32_t>, std::optional<std::string>>;
  const postgres_hash p(7);
  CHECK(p.shard_of(key{1, "a"}) == 0);
  CHECK(p.shard_of(key{std::nullopt, "a"}) == 3);
  CHECK(p.shard_of(key{1, std::nullopt}) == 5);
  CHECK(p.shard_of(key{std::nullopt, std::nullopt}) == 0);
  CHECK(p.shard_of(key{-5, "Z\xc3\xbcrich"}) == 0);
  CHECK(p.shard_of(key{int32_max, ""}) == 0);
  CHECK(p.shard_of(std::tuple<std::int32_t, std::string_view>{1, "a"}) == 0);
  CHECK(p.shard_of(std::pair<std::int64_t, char const*>{1, "a"}) == 0);
  // A NULL column leaves the row hash as it was: (NULL, 'a') hashes as 'a' alone.
  CHECK(p.shard_of(key{std::nullopt, "a"}) == p.shard_of(std::string_view("a")));
}

TEST_CASE("postgres_hash: one shard, the shard count, and the moduli it refuses", "[partition][postgres_hash]") {
  const postgres_hash one(1);
  CHECK(one.shard_count() == 1);
  CHECK(one.shard_of(std::int64_t{123}) == 0);
  CHECK(one.shard_of(std::string_view("x")) == 0);
  CHECK(postgres_hash(16).shard_count() == 16);
  CHECK(postgres_hash(16) == postgres_hash(16));
  CHECK(postgres_hash(16) != postgres_hash(8));
  CHECK_THROWS_WITH(postgres_hash(0), Catch::Contains("at least 1"));
  CHECK_THROWS_WITH(postgres_hash(std::size_t{1} << 31), Catch::Contains("2^31 - 1"));
  CHECK(postgres_hash(0x7fffffff).shard_of(std::int64_t{1}) < 0x7fffffff);
  STATIC_REQUIRE(sg::partition::partitioner_for<postgres_hash, std::int64_t>);
  STATIC_REQUIRE(sg::partition::postgres_hash_key<std::int16_t>);
  STATIC_REQUIRE(sg::partition::postgres_hash_key<std::string>);
  STATIC_REQUIRE(sg::partition::postgres_hash_key<std::tuple<std::int32_t, std::optional<std::string>>>);
  STATIC_REQUIRE(!sg::partition::postgres_hash_key<std::uint32_t>);
  STATIC_REQUIRE(!sg::partition::postgres_hash_key<double>);
  STATIC_REQUIRE(!sg::partition::postgres_hash_key<char>);
  STATIC_REQUIRE(!sg::partition::postgres_hash_key<std::tuple<>>);
  STATIC_REQUIRE(postgres_hash(7).shard_of(std::int64_t{1}) == 5);  // constexpr for integers
}

namespace {

// Shard r holds the rows of partition r; it answers the rows whose key is asked for.
struct partition_shard {
  std::vector<std::int64_t> keys;
  std::vector<std::int64_t> execute(std::vector<std::int64_t> const& wanted) const {
    std::vector<std::int64_t> out;
    for (auto k : keys)
      if (std::find(wanted.begin(), wanted.end(), k) != wanted.end()) out.push_back(k);
    return out;
  }
};

}  // namespace

TEST_CASE("postgres_hash: routing a point lookup and an IN list prunes as PostgreSQL does", "[partition][postgres_hash][route]") {
  const postgres_hash p(16);
  std::vector<partition_shard> shards(16);
  for (std::int64_t k = -500; k < 500; ++k) shards[p.shard_of(k)].keys.push_back(k);
  auto pipe = sg::scatter(shards) |
              sg::route(p, [](std::vector<std::int64_t> const& keys) { return sg::key_set{keys}; }) |
              sg::gather(sg::merge::concat());
  // 42 and -42 both live in partition 2 (from the server, above); 1 in partition 8.
  auto r = pipe(std::vector<std::int64_t>{42, -42, 1});
  std::sort(r.value.begin(), r.value.end());
  CHECK(r.value == std::vector<std::int64_t>{-42, 1, 42});
  CHECK(r.completeness == sg::completeness{2, 2, 0, 14});
}

TEST_CASE("postgres_hash: split buckets rows as PostgreSQL would route them to partitions", "[partition][postgres_hash][split]") {
  struct customer {
    std::int64_t id;
    std::string name;
  };
  std::vector<customer> rows;
  for (std::int64_t i = -50; i < 50; ++i) rows.push_back({i * 7919, "c" + std::to_string(i)});
  const postgres_hash p(7);
  const auto by_id = sg::partition::split(rows, p, &customer::id);
  const auto by_name = sg::partition::split(rows, p, &customer::name);
  REQUIRE(by_id.size() == 7);
  std::size_t total = 0;
  for (std::size_t r = 0; r < 7; ++r) {
    for (auto const& c : by_id[r]) CHECK(p.shard_of(c.id) == r);
    for (auto const& c : by_name[r]) CHECK(p.shard_of(c.name) == r);
    total += by_id[r].size();
  }
  CHECK(total == rows.size());
  // From the server's table above: 42 goes to partition 0 of MODULUS 7, -1 too.
  const auto two = sg::partition::split(std::vector<std::int64_t>{42, -1, 1}, p);
  CHECK(two[0] == std::vector<std::int64_t>{42, -1});
  CHECK(two[5] == std::vector<std::int64_t>{1});
}
