// libFuzzer target: partitioner constructors and shard_of (ring, rendezvous, jump,
// modulo) over any parameters. Invariants: a constructor either succeeds or throws
// std::invalid_argument with a non-empty sentence (never another exception, a crash, UB
// or a huge allocation); every shard_of is below shard_count(); ring and rendezvous never
// pick a shard of weight 0; ring gives each shard round(vnodes · w) points.
#include <sg/partition/jump.hpp>
#include <sg/partition/modulo.hpp>
#include <sg/partition/rendezvous.hpp>
#include <sg/partition/ring.hpp>

#include "check.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <vector>

namespace {

template <class Make>
auto constructed(Make make) -> std::optional<decltype(make())> {
  try {
    return make();
  } catch (std::invalid_argument const& e) {
    SG_FUZZ_CHECK(std::strlen(e.what()) > 10);  // a sentence, not an empty message
    return std::nullopt;
  }
}

template <class P>
void lookups(P const& p, FuzzedDataProvider& in, std::vector<double> const* weights) {
  for (int i = 0; i < 64 && in.remaining_bytes() > 0; ++i) {
    const std::size_t s = p.shard_of(in.ConsumeIntegral<std::uint64_t>());
    SG_FUZZ_CHECK(s < p.shard_count());
    if (weights != nullptr) SG_FUZZ_CHECK((*weights)[s] > 0.0);
  }
}

std::vector<double> weights_of(FuzzedDataProvider& in, std::size_t max_shards) {
  std::vector<double> w(in.ConsumeIntegralInRange<std::size_t>(0, max_shards));
  for (auto& x : w) {
    switch (in.ConsumeIntegralInRange<int>(0, 3)) {
      case 0: x = in.ConsumeFloatingPoint<double>(); break;        // anything, NaN and inf too
      case 1: x = in.ConsumeFloatingPointInRange<double>(0, 4); break;
      case 2: x = std::ldexp(1.0, in.ConsumeIntegralInRange<int>(-1074, 1023)); break;
      default: x = 0.0;
    }
  }
  return w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  switch (in.ConsumeIntegralInRange<int>(0, 4)) {
    case 0: {
      const auto n = in.ConsumeIntegral<std::size_t>();
      if (auto p = constructed([&] { return sg::partition::modulo<>(n); })) lookups(*p, in, nullptr);
      break;
    }
    case 1: {
      const auto n = in.ConsumeIntegral<std::size_t>();
      if (auto p = constructed([&] { return sg::partition::jump<>(n); })) lookups(*p, in, nullptr);
      break;
    }
    case 2: {
      auto w = weights_of(in, 64);
      if (auto p = constructed([&] { return sg::partition::rendezvous<>(w); })) lookups(*p, in, &w);
      break;
    }
    case 3: {
      auto w = weights_of(in, 64);
      const auto vnodes = in.ConsumeBool() ? in.ConsumeIntegral<std::size_t>()
                                           : in.ConsumeIntegralInRange<std::size_t>(0, 300);
      // A ring of up to 2^24 points is valid but takes seconds to build: skip the accepted
      // sizes above 2^12 points, to keep thousands of runs a second (the refusals above
      // 2^24 are cheap and are fuzzed).
      double points = 0;
      for (double x : w) points += std::isfinite(x) && x > 0 ? static_cast<double>(vnodes) * x : 0;
      if (points > 0x1p12 && points <= 0x1p24 * 1.01) break;
      if (auto p = constructed([&] { return sg::partition::ring<>(w, vnodes); })) {
        for (std::size_t s = 0; s < w.size(); ++s) {
          const auto owned = static_cast<std::size_t>(std::count(p->owners().begin(), p->owners().end(), s));
          SG_FUZZ_CHECK(owned == static_cast<std::size_t>(std::llround(static_cast<double>(vnodes) * w[s])));
          SG_FUZZ_CHECK(w[s] == 0.0 || owned >= 1);
        }
        lookups(*p, in, &w);
      }
      break;
    }
    default: {
      const auto n = in.ConsumeIntegral<std::size_t>();
      const auto vnodes = in.ConsumeIntegral<std::size_t>();
      if (n != 0 && vnodes != 0 && n <= (std::size_t{1} << 12) / vnodes) {
        if (auto p = constructed([&] { return sg::partition::ring<>(n, vnodes); })) lookups(*p, in, nullptr);
      } else if (n == 0 || vnodes == 0 || n > (std::size_t{1} << 24) / vnodes) {
        SG_FUZZ_CHECK(!constructed([&] { return sg::partition::ring<>(n, vnodes); }));
      }
    }
  }
  return 0;
}
