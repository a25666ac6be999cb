// sg/policy/observe.hpp — sg::observe: what an asynchronous gather does, as events sent to
// an observer of yours.
//
//   struct my_log {
//     void on(sg::events::attempt_end const& e) { ... }   // any subset of the events
//     void on(sg::events::breaker_transition const& e) { ... }
//   };
//   my_log log;                                          // yours; outlives the pipelines
//   auto pipe = sg::scatter(shards) | sg::with(sg::retry{}, sg::observe{&log}) |
//               sg::on(io.get_executor()) | sg::gather(merge);
//
// The observer is any type with on(E const&) for one or more of the event types below;
// sg calls, for each event, the overload that takes it, and sends nothing else (checked at
// compile time: an observer that takes none of them is an error in words). Without
// sg::observe a pipeline compiles to what it was: no call, no clock read, no branch.
// Events of one gather are delivered one at a time, on its strand, in the order they
// happen; gathers running at once call the observer concurrently, so an observer shared by
// them must be thread-safe. An observer must not throw, and should be quick: it runs inside
// the gather. Applies to pipe.async. Example: examples/observe_json.cpp; tests/policy/observe.cpp;
// docs/observability.md.
#pragma once

#include <sg/gathered.hpp>
#include <sg/policy/circuit_breaker.hpp>
#include <sg/policy/policy.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>

namespace sg {

namespace events {

// Why an attempt started: events::attempt_kind, in sg/policy/policy.hpp (attempt layers see it too).
// How an attempt ended.
enum class attempt_outcome : unsigned char {
  answered,   // its answer is the shard's (or would have been, had another not won first)
  failed,     // the shard failed
  timed_out,  // sg::timeout cancelled it
  deadline,   // the gather's sg::deadline passed
  cancelled,  // the gather was cancelled
  lost,       // another attempt of the shard finished first (a hedge race), so it was stopped
};

constexpr char const* to_string(attempt_outcome o) noexcept {
  switch (o) {
    case attempt_outcome::answered: return "answered";
    case attempt_outcome::failed: return "failed";
    case attempt_outcome::timed_out: return "timed-out";
    case attempt_outcome::deadline: return "deadline";
    case attempt_outcome::cancelled: return "cancelled";
    case attempt_outcome::lost: return "lost";
  }
  return "?";
}

// Shards are named by their index in the pipeline's shard set; replicas by their index in
// the shard's replica set (0 for a shard without replicas); attempts are numbered from 1
// per shard per gather, hedges included.

// An attempt is sent to a shard (or a replica).
struct attempt_start {
  std::size_t shard;
  std::size_t replica;
  unsigned attempt;
  attempt_kind kind;
};

// An attempt ended. `elapsed` is from its start; `rows` is the answer's size when the
// shard answered with a sized range.
struct attempt_end {
  std::size_t shard;
  std::size_t replica;
  unsigned attempt;
  attempt_outcome outcome;
  std::chrono::nanoseconds elapsed;
  std::error_code error;         // set unless answered
  std::string_view what;         // the failure's words (valid during the call)
  std::optional<std::size_t> rows;
};

// A shard's attempts all failed and another starts after `wait` (sg::retry).
struct retry {
  std::size_t shard;
  unsigned next_attempt;
  std::chrono::nanoseconds wait;
  std::error_code after;  // the failure being retried
};

// A shard was slow: another attempt starts while the first still runs (sg::hedge). Its
// attempt_start follows.
struct hedge {
  std::size_t shard;
  unsigned attempt;
};

// A time limit passed: an attempt's sg::timeout (shard, replica and attempt set), or the
// gather's sg::deadline (`shard` empty).
struct timeout {
  std::optional<std::size_t> shard;
  std::size_t replica;
  unsigned attempt;
};

// A circuit breaker changed state during an attempt of this gather (sg::breaker).
struct breaker_transition {
  breaker_key key;
  breaker_state from;
  breaker_state to;
};

// The gather completed: what its handler receives, and how long it took from its start.
struct gather_end {
  sg::completeness completeness;
  std::error_code error;
  std::chrono::nanoseconds elapsed;
};

}  // namespace events

struct observe_tag {
  static constexpr bool async_only = true;
};
namespace detail {
template <>
inline constexpr bool engine_kind<observe_tag> = true;
}  // namespace detail

namespace detail {
template <class O>
concept observes_any = requires(O& o) { o.on(std::declval<events::attempt_start const&>()); } ||
                       requires(O& o) { o.on(std::declval<events::attempt_end const&>()); } ||
                       requires(O& o) { o.on(std::declval<events::retry const&>()); } ||
                       requires(O& o) { o.on(std::declval<events::hedge const&>()); } ||
                       requires(O& o) { o.on(std::declval<events::timeout const&>()); } ||
                       requires(O& o) { o.on(std::declval<events::breaker_transition const&>()); } ||
                       requires(O& o) { o.on(std::declval<events::gather_end const&>()); };
}  // namespace detail

// The policy: events of every pipe.async of the pipeline go to *observer (yours; it must
// outlive the pipeline's operations).
template <class Observer>
struct observe {
  static_assert(detail::observes_any<Observer>,
                "sg::observe: the observer has no on(e) for any sg::events type (attempt_start, attempt_end, "
                "retry, hedge, timeout, breaker_transition, gather_end)");
  using policy_tag = observe_tag;
  Observer* observer;

  // Sends `e` to the observer if it takes events of that type.
  template <class E>
  void operator()(E const& e) const {
    if constexpr (requires { observer->on(e); }) observer->on(e);
  }
  // Whether the observer takes events of type E (what sg need not compute otherwise).
  template <class E>
  static constexpr bool wants = requires(Observer& o, E const& e) { o.on(e); };
};

template <class Observer>
observe(Observer*) -> observe<Observer>;

}  // namespace sg
