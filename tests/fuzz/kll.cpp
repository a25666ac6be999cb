// libFuzzer target: KLL sketch building and merging (sketches of different k, self-merge,
// NaN rows). Invariants: counts are exact; quantile(0) and quantile(1) are the exact min
// and max; every quantile is one of the rows; min_k() is the smallest k merged in; a
// merged sketch's quantiles are within twice its stated rank_error() of the exact ranks
// (the stated bound is at 99 % confidence: sg's own test allows 2 % beyond it and none
// beyond twice it).
#include <sg/agg/kll.hpp>

#include "check.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  using sketch = sg::agg::kll_sketch<double>;
  FuzzedDataProvider in(data, size);
  std::vector<sketch> sketches;
  std::vector<std::vector<double>> rows;
  const int count = in.ConsumeIntegralInRange<int>(1, 4);
  for (int i = 0; i < count; ++i) {
    const auto k = in.ConsumeIntegralInRange<unsigned>(0, 70000);
    try {
      sketches.emplace_back(k);
    } catch (std::invalid_argument const&) {
      SG_FUZZ_CHECK(k < 8 || k > 65535);
      continue;
    }
    SG_FUZZ_CHECK(k >= 8 && k <= 65535);
    rows.emplace_back();
    // up to 2000 rows a sketch: from the input, repeated in a pattern to reach compaction
    const auto n = in.ConsumeIntegralInRange<std::size_t>(0, 2000);
    const double a = in.ConsumeFloatingPoint<double>(), b = in.ConsumeFloatingPointInRange<double>(-1e6, 1e6);
    for (std::size_t j = 0; j < n; ++j) {
      const double v = in.remaining_bytes() > 0 && in.ConsumeBool() ? in.ConsumeFloatingPoint<double>()
                                                                     : std::fmod(a + b * static_cast<double>(j), 1e9);
      sketches.back().add(v);
      if (!std::isnan(v)) rows.back().push_back(v);
    }
    SG_FUZZ_CHECK(sketches.back().count() == rows.back().size());
  }
  if (sketches.empty()) return 0;
  sketch merged = sketches[0];
  std::vector<double> all = rows[0];
  unsigned min_k = merged.k();  // an empty sketch merged in brings no error, so no k
  for (std::size_t i = 1; i < sketches.size(); ++i) {
    if (!sketches[i].empty()) min_k = std::min(min_k, sketches[i].k());
    merged.merge(sketches[i]);
    all.insert(all.end(), rows[i].begin(), rows[i].end());
  }
  if (in.ConsumeBool()) {  // a sketch merged into itself counts its rows twice
    merged.merge(merged);
    const std::vector<double> copy = all;
    all.insert(all.end(), copy.begin(), copy.end());
  }
  SG_FUZZ_CHECK(merged.count() == all.size());
  SG_FUZZ_CHECK(merged.min_k() == min_k);
  SG_FUZZ_CHECK(merged.rank_error() == sketch::rank_error(min_k));
  if (all.empty()) return 0;
  std::sort(all.begin(), all.end());
  SG_FUZZ_CHECK(merged.quantile(0) == all.front());
  SG_FUZZ_CHECK(merged.quantile(1) == all.back());
  const double n = static_cast<double>(all.size());
  for (int i = 1; i < 20; ++i) {
    const double q = i / 20.0;
    const double x = merged.quantile(q);
    const auto lo_it = std::lower_bound(all.begin(), all.end(), x);
    SG_FUZZ_CHECK(lo_it != all.end() && *lo_it == x);  // one of the rows
    const double lo = static_cast<double>(lo_it - all.begin()) / n;
    const double hi = static_cast<double>(std::upper_bound(all.begin(), all.end(), x) - all.begin()) / n;
    const double err = q < lo ? lo - q : (q > hi ? q - hi : 0.0);
    SG_FUZZ_CHECK(err <= 2 * merged.rank_error() + 1 / n);
  }
  return 0;
}
