// sg/policy/circuit_breaker.hpp — circuit breakers, one per shard (or replica), in a
// registry the user owns; the policy sg::breaker puts them in front of every attempt.
//
//   sg::breaker_registry<> breakers{{.window_size = 20, .minimum_calls = 10,
//                                    .wait_in_open = 5s}};           // yours; outlives pipelines
//   auto pipe = sg::scatter(shards) | sg::with(sg::breaker{breakers}) | ... ;
//
// A breaker is closed (calls pass, outcomes recorded in a sliding window), open (every
// attempt fails at once with sg::errc::circuit_open and costs no shard call), or half-open
// (a few trial calls decide: closed again, or open again). An operator may force it open
// or disable it (calls pass, nothing recorded) until reset(). Semantics and defaults are
// resilience4j's (docs/resilience.md lists where sg differs): count- or time-based window,
// failure-rate and slow-call-rate thresholds in percent, a minimum number of calls before
// the rates count, a wait in open, permitted calls in half-open. The clock is a template
// parameter (virtual clocks in tests). Thread-safe: each breaker has a mutex held for a
// few dozen instructions per call; the registry creates breakers on first use.
// Example: tests/policy/circuit_breaker.cpp.
#pragma once

#include <sg/detail/stable_map.hpp>
#include <sg/error.hpp>
#include <sg/policy/policy.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace sg {

enum class breaker_state { closed, open, half_open, forced_open, disabled };

// "closed", "open", "half-open", "forced-open", "disabled".
constexpr char const* to_string(breaker_state s) noexcept {
  switch (s) {
    case breaker_state::closed: return "closed";
    case breaker_state::open: return "open";
    case breaker_state::half_open: return "half-open";
    case breaker_state::forced_open: return "forced-open";
    case breaker_state::disabled: return "disabled";
  }
  return "?";
}

// Which breaker: the shard's index in the pipeline's shard set, and the replica's index
// within it (0 for a shard without replicas).
struct breaker_key {
  std::size_t shard = 0;
  std::size_t replica = 0;
  friend constexpr auto operator<=>(breaker_key const&, breaker_key const&) = default;
};

// Which failures a breaker records: all but cancellations (the gather's, or a hedge that
// lost) and circuit_open itself — as resilience4j records every exception by default.
inline bool default_breaker_failure(std::error_code const& ec) noexcept {
  return !(ec == errc::cancelled || ec == errc::circuit_open || ec == std::errc::operation_canceled);
}

struct breaker_options {
  enum class window_type { count_based, time_based };

  window_type window = window_type::count_based;
  // The last window_size calls (count-based), or the calls of the last window_size
  // seconds (time-based, kept in one-second buckets).
  std::size_t window_size = 100;
  // Calls the window must hold before the rates are judged (count-based: at most
  // window_size). resilience4j: 100.
  std::size_t minimum_calls = 100;
  double failure_rate_threshold = 50;     // percent, in (0, 100]: open at or above it
  double slow_call_rate_threshold = 100;  // percent, in (0, 100]
  std::chrono::nanoseconds slow_call_duration = std::chrono::seconds(60);  // a call this long is slow
  std::chrono::nanoseconds wait_in_open = std::chrono::seconds(60);      // then half-open
  std::size_t permitted_calls_in_half_open = 10;
  // Which failures count (given the error code); the others are ignored.
  std::function<bool(std::error_code const&)> records_failure = default_breaker_failure;
  // Called on every state change, with the breaker's lock held: must not call back into
  // the breaker or its registry. Empty: nothing called.
  std::function<void(breaker_key, breaker_state from, breaker_state to)> on_transition{};

  // Throws std::invalid_argument for a setting out of range.
  void validate() const {
    auto fail = [](char const* why) { throw std::invalid_argument(std::string("sg::breaker_options: ") + why); };
    if (window_size == 0) fail("window_size must be at least 1");
    if (window == window_type::time_based && window_size > 3600)
      fail("a time-based window_size is in seconds and at most 3600");
    if (minimum_calls == 0) fail("minimum_calls must be at least 1");
    if (!(failure_rate_threshold > 0 && failure_rate_threshold <= 100))
      fail("failure_rate_threshold must be a percentage in (0, 100]");
    if (!(slow_call_rate_threshold > 0 && slow_call_rate_threshold <= 100))
      fail("slow_call_rate_threshold must be a percentage in (0, 100]");
    if (slow_call_duration <= std::chrono::nanoseconds::zero()) fail("slow_call_duration must be positive");
    if (wait_in_open < std::chrono::nanoseconds::zero()) fail("wait_in_open must not be negative");
    if (permitted_calls_in_half_open == 0) fail("permitted_calls_in_half_open must be at least 1");
    if (!records_failure) fail("records_failure must be set (sg::default_breaker_failure by default)");
  }
};

// One breaker. try_acquire() before a call; then exactly one of on_success, on_failure,
// on_ignored for every permitted call. Thread-safe.
template <class Clock = std::chrono::steady_clock>
class circuit_breaker {
 public:
  using clock_type = Clock;

  // `options` must outlive the breaker (the registry's do).
  explicit circuit_breaker(breaker_options const& options, breaker_key key = {})
      : options_(&options), key_(key), window_(options.window_size) {}

  circuit_breaker(circuit_breaker const&) = delete;
  circuit_breaker& operator=(circuit_breaker const&) = delete;

  // Whether a call may go ahead now. Open: no, until wait_in_open has passed, when the
  // breaker turns half-open and permits the trial calls; half-open: only while trial
  // permits remain; forced open: never; closed and disabled: always.
  bool try_acquire() {
    std::lock_guard lock(mutex_);
    switch (state_) {
      case breaker_state::closed:
      case breaker_state::disabled: return true;
      case breaker_state::forced_open: return false;
      case breaker_state::open:
        if (Clock::now() - opened_at_ < options_->wait_in_open) return false;
        to(breaker_state::half_open);
        [[fallthrough]];
      case breaker_state::half_open:
        if (half_open_permits_ == 0) return false;
        --half_open_permits_;
        return true;
    }
    return false;
  }

  // A permitted call succeeded after `elapsed` (slow when elapsed ≥ slow_call_duration).
  void on_success(std::chrono::nanoseconds elapsed) { record(false, elapsed); }

  // A permitted call failed with `ec` after `elapsed`; a failure the options do not
  // record counts as ignored.
  void on_failure(std::error_code const& ec, std::chrono::nanoseconds elapsed) {
    if (options_->records_failure(ec))
      record(true, elapsed);
    else
      on_ignored();
  }

  // A permitted call ended without an outcome (cancelled): its half-open permit returns.
  void on_ignored() {
    std::lock_guard lock(mutex_);
    if (state_ == breaker_state::half_open)
      half_open_permits_ = std::min(half_open_permits_ + 1, options_->permitted_calls_in_half_open);
  }

  breaker_state state() const {
    std::lock_guard lock(mutex_);
    return state_;
  }

  // Operator controls: force open (every call refused), disable (every call passes,
  // nothing recorded), or reset to closed with an empty window.
  void force_open() {
    std::lock_guard lock(mutex_);
    to(breaker_state::forced_open);
  }
  void disable() {
    std::lock_guard lock(mutex_);
    to(breaker_state::disabled);
  }
  void reset() {
    std::lock_guard lock(mutex_);
    to(breaker_state::closed);
  }

  // The failure and slow-call rates (percent) of the current window (of the trial calls
  // when half-open), or -1 while it holds fewer than minimum_calls calls (none, half-open).
  double failure_rate() const {
    std::lock_guard lock(mutex_);
    return rate(&totals::failed);
  }
  double slow_call_rate() const {
    std::lock_guard lock(mutex_);
    return rate(&totals::slow);
  }

 private:
  struct totals {
    std::size_t calls = 0, failed = 0, slow = 0;
  };
  struct bucket {  // one call (count-based) or one second (time-based)
    std::int64_t second = -1;
    totals t;
  };

  void record(bool failed, std::chrono::nanoseconds elapsed) {
    std::lock_guard lock(mutex_);
    const bool slow = elapsed >= options_->slow_call_duration;
    switch (state_) {
      case breaker_state::closed:
        add(failed, slow);
        if (tripped(window_totals())) to(breaker_state::open);
        return;
      case breaker_state::half_open:
        trial_.calls += 1;
        trial_.failed += failed;
        trial_.slow += slow;
        if (trial_.calls >= options_->permitted_calls_in_half_open)
          to(over_threshold(trial_) ? breaker_state::open : breaker_state::closed);
        return;
      default: return;  // open, forced open, disabled: a late outcome changes nothing
    }
  }

  void add(bool failed, bool slow) {
    bucket* b;
    if (options_->window == breaker_options::window_type::count_based) {
      b = &window_[next_];
      next_ = (next_ + 1) % window_.size();
      sum_.calls -= b->t.calls;
      sum_.failed -= b->t.failed;
      sum_.slow -= b->t.slow;
      b->t = {};
      sum_.calls += 1;
      sum_.failed += failed;
      sum_.slow += slow;
    } else {
      const std::int64_t now = seconds_now();
      b = &window_[static_cast<std::size_t>(now) % window_.size()];
      if (b->second != now) *b = {now, {}};
    }
    b->t.calls += 1;
    b->t.failed += failed;
    b->t.slow += slow;
  }

  // The calls in the window: count-based, a running sum; time-based, the buckets of the
  // last window_size seconds (older ones are stale, and overwritten when reused).
  totals window_totals() const {
    if (options_->window == breaker_options::window_type::count_based) return sum_;
    const std::int64_t oldest = seconds_now() - static_cast<std::int64_t>(window_.size()) + 1;
    totals t;
    for (bucket const& b : window_)
      if (b.second >= oldest) {
        t.calls += b.t.calls;
        t.failed += b.t.failed;
        t.slow += b.t.slow;
      }
    return t;
  }

  static std::int64_t seconds_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count();
  }

  std::size_t minimum() const {
    return options_->window == breaker_options::window_type::count_based
               ? std::min(options_->minimum_calls, options_->window_size)
               : options_->minimum_calls;
  }

  bool tripped(totals const& t) const { return t.calls >= minimum() && over_threshold(t); }

  bool over_threshold(totals const& t) const {
    const double n = static_cast<double>(t.calls);
    return 100.0 * static_cast<double>(t.failed) >= options_->failure_rate_threshold * n ||
           100.0 * static_cast<double>(t.slow) >= options_->slow_call_rate_threshold * n;
  }

  double rate(std::size_t totals::*field) const {
    const totals t = state_ == breaker_state::half_open ? trial_ : window_totals();
    if (state_ == breaker_state::half_open ? t.calls == 0 : t.calls < minimum()) return -1;
    return 100.0 * static_cast<double>(t.*field) / static_cast<double>(t.calls);
  }

  // Every transition starts its state afresh: a new window when closing, the trial
  // permits when half-opening, the time when opening.
  void to(breaker_state next) {
    const breaker_state from = state_;
    state_ = next;
    switch (next) {
      case breaker_state::closed:
        std::fill(window_.begin(), window_.end(), bucket{});
        sum_ = {};
        next_ = 0;
        break;
      case breaker_state::open: opened_at_ = Clock::now(); break;
      case breaker_state::half_open:
        half_open_permits_ = options_->permitted_calls_in_half_open;
        trial_ = {};
        break;
      default: break;
    }
    if (from != next && options_->on_transition) options_->on_transition(key_, from, next);
  }

  mutable std::mutex mutex_;
  breaker_options const* options_;
  breaker_key key_;
  breaker_state state_ = breaker_state::closed;
  std::vector<bucket> window_;
  std::size_t next_ = 0;  // count-based: the slot the next call overwrites
  totals sum_;            // count-based: of the window
  totals trial_;          // of the half-open calls
  std::size_t half_open_permits_ = 0;
  typename Clock::time_point opened_at_{};
};

// The breakers of a set of shards (and their replicas), all with the same options,
// created on first use. Yours: share it between pipelines, keep it alive while they run.
// at() takes a shared lock (and, the first time for a key, an exclusive one).
template <class Clock = std::chrono::steady_clock>
class breaker_registry {
 public:
  using clock_type = Clock;

  breaker_registry() : breaker_registry(breaker_options{}) {}
  // Throws std::invalid_argument for an option out of range.
  explicit breaker_registry(breaker_options options) : options_(std::move(options)) { options_.validate(); }

  breaker_registry(breaker_registry const&) = delete;
  breaker_registry& operator=(breaker_registry const&) = delete;

  // The breaker of `key`, created closed on first use. The reference stays valid for the
  // registry's lifetime.
  circuit_breaker<Clock>& at(breaker_key key) {
    return breakers_.get(key, [&] { return std::make_unique<circuit_breaker<Clock>>(options_, key); });
  }
  circuit_breaker<Clock>& at(std::size_t shard, std::size_t replica = 0) { return at(breaker_key{shard, replica}); }

  // The state of `key`'s breaker (closed when it has never been used).
  breaker_state state(std::size_t shard, std::size_t replica = 0) const {
    auto const* b = breakers_.find(breaker_key{shard, replica});
    return b == nullptr ? breaker_state::closed : b->state();
  }

  breaker_options const& options() const noexcept { return options_; }

 private:
  breaker_options options_;
  detail::stable_map<breaker_key, circuit_breaker<Clock>> breakers_;
};

struct breaker_tag {
  static constexpr bool async_only = true;
};
namespace detail {
template <>
inline constexpr bool engine_kind<breaker_tag> = true;
}  // namespace detail

// The policy: every attempt first asks the breaker of its shard (and replica); refused,
// it fails at once with sg::errc::circuit_open (not retryable by default). Outcomes feed
// the breaker: successes and failures with the attempt's duration; cancellations
// (the gather's, a lost hedge, the gather's deadline) are not recorded.
template <class Clock = std::chrono::steady_clock>
struct breaker {
  using policy_tag = breaker_tag;
  using clock_type = Clock;

  breaker_registry<Clock>* registry;

  explicit breaker(breaker_registry<Clock>& r) noexcept : registry(&r) {}
};

}  // namespace sg
