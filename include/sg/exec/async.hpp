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
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/system_executor.hpp>

#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
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

// The state of one asynchronous gather, shared by every child completion handler. All of
// its members are touched on its strand only, but for `started_` (sync tasks claim their
// shard from other threads).
template <class R, class Acc, class Req, class Handler, class DefaultEx>
class async_gather_state : public std::enable_shared_from_this<async_gather_state<R, Acc, Req, Handler, DefaultEx>> {
 public:
  using handler_executor = boost::asio::associated_executor_t<Handler, DefaultEx>;
  using result_type = gathered<std::remove_cvref_t<decltype(std::declval<Acc&&>().finish())>>;

  template <class Merge>
  async_gather_state(Merge const& merge, Req request, Handler handler, DefaultEx const& fallback, targets const& t,
                     partial rule)
      : request_(std::move(request)),
        handler_(std::move(handler)),
        work_(boost::asio::get_associated_executor(handler_, fallback)),
        strand_(boost::asio::make_strand(work_.get_executor())),
        sink_(merge),
        targeted_(t.count()),
        pruned_(t.pruned()),
        rule_(rule),
        remaining_(t.count()),
        shard_of_(t.count()),
        signals_(t.count()),
        finished_(t.count(), false),
        started_(new std::atomic<bool>[t.count()] {}) {}

  Req const& request() const noexcept { return request_; }
  auto const& strand() const noexcept { return strand_; }
  handler_executor executor() const { return work_.get_executor(); }

  // Child j is shard `shard`; its cancellation slot.
  boost::asio::cancellation_slot bind_child(std::size_t j, std::size_t shard) {
    shard_of_[j] = shard;
    return signals_[j].slot();
  }

  // A sync task claims its shard; false when the gather was cancelled first.
  bool claim(std::size_t j) noexcept { return !started_[j].exchange(true, std::memory_order_acq_rel); }

  // Installs the parent's cancellation: forwarded, on the strand, to every child.
  void watch_cancellation() {
    auto slot = boost::asio::get_associated_cancellation_slot(handler_);
    if (!slot.is_connected()) return;
    std::weak_ptr<async_gather_state> weak = this->shared_from_this();
    slot.assign([weak](boost::asio::cancellation_type type) {
      if (auto self = weak.lock())
        boost::asio::post(self->strand_, [self, type] { self->cancel_children(type); });
    });
  }

  // Child j completed (on the strand).
  void child_value(std::size_t j, R&& value) {
    sink_.take_value(shard_of_[j], std::move(value));
    child_done(j);
  }
  void child_failure(std::size_t j, failure_info&& f) {
    if (cancelled_ && (f.error == std::errc::operation_canceled || f.error == errc::cancelled))
      f = {make_error_code(errc::cancelled), "cancelled with the gather"};
    sink_.take_failure(shard_of_[j], std::move(f));
    child_done(j);
  }

  // No targets at all: completes at once (posted, never inside the initiating call).
  void complete_empty() {
    boost::asio::post(strand_, [self = this->shared_from_this()] { self->complete(); });
  }

 private:
  void cancel_children(boost::asio::cancellation_type type) {
    if (remaining_ == 0) return;
    cancelled_ = true;
    for (std::size_t j = 0; j < signals_.size(); ++j) {
      if (finished_[j]) continue;
      if (claim(j)) {
        // A sync shard not started yet: it never will be; its task completes it.
        continue;
      }
      signals_[j].emit(type);
    }
  }

  void child_done(std::size_t j) {
    finished_[j] = true;
    if (--remaining_ == 0) complete();
  }

  void complete() {
    boost::asio::get_associated_cancellation_slot(handler_).clear();
    std::error_code ec;
    result_type result = finish(ec);
    if (cancelled_ && ec == errc::partial_result) ec = errc::cancelled;
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
      return std::move(sink_).finish(targeted_, pruned_, rule_, ec);
    } catch (...) {
      if constexpr (std::is_default_constructible_v<result_type>) {
        ec = current_failure().error;
        return result_type{};
      } else {
        throw;
      }
    }
  }

  Req request_;
  Handler handler_;
  boost::asio::executor_work_guard<handler_executor> work_;
  boost::asio::strand<handler_executor> strand_;
  gather_sink<R, Acc> sink_;
  std::size_t targeted_, pruned_;
  partial rule_;
  std::size_t remaining_;
  std::vector<std::size_t> shard_of_;
  std::vector<boost::asio::cancellation_signal> signals_;
  std::vector<bool> finished_;
  std::unique_ptr<std::atomic<bool>[]> started_;
  bool cancelled_ = false;
};

// Starts child j on shard `shard` (index `i` in the set).
template <class R, class State, class S, class Exec>
void start_child(std::shared_ptr<State> const& state, std::size_t j, std::size_t i, S& shard, Exec const& exec) {
  using request_type = std::remove_cvref_t<decltype(state->request())>;
  auto slot = state->bind_child(j, i);
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

// The initiation: routes, builds the state, starts every child.
template <class R, class Acc, class Pipeline>
struct async_gather_initiation {
  Pipeline const* pipe;

  template <class Handler, class Req>
  void operator()(Handler&& handler, Req request) const {
    auto fallback = default_completion_executor(pipe->executor());
    using state_type = async_gather_state<R, Acc, Req, std::decay_t<Handler>, decltype(fallback)>;
    auto& set = pipe->shards();
    const targets t = pipe->route(request, shard_count(set));
    auto state = std::make_shared<state_type>(pipe->merge(), std::move(request), std::forward<Handler>(handler),
                                              fallback, t, pipe->completion_rule());
    state->watch_cancellation();
    if (t.count() == 0) {
      state->complete_empty();
      return;
    }
    std::size_t j = 0;
    for_each_target(set, t, [&](std::size_t i, auto& shard) {
      start_child<R>(state, j++, i, shard, pipe->executor());
    });
  }
};

}  // namespace detail
}  // namespace sg
