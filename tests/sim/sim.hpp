// Deterministic simulation of shards on virtual time: a clock that moves only when the
// scheduler jumps it to the next timer, an Asio-style timer on it, and a simulated shard
// with a latency distribution (lognormal body, straggler tail), errors, hangs, crash
// windows and flapping. Everything runs on one thread of one io_context, so a run is a
// pure function of its seed. Used by tests/sim/scenarios.cpp and benchmarks/tail.cpp.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <system_error>
#include <utility>
#include <vector>

namespace sim {

namespace asio = boost::asio;

// Virtual time in nanoseconds; moved only by the scheduler.
struct clock {
  using rep = std::int64_t;
  using period = std::nano;
  using duration = std::chrono::nanoseconds;
  using time_point = std::chrono::time_point<clock>;
  static constexpr bool is_steady = true;
  static time_point now() noexcept { return time_point(duration(ticks)); }
  static inline rep ticks = 0;
};

// The timers waiting on virtual time, earliest first (ties in the order they were set).
class scheduler {
 public:
  // Registers a wait for handler h (completed on its associated executor, else ex);
  // returns its id.
  template <class Handler>
  std::uint64_t add(clock::time_point when, Handler h, asio::any_io_executor const& ex) {
    const std::uint64_t id = ++next_id_;
    auto target = asio::get_associated_executor(h, ex);
    waits_.emplace(id, std::make_unique<wait_for<Handler, decltype(target)>>(std::move(h), target));
    queue_.push({when, id});
    return id;
  }
  // Completes a wait at once with operation_aborted (posted); false if it is not pending.
  bool cancel(std::uint64_t id) {
    auto it = waits_.find(id);
    if (it == waits_.end()) return false;
    it->second->complete(asio::error::operation_aborted);
    waits_.erase(it);
    return true;
  }
  // Moves the clock to the earliest pending wait and completes it (posted); false when
  // none is pending.
  bool fire_next() {
    while (!queue_.empty()) {
      auto [when, id] = queue_.top();
      queue_.pop();
      auto it = waits_.find(id);
      if (it == waits_.end()) continue;  // cancelled
      if (when > clock::now()) clock::ticks = when.time_since_epoch().count();
      it->second->complete({});
      waits_.erase(it);
      return true;
    }
    return false;
  }
  std::size_t pending() const noexcept { return waits_.size(); }

  static inline scheduler* current = nullptr;

 private:
  struct wait {
    virtual ~wait() = default;
    virtual void complete(boost::system::error_code ec) = 0;  // posts the handler
  };
  template <class Handler, class Executor>
  struct wait_for final : wait {
    wait_for(Handler handler, Executor executor) : h(std::move(handler)), ex(std::move(executor)) {}
    void complete(boost::system::error_code ec) override {
      asio::post(ex, [h = std::move(h), ec]() mutable { std::move(h)(ec); });
    }
    Handler h;
    Executor ex;
  };
  struct entry {
    clock::time_point when;
    std::uint64_t id;
    bool operator>(entry const& o) const { return when != o.when ? when > o.when : id > o.id; }
  };
  std::uint64_t next_id_ = 0;
  std::map<std::uint64_t, std::unique_ptr<wait>> waits_;
  std::priority_queue<entry, std::vector<entry>, std::greater<>> queue_;
};

// An Asio-style waitable timer on virtual time (what sg's policies need of a timer).
class timer {
 public:
  using clock_type = clock;
  using duration = clock::duration;
  using time_point = clock::time_point;

  template <class Executor>
  explicit timer(Executor const& ex) : ex_(ex) {}
  timer(timer const&) = delete;
  timer& operator=(timer const&) = delete;
  ~timer() { cancel(); }

  void expires_after(duration d) {
    cancel();
    expiry_ = clock::now() + d;
  }
  void expires_at(time_point t) {
    cancel();
    expiry_ = t;
  }
  time_point expiry() const noexcept { return expiry_; }
  std::size_t cancel() {
    if (id_ == 0 || scheduler::current == nullptr) return 0;  // the simulation is over
    const bool was = scheduler::current->cancel(id_);
    id_ = 0;
    return was ? 1 : 0;
  }

  template <class Token>
  auto async_wait(Token&& token) {
    return asio::async_initiate<Token, void(boost::system::error_code)>(
        [this](auto handler) { id_ = scheduler::current->add(expiry_, std::move(handler), ex_); }, token);
  }

 private:
  asio::any_io_executor ex_;
  time_point expiry_{};
  std::uint64_t id_ = 0;
};

// Runs the io_context and the scheduler until `done()` or nothing is left to run; false
// when it stopped with `done()` still false.
template <class Done>
bool run(asio::io_context& io, Done&& done) {
  for (;;) {
    io.restart();
    io.poll();
    if (done()) return true;
    if (!scheduler::current->fire_next()) {
      io.restart();
      io.poll();
      return done();
    }
  }
}

// How a simulated shard behaves.
struct behaviour {
  double median_ms = 5;        // lognormal body
  double sigma = 0.3;
  double straggler_rate = 0;   // of calls, 10× to 100× slower
  double error_rate = 0;       // connection_reset after the latency
  double hang_rate = 0;        // never answers (until cancelled)
  std::vector<std::pair<double, double>> crashes{};  // [from, to) ms of virtual time: refuses at once
  double flap_period_ms = 0;   // when > 0: down (refusing) every other period
};

// A request carries which gather (query) sent it, and a trace an attempt layer may set.
struct request {
  int query = 0;
  long trace = -1;
};
using rows = std::vector<std::int64_t>;

// What simulated shards record, shared by a scenario's shards.
struct ledger {
  bool per_query = true;                                   // keep the two maps below
  long total_calls = 0;
  std::map<std::pair<int, std::size_t>, int> calls;        // (query, shard) → calls
  std::map<int, int> outstanding;                          // query → calls not completed
  std::map<std::size_t, int> shard_outstanding;            // shard → calls not completed, every query
  std::function<void(int query, std::size_t shard, std::size_t replica)> on_call{};  // a check, at each call
  std::function<void(request const&, std::size_t shard)> on_request{};  // a check of what the call was sent
};

// A simulated async shard: answers `rows_per_answer` rows that name it (shard·1000 + k).
class shard {
 public:
  shard(asio::io_context& io, std::size_t id, std::size_t replica, behaviour b, std::uint64_t seed, ledger& log,
        int rows_per_answer = 3)
      : io_(&io), id_(id), replica_(replica), b_(std::move(b)), rng_(seed), log_(&log), rows_(rows_per_answer) {}

  std::size_t id() const noexcept { return id_; }

  // The rows this shard answers.
  rows answer() const {
    rows r;
    for (int k = 0; k < rows_; ++k) r.push_back(static_cast<std::int64_t>(id_) * 1000 + k);
    return r;
  }

  template <class Token>
  auto async_execute(request const& req, Token&& token) {
    return asio::async_initiate<Token, void(std::error_code, rows)>(
        [this](auto handler, request q) { start(std::move(handler), q); }, token, req);
  }

 private:
  template <class Handler>
  void start(Handler handler, request q) {
    ++log_->total_calls;
    if (log_->per_query) {
      ++log_->calls[{q.query, id_}];
      ++log_->outstanding[q.query];
      ++log_->shard_outstanding[id_];
    }
    if (log_->on_call) log_->on_call(q.query, id_, replica_);
    if (log_->on_request) log_->on_request(q, id_);
    const double now_ms = static_cast<double>(clock::now().time_since_epoch().count()) / 1e6;
    std::error_code ec;
    double latency_ms;
    bool down = false;
    for (auto [from, to] : b_.crashes) down = down || (now_ms >= from && now_ms < to);
    if (b_.flap_period_ms > 0) down = down || static_cast<std::int64_t>(now_ms / b_.flap_period_ms) % 2 == 1;
    std::uniform_real_distribution<double> u(0, 1);
    const double draw_hang = u(rng_), draw_error = u(rng_), draw_straggler = u(rng_);
    latency_ms = std::lognormal_distribution<double>(std::log(b_.median_ms), b_.sigma)(rng_);
    if (draw_straggler < b_.straggler_rate) latency_ms *= std::uniform_real_distribution<double>(10, 100)(rng_);
    if (down) {
      ec = std::make_error_code(std::errc::connection_refused);
      latency_ms = 0.1;
    } else if (draw_hang < b_.hang_rate) {
      latency_ms = 1e9;  // answers only to cancellation
    } else if (draw_error < b_.error_rate) {
      ec = std::make_error_code(std::errc::connection_reset);
    }
    auto t = std::make_shared<timer>(io_->get_executor());
    t->expires_after(std::chrono::nanoseconds(static_cast<std::int64_t>(latency_ms * 1e6)));
    auto slot = asio::get_associated_cancellation_slot(handler);
    if (slot.is_connected()) slot.assign([t](asio::cancellation_type) { t->cancel(); });
    t->async_wait([this, t, ec, q, h = std::move(handler)](boost::system::error_code waited) mutable {
      asio::get_associated_cancellation_slot(h).clear();
      if (log_->per_query) {
        --log_->outstanding[q.query];
        --log_->shard_outstanding[id_];
      }
      const std::error_code out = waited ? std::make_error_code(std::errc::operation_canceled) : ec;
      auto ex = asio::get_associated_executor(h, io_->get_executor());
      asio::post(ex, [h = std::move(h), out, r = out ? rows{} : answer()]() mutable { std::move(h)(out, std::move(r)); });
    });
  }

  asio::io_context* io_;
  std::size_t id_, replica_;
  behaviour b_;
  std::mt19937_64 rng_;
  ledger* log_;
  int rows_;
};

}  // namespace sim
