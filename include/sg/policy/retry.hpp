// sg/policy/retry.hpp — sg::retry: call a shard again after a retryable failure.
//
//   auto pipe = sg::scatter(shards)
//             | sg::with(sg::retry{.max_attempts = 3,
//                                  .backoff = sg::exponential{.initial = 10ms, .max = 1s},
//                                  .jitter = sg::jitter::full})
//             | sg::on(io.get_executor())
//             | sg::gather(sg::merge::concat());
//
// Only the shards that failed are called again; answers already received are kept. An
// attempt's failure is retried when it is retryable (by default: sg::errc::timeout and
// connection-level errors — connection reset, refused or aborted, broken pipe, network
// down or unreachable, host unreachable, timed out; never bad input, a cancellation or an
// open breaker), fewer than max_attempts have been made, and the wait before the next
// attempt still ends before the gather's deadline. The wait is the AWS backoff: the
// exponential base min(max, initial · multiplier^(n−1)) for the n-th retry, then jitter —
// none (the base), full (uniform in [0, base]), equal (base/2 plus uniform in [0, base/2]),
// decorrelated (uniform in [initial, 3 × the previous wait], at most max). A server may push
// back through `push_back`: given the failure, it returns a wait to use instead, or
// sg::no_retry. With a `budget` (sg/policy/budget.hpp), every attempt's outcome feeds it and
// no retry starts while it is at half or below, so an outage does not multiply the load.
// The timer type is a template parameter (virtual clocks in tests).
// Applies to pipe.async only. Example: tests/policy/retry.cpp.
#pragma once

#include <sg/error.hpp>
#include <sg/policy/budget.hpp>
#include <sg/policy/policy.hpp>

#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace sg {

struct retry_tag {
  static constexpr bool async_only = true;
};
namespace detail {
template <>
inline constexpr bool engine_kind<retry_tag> = true;
}  // namespace detail

// The exponential backoff base: initial · multiplier^(n−1) for the n-th retry, at most max.
struct exponential {
  std::chrono::nanoseconds initial = std::chrono::milliseconds(10);
  std::chrono::nanoseconds max = std::chrono::seconds(1);
  double multiplier = 2.0;
};

// How the wait is randomized around the base (the AWS architecture blog's formulas).
enum class jitter { none, full, equal, decorrelated };

// The default retryable errors: sg::errc::timeout and connection-level failures.
inline bool default_retryable(std::error_code const& ec) noexcept {
  if (ec == errc::timeout) return true;
  return ec == std::errc::connection_reset || ec == std::errc::connection_refused ||
         ec == std::errc::connection_aborted || ec == std::errc::broken_pipe || ec == std::errc::network_down ||
         ec == std::errc::network_unreachable || ec == std::errc::host_unreachable || ec == std::errc::timed_out;
}

// What a push-back hook returns: wait this long before the next attempt, or no_retry.
using retry_decision = std::optional<std::chrono::nanoseconds>;
inline constexpr retry_decision no_retry = std::nullopt;

namespace detail {

// min(cap, first · multiplier^(n−1)) for 0 <= first <= cap, computed in double and
// compared with cap before it is converted back (a double of 2^63 does not fit an int64):
// cap whenever the product reaches it, is infinite or is NaN; first for n <= 1 or a
// multiplier that is not above 1. Never decreases as n grows. O(1).
inline std::chrono::nanoseconds::rep saturated_backoff(std::chrono::nanoseconds::rep first,
                                                       std::chrono::nanoseconds::rep cap, double multiplier,
                                                       unsigned n) noexcept {
  if (n <= 1 || !(multiplier > 1.0)) return first;
  const double base = static_cast<double>(first) * std::pow(multiplier, static_cast<double>(n - 1));
  if (!(base < static_cast<double>(cap))) return cap;  // also +inf and NaN
  // base < double(cap) <= 2^63: in range of the 64-bit count
  return std::min(cap, static_cast<std::chrono::nanoseconds::rep>(base));
}

}  // namespace detail

template <class Timer = boost::asio::steady_timer>
struct retry {
  using policy_tag = retry_tag;
  using timer_type = Timer;

  unsigned max_attempts = 3;  // the first attempt and hedges included; 1 means never retry
  exponential backoff{};
  sg::jitter jitter = sg::jitter::full;
  // Which failures are retried (called with the failure's error code).
  std::function<bool(std::error_code const&)> retryable = default_retryable;
  // Optional server push-back: given a retryable failure (its code and text), the wait to
  // use instead of the backoff, or sg::no_retry. Empty: the backoff decides.
  std::function<retry_decision(std::error_code const&, std::string_view)> push_back{};
  // Seeds the jitter; 0 draws a seed from std::random_device.
  std::uint64_t seed = 0;
  // A token bucket shared across queries (yours, outliving the pipeline): attempts feed it,
  // and no retry starts while it is at half or below. Null: no budget.
  retry_budget* budget = nullptr;

  // Throws std::invalid_argument for max_attempts 0, a non-positive initial wait, max
  // below initial, a multiplier below 1, or no retryable predicate.
  void validate() const {
    auto fail = [](std::string const& why) { throw std::invalid_argument("sg::retry: " + why); };
    if (max_attempts == 0) fail("max_attempts must be at least 1 (the first attempt)");
    if (backoff.initial <= std::chrono::nanoseconds::zero()) fail("backoff.initial must be positive");
    if (backoff.max < backoff.initial) fail("backoff.max must be at least backoff.initial");
    if (!(backoff.multiplier >= 1.0)) fail("backoff.multiplier must be at least 1");
    if (!retryable) fail("retryable must be set (sg::default_retryable by default)");
  }

  // The wait before retry number `n` (1 for the first retry), given the previous wait
  // (for decorrelated jitter) and a random generator. Always in [0, backoff.max], whatever
  // the parameters: every step saturates at max instead of overflowing (max =
  // nanoseconds::max(), a multiplier of 1e300 or infinity, n = UINT_MAX, a previous wait
  // that is negative or huge), and the base never decreases as n grows. Parameters
  // validate() would refuse give no undefined behaviour either: a negative max is taken
  // as 0, an initial outside [0, max] as its nearest end, a multiplier below 1 or NaN as
  // 1. O(1): no loop over n.
  template <class Rng>
  std::chrono::nanoseconds wait_before(unsigned n, std::chrono::nanoseconds previous, Rng& rng) const {
    using ns = std::chrono::nanoseconds;
    using rep = ns::rep;
    const rep cap = std::max<rep>(backoff.max.count(), 0);
    const rep first = std::clamp<rep>(backoff.initial.count(), 0, cap);
    const rep capped = detail::saturated_backoff(first, cap, backoff.multiplier, n);
    auto uniform = [&](rep lo, rep hi) { return std::uniform_int_distribution<rep>(lo, hi)(rng); };
    switch (jitter) {
      case sg::jitter::none: return ns(capped);
      case sg::jitter::full: return ns(uniform(0, capped));
      case sg::jitter::equal: return ns(capped / 2 + uniform(0, capped - capped / 2));
      case sg::jitter::decorrelated: {
        // uniform in [initial, min(max, 3 × previous)], 3 × previous saturating at max
        const rep prev = std::max(previous.count(), first);
        const rep hi = prev > cap / 3 ? cap : std::min(cap, 3 * prev);
        return ns(uniform(first, std::max(first, hi)));
      }
    }
    return ns(capped);
  }
};

}  // namespace sg
