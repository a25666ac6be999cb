// A clock that moves only when a test advances it, and an Asio timer on it: time limits
// tested without sleeping. An io_context never waits for such a timer (its wait duration
// is zero): advance the clock, then io.poll().
#pragma once

#include <boost/asio/basic_waitable_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>

namespace sg_test {

struct manual_clock {
  using rep = std::int64_t;
  using period = std::nano;
  using duration = std::chrono::nanoseconds;
  using time_point = std::chrono::time_point<manual_clock>;
  static constexpr bool is_steady = true;

  static time_point now() noexcept { return time_point(duration(ticks.load(std::memory_order_acquire))); }
  static void advance(duration d) noexcept { ticks.fetch_add(d.count(), std::memory_order_acq_rel); }

  static inline std::atomic<rep> ticks{0};
};

struct manual_wait_traits {
  static manual_clock::duration to_wait_duration(manual_clock::duration const&) { return {}; }
  static manual_clock::duration to_wait_duration(manual_clock::time_point const&) { return {}; }
};

using manual_timer = boost::asio::basic_waitable_timer<manual_clock, manual_wait_traits>;

}  // namespace sg_test
