#include <sg/partition/jump.hpp>
#include <sg/partition/modulo.hpp>
#include <sg/partition/partitioner.hpp>
#include <sg/partition/range.hpp>
#include <sg/partition/rendezvous.hpp>
#include <sg/partition/ring.hpp>
#include <sg/partition/round_robin.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace sg::partition;

TEST_CASE("every partitioner models partitioner_for", "[partition]") {
  STATIC_REQUIRE(partitioner_for<modulo<>, int>);
  STATIC_REQUIRE(partitioner_for<jump<>, std::string>);
  STATIC_REQUIRE(partitioner_for<ring<>, long>);
  STATIC_REQUIRE(partitioner_for<rendezvous<>, int>);
  STATIC_REQUIRE(partitioner_for<range<int>, int>);
  STATIC_REQUIRE(partitioner_for<round_robin, int>);
  STATIC_REQUIRE_FALSE(partitioner_for<range<int>, std::string>);  // keys must compare
}

TEST_CASE("shard assignments are the same in every run and on every machine", "[partition][determinism]") {
  // Pinned: a different answer here means data placed by an earlier sg is now looked for
  // on the wrong shard.
  const modulo<> m(16);
  const jump<> j(16);
  const ring<> r(16, 100);
  const rendezvous<> v(std::vector<double>(16, 1.0));
  struct expected_t {
    int key;
    std::size_t m, j, r, v;
  };
  for (auto e : {expected_t{0, 0, 0, 5, 2}, expected_t{1, 5, 9, 13, 10}, expected_t{42, 10, 9, 9, 13},
                 expected_t{1000000, 6, 4, 6, 11}}) {
    INFO("key " << e.key);
    CHECK(m.shard_of(e.key) == e.m);
    CHECK(j.shard_of(e.key) == e.j);
    CHECK(r.shard_of(e.key) == e.r);
    CHECK(v.shard_of(e.key) == e.v);
  }
  CHECK(m.shard_of(std::string("alice")) == 2);
  CHECK(j.shard_of(std::string("alice")) == 9);
  CHECK(r.shard_of(std::string("alice")) == 14);
  CHECK(v.shard_of(std::string("alice")) == 5);
  CHECK(r.shard_of(std::string("bob")) == 8);
  // equal values answer alike: a copy, and one built again
  const ring<> r2(16, 100);
  CHECK(r2 == r);
  for (int k = 0; k < 1000; ++k) CHECK(r2.shard_of(k) == r.shard_of(k));
}
