// The orders data set of examples/orders_sqlite.cpp and examples/orders_postgres.cpp, and
// how both print and check an answer.
#pragma once

#include <sg/gathered.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

namespace shop {

struct order {
  std::int64_t id;
  std::int64_t customer;
  std::int32_t region;  // a key of the regions table, which every shard holds a copy of
  std::int64_t cents;
  std::int64_t ts;  // seconds
};

// The small table every shard holds a whole copy of (broadcast), to join orders with.
struct region {
  std::int32_t id;
  char const* name;
  std::int32_t vat_percent;
};
inline constexpr std::array<region, 8> regions{{{0, "north", 20},
                                                {1, "south", 19},
                                                {2, "east", 21},
                                                {3, "west", 17},
                                                {4, "islands", 7},
                                                {5, "capital", 20},
                                                {6, "mountains", 16},
                                                {7, "coast", 22}}};

// n orders with ids 1..n, increasing timestamps, n/10 customers of which a few order far
// more than the rest, and amounts from 1.00 to 999.99. The same n gives the same orders.
inline std::vector<order> generate(std::size_t n) {
  std::mt19937_64 rng(20261122);
  const std::int64_t customers = std::max<std::int64_t>(1, static_cast<std::int64_t>(n / 10));
  std::vector<order> out;
  out.reserve(n);
  std::int64_t ts = 1'700'000'000;
  for (std::size_t i = 0; i < n; ++i) {
    ts += static_cast<std::int64_t>(rng() % 60);
    const double u = static_cast<double>(rng() % 1'000'000) / 1'000'000.0;  // squared: skewed
    out.push_back({static_cast<std::int64_t>(i + 1), static_cast<std::int64_t>(u * u * static_cast<double>(customers)),
                   static_cast<std::int32_t>(rng() % regions.size()), 100 + static_cast<std::int64_t>(rng() % 99'900),
                   ts});
  }
  return out;
}

// Times the queries and keeps the verdict: every answer printed with its completeness line.
class checker {
 public:
  using clock_type = std::chrono::steady_clock;

  void start() { t0_ = clock_type::now(); }
  double ms() const { return std::chrono::duration<double, std::milli>(clock_type::now() - t0_).count(); }

  template <class T>
  void footer(sg::gathered<T> const& r, double ms, bool match) {
    all_match_ = all_match_ && match;
    std::printf("  %s: %zu of %zu shards answered; %.1f ms; %s\n\n",
                r.completeness.complete() ? "complete" : "PARTIAL", r.completeness.succeeded,
                r.completeness.targeted, ms, match ? "matches one database" : "DIFFERS from one database");
    for (auto const& f : r.failures) std::printf("  shard %zu failed: %s\n", f.shard, f.what.c_str());
  }

  // Exit status: 0 when every answer matched.
  int verdict() const {
    std::printf("%s\n", all_match_ ? "all answers match one database" : "SOME ANSWERS DIFFER");
    return all_match_ ? 0 : 1;
  }

 private:
  clock_type::time_point t0_ = clock_type::now();
  bool all_match_ = true;
};

// Prints the first of the latest orders and says whether they are `want`'s (id, time and
// amount, in order).
inline bool report_latest(std::vector<order> const& got, std::vector<order> const& want) {
  bool match = got.size() == want.size();
  for (std::size_t i = 0; match && i < want.size(); ++i)
    match = got[i].id == want[i].id && got[i].ts == want[i].ts && got[i].cents == want[i].cents;
  std::printf("3. latest 100 orders (sorted merge, limit pushed to every shard)\n");
  for (std::size_t i = 0; i < std::min<std::size_t>(3, got.size()); ++i)
    std::printf("  order %8lld  customer %7lld  at %lld\n", static_cast<long long>(got[i].id),
                static_cast<long long>(got[i].customer), static_cast<long long>(got[i].ts));
  if (got.size() > 3) std::printf("  ... %zu more\n", got.size() - 3);
  return match;
}

// Equal within `relative` of b (absolute below 1).
inline bool near(double a, double b, double relative) {
  return std::abs(a - b) <= relative * std::max(1.0, std::abs(b));
}

// HyperLogLog at 2^14 registers: within 3 standard errors (1.04 / 128 each) of the truth.
inline bool within_hll_error(double estimate, double exact) {
  return std::abs(estimate - exact) <= 3 * 1.04 / 128 * std::max(1.0, exact);
}

}  // namespace shop
