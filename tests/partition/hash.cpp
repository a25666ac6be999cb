#include <sg/partition/hash.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <set>
#include <string>
#include <tuple>

using sg::partition::default_hash;
using sg::partition::hash_bytes;
using sg::partition::mix64;

TEST_CASE("mix64 is a fixed bijective mixer", "[partition][hash]") {
  // SplitMix64's finalizer: pinned values (a change would move keys between shards).
  STATIC_REQUIRE(mix64(0) == 0);
  STATIC_REQUIRE(mix64(1) == 0x5692161d100b05e5ULL);
  std::set<std::uint64_t> seen;
  for (std::uint64_t i = 0; i < 10000; ++i) seen.insert(mix64(i));
  CHECK(seen.size() == 10000);  // no collisions on sequential keys
}

TEST_CASE("default_hash values are pinned across runs and machines", "[partition][hash]") {
  const default_hash h;
  // integers: mix64 of the value, whatever the integer type
  CHECK(h(42) == mix64(42));
  CHECK(h(std::uint8_t{42}) == mix64(42));
  CHECK(h(-1) == mix64(~std::uint64_t{0}));
  // strings: sg's own byte hash, the same for every string type
  const std::uint64_t abc = h(std::string("abc"));
  CHECK(h(std::string_view("abc")) == abc);
  CHECK(h("abc") == abc);
  CHECK(hash_bytes("abc", 3) == abc);
  // pinned: if these change, every string-keyed shard map changes
  CHECK(hash_bytes("", 0) == 0xe220a8397b1dcdafULL);
  CHECK(abc == 0xa15ef320131cea3aULL);
  CHECK(hash_bytes("the quick brown fox jumps over the lazy dog", 43) == 0xa5b7705862fe7b50ULL);
  // floating point: -0.0 and 0.0 are one key
  CHECK(h(0.0) == h(-0.0));
  CHECK(h(1.5f) == h(1.5));
}

TEST_CASE("hash_bytes uses every byte and the length", "[partition][hash]") {
  std::set<std::uint64_t> seen;
  std::string s;
  for (int len = 0; len < 40; ++len) {
    seen.insert(hash_bytes(s.data(), s.size()));
    s.push_back('\0');  // strings of zeros differ only by length
  }
  CHECK(seen.size() == 40);
  std::string a(24, 'x'), b = a;
  for (std::size_t i = 0; i < a.size(); ++i) {
    b[i] = 'y';
    CHECK(hash_bytes(a.data(), a.size()) != hash_bytes(b.data(), b.size()));
    b[i] = 'x';
  }
}

TEST_CASE("composite keys hash in order", "[partition][hash]") {
  const default_hash h;
  CHECK(h(std::make_tuple(1, std::string("a"))) == h(std::make_tuple(1, std::string("a"))));
  CHECK(h(std::make_tuple(1, 2)) != h(std::make_tuple(2, 1)));
  CHECK(h(std::make_pair(1, 2)) == h(std::make_tuple(1, 2)));
}
