// sg/exec/async.hpp — the asynchronous gather behind pipe.async(request, token). Private
// to sg; the public face is in sg/pipeline.hpp:
//
//   pipe.async(request, [](std::error_code ec, sg::gathered<R> g) { ... });   // callback
//   auto g = co_await pipe.async(request, asio::use_awaitable);               // coroutine
//   std::future<sg::gathered<R>> f = pipe.async(request, asio::use_future);
//
// An Asio asynchronous operation (async_initiate) with completion signature
// void(std::error_code, sg::gathered<R>). The handler runs on its associated executor,
// by default the pipeline's (sg::on(io.get_executor())) when that is an Asio executor,
// else the system executor. Async shards (s.async_execute(req, token)) are started
// directly; sync shards run on the pipeline's executor (sg::on), or, without one, are
// posted to the handler's executor. Each answer is fed to the
// merge's accumulator when it arrives, on a strand, so the merge runs on one thread at a
// time. The operation completes only after every child operation has completed (children
// first): cancelling it (the handler's cancellation slot) emits the same cancellation to
// every outstanding child and skips sync shards not yet started, and they are recorded
// as failures with sg::errc::cancelled. The pipeline's policies (sg::deadline,
// sg::timeout, sg::retry, sg::hedge, sg::breaker, sg::partial) act on each shard's
// attempts; a replica set (sg::replicas) has each attempt's replica chosen here, so that
// retries and hedges go elsewhere (docs/resilience.md, "Order of application").
// The request is copied into the operation; the
// pipeline and its shards must outlive it (as an Asio I/O object outlives its operations).
// Example: tests/exec/async.cpp, docs/concepts.md.
#pragma once

#include <sg/detail/plan_text.hpp>
#include <sg/error.hpp>
#include <sg/exec/on.hpp>
#include <sg/exec/completion_executor.hpp>
#include <sg/exec/scatter.hpp>
#include <sg/gathered.hpp>
#include <sg/merge/protocol.hpp>
#include <sg/pipeline.hpp>
#include <sg/policy/budget.hpp>
#include <sg/policy/circuit_breaker.hpp>
#include <sg/policy/hedge.hpp>
#include <sg/policy/layer.hpp>
#include <sg/policy/observe.hpp>
#include <sg/policy/partial.hpp>
#include <sg/policy/policy.hpp>
#include <sg/policy/retry.hpp>
#include <sg/policy/stats.hpp>
#include <sg/policy/time.hpp>
#include <sg/replicas.hpp>
#include <sg/route.hpp>
#include <sg/shard.hpp>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace sg {

namespace detail {

// What an attempt calls: the shard, or for a replica set, one of its replicas.
template <class S>
struct attempt_target {
  using type = S;
};
template <class S>
  requires is_replica_set<std::remove_const_t<S>>
struct attempt_target<S> {
  using type = std::remove_reference_t<decltype(std::declval<S&>()[0])>;
};

// The answer a shard gives to Req, asynchronously if it can, else synchronously.
template <class S, class Req>
struct direct_response {};
template <class S, class Req>
  requires async_shard_for<S, Req>
struct direct_response<S, Req> {
  using type = async_response_t<S, Req>;
};
template <class S, class Req>
  requires(!async_shard_for<S, Req> && shard_for<S, Req>)
struct direct_response<S, Req> {
  using type = response_t<S, Req>;
};
template <class S, class Req>
struct any_response : direct_response<typename attempt_target<S>::type, Req> {};

// Whether every attempt on S can be cancelled (an async shard, or replicas that are).
template <class S, class Req>
inline constexpr bool cancellable_shard = async_shard_for<typename attempt_target<S>::type, Req>;

template <class S, class Req>
concept any_shard_for = requires { typename any_response<S, Req>::type; };

template <class Set, class Req, class Seq = tuple_indices<Set>>
struct tuple_any_response {};
template <class Set, class Req, std::size_t... I>
  requires requires { typename std::common_type<typename any_response<tuple_shard_t<Set, I>, Req>::type...>::type; }
struct tuple_any_response<Set, Req, std::index_sequence<I...>> {
  using type = std::common_type_t<typename any_response<tuple_shard_t<Set, I>, Req>::type...>;
};

}  // namespace detail

// The common answer type of a shard set whose shards may be async or sync.
template <class Set, class Req>
struct async_set_response {};
template <class Set, class Req>
  requires detail::shard_range<Set> &&
           detail::any_shard_for<std::remove_reference_t<std::ranges::range_reference_t<Set>>, Req>
struct async_set_response<Set, Req> {
  using type = typename detail::any_response<std::remove_reference_t<std::ranges::range_reference_t<Set>>, Req>::type;
};
template <class Set, class Req>
  requires detail::shard_tuple<Set>
struct async_set_response<Set, Req> : detail::tuple_any_response<Set, Req> {};

template <class Set, class Req>
using async_set_response_t = typename async_set_response<Set, Req>::type;

namespace detail {

// What the pipeline asks of a set for pipe.async: its answer type (when every shard
// answers), and whether its shards are objects that stay put (not a view's prvalues).
template <class Set, class Req>
struct async_response_of_set : async_set_response<Set, Req> {
  static constexpr bool stable_shards = [] {
    if constexpr (shard_range<Set>)
      return std::is_lvalue_reference_v<std::ranges::range_reference_t<Set>>;
    else
      return true;
  }();
};

// What pipe.async checks of its policies, each reported with a sentence by the pipeline:
// one clock for every policy that keeps time, and cancellable shards under sg::hedge.
template <class Set, class Req, class Seq = tuple_indices<Set>>
struct all_cancellable_tuple : std::false_type {};
template <class Set, class Req, std::size_t... I>
struct all_cancellable_tuple<Set, Req, std::index_sequence<I...>>
    : std::bool_constant<(true && ... && cancellable_shard<tuple_shard_t<Set, I>, Req>)> {};

template <class Set, class Req>
constexpr bool all_cancellable() {
  if constexpr (shard_range<Set>)
    return cancellable_shard<std::remove_reference_t<std::ranges::range_reference_t<Set>>, Req>;
  else
    return all_cancellable_tuple<Set, Req>::value;
}

template <class Policies, class Set, class Req>
struct async_policy_checks;
template <class... Ps, class Set, class Req>
struct async_policy_checks<std::tuple<Ps...>, Set, Req> {
  static constexpr bool same_clock = one_clock<Ps...>;
  static constexpr bool hedge_ok =
      !present<decltype(policy_of<hedge_tag>(std::declval<std::tuple<Ps...> const&>()))> || all_cancellable<Set, Req>();
  template <class P>
  static constexpr bool layer_ok() {
    if constexpr (attempt_layer<P>)
      return layer_callable<P, Req, typename async_set_response<Set, Req>::type>;
    else
      return true;
  }
  static constexpr bool layers_ok = (true && ... && layer_ok<Ps>());
};

// Why an attempt was stopped before it answered: its own timeout, the gather's deadline,
// the gather's cancellation, or another attempt of the same shard won (a hedge).
// gave_up: the completion rule could no longer be met (sg::partial's fail_fast);
// unneeded: the merge settled without this shard (a LIMIT without ORDER BY).
enum class stop_reason : unsigned char { none, timeout, deadline, cancelled, lost, gave_up, unneeded };
using events::attempt_kind;

// The user's attempt layers among a pipeline's policies, in the order given.
template <class... Ps>
auto user_layers_of(std::tuple<Ps...> const& policies) {
  return std::apply(
      [](auto const&... p) {
        return std::tuple_cat([](auto const& one) {
          if constexpr (attempt_layer<std::remove_cvref_t<decltype(one)>>)
            return std::tuple<std::remove_cvref_t<decltype(one)>>(one);
          else
            return std::tuple<>();
        }(p)...);
      },
      policies);
}

// The attempt layers among a pipeline's policies: sg::timeout first (it sits outside the
// user's layers), then the user's in the order given (a std::tuple).
template <class... Ps>
auto layers_of(std::tuple<Ps...> const& policies) {
  auto timeout_layer = [&] {
    auto t = policy_of<timeout_tag>(policies);
    if constexpr (present<decltype(t)>)
      return std::tuple<decltype(t)>(t);
    else
      return std::tuple<>();
  }();
  return std::tuple_cat(std::move(timeout_layer), user_layers_of(policies));
}

// The policies one gather applies (detail::no_policy for each it does not have).
template <class Deadline, class Timeout, class Retry, class Hedge, class Breaker, class Observe, class Stats,
          class Layers>
struct gather_policies {
  Deadline deadline;
  Timeout timeout;
  Retry retry;
  Hedge hedge;
  Breaker breaker;
  partial rule;
  Observe observe;
  Stats stats;
  Layers layers;  // a std::tuple of attempt layers, outermost first
  using clock = gather_clock_t<Deadline, Timeout, Retry, Hedge, Breaker>;
  static constexpr std::size_t layer_count = std::tuple_size_v<Layers>;
};

template <class R, class State, class Pipeline>
void launch_attempt(std::shared_ptr<State> const& state, std::size_t j, attempt_kind kind, Pipeline const& pipe);

// Calls f(shard) with the shard of child j (targets[j] of the set): directly in a
// random-access range, by a walk otherwise (a tuple's walk is unrolled at compile time).
template <class Set, class F>
void with_target(Set& set, targets const& t, std::size_t j, F&& f) {
  if constexpr (shard_range<Set> && std::ranges::random_access_range<Set>) {
    f(std::ranges::begin(set)[static_cast<std::ranges::range_difference_t<Set>>(t[j])]);
  } else {
    std::size_t k = 0;
    for_each_target(set, t, [&](std::size_t, auto& shard) {
      if (k++ == j) f(shard);
    });
  }
}

// The state of one asynchronous gather, shared by every child completion handler and
// timer. Everything but `started_` (sync tasks claim their shard from other threads) is
// touched on the gather's strand only: the children are started there too.
//
// Children: every shard attempt (a slot: its cancellation signal, its timeout timer, the
// replica it went to) and every timer (deadline, retry waits, hedge delays) is counted in
// pending_; the gather completes when the last one has completed.
template <class R, class Acc, class Req, class Handler, class DefaultEx, class Pols, class Pipeline>
class async_gather_state
    : public std::enable_shared_from_this<async_gather_state<R, Acc, Req, Handler, DefaultEx, Pols, Pipeline>> {
  using Deadline = decltype(Pols::deadline);
  using Timeout = decltype(Pols::timeout);
  using Retry = decltype(Pols::retry);
  using Hedge = decltype(Pols::hedge);
  using Breaker = decltype(Pols::breaker);
  using Observe = decltype(Pols::observe);
  static constexpr bool collecting = present<decltype(Pols::stats)>;

  template <class Policy>
  struct timer_of {
    using type = typename Policy::timer_type;
  };
  template <class Policy>
  using timer_t = typename std::conditional_t<present<Policy>, timer_of<Policy>,
                                              std::type_identity<boost::asio::steady_timer>>::type;

 public:
  using clock = typename Pols::clock;
  using handler_executor = boost::asio::associated_executor_t<Handler, DefaultEx>;
  using result_type = gathered<std::remove_cvref_t<decltype(std::declval<Acc&&>().finish())>>;
  using strand_type = boost::asio::strand<handler_executor>;
  using request_type = Req;
  static constexpr bool layered = Pols::layer_count != 0;
  static constexpr std::size_t refused_attempt = static_cast<std::size_t>(-1);

  // Whether the pipeline's observer (sg::observe) or its statistics (sg::collect_stats)
  // take events of type E; without either, nothing about events is computed.
  template <class E>
  static constexpr bool observer_wants() {
    if constexpr (present<Observe>)
      return Observe::template wants<E>;
    else
      return false;
  }
  template <class E>
  static constexpr bool wants() {
    return observer_wants<E>() || (collecting && stats_builder<clock>::template wants<E>);
  }
  template <class E>
  void emit(E const& e) const {
    if constexpr (observer_wants<E>()) pols_.observe(e);
    if constexpr (collecting && stats_builder<clock>::template wants<E>) stats_.on(e);
  }

  template <class Merge>
  async_gather_state(Pipeline const& pipe, Merge const& merge, Req request, Handler handler, DefaultEx const& fallback,
                     targets const& t, Pols policies)
      : pipe_(&pipe),
        request_(std::move(request)),
        handler_(std::move(handler)),
        work_(boost::asio::get_associated_executor(handler_, fallback)),
        strand_(boost::asio::make_strand(work_.get_executor())),
        sink_(merge_for_request(merge, request_)),
        targets_(t),
        pols_(std::move(policies)),
        per_child_(1 + extra_slots()),
        children_(t.count()),
        slots_(new attempt_slot[t.count() * per_child_]),
        shards_outstanding_(t.count()),
        started_(new std::atomic<bool>[t.count()] {}) {
    if constexpr (present<Retry>) {
      retries_.reset(new retry_slot[t.count()]);
      rng_.seed(pols_.retry.seed != 0 ? pols_.retry.seed
                                      : (std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}());
    }
    if constexpr (present<Hedge>) hedge_timers_.reset(new std::optional<timer_t<Hedge>>[t.count()]);
    if constexpr (collecting && plan_text<Merge>::available)
      stats_.set_plan(plan_text<Merge>::of(merge_for_request(merge, request_)));
  }

  Pipeline const& pipeline() const noexcept { return *pipe_; }
  Pols const& policies() const noexcept { return pols_; }

  Req const& request() const noexcept { return request_; }
  auto const& strand() const noexcept { return strand_; }
  handler_executor executor() const { return work_.get_executor(); }
  targets const& target_list() const noexcept { return targets_; }

  // Whether attempt s of child j is still the attempt `id` and has not completed: a
  // completion that fails this test (a shard or a layer completing twice) is ignored.
  bool current(std::size_t j, std::size_t s, std::uint64_t id) noexcept {
    attempt_slot const& a = slot(j, s);
    return a.live && a.id == id;
  }
  std::uint64_t id_of(std::size_t j, std::size_t s) noexcept { return slot(j, s).id; }
  // Below the layers: true for the first completion of the call of attempt `id` only.
  bool first_inner_completion(std::size_t j, std::size_t s, std::uint64_t id) noexcept {
    attempt_slot& a = slot(j, s);
    if (!a.live || a.id != id || a.called_back) return false;
    a.called_back = true;
    return true;
  }
  // Where a layer's ctx.emit(event) goes: the observer and statistics. An events::timeout
  // from a layer (sg::timeout's) also marks the attempt as stopped by its timeout, so that
  // its failure is the shard's own (the breaker counts it) however it arrives.
  struct attempt_events {
    async_gather_state* state;
    std::size_t j, s;
    std::uint64_t id;
    template <class E>
    void operator()(E const& e) const {
      if constexpr (std::is_same_v<E, events::timeout>) {
        attempt_slot& a = state->slot(j, s);
        if (a.live && a.id == id && (a.stop == stop_reason::none || a.stop == stop_reason::lost))
          a.stop = stop_reason::timeout;
      }
      state->emit(e);
    }
  };
  using context_type = attempt_context<strand_type, attempt_events>;
  // The context of attempt s of child j for a layer whose cancellation slot is `slot`.
  context_type context(std::size_t j, std::size_t s, attempt_kind kind, boost::asio::cancellation_slot stop) {
    attempt_slot& a = slot(j, s);
    return context_type(targets_[j], a.replica, a.number, kind, strand_, stop, attempt_events{this, j, s, a.id});
  }
  // The request layer `level` (or, at layer_count, the call) is given: `r` itself when it is
  // the request the level above was given (a layer that passes its own on), else a copy
  // kept in the attempt until it completes, so that a layer may hold its request, and a
  // sync shard read it later on another thread. The gather's request is never copied.
  Req const& keep_request(std::size_t j, std::size_t s, std::size_t level, Req const& r, Req const* given) {
    if (&r == given) return r;
    return slot(j, s).requests[level - 1].emplace(r);
  }

  // A sync task claims its shard; false when the gather cancelled it first.
  bool claim(std::size_t j) noexcept { return !started_[j].exchange(true, std::memory_order_acq_rel); }
  void unclaim(std::size_t j) noexcept { started_[j].store(false, std::memory_order_release); }

  // Holds the gather open while children are being started (a child may fail at once).
  void hold() noexcept { ++pending_; }
  void release() { done_one(); }

  // Installs the parent's cancellation: forwarded, on the strand, to every child.
  void watch_cancellation() {
    auto slot = boost::asio::get_associated_cancellation_slot(handler_);
    if (!slot.is_connected()) return;
    std::weak_ptr<async_gather_state> weak = this->shared_from_this();
    slot.assign([weak](boost::asio::cancellation_type type) {
      if (auto self = weak.lock())
        boost::asio::post(self->strand_, [self, type] { self->cancel_all(type, errc::cancelled); });
    });
  }

  // On the strand, before the children start: the deadline's timer.
  void start_deadline() {
    if constexpr (present<Deadline>) {
      deadline_timer_.emplace(strand_);
      deadline_timer_->expires_after(pols_.deadline.after);
      ++pending_;
      deadline_timer_->async_wait(boost::asio::bind_executor(strand_, [self = this->shared_from_this()](auto ec) {
        if (!ec) {
          if (self->shards_outstanding_ != 0) self->emit(events::timeout{std::nullopt, 0, 0});
          self->cancel_all(boost::asio::cancellation_type::terminal, errc::timeout);
        }
        self->done_one();
      }));
    }
  }

  // The replicas an attempt of child j should avoid (bit i: replica i of `n`): those that
  // failed in this gather and, for a hedge, those still working on it — unless that
  // leaves none, when only the most recent failure is avoided, or none at all.
  std::uint64_t avoid(std::size_t j, attempt_kind kind, std::size_t n) const noexcept {
    child const& c = children_[j];
    const std::uint64_t all = n >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << n) - 1;
    std::uint64_t mask = c.failed_replicas | (kind == attempt_kind::hedge ? c.busy_replicas : 0);
    if ((mask & all) != all) return mask;
    mask = c.last_failed_replica;
    return (mask & all) != all ? mask : 0;
  }

  // An attempt of child j on replica r may start when r's breaker lets it: claims a slot
  // and returns it, else refused_attempt. `on_replicas`: child j is a replica set, told
  // how the attempt ended.
  std::size_t admit(std::size_t j, std::size_t r, attempt_kind kind, bool on_replicas = false) {
    breaker_type* b = nullptr;
    if constexpr (present<Breaker>) {
      b = &pols_.breaker.registry->at(breaker_key{targets_[j], r});
      const auto before = breaker_state_for_events(b);
      const bool admitted = b->try_acquire();
      note_transition(j, r, before, b);
      if (!admitted) return refused_attempt;
    }
    child& c = children_[j];
    std::size_t s = 0;
    while (slot(j, s).live) ++s;  // at most 1 + max_extra attempts are ever in flight
    attempt_slot& a = slot(j, s);
    ++c.attempts;
    ++c.in_flight;
    c.busy_replicas |= bit(r);
    a.live = true;
    a.called_back = false;
    for (auto& kept : a.requests) kept.reset();
    a.stop = stop_reason::none;
    a.id = ++next_id_;
    a.replica = r;
    a.timed = on_replicas || b != nullptr || tracked() || wants<events::attempt_end>();
    if (a.timed) a.start = clock::now();  // only what uses the durations reads the clock
    a.number = c.attempts;
    a.breaker = b;
    a.on_replicas = on_replicas;
    ++pending_;
    if (kind == attempt_kind::hedge) emit(events::hedge{targets_[j], a.number});
    emit(events::attempt_start{targets_[j], r, a.number, kind});
    if (kind != attempt_kind::hedge) {
      c.round_start = a.start;
      arm_hedge(j);
    }
    return s;
  }

  // Attempt s of child j's cancellation slot.
  boost::asio::cancellation_slot slot_of(std::size_t j, std::size_t s) { return slot(j, s).signal.slot(); }

  // No replica's breaker let a first attempt or a retry of child j start.
  void refused(std::size_t j, std::size_t replicas) {
    child& c = children_[j];
    ++c.attempts;
    ++pending_;
    failed(j, failure_info{make_error_code(errc::circuit_open),
                           replicas > 1 ? "the circuit breaker of every replica is open"
                                        : "the shard's circuit breaker is open"},
           stop_reason::none);
  }

  // Attempt s of child j answered (on the strand), if it is still attempt `id`.
  void attempt_value(std::size_t j, std::size_t s, std::uint64_t id, R&& value) {
    if (!current(j, s, id)) return;  // a second completion
    const stop_reason stop = slot(j, s).stop;
    if (stop == stop_reason::timeout || stop == stop_reason::deadline) {  // a sync shard answered too late
      attempt_failure(j, s, id, failure_info{make_error_code(errc::timeout), {}});
      return;
    }
    const auto elapsed = end_slot(j, s, attempt_end::success);
    if constexpr (wants<events::attempt_end>()) {
      std::optional<std::size_t> rows;
      if constexpr (std::ranges::sized_range<R>) rows = static_cast<std::size_t>(std::ranges::size(value));
      attempt_slot const& a = slot(j, s);
      emit(events::attempt_end{targets_[j], a.replica, a.number, events::attempt_outcome::answered, elapsed, {}, {},
                               rows});
    }
    if constexpr (present<Breaker>) {
      if (auto* b = slot(j, s).breaker) {
        const auto before = breaker_state_for_events(b);
        b->on_success(elapsed);
        note_transition(j, slot(j, s).replica, before, b);
      }
    }
    if constexpr (present<Hedge>)  // the shard's latency as the gather saw it: from the round's first attempt
      if (pols_.hedge.adaptive != nullptr && !children_[j].finished)
        pols_.hedge.adaptive->record(targets_[j], std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                      clock::now() - children_[j].round_start));
    answered(j, std::move(value));
  }

  // Attempt s of child j failed (on the strand), if it is still attempt `id`.
  void attempt_failure(std::size_t j, std::size_t s, std::uint64_t id, failure_info&& f) {
    if (!current(j, s, id)) return;  // a second completion
    attempt_slot& a = slot(j, s);
    const stop_reason stop = a.stop;
    const bool aborted = f.error == std::errc::operation_canceled || f.error == errc::cancelled ||
                         f.error == errc::timeout;
    if (aborted && stop == stop_reason::timeout)
      f = {make_error_code(errc::timeout), "the attempt's timeout passed"};
    else if (aborted && stop == stop_reason::deadline)
      f = {make_error_code(errc::timeout), "the gather's deadline passed"};
    else if (aborted && stop == stop_reason::cancelled)
      f = {make_error_code(errc::cancelled), "cancelled with the gather"};
    else if (aborted && stop == stop_reason::gave_up)
      f = {make_error_code(errc::cancelled), gave_up_words};
    else if (aborted && stop == stop_reason::unneeded)
      f = {make_error_code(errc::cancelled), "cancelled: the answer no longer needs this shard"};
    const bool own = stop == stop_reason::none || stop == stop_reason::timeout;  // the shard's failure
    const auto elapsed = end_slot(j, s, own ? attempt_end::failure : attempt_end::cancelled);
    if constexpr (wants<events::attempt_end>()) {
      using events::attempt_outcome;
      const attempt_outcome outcome = stop == stop_reason::none       ? attempt_outcome::failed
                                      : stop == stop_reason::timeout  ? attempt_outcome::timed_out
                                      : stop == stop_reason::deadline ? attempt_outcome::deadline
                                      : stop == stop_reason::cancelled ? attempt_outcome::cancelled
                                      : stop == stop_reason::gave_up   ? attempt_outcome::cancelled
                                      : stop == stop_reason::unneeded  ? attempt_outcome::cancelled
                                                                       : attempt_outcome::lost;
      emit(events::attempt_end{targets_[j], a.replica, a.number, outcome, elapsed, f.error, f.what, std::nullopt});
    }
    if constexpr (present<Breaker>) {
      if (auto* b = a.breaker) {
        const auto before = breaker_state_for_events(b);
        if (own)
          b->on_failure(f.error, elapsed);
        else
          b->on_ignored();
        note_transition(j, a.replica, before, b);
      }
    }
    children_[j].last_failed_replica = bit(a.replica);
    children_[j].failed_replicas |= own ? bit(a.replica) : 0;
    failed(j, std::move(f), stop);
  }

  // Starts the deadline and every child's first attempt through `start(j)`; with no
  // targets at all, completes at once (on the strand, never inside the initiating call).
  template <class Start>
  void start(Start&& start_child) {
    if constexpr (wants<events::gather_end>()) started_at_ = clock::now();
    if constexpr (collecting) stats_.start(targets_, started_at_);
    if (targets_.count() == 0) {
      complete();
      return;
    }
    hold();
    start_deadline();
    start_child();
    release();
  }

 private:
  template <class B>
  struct breaker_of {
    using type = void;
  };
  template <class B>
    requires present<B>
  struct breaker_of<B> {
    using type = circuit_breaker<typename B::clock_type>;
  };
  using breaker_type = typename breaker_of<Breaker>::type;

  struct attempt_slot {
    boost::asio::cancellation_signal signal;
    // Requests layers changed: [l - 1] for level l below the first layer (none without layers).
    std::array<std::optional<Req>, Pols::layer_count> requests;
    typename clock::time_point start{};
    std::uint64_t id = 0;
    std::size_t replica = 0;
    unsigned number = 0;  // the attempt's number within its shard, from 1
    breaker_type* breaker = nullptr;
    bool on_replicas = false;  // the attempt went to a replica of a set (sg::replicas)
    bool live = false;
    bool called_back = false;  // the call below the layers completed
    bool timed = false;  // start was read: a breaker, a replica set or a tracker uses the duration
    stop_reason stop = stop_reason::none;
  };

  struct child {
    unsigned attempts = 0;  // started, hedges included
    unsigned hedges = 0;
    unsigned in_flight = 0;
    unsigned hedge_generation = 0;
    bool finished = false;
    bool waiting = false;  // between a failure and its retry
    std::uint64_t failed_replicas = 0, busy_replicas = 0, last_failed_replica = 0;
    std::optional<failure_info> last_failure;  // of an attempt that failed while another ran
    typename clock::time_point round_start{};  // of the first attempt, or of the retry, hedges aside
  };

  // Whether a latency tracker wants each shard's response time.
  bool tracked() const noexcept {
    if constexpr (present<Hedge>)
      return pols_.hedge.adaptive != nullptr;
    else
      return false;
  }

  // A breaker's state before a call that may change it, read only for an observer.
  breaker_state breaker_state_for_events(breaker_type const* b) const {
    if constexpr (wants<events::breaker_transition>())
      return b->state();
    else
      return breaker_state::closed;
  }
  void note_transition(std::size_t j, std::size_t r, breaker_state before, breaker_type const* b) const {
    if constexpr (wants<events::breaker_transition>()) {
      const breaker_state after = b->state();
      if (after != before) emit(events::breaker_transition{breaker_key{targets_[j], r}, before, after});
    } else {
      (void)j, (void)r, (void)before, (void)b;
    }
  }

  static std::uint64_t bit(std::size_t r) noexcept { return r < 64 ? std::uint64_t{1} << r : 0; }
  static constexpr std::size_t extra_slots_of(Hedge const& h) noexcept {
    if constexpr (present<Hedge>)
      return h.max_extra;
    else
      return 0;
  }
  std::size_t extra_slots() const noexcept { return extra_slots_of(pols_.hedge); }
  attempt_slot& slot(std::size_t j, std::size_t s) noexcept { return slots_[j * per_child_ + s]; }

  // Tells child j's replica set that an attempt on its replica r ended.
  void replica_ended(std::size_t j, std::size_t r, std::chrono::nanoseconds elapsed, attempt_end how) const {
    with_target(pipe_->shards(), targets_, j, [&](auto& shard) {
      if constexpr (is_replica_set<std::remove_cvref_t<decltype(shard)>>) shard.finished(r, elapsed, how);
    });
  }

  // Ends attempt s of child j: frees its slot, stops its timer, tells its replica set.
  // Returns how long it ran.
  std::chrono::nanoseconds end_slot(std::size_t j, std::size_t s, attempt_end how) {
    attempt_slot& a = slot(j, s);
    child& c = children_[j];
    const auto elapsed =
        a.timed ? std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - a.start) : std::chrono::nanoseconds{};
    a.live = false;
    a.signal.slot().clear();  // a layer's handler never outlives its attempt
    --c.in_flight;
    c.busy_replicas &= ~bit(a.replica);
    if (a.on_replicas) replica_ended(j, a.replica, elapsed, how);
    return elapsed;
  }

  void cancel_slot(std::size_t j, std::size_t s, boost::asio::cancellation_type type, stop_reason why) {
    attempt_slot& a = slot(j, s);
    if (a.stop == stop_reason::none || a.stop == stop_reason::lost) a.stop = why;
    // A sync shard not started yet never will be; its task reports it. With layers, one of
    // them may hold the attempt before the shard's task exists: the slot tells it.
    if (claim(j) && !layered) return;
    a.signal.emit(type);
  }

  // The budget hedges draw on (the hedge's, else the retry policy's), and the retry
  // policy's; attempts' outcomes feed both (once when they are one).
  retry_budget* hedge_budget() const noexcept {
    if constexpr (present<Hedge>)
      if (pols_.hedge.budget != nullptr) return pols_.hedge.budget;
    return retry_budget_ptr();
  }
  retry_budget* retry_budget_ptr() const noexcept {
    if constexpr (present<Retry>)
      return pols_.retry.budget;
    else
      return nullptr;
  }
  template <class F>
  void feed_budgets(F f) const {
    retry_budget* r = retry_budget_ptr();
    retry_budget* h = hedge_budget();
    if (r != nullptr) f(*r);
    if (h != nullptr && h != r) f(*h);
  }

  void answered(std::size_t j, R&& value) {
    child& c = children_[j];
    if (c.finished) {  // another attempt won, or the gather gave up on the shard
      done_one();
      return;
    }
    feed_budgets([](retry_budget& b) { b.on_success(); });
    if constexpr (collecting) {
      const auto t0 = std::chrono::steady_clock::now();
      sink_.take_value(targets_[j], std::move(value));
      stats_.add_merge_time(std::chrono::steady_clock::now() - t0);
    } else {
      sink_.take_value(targets_[j], std::move(value));
    }
    finish_child(j);
    check_settled();
    done_one();
  }

  void failed(std::size_t j, failure_info&& f, stop_reason stop) {
    child& c = children_[j];
    if (c.finished) {
      done_one();
      return;
    }
    const bool own = stop == stop_reason::none || stop == stop_reason::timeout;
    if (own && f.error != errc::circuit_open) feed_budgets([](retry_budget& b) { b.on_failure(); });
    if (c.in_flight > 0) {  // another attempt is still running: its outcome decides
      c.last_failure = std::move(f);
      done_one();
      return;
    }
    if (try_retry(j, f)) return;
    sink_.take_failure(targets_[j], std::move(f), c.attempts);
    finish_child(j);
    check_settled();
    done_one();
  }

  // Child j has its answer or its final failure (or is not needed): the attempts still
  // running are cancelled.
  void finish_child(std::size_t j, stop_reason why = stop_reason::lost) {
    child& c = children_[j];
    c.finished = true;
    for (std::size_t s = 0; s < per_child_; ++s)
      if (slot(j, s).live) cancel_slot(j, s, boost::asio::cancellation_type::terminal, why);
    if constexpr (present<Hedge>)
      if (hedge_timers_[j]) hedge_timers_[j]->cancel();
    if (--shards_outstanding_ == 0 && deadline_timer_) deadline_timer_->cancel();
    check_fail_fast();
  }

  // fail_fast: once the shards still working cannot make up the rule, they are stopped.
  void check_fail_fast() {
    if (pols_.rule.fail_fast && !stopping() &&
        !pols_.rule.accepts(sink_.succeeded() + shards_outstanding_, targets_.count()))
      cancel_all(boost::asio::cancellation_type::terminal, errc::partial_result);
  }

  // A merge that settles early (sg::settling_accumulator): once every shard before the first
  // unfinished one has answered or failed and the merge says the rest cannot change the
  // result, the rest are not needed: counted as pruned, their attempts and retry waits
  // cancelled, and an answer that still arrives is dropped.
  void check_settled() {
    if constexpr (gather_sink<R, Acc>::can_settle) {
      if (settled_ || stopping()) return;
      while (frontier_ < children_.size() && children_[frontier_].finished) ++frontier_;
      if (frontier_ == children_.size() || !sink_.settled(targets_[frontier_], pols_.rule)) return;
      settled_ = true;
      for (std::size_t j = frontier_; j < children_.size(); ++j) {
        child& c = children_[j];
        if (c.finished) continue;
        sink_.take_unneeded(targets_[j], c.attempts);
        if constexpr (present<Retry>)
          if (c.waiting) retries_[j].timer->cancel();  // end_wait finds the child finished
        finish_child(j, stop_reason::unneeded);
      }
    }
  }

  bool stopping() const noexcept { return cancelled_ || deadline_passed_ || gave_up_; }
  static constexpr char const* gave_up_words = "cancelled: the completion rule could no longer be met";

  // The deadline passed or the gather was cancelled: every outstanding child is cancelled.
  // (errc::partial_result: the completion rule can no longer be met, sg::partial's fail_fast.)
  void cancel_all(boost::asio::cancellation_type type, errc why) {
    if (shards_outstanding_ == 0) return;  // every shard answered: nothing to cancel or to time out
    if (why == errc::timeout) {
      deadline_passed_ = true;
    } else {
      (why == errc::partial_result ? gave_up_ : cancelled_) = true;
      if (deadline_timer_) deadline_timer_->cancel();
    }
    const stop_reason reason = why == errc::timeout          ? stop_reason::deadline
                               : why == errc::partial_result ? stop_reason::gave_up
                                                             : stop_reason::cancelled;
    for (std::size_t j = 0; j < children_.size(); ++j) {
      child const& c = children_[j];
      if (c.finished) continue;
      if constexpr (present<Hedge>)
        if (hedge_timers_[j]) hedge_timers_[j]->cancel();
      if constexpr (present<Retry>) {
        if (c.waiting) {  // between attempts: no retry will start; the wait ends now
          retries_[j].timer->cancel();
          continue;
        }
      }
      for (std::size_t s = 0; s < per_child_; ++s)
        if (slot(j, s).live) cancel_slot(j, s, type, reason);
    }
  }

  // After child j's attempts all failed, the last with f: waits, then starts another
  // attempt, when the retry policy allows it (see sg/policy/retry.hpp); false when the
  // failure is final.
  bool try_retry(std::size_t j, failure_info& f) {
    if constexpr (!present<Retry>) {
      (void)j;
      (void)f;
      return false;
    } else {
      auto const& policy = pols_.retry;
      child& c = children_[j];
      if (stopping() || c.attempts >= policy.max_attempts || !policy.retryable(f.error))
        return false;
      if (policy.budget != nullptr && !policy.budget->may_retry()) return false;
      auto& r = retries_[j];
      std::chrono::nanoseconds wait{};
      if (policy.push_back) {
        retry_decision d = policy.push_back(f.error, f.what);
        if (!d) return false;
        wait = std::max(*d, std::chrono::nanoseconds::zero());  // the server's word: never negative
      } else {
        wait = policy.wait_before(c.attempts - c.hedges, r.previous_wait, rng_);
      }
      if (!before_deadline(wait)) return false;
      emit(events::retry{targets_[j], c.attempts + 1, wait, f.error});
      r.previous_wait = wait;
      r.failure = std::move(f);
      if (!r.timer) r.timer.emplace(strand_);
      r.timer->expires_after(std::chrono::duration_cast<typename timer_t<Retry>::duration>(wait));
      c.waiting = true;
      if constexpr (present<Hedge>)
        if (hedge_timers_[j]) hedge_timers_[j]->cancel();
      ++pending_;  // the wait, before the failed attempt is let go
      r.timer->async_wait(boost::asio::bind_executor(strand_, [self = this->shared_from_this(), j](auto ec) {
        self->end_wait(j, !ec);
        self->done_one();
      }));
      done_one();  // the failed attempt
      return true;
    }
  }

  // Whether something that starts after `wait` starts before the gather's deadline.
  bool before_deadline(std::chrono::nanoseconds wait) const {
    if constexpr (present<Deadline>) {
      // As "now + wait >= expiry", without overflowing for a huge wait (a push-back's).
      if (deadline_timer_ && wait >= deadline_timer_->expiry() - clock::now()) return false;
    }
    (void)wait;
    return true;
  }

  // Child j's wait before a retry ended: the next attempt, or — cancelled or past the
  // deadline meanwhile — the last failure, final.
  void end_wait(std::size_t j, bool elapsed) {
    if constexpr (present<Retry>) {
      child& c = children_[j];
      c.waiting = false;
      if (c.finished) return;  // not needed any more (a settled merge)
      // The budget is asked again: other shards may have drained it during the wait.
      retry_budget* b = pols_.retry.budget;
      if (elapsed && !stopping() && (b == nullptr || b->may_retry())) {
        hold();
        launch_attempt<R>(this->shared_from_this(), j, attempt_kind::retry, *pipe_);
        release();
        return;
      }
      failure_info f = std::move(*retries_[j].failure);
      if (deadline_passed_) f = {make_error_code(errc::timeout), "the gather's deadline passed"};
      if (cancelled_) f = {make_error_code(errc::cancelled), "cancelled with the gather"};
      if (gave_up_) f = {make_error_code(errc::cancelled), gave_up_words};
      sink_.take_failure(targets_[j], std::move(f), c.attempts);
      c.finished = true;
      if (--shards_outstanding_ == 0 && deadline_timer_) deadline_timer_->cancel();
      check_fail_fast();
      check_settled();
    }
  }

  // After an attempt of child j starts (not a hedge): the timer for its next hedge.
  void arm_hedge(std::size_t j) {
    if constexpr (present<Hedge>) {
      child& c = children_[j];
      if (c.hedges >= pols_.hedge.max_extra) return;
      std::chrono::nanoseconds delay = pols_.hedge.delay;
      if (pols_.hedge.adaptive != nullptr)
        if (auto d = pols_.hedge.adaptive->hedge_delay(targets_[j])) delay = *d;
      if (!before_deadline(delay)) return;
      auto& timer = hedge_timers_[j];
      if (!timer) timer.emplace(strand_);
      timer->expires_after(std::chrono::duration_cast<typename timer_t<Hedge>::duration>(delay));
      ++pending_;
      timer->async_wait(boost::asio::bind_executor(
          strand_, [self = this->shared_from_this(), j, gen = ++c.hedge_generation](auto ec) {
            self->on_hedge_delay(j, !ec, gen);
            self->done_one();
          }));
    } else {
      (void)j;
    }
  }

  // Child j's hedge delay passed: another attempt, if the shard still has not answered,
  // the cap and the budget allow it, and a replica admits it.
  void on_hedge_delay(std::size_t j, bool elapsed, unsigned generation) {
    if constexpr (present<Hedge>) {
      child& c = children_[j];
      if (!elapsed || generation != c.hedge_generation || c.finished || c.waiting || c.in_flight == 0 || stopping() ||
          c.hedges >= pols_.hedge.max_extra)
        return;
      retry_budget* b = hedge_budget();
      if (b != nullptr && !b->may_retry()) return;
      const unsigned before = c.attempts;
      ++c.hedges;
      hold();
      launch_attempt<R>(this->shared_from_this(), j, attempt_kind::hedge, *pipe_);
      if (c.attempts == before) {
        --c.hedges;  // no replica admitted it
      } else {
        if (b != nullptr) b->on_failure();  // a hedge costs a token, as a failure does
        arm_hedge(j);  // the next one, while the cap allows
      }
      release();
    } else {
      (void)j;
      (void)elapsed;
      (void)generation;
    }
  }

  // One child (shard attempt or timer) completed; the last one completes the gather.
  void done_one() {
    if (--pending_ == 0) complete();
  }

  void complete() {
    boost::asio::get_associated_cancellation_slot(handler_).clear();
    std::error_code ec;
    const auto finish_started = collecting ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    result_type result = finish(ec);
    if constexpr (collecting) stats_.add_merge_time(std::chrono::steady_clock::now() - finish_started);
    if (cancelled_ && ec == errc::partial_result) ec = errc::cancelled;
    if (deadline_passed_ && ec == errc::partial_result) ec = errc::timeout;
    if constexpr (wants<events::gather_end>())
      emit(events::gather_end{result.completeness, ec,
                              std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - started_at_)});
    if constexpr (collecting) result.stats = stats_.finish();
    // Posted to the handler's executor: the handler never runs inside an sg strand or
    // inside the initiating call.
    auto ex = work_.get_executor();
    boost::asio::post(ex, [handler = std::move(handler_), ec, result = std::move(result)]() mutable {
      std::move(handler)(ec, std::move(result));
    });
    work_.reset();
  }

  // The merged result, or — when the merge's finish() throws (an overflowing sum) — the
  // exception's code with an empty result; a result type that cannot be empty rethrows.
  result_type finish(std::error_code& ec) {
    try {
      return std::move(sink_).finish(targets_.count(), targets_.pruned(), pols_.rule, ec);
    } catch (...) {
      if constexpr (std::is_default_constructible_v<result_type>) {
        ec = current_failure().error;
        return result_type{};
      } else {
        throw;
      }
    }
  }

  Pipeline const* pipe_;
  Req request_;
  Handler handler_;
  boost::asio::executor_work_guard<handler_executor> work_;
  boost::asio::strand<handler_executor> strand_;
  gather_sink<R, Acc> sink_;
  targets targets_;
  Pols pols_;
  std::size_t per_child_;
  std::vector<child> children_;
  std::unique_ptr<attempt_slot[]> slots_;
  std::size_t shards_outstanding_;  // targeted shards without their answer or final failure
  std::unique_ptr<std::atomic<bool>[]> started_;
  std::optional<timer_t<Deadline>> deadline_timer_;
  struct retry_slot {
    std::optional<timer_t<Retry>> timer;
    std::chrono::nanoseconds previous_wait{};
    std::optional<failure_info> failure;  // the failure that the wait may end up reporting
  };
  // Arrays, not vectors: a timer type need not be movable.
  std::unique_ptr<retry_slot[]> retries_;
  std::unique_ptr<std::optional<timer_t<Hedge>>[]> hedge_timers_;
  std::mt19937_64 rng_;
  std::uint64_t next_id_ = 0;
  typename clock::time_point started_at_{};  // read for an observer or statistics only
  // Statistics (sg::collect_stats), fed by emit() like an observer; on the strand only.
  [[no_unique_address]] mutable std::conditional_t<collecting, stats_builder<clock>, std::monostate> stats_;
  std::size_t pending_ = 0;  // children not completed: attempts and timers
  bool cancelled_ = false;
  bool deadline_passed_ = false;
  bool gave_up_ = false;  // the completion rule could no longer be met (fail_fast)
  bool settled_ = false;  // the merge settled: the shards still outstanding are not needed
  std::size_t frontier_ = 0;  // every child before it has finished
};

// Where an attempt's outcome goes (on the strand): to the gather, for attempt `id` of
// child j in slot s...
template <class R, class State>
struct to_gather {
  std::shared_ptr<State> state;
  std::size_t j, s;
  std::uint64_t id;
  void operator()(outcome<R>&& o) const {
    if (o.index() == 0)
      state->attempt_value(j, s, id, std::get<0>(std::move(o)));
    else
      state->attempt_failure(j, s, id, std::get<1>(std::move(o)));
  }
};

// ...or, below the last layer, to the handler that layer gave `next` (once: a shard that
// completes twice does not reach the layer twice).
template <class R, class State, class Handler>
struct to_layer {
  std::shared_ptr<State> state;
  std::size_t j, s;
  std::uint64_t id;
  std::shared_ptr<Handler> handler;  // shared: a sync shard's task must be copyable
  void operator()(outcome<R>&& o) const {
    if (!state->first_inner_completion(j, s, id)) return;
    if (o.index() == 0)
      std::move (*handler)(attempt_result<R>(std::get<0>(std::move(o))));
    else
      std::move (*handler)(attempt_result<R>(std::get<1>(std::move(o))));
  }
};

// Calls `shard` with `request` for attempt s of child j (the innermost step of an
// attempt, below every layer) and hands its outcome to `deliver` on the strand. `slot`
// stops the call: an async shard is given it; a sync shard not started yet is skipped.
template <class R, class State, class S, class Exec, class Deliver>
void call_attempt(std::shared_ptr<State> const& state, std::size_t j, S& shard, Exec const& exec,
                  typename State::request_type const& request, boost::asio::cancellation_slot slot, Deliver deliver) {
  using request_type = typename State::request_type;
  if constexpr (async_shard_for<S, request_type>) {
    auto on_done = [deliver](auto ec, auto&& answer) {
      if constexpr (std::is_same_v<decltype(ec), std::exception_ptr>) {
        if (ec) {
          failure_info f;
          try {
            std::rethrow_exception(ec);
          } catch (...) {
            f = current_failure();  // a std::system_error keeps its code, any exception its words
          }
          deliver(outcome<R>(std::in_place_index<1>, std::move(f)));
          return;
        }
        deliver(outcome<R>(std::in_place_index<0>, R(std::forward<decltype(answer)>(answer))));
      } else if (ec) {
        std::error_code code = ec;
        deliver(outcome<R>(std::in_place_index<1>, failure_info{code, code.message()}));
      } else {
        deliver(outcome<R>(std::in_place_index<0>, R(std::forward<decltype(answer)>(answer))));
      }
    };
    try {
      shard.async_execute(request, boost::asio::bind_cancellation_slot(
                                       slot, boost::asio::bind_executor(state->strand(), std::move(on_done))));
    } catch (...) {  // the shard threw while starting: a failure, delivered like any other
      boost::asio::post(state->strand(), [deliver, f = current_failure()]() mutable {
        deliver(outcome<R>(std::in_place_index<1>, std::move(f)));
      });
    }
  } else {
    auto task = [state, j, deliver, &shard, &request]() noexcept {
      std::optional<outcome<R>> o;
      if (state->claim(j)) {
        o.emplace(call_shard<R>(shard, request));
      } else {
        o.emplace(std::in_place_index<1>, failure_info{make_error_code(errc::cancelled), "cancelled before it started"});
      }
      boost::asio::post(state->strand(), [deliver, o = std::move(*o)]() mutable { deliver(std::move(o)); });
    };
    // Below a layer that cancels (sg::timeout), its slot tells a task not started yet to
    // stay so (the gather's own cancellation claims the shard directly: cancel_slot).
    if constexpr (State::layered)
      if (slot.is_connected()) slot.assign([state, j](boost::asio::cancellation_type) { state->claim(j); });
    if constexpr (std::is_same_v<Exec, inline_executor>)
      boost::asio::post(state->executor(), std::move(task));
    else
      exec.execute(std::move(task));
  }
}

// What a layer's `done` is: completes attempt s of child j (once; from any thread). Always
// posted to the strand, never run inside the call: a layer may call it from inside the
// attempt's cancellation handler, which the completion then clears.
template <class R, class State>
struct layer_done {
  std::shared_ptr<State> state;
  std::size_t j, s;
  std::uint64_t id;

  void operator()(attempt_result<R>&& r) const { deliver(std::move(r)); }
  void operator()(attempt_result<R> const& r) const { deliver(attempt_result<R>(r)); }
  void operator()(attempt_error e) const { deliver(attempt_result<R>(std::move(e))); }

 private:
  void deliver(attempt_result<R>&& r) const {
    boost::asio::post(state->strand(), [st = state, j = j, s = s, id = id, r = std::move(r)]() mutable {
      if (r.has_value())
        st->attempt_value(j, s, id, std::move(r).value());
      else
        st->attempt_failure(j, s, id, std::move(r).error());
    });
  }
};

// The `next` layer I is given: runs layers I+1.. and then the call, completing `handler`
// with the attempt's result (on the strand).
template <std::size_t I, class R, class State, class S, class Exec>
struct layer_next {
  std::shared_ptr<State> state;
  std::size_t j, s;
  attempt_kind kind;
  S* shard;
  Exec const* exec;
  typename State::request_type const* given;  // the request layer I - 1 was given
  boost::asio::cancellation_slot slot;        // the one layer I - 1 was given

  template <class Handler>
  void operator()(typename State::request_type const& request, Handler&& handler) const;
};

// Runs layer I (of the pipeline's layers) for attempt s of child j, whose outcome goes to
// `done`; past the last layer, calls the shard.
// (`request` is kept until the attempt completes: the gather's, or a copy in the attempt.)
// `slot` is the cancellation slot of level I: the handler the level above gave `next`
// names it (asio::bind_cancellation_slot), else it is the level above's own.
template <std::size_t I, class R, class State, class S, class Exec, class Done>
void run_layer(std::shared_ptr<State> const& state, std::size_t j, std::size_t s, attempt_kind kind, S& shard,
               Exec const& exec, typename State::request_type const& request, boost::asio::cancellation_slot slot,
               Done&& done) {
  auto const& layers = state->policies().layers;
  if constexpr (I == std::tuple_size_v<std::remove_cvref_t<decltype(layers)>>) {
    (void)kind;
    slot.clear();  // a handler a layer left there, if any: the shard gets the slot
    using handler_type = std::remove_cvref_t<Done>;
    call_attempt<R>(state, j, shard, exec, request, slot,
                    to_layer<R, State, handler_type>{state, j, s, state->id_of(j, s),
                                                     std::make_shared<handler_type>(std::forward<Done>(done))});
  } else {
    auto const& layer = std::get<I>(layers);
    layer(state->context(j, s, kind, slot), request,
          layer_next<I + 1, R, State, S, Exec>{state, j, s, kind, &shard, &exec, &request, slot},
          std::forward<Done>(done));
  }
}

template <std::size_t I, class R, class State, class S, class Exec>
template <class Handler>
void layer_next<I, R, State, S, Exec>::operator()(typename State::request_type const& request, Handler&& handler) const {
  const boost::asio::cancellation_slot below = boost::asio::get_associated_cancellation_slot(handler, slot);
  run_layer<I, R>(state, j, s, kind, *shard, *exec, state->keep_request(j, s, I, request, given), below,
                  std::forward<Handler>(handler));
}

// Runs one attempt of child j in slot s on `shard` (a shard, or one replica of a set):
// through the pipeline's layers, if it has any, then the call.
template <class R, class State, class S, class Exec>
void run_attempt(std::shared_ptr<State> const& state, std::size_t j, std::size_t s, attempt_kind kind, S& shard,
                 Exec const& exec) {
  using request_type = typename State::request_type;
  if constexpr (async_shard_for<S, request_type>)
    state->claim(j);  // async children are cancelled through their slot, never skipped
  else
    state->unclaim(j);  // the task claims it, unless a cancellation does first
  if constexpr (!State::layered) {
    (void)kind;
    call_attempt<R>(state, j, shard, exec, state->request(), state->slot_of(j, s),
                    to_gather<R, State>{state, j, s, state->id_of(j, s)});
  } else {
    const std::uint64_t id = state->id_of(j, s);
    try {
      run_layer<0, R>(state, j, s, kind, shard, exec, state->request(), state->slot_of(j, s),
                      layer_done<R, State>{state, j, s, id});
    } catch (...) {  // a layer threw before calling next: the attempt's failure
      boost::asio::post(state->strand(), [state, j, s, id, f = current_failure()]() mutable {
        state->attempt_failure(j, s, id, std::move(f));
      });
    }
  }
}

// Starts an attempt of child j on `shard`: for a replica set, on the best replica (in
// its selection's order) not to avoid whose breaker admits it. When none admits a first
// attempt or a retry, that attempt fails with errc::circuit_open; a hedge just does not
// start.
template <class R, class State, class S, class Exec>
void start_attempt(std::shared_ptr<State> const& state, std::size_t j, attempt_kind kind, S& shard, Exec const& exec) {
  if constexpr (is_replica_set<std::remove_const_t<S>>) {
    using set_type = std::remove_const_t<S>;
    std::size_t order[set_type::max_replicas];
    const std::size_t n = shard.rank(state->avoid(j, kind, shard.size()), order);
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t r = order[k];
      const std::size_t s = state->admit(j, r, kind, true);
      if (s == State::refused_attempt) continue;
      shard.started(r);
      run_attempt<R>(state, j, s, kind, shard[r], exec);
      return;
    }
    if (kind != attempt_kind::hedge) state->refused(j, shard.size());
  } else {
    const std::size_t s = state->admit(j, 0, kind);
    if (s != State::refused_attempt)
      run_attempt<R>(state, j, s, kind, shard, exec);
    else if (kind != attempt_kind::hedge)
      state->refused(j, 1);
  }
}

// Starts another attempt of child j (a retry or a hedge): finds its shard — directly in a
// random-access range, by a walk otherwise.
template <class R, class State, class Pipeline>
void launch_attempt(std::shared_ptr<State> const& state, std::size_t j, attempt_kind kind, Pipeline const& pipe) {
  with_target(pipe.shards(), state->target_list(), j,
              [&](auto&& shard) { start_attempt<R>(state, j, kind, shard, pipe.executor()); });
}

// The initiation: routes, builds the state, then starts the deadline and every child on
// the gather's strand.
template <class R, class Acc, class Pipeline>
struct async_gather_initiation {
  Pipeline const* pipe;

  template <class Handler, class Req>
  void operator()(Handler&& handler, Req request) const {
    auto fallback = default_completion_executor(pipe->executor());
    auto const& ps = pipe->policies();
    using pols_type = gather_policies<decltype(policy_of<deadline_tag>(ps)), decltype(policy_of<timeout_tag>(ps)),
                                      decltype(policy_of<retry_tag>(ps)), decltype(policy_of<hedge_tag>(ps)),
                                      decltype(policy_of<breaker_tag>(ps)), decltype(policy_of<observe_tag>(ps)),
                                      decltype(policy_of<collect_stats_tag>(ps)), decltype(layers_of(ps))>;
    pols_type pols{policy_of<deadline_tag>(ps), policy_of<timeout_tag>(ps),     policy_of<retry_tag>(ps),
                   policy_of<hedge_tag>(ps),    policy_of<breaker_tag>(ps),     completion_rule(ps),
                   policy_of<observe_tag>(ps),  policy_of<collect_stats_tag>(ps), layers_of(ps)};
    using state_type = async_gather_state<R, Acc, Req, std::decay_t<Handler>, decltype(fallback), pols_type, Pipeline>;
    targets t = pipe->targets_of(request);
    auto state = std::make_shared<state_type>(*pipe, pipe->merge(), std::move(request), std::forward<Handler>(handler),
                                              fallback, t, std::move(pols));
    state->watch_cancellation();
    Pipeline const* p = pipe;
    boost::asio::dispatch(state->strand(), [state, p] {
      state->start([&] {
        std::size_t j = 0;
        for_each_target(p->shards(), state->target_list(), [&](std::size_t, auto& shard) {
          start_attempt<R>(state, j++, attempt_kind::first, shard, p->executor());
        });
      });
    });
  }
};

// The io_context an executor runs on: an io_context's executor, or a strand of one; else null.
template <class Ex>
boost::asio::io_context* io_context_of(Ex const& ex) noexcept {
  if constexpr (requires { { ex.context() } -> std::same_as<boost::asio::io_context&>; })
    return &ex.context();
  else if constexpr (requires { ex.get_inner_executor(); })
    return io_context_of(ex.get_inner_executor());
  else
    return nullptr;
}

// pipe.async's engine (the extension point sg/pipeline.hpp declares): what it checks of
// the set and the policies, and the operation it starts.
template <class Set, class Req, class Policies>
struct async_engine<Set, Req, Policies, void> {
  using set_traits = async_response_of_set<Set, Req>;
  using checks = async_policy_checks<Policies, Set, Req>;
  template <class R, class Acc, class Pipeline>
  using initiation = async_gather_initiation<R, Acc, Pipeline>;

  // pipe(request) over async shards: pipe.async, waited for. On an io_context's executor
  // the calling thread runs that io_context (a slice at a time, so that other threads
  // running it too cannot leave this one blocked); on any other executor it waits for the
  // executor's own threads.
  template <class Pipeline>
  static auto wait(Pipeline const& pipe, Req const& request, std::error_code& ec) {
    using result_type = gathered<merge_result_t<typename Pipeline::merge_type, typename set_traits::type>>;
    struct waiter {
      std::mutex m;
      std::condition_variable cv;
      std::optional<result_type> result;
      std::error_code ec;
    };
    auto w = std::make_shared<waiter>();
    pipe.async(request, [w](std::error_code e, result_type r) {
      {
        std::lock_guard lock(w->m);
        w->ec = e;
        w->result.emplace(std::move(r));
      }
      w->cv.notify_all();
    });
    auto ready = [&] {
      std::lock_guard lock(w->m);
      return w->result.has_value();
    };
    if (boost::asio::io_context* io = io_context_of(pipe.executor())) {
      while (!ready()) {
        if (io->stopped()) io->restart();
        io->run_one_for(std::chrono::milliseconds(10));
      }
    } else {
      std::unique_lock lock(w->m);
      w->cv.wait(lock, [&] { return w->result.has_value(); });
    }
    std::lock_guard lock(w->m);
    ec = w->ec;
    return std::move(*w->result);
  }
};

}  // namespace detail
}  // namespace sg
