// The pipeline property, shared by every executor: on random shard sets with random
// failures and a random completion rule, a gather returns exactly the answering shards'
// rows in shard order, counts every shard once, lists every failure with its code, and
// fails exactly when the rule says so.
#pragma once

#include "support/shards.hpp"

#include <sg/gathered.hpp>
#include <sg/policy/partial.hpp>

#include <catch2/catch.hpp>

#include <random>
#include <system_error>

namespace sg_test {

inline std::error_code expected_code(mode m) {
  switch (m) {
    case mode::throw_system_error: return std::make_error_code(std::errc::connection_reset);
    case mode::return_error: return sg::errc::timeout;
    default: return sg::errc::shard_failed;
  }
}

// make(shards, rule) returns a pipeline over `shards` with completion rule `rule`.
template <class MakePipe>
void check_pipeline_property(std::mt19937_64& rng, MakePipe make, int rounds) {
  std::uniform_int_distribution<int> threshold(0, 100);
  const double ratios[] = {1.0, 0.5, 0.0, 0.9};
  for (int round = 0; round < rounds; ++round) {
    const auto shards = random_shards(rng, round % 3 == 0 ? 0.0 : 0.3);
    const sg::partial rule{.min_success_ratio = ratios[static_cast<std::size_t>(round) % 4]};
    const int min = threshold(rng);
    auto pipe = make(shards, rule);
    INFO("round " << round << ": " << shards.size() << " shards, ratio "
                  << rule.min_success_ratio << ", threshold " << min);

    std::error_code ec;
    const sg::gathered g = pipe(min, ec);
    const std::size_t n = shards.size(), ok = answering(shards);
    CHECK(g.value == reference(shards, min));
    CHECK(g.completeness == sg::completeness{n, ok, n - ok, 0});
    REQUIRE(g.failures.size() == n - ok);
    std::size_t f = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (shards[i].behaviour == mode::answer) continue;
      CHECK(g.failures[f].shard == i);
      CHECK(g.failures[f].error == expected_code(shards[i].behaviour));
      CHECK_FALSE(g.failures[f].what.empty());
      CHECK(g.failures[f].attempts == 1u);
      ++f;
    }

    std::error_code want;
    if (n == 0)
      want = sg::errc::no_shards;
    else if (!rule.accepts(ok, n))
      want = sg::errc::partial_result;
    CHECK(ec == want);

    if (want) {
      try {
        (void)pipe(min);
        FAIL("pipe(request) did not throw");
      } catch (sg::scatter_error const& e) {
        CHECK(e.code() == want);
        REQUIRE(e.partial<std::vector<int>>() != nullptr);
        CHECK(e.partial<std::vector<int>>()->value == g.value);
      }
    } else {
      CHECK(pipe(min).value == g.value);
    }
  }
}

}  // namespace sg_test
