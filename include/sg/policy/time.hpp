// sg/policy/time.hpp — sg::deadline and sg::timeout: time limits of an asynchronous gather.
// (sg::timeout, an attempt layer, is in sg/policy/timeout.hpp, which this header includes.)
//
//   auto pipe = sg::scatter(shards)
//             | sg::with(sg::deadline{200ms}, sg::timeout{50ms})   // the query; each attempt
//             | sg::on(io.get_executor())
//             | sg::gather(sg::merge::concat());
//   pipe.async(request, handler);
//
// deadline: the whole gather; when it passes, every shard still outstanding is cancelled
// and recorded as a failure with sg::errc::timeout. timeout: each attempt on a shard, timed
// from its start; when it passes, that shard is cancelled and recorded the same way. The
// completion rule (sg::partial) then decides on the shards that answered in time.
// Async shards are cancelled through their cancellation slot, so the gather completes
// when they acknowledge it (at once, for a well-behaved Asio operation); a sync shard
// cannot be interrupted: one not started yet is skipped, one running is waited for and its
// late answer discarded. The gather never completes before every child has completed.
//
// The timer type is a template parameter: any Asio-style waitable timer (constructible
// from an executor, expires_after, async_wait, cancel), so tests and simulations run on a
// virtual clock (tests/support/manual_clock.hpp). Time limits apply to pipe.async only;
// the synchronous pipe(request) rejects them at compile time.
// Example: tests/policy/time.cpp.
#pragma once

#include <sg/policy/policy.hpp>
#include <sg/policy/timeout.hpp>

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <stdexcept>
#include <string>

namespace sg {

// The kind of the gather's time limit. async_only: the synchronous pipe(request) cannot
// enforce it.
struct deadline_tag {
  static constexpr bool async_only = true;
};
namespace detail {
template <>
inline constexpr bool engine_kind<deadline_tag> = true;
}  // namespace detail

// The whole gather must complete within `after` of its start.
template <class Timer = boost::asio::steady_timer>
struct deadline {
  using policy_tag = deadline_tag;
  using timer_type = Timer;
  typename Timer::duration after;

  // Throws std::invalid_argument unless `after` is positive.
  void validate() const { detail::check_positive(after, "sg::deadline"); }
};

}  // namespace sg
