// sg/policy/timeout.hpp — sg::timeout: a time limit on each attempt, as an attempt layer.
//
//   auto pipe = sg::scatter(shards)
//             | sg::with(sg::timeout{50ms}, sg::retry{...})   // each attempt: 50 ms
//             | sg::on(io.get_executor())
//             | sg::gather(sg::merge::concat());
//
// Each attempt on a shard (the first, a retry, a hedge) must complete within `after` of
// its start. When it does not, the attempt is cancelled and fails with sg::errc::timeout,
// "the attempt's timeout passed"; the retry policy, the breaker and the completion rule
// then see it as they see any failure, and the observer gets events::timeout. An async
// shard is cancelled through its cancellation slot; a sync shard cannot be interrupted:
// one not started yet is skipped, one running is waited for and its late answer turned
// into the timeout. The attempt completes only after the shard's call has.
//
// sg::timeout is an attempt layer (sg/policy/layer.hpp) written to the same protocol as a
// user's: it binds a cancellation slot of its own to the handler it gives `next`, forwards
// the attempt's cancellation to it, and cancels below when its timer fires. Its place is
// fixed: inside the breaker, outside the user's layers, so a layer's time (a queue) counts.
// The timer type is a template parameter (any Asio-style waitable timer), so tests run on
// a virtual clock. pipe.async only; the synchronous pipe(request) rejects it at compile
// time. Examples: tests/policy/time.cpp, docs/resilience.md ("Time limits").
#pragma once

#include <sg/error.hpp>
#include <sg/policy/layer.hpp>
#include <sg/policy/observe.hpp>
#include <sg/policy/policy.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <system_error>
#include <utility>

namespace sg {

// The kind of a per-attempt time limit. async_only: pipe(request) cannot enforce it.
struct timeout_tag {
  static constexpr bool async_only = true;
};
namespace detail {
template <>
inline constexpr bool engine_kind<timeout_tag> = true;

// One attempt under a timeout: the timer, the signal that cancels what is below, and how
// the attempt completes. Shared by the timer's handler and the call's; on the strand only.
template <class Timer, class Done>
struct timeout_op {
  template <class Executor>
  timeout_op(Executor const& ex, Done d) : timer(ex), done(std::move(d)) {}

  Timer timer;
  boost::asio::cancellation_signal below;
  Done done;
  bool timed_out = false;  // the timer fired first: the attempt's failure is the timeout
  bool finished = false;   // the call completed: the timer no longer matters
};
}  // namespace detail

// Each attempt on a shard must complete within `after` of its start.
template <class Timer = boost::asio::steady_timer>
struct timeout {
  using policy_tag = timeout_tag;
  using timer_type = Timer;
  typename Timer::duration after;

  // Throws std::invalid_argument unless `after` is positive.
  void validate() const { detail::check_positive(after, "sg::timeout"); }

  // The layer: starts the timer, then the rest of the attempt with a cancellation slot of
  // its own; the attempt's own cancellation (the deadline, a hedge that won) is forwarded.
  template <class Ctx, class Req, class Next, class Done>
  void operator()(Ctx const& ctx, Req const& request, Next next, Done done) const {
    auto op = std::make_shared<detail::timeout_op<Timer, Done>>(ctx.executor(), std::move(done));
    // Weakly: the handler lives in the slot of the layer above, which may outlive this
    // attempt, and op owns `done`, which may own that layer: a strong capture is a cycle.
    if (auto above = ctx.cancellation_slot(); above.is_connected())
      above.assign([weak = std::weak_ptr(op)](boost::asio::cancellation_type type) {
        if (auto alive = weak.lock()) alive->below.emit(type);
      });
    op->timer.expires_after(after);
    op->timer.async_wait([op, ctx](std::error_code ec) {
      if (ec || op->finished) return;  // cancelled: the call completed first
      op->timed_out = true;
      ctx.emit(events::timeout{ctx.shard(), ctx.replica(), ctx.attempt()});
      op->below.emit(boost::asio::cancellation_type::terminal);
    });
    next(request, boost::asio::bind_cancellation_slot(op->below.slot(), [op](auto&& result) {
           op->finished = true;
           op->timer.cancel();
           if (op->timed_out)  // a cancelled call, or a sync shard's late answer
             std::move(op->done)(attempt_error{make_error_code(errc::timeout), "the attempt's timeout passed"});
           else
             std::move(op->done)(std::forward<decltype(result)>(result));
         }));
  }
};

}  // namespace sg
