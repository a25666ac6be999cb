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
// as failures with sg::errc::cancelled. The request is copied into the operation; the
// pipeline and its shards must outlive it (as an Asio I/O object outlives its operations).
// Example: tests/exec/async.cpp, docs/concepts.md.
#pragma once

#include <sg/error.hpp>
#include <sg/exec/on.hpp>
#include <sg/exec/scatter.hpp>
#include <sg/gathered.hpp>
#include <sg/policy/partial.hpp>
#include <sg/policy/retry.hpp>
#include <sg/policy/time.hpp>
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
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/executor.hpp>
#include <boost/asio/is_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/system_executor.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstddef>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace sg {

namespace detail {

// The answer a shard gives to Req, asynchronously if it can, else synchronously.
template <class S, class Req>
struct any_response {};
template <class S, class Req>
  requires async_shard_for<S, Req>
struct any_response<S, Req> {
  using type = async_response_t<S, Req>;
};
template <class S, class Req>
  requires(!async_shard_for<S, Req> && shard_for<S, Req>)
struct any_response<S, Req> {
  using type = response_t<S, Req>;
};

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

// The state of one asynchronous gather, shared by every child completion handler and
// timer. Everything but `started_` (sync tasks claim their shard from other threads) is
// touched on the gather's strand only: the children are started there too.
template <class R, class Acc, class Req, class Handler, class DefaultEx, class Deadline, class Timeout, class Retry>
class async_gather_state
    : public std::enable_shared_from_this<async_gather_state<R, Acc, Req, Handler, DefaultEx, Deadline, Timeout, Retry>> {
 public:
  using handler_executor = boost::asio::associated_executor_t<Handler, DefaultEx>;
  using result_type = gathered<std::remove_cvref_t<decltype(std::declval<Acc&&>().finish())>>;

  // Starts child j again (a retry): set by the initiation, which knows the shards' types.
  using restart_fn = void (*)(std::shared_ptr<async_gather_state> const&, std::size_t, void const*);

  template <class Merge>
  async_gather_state(Merge const& merge, Req request, Handler handler, DefaultEx const& fallback, targets const& t,
                     partial rule, Deadline deadline, Timeout timeout, Retry retry)
      : request_(std::move(request)),
        handler_(std::move(handler)),
        work_(boost::asio::get_associated_executor(handler_, fallback)),
        strand_(boost::asio::make_strand(work_.get_executor())),
        sink_(merge),
        targets_(t),
        rule_(rule),
        deadline_(deadline),
        timeout_(timeout),
        signals_(t.count()),
        finished_(t.count(), false),
        timed_out_(t.count(), false),
        started_(new std::atomic<bool>[t.count()] {}),
        retry_(std::move(retry)),
        attempts_(t.count(), 0) {
    if constexpr (present<Retry>) {
      retries_.resize(t.count());
      rng_.seed(retry_.seed != 0 ? retry_.seed : (std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}());
    }
  }

  void set_restart(restart_fn f, void const* pipeline) noexcept {
    restart_ = f;
    pipeline_ = pipeline;
  }

  Req const& request() const noexcept { return request_; }
  auto const& strand() const noexcept { return strand_; }
  handler_executor executor() const { return work_.get_executor(); }
  targets const& target_list() const noexcept { return targets_; }

  // Child j's cancellation slot.
  boost::asio::cancellation_slot child_slot(std::size_t j) { return signals_[j].slot(); }

  // A sync task claims its shard; false when the gather cancelled it first.
  bool claim(std::size_t j) noexcept { return !started_[j].exchange(true, std::memory_order_acq_rel); }

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
      deadline_timer_->expires_after(deadline_.after);
      ++pending_;
      deadline_timer_->async_wait(
          boost::asio::bind_executor(strand_, [self = this->shared_from_this()](auto ec) {
            if (!ec) self->cancel_all(boost::asio::cancellation_type::terminal, errc::timeout);
            self->done_one();
          }));
    }
  }

  // On the strand, as an attempt on child j starts: counts it, and starts its timer.
  void start_attempt(std::size_t j) {
    if (attempts_[j]++ == 0) ++shards_outstanding_;
    ++pending_;
    timed_out_[j] = false;
    if constexpr (present<Timeout>) {
      if (attempt_timers_.empty()) attempt_timers_.resize(signals_.size());
      auto& timer = attempt_timers_[j].emplace(strand_);
      timer.expires_after(timeout_.after);
      ++pending_;
      timer.async_wait(
          boost::asio::bind_executor(strand_, [self = this->shared_from_this(), j, attempt = attempts_[j]](auto ec) {
            // Acts only on the attempt it was started for.
            if (!ec && !self->finished_[j] && self->attempts_[j] == attempt && !self->waiting_[j]) {
              self->timed_out_[j] = true;
              self->cancel_child(j, boost::asio::cancellation_type::terminal);
            }
            self->done_one();
          }));
    }
  }

  // Child j completed (on the strand).
  void child_value(std::size_t j, R&& value) {
    if (timed_out_[j]) {  // a sync shard that could not be interrupted answered too late
      child_failure(j, failure_info{make_error_code(errc::timeout), {}});
      return;
    }
    if constexpr (present<Retry>)
      if (retry_.budget != nullptr) retry_.budget->on_success();
    sink_.take_value(targets_[j], std::move(value));
    child_done(j);
  }
  void child_failure(std::size_t j, failure_info&& f) {
    const bool aborted = f.error == std::errc::operation_canceled || f.error == errc::cancelled ||
                         f.error == errc::timeout;
    if (timed_out_[j] && (aborted || f.error == errc::timeout))
      f = {make_error_code(errc::timeout), limit_text()};
    else if (cancelled_ && aborted)
      f = {make_error_code(errc::cancelled), "cancelled with the gather"};
    if constexpr (present<Retry>)  // the shard's failure, not one the gather caused
      if (retry_.budget != nullptr && !cancelled_ && !deadline_passed_) retry_.budget->on_failure();
    if (try_retry(j, f)) return;
    sink_.take_failure(targets_[j], std::move(f), attempts_[j]);
    child_done(j);
  }

  // No targets at all: completes at once (on the strand, never inside the initiating call).
  void complete_empty() { complete(); }

 private:
  // The deadline passed or the gather was cancelled: every outstanding child is cancelled.
  void cancel_all(boost::asio::cancellation_type type, errc why) {
    if (shards_outstanding_ == 0) return;  // every shard answered: nothing to cancel or to time out
    if (why == errc::timeout) {
      for (std::size_t j = 0; j < signals_.size(); ++j)
        if (!finished_[j]) timed_out_[j] = true;
      deadline_passed_ = true;
    } else {
      cancelled_ = true;
      if (deadline_timer_) deadline_timer_->cancel();
    }
    for (std::size_t j = 0; j < signals_.size(); ++j)
      if (!finished_[j]) cancel_child(j, type);
  }

  void cancel_child(std::size_t j, boost::asio::cancellation_type type) {
    if constexpr (present<Retry>) {
      if (waiting_[j]) {  // between attempts: no retry will start; the wait ends now
        retries_[j].timer->cancel();
        return;
      }
    }
    if (claim(j)) return;  // a sync shard not started yet: it never will be; its task reports it
    signals_[j].emit(type);
  }

  // After attempt n of child j failed with f: waits, then starts attempt n + 1, when the
  // retry policy allows it (see sg/policy/retry.hpp); false when the failure is final.
  bool try_retry(std::size_t j, failure_info& f) {
    if constexpr (!present<Retry>) {
      (void)j;
      (void)f;
      return false;
    } else {
      if (cancelled_ || deadline_passed_ || attempts_[j] >= retry_.max_attempts || !retry_.retryable(f.error))
        return false;
      if (retry_.budget != nullptr && !retry_.budget->may_retry()) return false;
      std::chrono::nanoseconds wait{};
      if (retry_.push_back) {
        retry_decision d = retry_.push_back(f.error, f.what);
        if (!d) return false;
        wait = *d;
      } else {
        wait = retry_.wait_before(attempts_[j], retries_[j].previous_wait, rng_);
      }
      if constexpr (present<Deadline>) {  // no retry that would start after the deadline
        using clock = typename timer_t<Deadline>::clock_type;
        if (deadline_timer_ && clock::now() + wait >= deadline_timer_->expiry()) return false;
      }
      auto& r = retries_[j];
      r.previous_wait = wait;
      r.failure = std::move(f);
      if (!r.timer) r.timer.emplace(strand_);
      r.timer->expires_after(std::chrono::duration_cast<typename timer_t<Retry>::duration>(wait));
      waiting_[j] = true;
      if constexpr (present<Timeout>) attempt_timers_[j]->cancel();
      ++pending_;  // the wait, before the failed attempt is let go
      r.timer->async_wait(boost::asio::bind_executor(strand_, [self = this->shared_from_this(), j](auto ec) {
        self->end_wait(j, !ec);
        self->done_one();
      }));
      done_one();  // the failed attempt
      return true;
    }
  }

  // Child j's wait before a retry ended: the next attempt, or — cancelled or past the
  // deadline meanwhile — the last failure, final.
  void end_wait(std::size_t j, bool elapsed) {
    if constexpr (present<Retry>) {
      waiting_[j] = false;
      if (elapsed && !cancelled_ && !deadline_passed_) {
        started_[j].store(false, std::memory_order_release);
        restart_(this->shared_from_this(), j, pipeline_);
        return;
      }
      failure_info f = std::move(*retries_[j].failure);
      if (deadline_passed_) f = {make_error_code(errc::timeout), "the gather's deadline passed"};
      if (cancelled_) f = {make_error_code(errc::cancelled), "cancelled with the gather"};
      sink_.take_failure(targets_[j], std::move(f), attempts_[j]);
      finished_[j] = true;
      if (--shards_outstanding_ == 0 && deadline_timer_) deadline_timer_->cancel();
    }
  }

  std::string limit_text() const {
    return deadline_passed_ ? "the gather's deadline passed" : "the attempt's timeout passed";
  }

  void child_done(std::size_t j) {
    finished_[j] = true;
    if constexpr (present<Timeout>) attempt_timers_[j]->cancel();
    if (--shards_outstanding_ == 0 && deadline_timer_) deadline_timer_->cancel();
    done_one();
  }

  // One child (shard or timer) completed; the last one completes the gather.
  void done_one() {
    if (--pending_ == 0) complete();
  }

  void complete() {
    boost::asio::get_associated_cancellation_slot(handler_).clear();
    std::error_code ec;
    result_type result = finish(ec);
    if (cancelled_ && ec == errc::partial_result) ec = errc::cancelled;
    if (deadline_passed_ && ec == errc::partial_result) ec = errc::timeout;
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
      return std::move(sink_).finish(targets_.count(), targets_.pruned(), rule_, ec);
    } catch (...) {
      if constexpr (std::is_default_constructible_v<result_type>) {
        ec = current_failure().error;
        return result_type{};
      } else {
        throw;
      }
    }
  }

  template <class Policy>
  struct timer_of {
    using type = typename Policy::timer_type;
  };
  template <class Policy>
  using timer_t = typename std::conditional_t<present<Policy>, timer_of<Policy>,
                                              std::type_identity<boost::asio::steady_timer>>::type;

  Req request_;
  Handler handler_;
  boost::asio::executor_work_guard<handler_executor> work_;
  boost::asio::strand<handler_executor> strand_;
  gather_sink<R, Acc> sink_;
  targets targets_;
  partial rule_;
  Deadline deadline_;
  Timeout timeout_;
  std::vector<boost::asio::cancellation_signal> signals_;
  std::vector<bool> finished_;
  std::vector<bool> timed_out_;
  std::unique_ptr<std::atomic<bool>[]> started_;
  std::optional<timer_t<Deadline>> deadline_timer_;
  std::vector<std::optional<timer_t<Timeout>>> attempt_timers_;
  Retry retry_;
  std::vector<unsigned> attempts_;     // attempts started on each child
  std::vector<bool> waiting_ = std::vector<bool>(attempts_.size(), false);  // between attempts
  struct retry_slot {
    std::optional<timer_t<Retry>> timer;
    std::chrono::nanoseconds previous_wait{};
    std::optional<failure_info> failure;  // the failure that the wait may end up reporting
  };
  std::vector<retry_slot> retries_;
  std::mt19937_64 rng_;
  restart_fn restart_ = nullptr;
  void const* pipeline_ = nullptr;
  std::size_t pending_ = 0;             // children not completed: shards and timers
  std::size_t shards_outstanding_ = 0;  // shards not completed
  bool cancelled_ = false;
  bool deadline_passed_ = false;
};

// Starts child j, on shard `shard`, on the state's strand.
template <class R, class State, class S, class Exec>
void start_child(std::shared_ptr<State> const& state, std::size_t j, S& shard, Exec const& exec) {
  using request_type = std::remove_cvref_t<decltype(state->request())>;
  state->start_attempt(j);
  auto slot = state->child_slot(j);
  if constexpr (async_shard_for<S, request_type>) {
    state->claim(j);  // async children are cancelled through their slot, never skipped
    auto on_done = [state, j](auto ec, auto&& answer) {
      if (ec) {
        std::error_code code = ec;
        state->child_failure(j, failure_info{code, code.message()});
      } else {
        state->child_value(j, R(std::forward<decltype(answer)>(answer)));
      }
    };
    try {
      shard.async_execute(state->request(),
                          boost::asio::bind_cancellation_slot(slot, boost::asio::bind_executor(state->strand(), on_done)));
    } catch (...) {  // the shard threw while starting: a failure, delivered like any other
      boost::asio::post(state->strand(), [state, j, f = current_failure()]() mutable {
        state->child_failure(j, std::move(f));
      });
    }
  } else {
    auto task = [state, j, &shard]() noexcept {
      std::optional<outcome<R>> o;
      if (state->claim(j)) {
        o.emplace(call_shard<R>(shard, state->request()));
      } else {
        o.emplace(std::in_place_index<1>, failure_info{make_error_code(errc::cancelled), "cancelled before it started"});
      }
      boost::asio::post(state->strand(), [state, j, o = std::move(*o)]() mutable {
        if (o.index() == 0)
          state->child_value(j, std::get<0>(std::move(o)));
        else
          state->child_failure(j, std::get<1>(std::move(o)));
      });
    };
    if constexpr (std::is_same_v<Exec, inline_executor>)
      boost::asio::post(state->executor(), std::move(task));
    else
      exec.execute(std::move(task));
  }
}

// Starts child j again, for a retry: finds its shard (the state cannot name the shards'
// types) and starts an attempt on it.
template <class R, class State, class Pipeline>
void restart_child(std::shared_ptr<State> const& state, std::size_t j, void const* p) {
  auto const* pipe = static_cast<Pipeline const*>(p);
  std::size_t k = 0;
  for_each_target(pipe->shards(), state->target_list(), [&](std::size_t, auto& shard) {
    if (k++ == j) start_child<R>(state, j, shard, pipe->executor());
  });
}

// The executor a gather completes on when its handler names none: the pipeline's own
// (sg::on(io.get_executor())) if it is an Asio executor, else the system executor — as an
// Asio I/O object's executor is the default for its operations.
template <class Exec>
auto default_completion_executor(Exec const& exec) {
  if constexpr (boost::asio::execution::is_executor<Exec>::value || boost::asio::is_executor<Exec>::value)
    return exec;
  else
    return boost::asio::system_executor();
}

// The initiation: routes, builds the state, then starts the deadline and every child on
// the gather's strand.
template <class R, class Acc, class Pipeline>
struct async_gather_initiation {
  Pipeline const* pipe;

  template <class Handler, class Req>
  void operator()(Handler&& handler, Req request) const {
    auto fallback = default_completion_executor(pipe->executor());
    auto deadline = policy_of<deadline_tag>(pipe->policies());
    auto timeout = policy_of<timeout_tag>(pipe->policies());
    auto retry = policy_of<retry_tag>(pipe->policies());
    using state_type = async_gather_state<R, Acc, Req, std::decay_t<Handler>, decltype(fallback),
                                          decltype(deadline), decltype(timeout), decltype(retry)>;
    auto& set = pipe->shards();
    targets t = pipe->route(request, shard_count(set));
    auto state = std::make_shared<state_type>(pipe->merge(), std::move(request), std::forward<Handler>(handler),
                                              fallback, t, pipe->completion_rule(), deadline, timeout, std::move(retry));
    state->set_restart(&restart_child<R, state_type, Pipeline>, pipe);
    state->watch_cancellation();
    Pipeline const* p = pipe;
    boost::asio::dispatch(state->strand(), [state, p] {
      auto& shards = p->shards();
      targets const& list = state->target_list();
      if (list.count() == 0) {
        state->complete_empty();
        return;
      }
      state->start_deadline();
      std::size_t j = 0;
      for_each_target(shards, list, [&](std::size_t, auto& shard) { start_child<R>(state, j++, shard, p->executor()); });
    });
  }
};

}  // namespace detail
}  // namespace sg
