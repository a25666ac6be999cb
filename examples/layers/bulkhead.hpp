// examples/layers/bulkhead.hpp — a user's own attempt layer: a per-shard concurrency limit
// (a bulkhead) that queues attempts. Written only against sg's public API, as any user
// would write one (sg/policy/layer.hpp); docs/resilience.md, "Your own layers".
//
//   example::bulkhead_limits limits({.max_concurrent = 4, .max_queued = 64});  // yours, shared
//   auto pipe = sg::scatter(shards) | sg::with(sg::timeout{50ms}, example::bulkhead{&limits}) |
//               sg::on(io.get_executor()) | sg::gather(merge);
//
// At most max_concurrent attempts run on one shard at once, across every gather that uses
// the same limits; further attempts wait in a first-in, first-out queue of at most
// max_queued, and beyond that fail at once with std::errc::device_or_resource_busy. A
// waiting attempt that is cancelled (its timeout, the gather's deadline or cancellation)
// leaves the queue and fails with std::errc::operation_canceled, which sg records as that
// timeout, deadline or cancellation. Thread-safe: gathers on different threads share it.
#pragma once

#include <sg/error.hpp>
#include <sg/policy/layer.hpp>

#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/post.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

namespace example {

// The limits and the queues, per shard index; owned by the user, outliving the pipelines.
class bulkhead_limits {
 public:
  struct options {
    std::size_t max_concurrent = 1;
    std::size_t max_queued = 1024;
  };

  explicit bulkhead_limits(options o) : o_(o) {
    if (o_.max_concurrent == 0) throw std::invalid_argument("example::bulkhead_limits: max_concurrent must be at least 1");
  }

  // Attempts running on / waiting for `shard` now.
  std::size_t running(std::size_t shard) const {
    std::lock_guard lock(mutex_);
    auto it = shards_.find(shard);
    return it == shards_.end() ? 0 : it->second.running;
  }
  std::size_t queued(std::size_t shard) const {
    std::lock_guard lock(mutex_);
    auto it = shards_.find(shard);
    return it == shards_.end() ? 0 : it->second.queue.size();
  }
  // The most attempts ever seen running on one shard at once.
  std::size_t peak() const {
    std::lock_guard lock(mutex_);
    return peak_;
  }

  // What acquire() decided.
  enum class admission { run, queued, rejected };

  // Takes a permit for `shard`, or queues `resume` (called, from the releasing thread, once
  // a permit is handed over) under `id`, or rejects when the queue is full.
  admission acquire(std::size_t shard, std::uint64_t id, std::function<void()> resume) {
    std::lock_guard lock(mutex_);
    per_shard& p = shards_[shard];
    if (p.running < o_.max_concurrent) {
      ++p.running;
      if (p.running > peak_) peak_ = p.running;
      return admission::run;
    }
    if (p.queue.size() >= o_.max_queued) return admission::rejected;
    p.queue.push_back(waiter{id, std::move(resume)});
    return admission::queued;
  }

  // Removes waiter `id` of `shard` from its queue; false when it is not there (its permit
  // was already handed over).
  bool leave(std::size_t shard, std::uint64_t id) {
    std::lock_guard lock(mutex_);
    auto& q = shards_[shard].queue;
    for (auto it = q.begin(); it != q.end(); ++it)
      if (it->id == id) {
        q.erase(it);
        return true;
      }
    return false;
  }

  // Gives a permit back: to the first waiter, if any (resumed here), else to the pool.
  void release(std::size_t shard) {
    std::function<void()> next;
    {
      std::lock_guard lock(mutex_);
      per_shard& p = shards_[shard];
      if (p.queue.empty()) {
        --p.running;
        return;
      }
      next = std::move(p.queue.front().resume);  // the permit passes to it: running unchanged
      p.queue.pop_front();
    }
    next();
  }

  std::uint64_t next_id() {
    std::lock_guard lock(mutex_);
    return ++ids_;
  }

 private:
  struct waiter {
    std::uint64_t id;
    std::function<void()> resume;
  };
  struct per_shard {
    std::size_t running = 0;
    std::deque<waiter> queue;
  };
  options o_;
  mutable std::mutex mutex_;
  std::map<std::size_t, per_shard> shards_;
  std::size_t peak_ = 0;
  std::uint64_t ids_ = 0;
};

// The layer.
struct bulkhead {
  using policy_tag = sg::layer_tag;
  bulkhead_limits* limits;

  template <class Ctx, class Req, class Next, class Done>
  void operator()(Ctx const& ctx, Req const& request, Next next, Done done) const {
    // What a waiting attempt keeps. `request` lives until the attempt completes (sg keeps
    // it), so a pointer to it is enough.
    struct waiting {
      Next next;
      Done done;
      Req const* request;
      bool over = false;  // cancelled while waiting, or resumed: each happens once
    };
    auto w = std::make_shared<waiting>(waiting{std::move(next), std::move(done), &request});
    bulkhead_limits* l = limits;
    const std::size_t shard = ctx.shard();
    // Runs the attempt holding a permit; gives the permit back when it completes.
    auto run = [l, shard](std::shared_ptr<waiting> const& it) {
      it->next(*it->request, [l, shard, done = std::move(it->done)](auto&& result) mutable {
        l->release(shard);
        std::move(done)(std::forward<decltype(result)>(result));
      });
    };
    const std::uint64_t id = l->next_id();
    auto ex = ctx.executor();
    const auto admitted = l->acquire(shard, id, [w, ex, run, l, shard] {
      // A permit was handed over (on the releasing thread): continue on this gather's strand.
      boost::asio::post(ex, [w, run, l, shard] {
        if (w->over) {  // cancelled meanwhile: pass the permit on
          l->release(shard);
          return;
        }
        w->over = true;
        run(w);
      });
    });
    switch (admitted) {
      case bulkhead_limits::admission::run:
        w->over = true;
        run(w);
        return;
      case bulkhead_limits::admission::rejected:
        std::move(w->done)(sg::attempt_error{std::make_error_code(std::errc::device_or_resource_busy),
                                             "bulkhead: shard " + std::to_string(shard) + " is at its limit and its queue is full"});
        return;
      case bulkhead_limits::admission::queued:
        // Weakly: the slot belongs to the layer above (sg::timeout's, say) and outlives the
        // attempt, and w owns done, which owns that layer's state: a strong capture is a cycle.
        ctx.cancellation_slot().assign([weak = std::weak_ptr(w), l, shard, id](boost::asio::cancellation_type) {
          auto waiter = weak.lock();
          if (!waiter || waiter->over) return;
          waiter->over = true;
          l->leave(shard, id);  // if the permit is already on its way, the resume passes it on
          std::move(waiter->done)(sg::attempt_error{std::make_error_code(std::errc::operation_canceled),
                                               "bulkhead: cancelled while waiting for a permit"});
        });
        return;
    }
  }
};

}  // namespace example
