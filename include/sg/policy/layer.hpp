// sg/policy/layer.hpp — attempt layers: a policy of your own around every attempt on a shard.
//
//   struct tag_tenant {                          // a layer: decorates each request
//     using policy_tag = sg::layer_tag;
//     std::string tenant;
//     template <class Ctx, class Req, class Next, class Done>
//     void operator()(Ctx const& ctx, Req const& req, Next next, Done done) const {
//       Req copy = req;
//       copy.tenant = tenant;
//       next(copy, std::move(done));             // the rest of the stack, then the shard
//     }
//   };
//   auto pipe = sg::scatter(shards) | sg::with(sg::timeout{50ms}, tag_tenant{"acme"}) |
//               sg::on(io.get_executor()) | sg::gather(merge);
//
// A layer is a policy whose policy_tag is sg::layer_tag and that is callable as
// `layer(ctx, request, next, done)` for every attempt of every shard (retries and hedges
// included). It either calls `next(request', handler)` once, which runs the layers after it
// and then the shard with request' (the same type as the request; a copy is kept only when
// it is not `request` itself) and later calls `handler(result)` with the attempt's
// sg::attempt_result<R>; or it completes the attempt itself with `done(result)` or
// `done(sg::attempt_error{code, "words"})`. Either way `done` is called exactly once.
// A layer that forwards whatever it is given (`[done](auto&& r) mutable {
// std::move(done)(std::forward<decltype(r)>(r)); }`) needs to know nothing of R.
//
// Where layers sit: deadline ▸ retry ▸ hedge ▸ replica choice ▸ breaker ▸ timeout ▸ your
// layers, in the order given to sg::with (the first outermost) ▸ the call. So an attempt's
// timeout covers the time a layer holds it, a layer's failure is the attempt's failure
// (the breaker, the retry policy and the observer see it as they would a shard's), and a
// retry or a hedge passes through the layers again.
//
// Threads and cancellation: the layer, `next` and the handler given to `next` run on the
// gather's strand (ctx.executor()); `done` may be called from any thread (it is posted to
// the strand, so it never completes the attempt inside the call). When the attempt is
// to stop (its timeout, the deadline, the gather's cancellation, a hedge that won)
// ctx.cancellation_slot() is emitted: a layer that holds an attempt (a queue, a wait)
// installs a handler there and completes promptly with `done`. Cancelling what is below:
// as in Asio, a layer may bind a cancellation slot of its own to the handler it gives
// `next` (asio::bind_cancellation_slot(signal.slot(), handler)); the layers below and the
// shard then get that slot, and the layer forwards its own ctx.cancellation_slot() to its
// signal if it wants cancellation from above to pass (sg::timeout does both,
// sg/policy/timeout.hpp) — capturing its state weakly there: the slot belongs to the layer
// above and outlives the attempt, and a strong capture of state that owns `done` is a
// reference cycle (a leak). A handler without a slot passes the layer's slot down: the
// innermost slot is cleared and given to the shard, so a layer that only held the attempt
// gives up its handler there. ctx.emit(event) gives an event to the gather's observer and
// statistics (sg::observe, sg::collect_stats), which take the event types they know. A
// second call of `done`, or of the shard's handler, is ignored. A layer must not throw
// once it has called `next` (before that, an exception fails the attempt).
// Layers apply to pipe.async only. Examples: examples/layers/bulkhead.hpp (a per-shard
// concurrency limit that queues attempts), examples/layers/decorate.hpp; the program
// examples/user_layers.cpp; tests/policy/layer.cpp; docs/resilience.md ("Your own layers").
#pragma once

#include <sg/error.hpp>
#include <sg/policy/policy.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/strand.hpp>

#include <cstddef>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace sg {

// What one attempt ended with: the shard's answer, or a failure. Given to the handler a
// layer passes to `next`, and to `done`.
template <class R>
class attempt_result {
 public:
  using value_type = R;

  attempt_result(R value) : v_(std::in_place_index<0>, std::move(value)) {}
  attempt_result(attempt_error failure) : v_(std::in_place_index<1>, std::move(failure)) {}

  // Whether the attempt answered.
  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  // The answer (only when has_value()).
  R& value() & noexcept { return *std::get_if<0>(&v_); }
  R const& value() const& noexcept { return *std::get_if<0>(&v_); }
  R&& value() && noexcept { return std::move(*std::get_if<0>(&v_)); }

  // The failure (only when !has_value()): its code and words.
  attempt_error const& error() const& noexcept { return *std::get_if<1>(&v_); }
  attempt_error&& error() && noexcept { return std::move(*std::get_if<1>(&v_)); }

 private:
  std::variant<R, attempt_error> v_;
};

namespace detail {
// What a context does with ctx.emit(event) when no gather listens (the layer check's stand-in).
struct no_events {
  template <class E>
  void operator()(E const&) const noexcept {}
};
}  // namespace detail

// What a layer knows of the attempt it wraps, and where it runs. Executor is the gather's
// strand; Events forwards ctx.emit(event) to the gather. Cheap to copy; valid until the
// attempt completes.
template <class Executor, class Events = detail::no_events>
class attempt_context {
 public:
  using executor_type = Executor;

  attempt_context(std::size_t shard, std::size_t replica, unsigned attempt, events::attempt_kind kind,
                  Executor executor, boost::asio::cancellation_slot slot, Events events = {}) noexcept
      : shard_(shard),
        replica_(replica),
        attempt_(attempt),
        kind_(kind),
        executor_(std::move(executor)),
        slot_(slot),
        events_(std::move(events)) {}

  // The shard's index in the pipeline's shard set.
  std::size_t shard() const noexcept { return shard_; }
  // The replica's index in the shard's replica set (0 for a shard without replicas).
  std::size_t replica() const noexcept { return replica_; }
  // The attempt's number within its shard in this gather, from 1 (hedges included).
  unsigned attempt() const noexcept { return attempt_; }
  // A first attempt, a retry or a hedge.
  events::attempt_kind kind() const noexcept { return kind_; }
  // The gather's strand: everything of one gather runs on it.
  Executor const& executor() const noexcept { return executor_; }
  // Emitted when the attempt is to stop (see the top of this file).
  boost::asio::cancellation_slot cancellation_slot() const noexcept { return slot_; }
  // Gives `e` to the gather's observer and statistics, if they take events of its type
  // (sg::events, or a type of the layer's own that the user's observer has an on() for).
  template <class E>
  void emit(E const& e) const {
    events_(e);
  }

 private:
  std::size_t shard_;
  std::size_t replica_;
  unsigned attempt_;
  events::attempt_kind kind_;
  Executor executor_;
  boost::asio::cancellation_slot slot_;
  [[no_unique_address]] Events events_;
};

// L is an attempt layer: a policy of kind sg::layer_tag. (Whether it can be called as
// layer(ctx, request, next, done) is checked by pipe.async, which knows the request.)
template <class L>
concept attempt_layer = policy<L> && std::is_same_v<typename L::policy_tag, layer_tag>;

namespace detail {

// Stand-ins for what pipe.async gives a layer, to check that it can be called at all.
using any_strand = boost::asio::strand<boost::asio::any_io_executor>;
template <class R>
struct archetype_handler {
  void operator()(attempt_result<R>) const {}
  void operator()(attempt_error) const {}
};
template <class Req, class R>
struct archetype_next {
  template <class H>
  void operator()(Req const&, H&&) const {}
};

template <class L, class Req, class R>
concept layer_callable = requires(L const& l, attempt_context<any_strand> const& ctx, Req const& req) {
  l(ctx, req, archetype_next<Req, R>{}, archetype_handler<R>{});
};

}  // namespace detail
}  // namespace sg
