// Seeds for property tests: random per run, printed with every failure (Catch2 INFO),
// and fixed by setting SG_TEST_SEED=<n> to reproduce one.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>

namespace sg_test {

inline std::uint64_t seed() {
  if (char const* fixed = std::getenv("SG_TEST_SEED")) return std::stoull(fixed);
  static std::random_device device;
  return (std::uint64_t{device()} << 32) | device();
}

}  // namespace sg_test

// Declares `rng`, a std::mt19937_64 seeded from sg_test::seed(), and logs the seed.
#define SG_SEEDED_RNG(rng)                                   \
  const std::uint64_t rng##_seed = ::sg_test::seed();        \
  INFO("seed: " << rng##_seed << " (SG_TEST_SEED to repeat)"); \
  std::mt19937_64 rng(rng##_seed)
