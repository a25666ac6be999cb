// Async shards for tests: one that answers at once (posted), and one that parks its
// handler until the test releases it — or until the operation is cancelled.
#pragma once

#include <sg/gathered.hpp>

#include "manual_clock.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

namespace sg_test {

namespace asio = boost::asio;
using rows = std::vector<int>;

// What a gather's completion handler received, and how many times it was called.
struct outcome {
  std::error_code ec;
  std::optional<sg::gathered<rows>> result;
  int calls = 0;
};

// A completion handler that fills `o`.
inline auto record(outcome& o) {
  return [&o](std::error_code ec, sg::gathered<rows> g) {
    o.ec = ec;
    o.result.emplace(std::move(g));
    ++o.calls;
  };
}

// Runs the io_context, moving the manual clock 1 ms at a time, until the gather behind `o`
// completes or `limit` has passed; returns how much virtual time that took.
inline std::chrono::milliseconds run_until_done(asio::io_context& io, outcome const& o,
                                                std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  io.restart();  // a poll() that ran out of work stopped the io_context
  auto waited = std::chrono::milliseconds(0);
  for (; waited < limit; waited += std::chrono::milliseconds(1)) {
    io.poll();
    if (o.calls != 0) break;
    manual_clock::advance(std::chrono::milliseconds(1));
  }
  io.poll();
  return waited;
}

// A sync shard that counts its calls: answers {request}.
struct counting_shard {
  std::atomic<int>* calls;
  rows execute(int r) const {
    ++*calls;
    return rows{r};
  }
};

// Answers {base + request} on its executor, or fails with `error` when set.
struct posting_shard {
  asio::io_context* io;
  int base;
  std::error_code error{};

  template <class Token>
  auto async_execute(int request, Token&& token) {
    return asio::async_initiate<Token, void(std::error_code, rows)>(
        [this](auto handler, int r) {
          auto ex = asio::get_associated_executor(handler, io->get_executor());
          asio::post(ex, [h = std::move(handler), ec = error, v = rows{base + r}]() mutable {
            std::move(h)(ec, ec ? rows{} : std::move(v));
          });
        },
        token, request);
  }
};

// Answers each call with the next outcome of its script (an error, or {value}), posted;
// once the script is used up, every further call answers {value}. Counts its calls.
struct scripted_async_shard {
  asio::io_context* io;
  int value;
  std::vector<std::error_code> script{};  // errors of the first calls, in order
  std::shared_ptr<int> calls = std::make_shared<int>(0);

  template <class Token>
  auto async_execute(int, Token&& token) {
    return asio::async_initiate<Token, void(std::error_code, rows)>(
        [this](auto handler) {
          const auto n = static_cast<std::size_t>((*calls)++);
          const std::error_code ec = n < script.size() ? script[n] : std::error_code{};
          auto ex = asio::get_associated_executor(handler, io->get_executor());
          asio::post(ex, [h = std::move(handler), ec, v = rows{value}]() mutable {
            std::move(h)(ec, ec ? rows{} : std::move(v));
          });
        },
        token);
  }
};

// Answers each call after a delay on the manual clock (tests/support/manual_clock.hpp):
// delays[n] for call n (the last one repeats), with errors[n] (none when missing).
// Cancellation ends the wait at once with operation_canceled. Counts calls and
// cancellations.
struct delayed_shard {
  asio::io_context* io;
  int value;
  std::vector<std::chrono::milliseconds> delays{};
  std::vector<std::error_code> errors{};
  std::shared_ptr<int> calls = std::make_shared<int>(0);
  std::shared_ptr<int> cancelled = std::make_shared<int>(0);

  template <class Token>
  auto async_execute(int, Token&& token) {
    return asio::async_initiate<Token, void(std::error_code, rows)>(
        [this](auto handler) {
          const auto n = static_cast<std::size_t>((*calls)++);
          const auto delay = delays.empty() ? std::chrono::milliseconds(0) : delays[std::min(n, delays.size() - 1)];
          const std::error_code ec = n < errors.size() ? errors[n] : std::error_code{};
          auto timer = std::make_shared<manual_timer>(*io);
          timer->expires_after(delay);
          auto slot = asio::get_associated_cancellation_slot(handler);
          if (slot.is_connected())
            slot.assign([timer, c = cancelled](asio::cancellation_type) {
              ++*c;
              timer->cancel();
            });
          timer->async_wait([h = std::move(handler), timer, ec, v = value](std::error_code waited) mutable {
            asio::get_associated_cancellation_slot(h).clear();
            const std::error_code out = waited ? std::make_error_code(std::errc::operation_canceled) : ec;
            auto ex = asio::get_associated_executor(h);
            asio::dispatch(ex, [h = std::move(h), out, v]() mutable { std::move(h)(out, out ? rows{} : rows{v}); });
          });
        },
        token);
  }
};

// A delayed_shard answering `value` after delays[n] for call n, failing with errors[n].
inline delayed_shard after(asio::io_context& io, int value, std::vector<std::chrono::milliseconds> delays,
                           std::vector<std::error_code> errors = {}) {
  return delayed_shard{&io, value, std::move(delays), std::move(errors)};
}

// Keeps each handler until release(i) (or cancellation), so a test decides when and in
// which order shards answer.
class parked_shard {
 public:
  parked_shard(asio::io_context& io, int value) : value_(value), state_(std::make_shared<state>(io)) {}

  template <class Token>
  auto async_execute(int, Token&& token) {
    return asio::async_initiate<Token, void(std::error_code, rows)>(
        [st = state_](auto handler) {
          auto slot = asio::get_associated_cancellation_slot(handler);
          st->handler.emplace(std::move(handler));
          ++st->started;
          if (slot.is_connected())
            slot.assign([st](asio::cancellation_type) {
              st->finish(std::make_error_code(std::errc::operation_canceled), {});
            });
        },
        token);
  }

  // Completes the parked operation with the shard's answer; false if none is parked.
  bool release() { return state_->finish({}, rows{value_}); }
  bool parked() const { return state_->handler.has_value(); }
  int started() const { return state_->started; }

 private:
  struct state {
    explicit state(asio::io_context& context) : io(&context) {}
    asio::io_context* io;
    std::optional<asio::any_completion_handler<void(std::error_code, rows)>> handler;
    int started = 0;
    // Completes through the io_context, then the handler's own executor (as an Asio
    // operation does), never inside the caller.
    bool finish(std::error_code ec, rows v) {
      if (!handler) return false;
      auto h = std::move(*handler);
      handler.reset();
      asio::post(*io, [h = std::move(h), ec, v = std::move(v)]() mutable {
        auto ex = asio::get_associated_executor(h);
        asio::dispatch(ex, [h = std::move(h), ec, v = std::move(v)]() mutable { std::move(h)(ec, std::move(v)); });
      });
      return true;
    }
  };
  int value_;
  std::shared_ptr<state> state_;
};

}  // namespace sg_test
