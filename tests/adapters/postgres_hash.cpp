// sg::partition::postgres_hash against a live PostgreSQL server (the `pg` fixture, as
// tests/adapters/postgres.cpp): tables PARTITION BY HASH with MODULUS 1, 2, 3, 4, 7 and 16
// over int4, int8 and text keys; every row must be in the partition whose REMAINDER is
// shard_of(key), and satisfies_hash_partition must agree for keys sg generates.
#include <sg/adapters/postgres.hpp>
#include <sg/partition/postgres_hash.hpp>

#include "support/seed.hpp"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace pg = sg::postgres;
using sg::partition::postgres_hash;

std::string first_server() {
  char const* d = std::getenv("SG_PG_DIR");
  if (d == nullptr) FAIL("SG_PG_DIR is not set: run through ctest (the pg fixture), or scripts/pg-cluster.sh start DIR 1");
  std::ifstream in(std::string(d) + "/conninfo");
  std::string line;
  std::getline(in, line);
  REQUIRE(!line.empty());
  return line;
}

template <class Row, class Map, class... P>
std::vector<Row> one(asio::io_context& io, pg::shard const& s, pg::sql_request<Row, Map, P...> const& req) {
  std::exception_ptr error;
  std::vector<Row> rows;
  s.async_execute(req, [&](std::exception_ptr e, std::vector<Row> r) {
    error = e;
    rows = std::move(r);
  });
  io.restart();
  io.run();
  if (error) std::rethrow_exception(error);
  return rows;
}

void exec(asio::io_context& io, pg::shard const& s, std::string const& sql) { one(io, s, pg::sql<std::tuple<>>(sql)); }

// CREATE TABLE name (k type) PARTITION BY HASH (k), partitions name_0 .. name_{n-1}.
void create(asio::io_context& io, pg::shard const& s, std::string const& name, std::string const& type, std::size_t n) {
  exec(io, s, "DROP TABLE IF EXISTS " + name);
  exec(io, s, "CREATE TABLE " + name + " (k " + type + ") PARTITION BY HASH (k)");
  for (std::size_t r = 0; r < n; ++r)
    exec(io, s, "CREATE TABLE " + name + "_" + std::to_string(r) + " PARTITION OF " + name +
                    " FOR VALUES WITH (MODULUS " + std::to_string(n) + ", REMAINDER " + std::to_string(r) + ")");
}

// The remainder in a partition's name (the digits after its last '_').
std::size_t remainder_of(std::string const& partition) {
  return static_cast<std::size_t>(std::stoul(partition.substr(partition.rfind('_') + 1)));
}

// Keys the server makes: random (from setseed), negative, extremes, NULL, and for text the
// empty string, multi-byte UTF-8 and strings of up to 1,280 bytes.
// 3,206 rows each.
std::string server_keys(std::string const& type) {
  if (type == "int4")
    return "SELECT (floor(random() * 4294967296) - 2147483648)::int4 FROM generate_series(1, 3000) "
           "UNION ALL SELECT (random() * 200 - 100)::int4 FROM generate_series(1, 200) "
           "UNION ALL VALUES (-2147483648), (2147483647), (0), (-1), (1), (NULL)";
  if (type == "int8")
    return "SELECT ((random() - 0.5) * 1.8e19)::int8 FROM generate_series(1, 3000) "
           "UNION ALL SELECT (random() * 1e10 - 5e9)::int8 FROM generate_series(1, 200) "
           "UNION ALL VALUES (-9223372036854775807 - 1), (9223372036854775807), (0), (-1), (4294967296), (NULL)";
  return "SELECT substr(md5(g::text), 1, g % 33) || repeat(chr(160 + g % 3000), g % 4) "
         "|| repeat(md5((g * 7)::text), (g % 50) / 10 * 8) FROM generate_series(1, 3000) g "
         "UNION ALL SELECT repeat(chr(19968 + g), g) FROM generate_series(1, 200) g "
         "UNION ALL VALUES (''), ('a'), ('Zürich'), ('日本語'), ('😀'), (NULL)";
}

// Random keys of sg's, as a PostgreSQL array literal, with the remainders shard_of gives.
struct client_keys {
  std::string array;      // '{...}'
  std::string remainders;  // '{...}'
};

std::string quoted(std::string const& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

client_keys make_client_keys(std::string const& type, postgres_hash const& p, std::mt19937_64& rng, std::size_t count) {
  client_keys k{"{", "{"};
  for (std::size_t i = 0; i < count; ++i) {
    if (i != 0) k.array += ',', k.remainders += ',';
    std::size_t r = 0;
    if (type == "int4") {
      const auto v = static_cast<std::int32_t>(static_cast<std::uint32_t>(rng()));
      k.array += std::to_string(v);
      r = p.shard_of(v);
    } else if (type == "int8") {
      const auto v = static_cast<std::int64_t>(rng() >> (rng() % 64));
      const auto signed_v = rng() % 2 == 0 ? v : -v;
      k.array += std::to_string(signed_v);
      r = p.shard_of(signed_v);
    } else {
      std::string s;
      const std::size_t len = rng() % 4 == 0 ? rng() % 300 : rng() % 16;
      for (std::size_t j = 0; j < len; ++j) {
        const auto kind = rng() % 4;
        // ASCII from space, then 2-, 3- and 4-byte UTF-8 (no surrogates, no NUL).
        const std::uint32_t cp = kind == 0   ? static_cast<std::uint32_t>(0x20 + rng() % 0x5f)
                                 : kind == 1 ? static_cast<std::uint32_t>(0x80 + rng() % 0x780)
                                 : kind == 2 ? static_cast<std::uint32_t>(0x800 + rng() % 0xd000)
                                             : static_cast<std::uint32_t>(0x10000 + rng() % 0xfffff);
        append_utf8(s, cp);
      }
      k.array += quoted(s);
      r = p.shard_of(s);
    }
    k.remainders += std::to_string(r);
  }
  k.array += '}';
  k.remainders += '}';
  return k;
}

}  // namespace

TEST_CASE("postgres_hash: every row of a table PostgreSQL hash-partitioned is in the partition shard_of names", "[adapters][postgres][postgres_hash]") {
  asio::io_context io;
  pg::shard s(io.get_executor(), first_server());
  SG_SEEDED_RNG(rng);
  for (std::string const type : {"int4", "int8", "text"})
    for (std::size_t n : {1u, 2u, 3u, 4u, 7u, 16u}) {
      INFO(type << " keys, MODULUS " << n);
      const std::string table = "sg_ph_" + type + "_" + std::to_string(n);
      create(io, s, table, type, n);
      one(io, s, pg::sql<std::string>("SELECT setseed(0.25)::text"));  // the same keys every run
      exec(io, s, "INSERT INTO " + table + " " + server_keys(type));
      const postgres_hash p(n);
      std::size_t rows = 0, nulls = 0;
      if (type == "text") {
        for (auto const& [k, part] : one(io, s, pg::sql<std::tuple<std::optional<std::string>, std::string>>(
                                                   "SELECT k, tableoid::regclass::text FROM " + table))) {
          INFO("key " << (k ? "'" + *k + "'" : "NULL") << " in " << part);
          CHECK(p.shard_of(k) == remainder_of(part));
          ++rows, nulls += k ? 0 : 1;
        }
      } else {
        for (auto const& [k, part] : one(io, s, pg::sql<std::tuple<std::optional<std::int64_t>, std::string>>(
                                                   "SELECT k, tableoid::regclass::text FROM " + table))) {
          INFO("key " << (k ? std::to_string(*k) : "NULL") << " in " << part);
          CHECK(p.shard_of(k) == remainder_of(part));
          if (k && type == "int4") CHECK(p.shard_of(static_cast<std::int32_t>(*k)) == remainder_of(part));
          ++rows, nulls += k ? 0 : 1;
        }
      }
      CHECK(rows == 3206);
      CHECK(nulls == 1);

      // Keys sg makes: the server's own check of a partition's constraint agrees.
      const auto keys = make_client_keys(type, p, rng, 2000);
      const auto wrong = one(io, s, pg::sql<std::int64_t>(
                                        "SELECT count(*) FROM unnest($1::" + type + "[], $2::int4[]) AS u(k, r) "
                                        "WHERE NOT satisfies_hash_partition('" + table + "'::regclass, " +
                                            std::to_string(n) + ", r, k)",
                                        keys.array, keys.remainders));
      CHECK(wrong == std::vector<std::int64_t>{0});
      exec(io, s, "DROP TABLE " + table);
    }
}

TEST_CASE("postgres_hash: a two-column key PARTITION BY HASH (a, b) with NULL columns", "[adapters][postgres][postgres_hash]") {
  asio::io_context io;
  pg::shard s(io.get_executor(), first_server());
  exec(io, s, "DROP TABLE IF EXISTS sg_ph_multi");
  exec(io, s, "CREATE TABLE sg_ph_multi (a int8, b text) PARTITION BY HASH (a, b)");
  for (int r = 0; r < 5; ++r)
    exec(io, s, "CREATE TABLE sg_ph_multi_" + std::to_string(r) + " PARTITION OF sg_ph_multi FOR VALUES WITH (MODULUS 5, REMAINDER " +
                    std::to_string(r) + ")");
  exec(io, s,
       "INSERT INTO sg_ph_multi SELECT CASE WHEN g % 11 = 0 THEN NULL ELSE g * 7919 - 500000 END, "
       "CASE WHEN g % 13 = 0 THEN NULL ELSE md5(g::text) || 'ü' END FROM generate_series(1, 2000) g");
  const postgres_hash p(5);
  using row = std::tuple<std::optional<std::int64_t>, std::optional<std::string>, std::string>;
  std::size_t rows = 0;
  for (auto const& [a, b, part] : one(io, s, pg::sql<row>("SELECT a, b, tableoid::regclass::text FROM sg_ph_multi"))) {
    CHECK(p.shard_of(std::tuple(a, b)) == remainder_of(part));
    ++rows;
  }
  CHECK(rows == 2000);
  exec(io, s, "DROP TABLE sg_ph_multi");
}
