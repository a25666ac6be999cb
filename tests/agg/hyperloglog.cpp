#include <sg/agg/hyperloglog.hpp>

#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

TEST_CASE("hyperloglog: merging sketches gives exactly the sketch of the union", "[agg][hyperloglog][property]") {
  SG_SEEDED_RNG(rng);
  for (unsigned p : {4u, 10u, 14u}) {
    sg::agg::hyperloglog whole(p);
    std::vector<sg::agg::hyperloglog> parts(8, sg::agg::hyperloglog(p));
    for (int i = 0; i < 20000; ++i) {
      const auto v = static_cast<std::int64_t>(rng() % 5000);
      whole.add(v);
      parts[rng() % parts.size()].add(v);
    }
    sg::agg::hyperloglog merged(p);
    for (auto const& part : parts) merged.merge(part);
    CHECK(merged == whole);
    CHECK(merged.estimate() == whole.estimate());
  }
}

TEST_CASE("hyperloglog: a sketch rebuilt register by register with raise equals the original",
          "[agg][hyperloglog][property]") {
  SG_SEEDED_RNG(rng);
  for (unsigned p : {4u, 12u, 18u}) {
    sg::agg::hyperloglog original(p), rebuilt(p);
    for (int i = 0; i < 5000; ++i) original.add_hash(i % 7 == 0 ? rng() >> (64 - p) << (64 - p) : rng());  // some maximal ranks
    // The registers, sent as (index, rank) pairs in any order, some twice with a lower rank.
    std::vector<std::size_t> order(original.register_count());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), rng);
    for (std::size_t i : order) {
      const unsigned rank = original.registers()[i];
      const bool lower_too = rank > 1 && rng() % 3 == 0, lower_first = rng() % 2 == 0;
      if (lower_too && lower_first) rebuilt.raise(i, rank - 1);
      rebuilt.raise(i, rank);
      if (lower_too && !lower_first) rebuilt.raise(i, rank - 1);  // never lowers a register
    }
    CHECK(rebuilt == original);
    CHECK(original.registers()[0] <= 65 - p);
    CHECK_NOTHROW(rebuilt.raise(original.register_count() - 1, 65 - p));
    CHECK_THROWS_WITH(rebuilt.raise(original.register_count(), 1), Catch::Contains("does not fit a sketch of precision"));
    CHECK_THROWS_AS(rebuilt.raise(0, 66 - p), std::system_error);
  }
}

TEST_CASE("hyperloglog: 1e6 distinct values over 8 shards, with duplicates, within 3 standard errors",
          "[agg][hyperloglog]") {
  SG_SEEDED_RNG(rng);
  const std::uint64_t offset = rng();  // a different set of values every run
  std::vector<sg::agg::hyperloglog> shards(8);
  constexpr std::uint64_t distinct = 1'000'000;
  for (std::uint64_t v = 0; v < distinct; ++v) {
    shards[rng() % 8].add(v + offset);
    if (v % 3 == 0) shards[rng() % 8].add(v + offset);  // the same value on another shard too
  }
  sg::agg::hyperloglog total;
  for (auto const& s : shards) total.merge(s);
  const double error = std::abs(total.estimate() - static_cast<double>(distinct)) / static_cast<double>(distinct);
  INFO("estimate " << total.estimate() << ", relative error " << error);
  CHECK(error <= 3 * total.standard_error());
}

TEST_CASE("hyperloglog: the estimate tracks the truth from 0 to millions at every precision",
          "[agg][hyperloglog]") {
  SG_SEEDED_RNG(rng);
  for (unsigned p : {8u, 12u, 16u}) {
    sg::agg::hyperloglog h(p);
    CHECK(h.estimate() == 0);
    std::uint64_t n = 0;
    const std::uint64_t base = rng();
    for (std::uint64_t target : {1ull, 10ull, 100ull, 1000ull, 30000ull, 300000ull, 2000000ull}) {
      while (n < target) h.add(base + n++);
      const double error = std::abs(h.estimate() - static_cast<double>(n));
      INFO("precision " << p << ", n " << n << ", estimate " << h.estimate());
      // Beyond small counts, 4 standard errors. A small count is off by about the number
      // of register collisions, Poisson with λ = n²/2m: allow the count exceeded with
      // probability 1e-7 (one collision in 4096 registers at n = 10 is already 10 %).
      const double m = std::ldexp(1.0, static_cast<int>(p));
      const double lambda = static_cast<double>(n) * static_cast<double>(n) / (2 * m);
      double k = 0;
      if (lambda < 10) {  // beyond, the standard error bounds it
        double term = std::exp(-lambda), tail = 1 - term;
        while (tail > 1e-7 && k < 100) tail -= (term *= lambda / ++k);
      }
      CHECK(error <= std::max(4 * h.standard_error() * static_cast<double>(n), k + lambda));
    }
  }
}

TEST_CASE("hyperloglog: strings hash portably, and a bad precision is rejected", "[agg][hyperloglog]") {
  sg::agg::hyperloglog a, b;
  a.add(std::string("customer-17"));
  b.add(std::string_view("customer-17"));
  CHECK(a == b);
  CHECK(a.estimate() == Approx(1).epsilon(0.01));
  CHECK_THROWS_AS(sg::agg::hyperloglog(3), std::invalid_argument);
  CHECK_THROWS_AS(sg::agg::hyperloglog(19), std::invalid_argument);
  CHECK_THROWS_AS(sg::agg::approx_count_distinct([](int x) { return x; }, 2), std::invalid_argument);
  sg::agg::hyperloglog p10(10);
  try {
    a.merge(p10);
    FAIL("merged sketches of different precision");
  } catch (std::system_error const& e) {
    CHECK(e.code() == sg::errc::bad_input);
  }
}
