// libFuzzer target: sg::retry's wait arithmetic over the whole parameter range. Any
// initial, max, multiplier (NaN and infinities too), retry number and previous wait;
// invariants: validate() throws only std::invalid_argument; every wait is in
// [0, max(max, 0)]; for accepted parameters the jitter-free base is within [initial, max]
// and never decreases with n, full jitter is in [0, base], equal in [base/2, base], and
// decorrelated in [initial, max].
#include <sg/policy/retry.hpp>

#include "check.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <random>
#include <stdexcept>

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  using ns = std::chrono::nanoseconds;
  FuzzedDataProvider in(data, size);
  sg::retry<> r;
  r.backoff.initial = ns(in.ConsumeIntegral<std::int64_t>());
  r.backoff.max = in.ConsumeBool() ? ns::max() : ns(in.ConsumeIntegral<std::int64_t>());
  r.backoff.multiplier = in.ConsumeBool() ? in.ConsumeFloatingPoint<double>()
                                          : in.ConsumeFloatingPointInRange<double>(1.0, 16.0);
  std::mt19937_64 rng(in.ConsumeIntegral<std::uint64_t>());
  bool valid = true;
  try {
    r.validate();
  } catch (std::invalid_argument const&) {
    valid = false;
  }
  const ns cap = std::max(r.backoff.max, ns::zero());
  ns last_base = ns::zero();
  unsigned n = in.ConsumeIntegralInRange<unsigned>(0, 4);
  while (in.remaining_bytes() > 0) {
    const unsigned step = in.ConsumeIntegralInRange<unsigned>(0, 64);
    n = in.ConsumeBool() ? (n > ~0u - step ? ~0u : n + step) : std::max(n, in.ConsumeIntegral<unsigned>());
    const ns previous(in.ConsumeIntegral<std::int64_t>());
    r.jitter = sg::jitter::none;
    const ns base = r.wait_before(n, previous, rng);
    SG_FUZZ_CHECK(base >= ns::zero() && base <= cap);
    if (valid) {
      if (base < last_base)
        std::fprintf(stderr, "n %u initial %lld max %lld multiplier %.17g: base %lld after %lld\n", n,
                     static_cast<long long>(r.backoff.initial.count()), static_cast<long long>(r.backoff.max.count()),
                     r.backoff.multiplier, static_cast<long long>(base.count()), static_cast<long long>(last_base.count()));
      SG_FUZZ_CHECK(base >= r.backoff.initial && base <= r.backoff.max);
      SG_FUZZ_CHECK(base >= last_base);  // n never decreases in this loop
    }
    last_base = base;
    r.jitter = sg::jitter::full;
    ns w = r.wait_before(n, previous, rng);
    SG_FUZZ_CHECK(w >= ns::zero() && w <= base);
    r.jitter = sg::jitter::equal;
    w = r.wait_before(n, previous, rng);
    SG_FUZZ_CHECK(w >= base / 2 && w <= base);
    r.jitter = sg::jitter::decorrelated;
    w = r.wait_before(n, previous, rng);
    SG_FUZZ_CHECK(w >= ns::zero() && w <= cap);
    if (valid) SG_FUZZ_CHECK(w >= r.backoff.initial);
  }
  return 0;
}
