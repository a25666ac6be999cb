// sg/agg/count.hpp — sg::agg::count(): the number of rows.
//
//   sg::merge::hash_aggregate(&order::region, sg::agg::count())
//
// State: a std::uint64_t; merge adds. Never overflows in practice (2^64 rows).
// Example: tests/agg/aggregates.cpp.
#pragma once

#include <cstdint>

namespace sg::agg {

struct count_fn {
  // For sg::explain: the SQL it computes and the state a shard sends.
  static constexpr char const* sql_name = "COUNT";
  static constexpr char const* state_name = "a count";

  template <class Row>
  constexpr std::uint64_t init() const noexcept {
    return 0;
  }
  template <class Row>
  constexpr void update(std::uint64_t& n, Row const&) const noexcept {
    ++n;
  }
  constexpr void merge(std::uint64_t& n, std::uint64_t other) const noexcept { n += other; }
  constexpr std::uint64_t finish(std::uint64_t n) const noexcept { return n; }
};

// The number of rows (SQL COUNT(*)).
constexpr count_fn count() noexcept { return {}; }

}  // namespace sg::agg
