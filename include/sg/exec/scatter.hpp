// sg/exec/scatter.hpp — the synchronous scatter: call every shard of a set, feed each
// answer to the merge's accumulator as it arrives, record every failure. Private to sg;
// the public face is sg::scatter(...) | ... in sg/pipeline.hpp.
#pragma once

#include <sg/error.hpp>
#include <sg/exec/on.hpp>
#include <sg/gathered.hpp>
#include <sg/merge/protocol.hpp>
#include <sg/policy/partial.hpp>
#include <sg/route.hpp>
#include <sg/shard.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace sg::detail {

// A failure: its code and words (sg::attempt_error, in sg/error.hpp).
using failure_info = attempt_error;

// Describes the exception being handled. Call only inside a catch block.
inline failure_info current_failure() {
  try {
    throw;
  } catch (std::system_error const& e) {
    return {e.code(), e.what()};
  } catch (std::exception const& e) {
    return {make_error_code(errc::shard_failed), e.what()};
  } catch (...) {
    return {make_error_code(errc::shard_failed), "unknown exception"};
  }
}

template <class R>
using outcome = std::variant<R, failure_info>;

// Calls one shard and hands its answer to on_value(R&&), or its failure to
// on_error(failure_info&&): whatever the shard throws or returns as an error becomes a
// failure_info. An exception from on_value itself (only std::bad_alloc: the sink catches
// the merge's) propagates unchanged and is never taken for the shard's.
template <class R, class S, class Req, class OnValue, class OnError>
void call_shard(S& shard, Req const& req, OnValue&& on_value, OnError&& on_error) {
  bool delivered = false;
  try {
    decltype(auto) raw = sg::execute(shard, req);
    using raw_type = decltype(raw);
    if constexpr (expected_like<std::remove_cvref_t<raw_type>>) {
      if (!raw.has_value()) {
        std::error_code ec = raw.error();
        on_error(failure_info{ec, ec.message()});
        return;
      }
      delivered = true;
      on_value(static_cast<R>(*std::move(raw)));
    } else if constexpr (std::is_same_v<raw_type, R>) {
      delivered = true;
      on_value(std::move(raw));  // the common case: no conversion, no extra move
    } else {
      delivered = true;
      on_value(static_cast<R>(std::forward<raw_type>(raw)));
    }
  } catch (...) {
    if (delivered) throw;
    on_error(current_failure());
  }
}

// The same, as a value: for answers that cross threads.
template <class R, class S, class Req>
outcome<R> call_shard(S& shard, Req const& req) {
  std::optional<outcome<R>> o;
  call_shard<R>(
      shard, req, [&](R&& value) { o.emplace(std::in_place_index<0>, std::move(value)); },
      [&](failure_info&& f) { o.emplace(std::in_place_index<1>, std::move(f)); });
  return std::move(*o);
}

// Feeds answers to the accumulator and collects failures; builds the gathered result.
template <class R, class Acc>
class gather_sink {
 public:
  // Builds the accumulator in place (no move of a possibly large accumulator).
  template <class Merge>
  explicit gather_sink(Merge const& merge) : acc_(merge.template accumulator<R>()) {}

  void take_value(std::size_t shard, R&& value) {
    try {
      acc_.add(shard, std::move(value));
      ++succeeded_;
    } catch (...) {
      take_failure(shard, current_failure());  // the merge rejected this answer
    }
  }

  void take_failure(std::size_t shard, failure_info&& f, unsigned attempts = 1) {
    failures_.push_back(shard_failure{shard, f.error, std::move(f.what), attempts});
  }

  // Failures recorded so far (an answer the merge rejected is one).
  std::size_t failure_count() const noexcept { return failures_.size(); }
  // Answers merged so far.
  std::size_t succeeded() const noexcept { return succeeded_; }

  // Whether the merge can settle early (sg::settling_accumulator).
  static constexpr bool can_settle = settling_accumulator<Acc>;
  // Every shard below `frontier` has answered or failed: true when the answers so far fix
  // the result (the accumulator says so) and the completion rule accepts it as it stands,
  // so that stopping now never turns an answer into a failure. Then the shards still
  // outstanding are not needed: each is given to take_unneeded().
  bool settled(std::size_t frontier, partial const& rule) {
    if constexpr (can_settle) {
      return rule.accepts(succeeded_, succeeded_ + failures_.size()) && acc_.settled(frontier);
    } else {
      (void)frontier, (void)rule;
      return false;
    }
  }
  // A shard whose answer the settled result does not need: not called, or not waited for.
  // It is counted as pruned, not as targeted.
  void take_unneeded(std::size_t, unsigned /*attempts*/ = 0) noexcept { ++unneeded_; }

  // Finishes the merge and applies the completion rule: `ec` is cleared on success, else
  // set to sg::errc::no_shards or sg::errc::partial_result.
  auto finish(std::size_t targeted, std::size_t pruned, partial const& rule, std::error_code& ec) && {
    if (failures_.size() > 1)
      std::sort(failures_.begin(), failures_.end(),
                [](shard_failure const& a, shard_failure const& b) { return a.shard < b.shard; });
    using T = std::remove_cvref_t<decltype(std::move(acc_).finish())>;
    const completeness c{targeted - unneeded_, succeeded_, failures_.size(), pruned + unneeded_};
    gathered<T> g{std::move(acc_).finish(), c, std::move(failures_)};
    if (targeted == 0)
      ec = errc::no_shards;
    else if (!rule.accepts(succeeded_, targeted - unneeded_))
      ec = errc::partial_result;
    else if (ec)
      ec.clear();  // only when set: clear() asks for the system category, an out-of-line call
    return g;
  }

 private:
  Acc acc_;
  std::vector<shard_failure> failures_;
  std::size_t succeeded_ = 0;
  std::size_t unneeded_ = 0;
};

// Calls f(index, shard) for every targeted shard, in index order.
template <shard_set Set, class F>
void for_each_target(Set& set, targets const& t, F&& f) {
  if (t.is_all()) {
    for_each_shard(set, f);
  } else if constexpr (std::ranges::random_access_range<Set>) {
    auto first = std::ranges::begin(set);
    for (std::size_t j = 0; j < t.count(); ++j) {
      auto&& shard = first[static_cast<std::ranges::range_difference_t<Set>>(t[j])];
      f(t[j], shard);
    }
  } else {
    std::size_t next = 0;
    for_each_shard(set, [&](std::size_t i, auto& shard) {
      if (next < t.count() && t[next] == i) {
        ++next;
        f(i, shard);
      }
    });
  }
}

// --- inline: every targeted shard on the calling thread, in shard order -----------------------
// A merge that settles early (a LIMIT without ORDER BY) stops the calls once it has.
template <class R, class Set, class Req, class Sink>
void scatter(inline_executor, Set& set, targets const& t, Req const& req, Sink& sink, partial const& rule) {
  [[maybe_unused]] bool settled = false;
  for_each_target(set, t, [&](std::size_t i, auto& shard) {
    if constexpr (Sink::can_settle) {
      if (settled || (settled = sink.settled(i, rule))) {
        sink.take_unneeded(i, 0);
        return;
      }
    }
    call_shard<R>(
        shard, req, [&](R&& value) { sink.take_value(i, std::move(value)); },
        [&](failure_info&& f) { sink.take_failure(i, std::move(f)); });
  });
}

// --- on an executor ----------------------------------------------------------------------------
// Calls the j-th targeted shard of a set by runtime index.
template <class R, class Set, class Req>
class indexed_caller {
 public:
  indexed_caller(Set& set, targets const& t, Req const& req) : set_(&set), targets_(&t), req_(&req) {
    if constexpr (shard_range<Set>) {
      shards_.reserve(t.count());
      // A view may make its shards on the fly (prvalues): keep those by value.
      for_each_target(set, t, [&](std::size_t, auto& shard) {
        if constexpr (holds_values)
          shards_.push_back(shard);
        else
          shards_.push_back(&shard);
      });
    }
  }

  // The shard index of task j.
  std::size_t shard_index(std::size_t j) const noexcept { return (*targets_)[j]; }

  outcome<R> operator()(std::size_t j) const {
    if constexpr (shard_range<Set> && holds_values) {
      return call_shard<R>(shards_[j], *req_);
    } else if constexpr (shard_range<Set>) {
      return call_shard<R>(*shards_[j], *req_);
    } else {
      return call_tuple(shard_index(j), std::make_index_sequence<tuple_size_of<std::remove_cv_t<Set>>::value>{});
    }
  }

 private:
  template <std::size_t... I>
  outcome<R> call_tuple(std::size_t i, std::index_sequence<I...>) const {
    std::optional<outcome<R>> o;
    ((i == I ? (void)o.emplace(call_shard<R>(boost::hana::at_c<I>(*set_), *req_)) : void()), ...);
    return std::move(*o);
  }

  template <class S>
  struct element {
    using type = void;  // a tuple: shards are reached through the set itself
    static constexpr bool by_value = false;
  };
  template <shard_range S>
  struct element<S> {
    using reference = std::ranges::range_reference_t<S>;
    static constexpr bool by_value = !std::is_lvalue_reference_v<reference>;
    using type = std::conditional_t<by_value, std::remove_cvref_t<reference>, std::remove_reference_t<reference>>;
  };
  static constexpr bool holds_values = element<Set>::by_value;
  using shard_type = typename element<Set>::type;
  using stored_type = std::conditional_t<holds_values, shard_type, shard_type*>;

  Set* set_;
  targets const* targets_;
  Req const* req_;
  mutable std::vector<stored_type> shards_;  // the targeted shards of a range (or pointers to them)
};

// State shared by the caller and the tasks it posts. A task claims its shard before
// calling it; the caller claims, and runs itself, every shard no task has started. So the
// gather completes even if the executor never runs a task, and a task that runs after the
// gather completed finds its shard claimed and touches nothing but this state, which it
// keeps alive.
template <class R, class Caller>
class pool_state {
 public:
  using response_type = R;
  pool_state(Caller call, std::size_t n)
      : call_(std::move(call)), claimed_(new std::atomic<bool>[n] {}), slots_(n) {
    ready_.reserve(n);
  }

  bool claim(std::size_t i) noexcept { return !claimed_[i].exchange(true, std::memory_order_acq_rel); }

  outcome<R> call(std::size_t i) const {
    try {
      return call_(i);
    } catch (...) {  // std::bad_alloc while describing a failure: report it without text
      return failure_info{std::make_error_code(std::errc::not_enough_memory), {}};
    }
  }

  // In a task: if the shard is still unclaimed, call it and hand the answer to the caller.
  void run_posted(std::size_t i) noexcept {
    in_flight_.fetch_add(1, std::memory_order_acq_rel);  // before the claim: see quiesce()
    if (claim(i)) {
      outcome<R> o = call(i);
      std::lock_guard lock(mutex_);
      slots_[i].emplace(std::move(o));
      ready_.push_back(i);
      in_flight_.fetch_sub(1, std::memory_order_acq_rel);
    } else {
      std::lock_guard lock(mutex_);
      in_flight_.fetch_sub(1, std::memory_order_acq_rel);
    }
    ready_cv_.notify_all();
  }

  // On the caller, when it must leave early (an exception): no shard starts any more, and
  // no task that did start is still using the set or the request when this returns.
  void quiesce(std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) claim(i);
    std::unique_lock lock(mutex_);
    ready_cv_.wait(lock, [&] { return in_flight_.load(std::memory_order_acquire) == 0; });
  }

  // On the caller: takes the answers tasks have delivered so far, waiting for one if
  // `wait` and none is there.
  void take_ready(std::vector<std::size_t>& out, bool wait) {
    std::unique_lock lock(mutex_);
    if (wait) ready_cv_.wait(lock, [&] { return !ready_.empty(); });
    out.swap(ready_);
  }

  outcome<R>&& slot(std::size_t i) noexcept { return std::move(*slots_[i]); }
  std::size_t shard_index(std::size_t j) const noexcept { return call_.shard_index(j); }

 private:
  Caller call_;
  std::unique_ptr<std::atomic<bool>[]> claimed_;
  std::vector<std::optional<outcome<R>>> slots_;
  std::mutex mutex_;
  std::condition_variable ready_cv_;
  std::vector<std::size_t> ready_;
  std::atomic<std::size_t> in_flight_{0};
};

// Hands a shard's outcome to a sink (gather_sink, or the statistics' wrapper of it).
template <class Sink, class R>
void deliver(Sink& sink, std::size_t shard, outcome<R>&& o) {
  if (o.index() == 0)
    sink.take_value(shard, std::get<0>(std::move(o)));
  else
    sink.take_failure(shard, std::get<1>(std::move(o)));
}

// On the caller: run every shard no task has claimed, feed every answer, until all n are
// in — or, once a merge that settles early has (a LIMIT without ORDER BY), until the
// shards already running have returned: the others are not called.
template <class State, class Sink>
void gather_loop(State& state, Sink& sink, std::size_t n, partial const& rule) {
  std::size_t remaining = n;
  std::size_t next_own = 0;
  std::vector<std::size_t> ready;
  ready.reserve(n);
  [[maybe_unused]] std::vector<bool> delivered;
  [[maybe_unused]] std::size_t frontier = 0;  // every task below it has delivered
  bool settled = false;
  auto take = [&](std::size_t j, outcome<typename State::response_type>&& o) {
    --remaining;
    if (settled) {  // a shard that was running when the result settled
      sink.take_unneeded(state.shard_index(j), 1);
      return;
    }
    deliver(sink, state.shard_index(j), std::move(o));
    if constexpr (Sink::can_settle) {
      delivered[j] = true;
      while (frontier < n && delivered[frontier]) ++frontier;
      if (sink.settled(frontier < n ? state.shard_index(frontier) : static_cast<std::size_t>(-1), rule)) {
        settled = true;
        for (std::size_t i = 0; i < n; ++i) {
          if (delivered[i]) continue;
          if (state.claim(i)) {  // never started: no outcome will come
            sink.take_unneeded(state.shard_index(i), 0);
            --remaining;
          }
        }
      }
    }
  };
  if constexpr (Sink::can_settle) delivered.assign(n, false);
  while (remaining != 0) {
    std::size_t own = n;
    while (!settled && next_own < n) {
      std::size_t i = next_own++;
      if (state.claim(i)) {
        own = i;
        break;
      }
    }
    if (own != n) take(own, state.call(own));
    if (remaining == 0) break;
    // With nothing left to run here, block until a task delivers.
    state.take_ready(ready, own == n);
    for (std::size_t j : ready) take(j, state.slot(j));
    ready.clear();
  }
}

template <class R, executor Ex, class Set, class Req, class Sink>
void scatter(Ex const& ex, Set& set, targets const& t, Req const& req, Sink& sink, partial const& rule) {
  const std::size_t n = t.count();
  if (n == 0) return;
  using state_type = pool_state<R, indexed_caller<R, Set, Req>>;
  auto state = std::make_shared<state_type>(indexed_caller<R, Set, Req>(set, t, req), n);

  // Shard 0 is kept for the calling thread; the others are offered to the executor.
  for (std::size_t i = 1; i < n; ++i) {
    try {
      ex.execute([state, i]() noexcept { state->run_posted(i); });
    } catch (...) {
      // Not posted: the caller will run this shard itself.
    }
  }

  try {
    gather_loop(*state, sink, n, rule);
  } catch (...) {
    state->quiesce(n);
    throw;
  }
}

}  // namespace sg::detail
