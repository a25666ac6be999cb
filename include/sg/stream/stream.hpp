// sg/stream/stream.hpp — sg::stream::open: a streaming gather. Each shard answers in
// batches, a merge combines them as they come, and the consumer pulls merged batches
// with bounded memory.
//
//   std::vector<my_source> sources = …;            // one per shard (sg::stream::batch_source)
//   auto s = sg::stream::open(io.get_executor(), std::move(sources),
//                             sg::merge::sorted(std::greater<>{}, &event::ts), {.limit = 100});
//   for (;;) {
//     auto [ec, batch] = co_await s.async_next(asio::use_awaitable);  // void(error_code, batch)
//     if (ec || batch.empty()) break;                                 // a failure, or the end
//     for (auto& e : batch) print(e);
//   }
//
// A source is anything with `batch_type` (a std::vector<Row>) and `src.async_next(token)`,
// an Asio operation completing with void(error_code, batch_type) or
// void(std::exception_ptr, batch_type) (a co_spawn'd coroutine); an empty batch is its
// end. sg::stream::from_rows serves rows in memory; sg/stream/channel.hpp adapts an Asio
// channel. The merges are sg::stream::merger's (sg/stream/merger.hpp).
//
// Backpressure: a source is read only while it holds fewer than options::buffer batches
// that the consumer has not taken, so a fast source waits for a slow consumer, and sg holds
// at most sources · buffer batches (plus a top-k's rows, a distinct's keys) at any time.
// Early termination: when options::limit rows have gone out, or the merge needs no more
// (a presorted top-k), or the consumer calls async_close (or destroys the stream), every
// outstanding read is cancelled through its cancellation slot, and the stream ends only
// after each one completed (children first). A read slower than options::read_timeout is
// cancelled and its source fails with sg::errc::timeout. A failed source (error, timeout,
// unsorted batch) keeps what it delivered before; the rest of the stream goes on without
// it, and the completion rule (options::rule, every source by default) decides at each
// failure whether the stream can still succeed: when it cannot, the next async_next
// completes with sg::errc::partial_result. Rows already given out are never taken back.
// Thread-safety: the stream's state lives on a strand of the executor; async_next may be
// called from any thread, one at a time; the accessors may be called at any time.
// Example: tests/stream/stream.cpp, docs/streaming.md.
#pragma once

#include <sg/error.hpp>
#include <sg/gathered.hpp>
#include <sg/merge/concat.hpp>
#include <sg/policy/partial.hpp>
#include <sg/stream/merger.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace sg::stream {

// How a stream reads its sources and when it ends.
template <class Timer = boost::asio::steady_timer>
struct options {
  std::size_t buffer = 2;       // batches a source may hold before it is read again (≥ 1)
  std::size_t batch_rows = 1024;  // most rows one async_next gives (≥ 1); a source's batch that
                                  // fits is handed on whole, without copying its rows
  std::size_t limit = std::numeric_limits<std::size_t>::max();  // rows, then the end
  std::optional<typename Timer::duration> read_timeout{};  // each read of a source
  sg::partial rule{};                                    // which failures the stream survives

  // Throws std::invalid_argument on a zero buffer or batch_rows, a timeout that is not
  // positive, or a rule out of range.
  void validate() const {
    if (buffer == 0) throw std::invalid_argument("sg::stream: options::buffer must be at least 1 batch");
    if (batch_rows == 0) throw std::invalid_argument("sg::stream: options::batch_rows must be at least 1");
    if (read_timeout && *read_timeout <= Timer::duration::zero())
      throw std::invalid_argument("sg::stream: options::read_timeout must be positive");
    rule.validate();
  }
};

// Where one source stands.
enum class source_state : unsigned char {
  open,     // still being read
  ended,    // delivered its last batch
  failed,   // an error, a timeout or an unsorted batch (see failures())
  cut_off,  // the stream ended first (limit, close); not a failure
};

// What one source did: batches and rows delivered, and where it stands.
struct source_stats {
  std::size_t batches = 0;
  std::size_t rows = 0;
  source_state state = source_state::open;
};

namespace detail {

template <class T>
inline constexpr bool is_vector = sg::merge::detail::is_std_vector<T>;

// A completion handler that accepts what a source may complete with.
template <class Batch>
struct batch_probe {
  void operator()(std::error_code, Batch) const {}
  void operator()(std::exception_ptr, Batch) const {}
};

// The handler a read completes to: forwards to on_read on the stream's strand.
template <class State>
struct read_handler {
  std::shared_ptr<State> state;
  std::size_t source;
  std::uint64_t generation;

  void operator()(std::error_code ec, typename State::batch_type batch) const {
    state->on_read(source, generation, ec, {}, std::move(batch));
  }
  void operator()(std::exception_ptr ep, typename State::batch_type batch) const {
    state->on_read(source, generation, ep ? make_error_code(sg::errc::shard_failed) : std::error_code{}, ep,
                   std::move(batch));
  }
};

}  // namespace detail

// A source of batches of rows; see the top of this file.
template <class Src>
concept batch_source = requires { typename Src::batch_type; } && detail::is_vector<typename Src::batch_type> &&
                       requires(Src& s, detail::batch_probe<typename Src::batch_type> h) { s.async_next(std::move(h)); };

// The merged stream sg::stream::open returns: a move-only handle on state shared with the
// reads in flight. Destroying it closes the stream (its reads are cancelled; their handlers
// finish on the executor).
template <class Source, class Merge, class Timer = boost::asio::steady_timer>
class merged {
 public:
  using batch_type = typename Source::batch_type;
  using row_type = typename batch_type::value_type;
  using executor_type = boost::asio::strand<boost::asio::any_io_executor>;

  template <class Executor, class Sources>
  merged(Executor const& ex, Sources&& sources, Merge const& merge, options<Timer> opts) {
    opts.validate();
    std::vector<Source> all;
    if constexpr (std::ranges::sized_range<Sources>) all.reserve(static_cast<std::size_t>(std::ranges::size(sources)));
    for (auto&& s : sources) {
      if constexpr (std::is_lvalue_reference_v<Sources>)
        all.push_back(s);
      else
        all.push_back(std::move(s));  // a range given by value: its sources are moved
    }
    state_ = std::make_shared<state>(boost::asio::make_strand(boost::asio::any_io_executor(ex)), std::move(all), merge,
                                     std::move(opts));
  }
  merged(merged&&) noexcept = default;
  merged& operator=(merged&& other) noexcept {
    if (this != &other) {
      abandon();
      state_ = std::move(other.state_);
    }
    return *this;
  }
  merged(merged const&) = delete;
  merged& operator=(merged const&) = delete;
  ~merged() { abandon(); }

  // The next merged rows: void(error_code, batch_type). A non-empty batch, or an empty one
  // at the end (every source ended, or the stream was cut off or closed); an error when the
  // rule fails (sg::errc::partial_result), with zero sources (sg::errc::no_shards), or when
  // this operation is cancelled (std::errc::operation_canceled: no rows are lost, the
  // stream stays usable). One at a time: a second one while the first is outstanding
  // completes with std::errc::operation_in_progress. Never completes inside the call.
  template <class Token>
  auto async_next(Token&& token) {
    return boost::asio::async_initiate<Token, void(std::error_code, batch_type)>(
        [](auto handler, std::shared_ptr<state> const& st) {
          // The cancellation slot is the caller's: it is assigned here, in the initiating
          // call, and cleared on the handler's executor, as an Asio I/O object does, so an
          // emit right after this call is neither lost nor racing with the stream's strand.
          // (The handler is type-erased first: the wrapper installs its own forwarder in the
          // caller's slot, and the stream's goes in the slot the wrapper forwards to.)
          const std::uint64_t generation = ++st->next_generation;
          next_handler_type erased(std::move(handler));
          auto cancel_slot = boost::asio::get_associated_cancellation_slot(erased);
          if (cancel_slot.is_connected())
            cancel_slot.assign([weak = std::weak_ptr<state>(st), generation](boost::asio::cancellation_type) {
              if (auto self = weak.lock())
                boost::asio::dispatch(self->strand, [self, generation] { self->cancel_next(generation); });
            });
          boost::asio::dispatch(st->strand, [st, generation, h = std::move(erased)]() mutable {
            st->on_next(std::move(h), generation);
          });
        },
        token, state_);
  }

  // Stops the stream: cancels every outstanding read and completes, void(error_code),
  // once every one of them has completed. A pending async_next completes with
  // std::errc::operation_canceled; later ones with an empty batch.
  template <class Token>
  auto async_close(Token&& token) {
    return boost::asio::async_initiate<Token, void(std::error_code)>(
        [](auto handler, std::shared_ptr<state> const& st) {
          boost::asio::dispatch(st->strand, [st, h = std::move(handler)]() mutable {
            st->on_close(close_handler_type(std::move(h)));
          });
        },
        token, state_);
  }

  executor_type get_executor() const noexcept { return state_->strand; }

  // Sources targeted, ended (or cut off) and failed so far.
  sg::completeness completeness() const { return state_->counts(); }
  // Why each failed source failed, in the order they failed.
  std::vector<sg::shard_failure> failures() const {
    std::lock_guard lock(state_->mutex);
    return state_->failures;
  }
  // Per source: batches and rows delivered, and where it stands.
  std::vector<source_stats> statistics() const {
    std::lock_guard lock(state_->mutex);
    return state_->stats;
  }
  // Rows given to the consumer so far.
  std::size_t rows_emitted() const {
    std::lock_guard lock(state_->mutex);
    return state_->emitted;
  }
  // The most rows the merge held at once (delivered by sources, not yet given out): at
  // most sources · buffer batches, plus a top-k's offset + k rows.
  std::size_t peak_buffered_rows() const {
    std::lock_guard lock(state_->mutex);
    return state_->peak;
  }

 private:
  using next_handler_type = boost::asio::any_completion_handler<void(std::error_code, batch_type)>;
  using close_handler_type = boost::asio::any_completion_handler<void(std::error_code)>;

  struct slot {
    bool reading = false;
    bool timed_out = false;
    std::uint64_t generation = 0;  // of the current read (a late timer must not hit the next)
    boost::asio::cancellation_signal signal;
    std::optional<Timer> timer;
  };

  struct state : std::enable_shared_from_this<state> {
    using batch_type = merged::batch_type;

    executor_type strand;
    std::vector<Source> sources;
    merger<row_type, Merge> merge;
    options<Timer> opts;
    std::vector<slot> slots;
    std::size_t in_flight = 0;  // reads and timers outstanding: the stream's children
    bool stopping = false;      // no more reads; the ones in flight are cancelled
    std::error_code error;      // what the stream ends with
    std::optional<next_handler_type> next;
    std::atomic<std::uint64_t> next_generation{0};  // counts async_next calls (their initiations)
    std::uint64_t pending_generation = 0;          // the pending async_next's
    std::uint64_t cancelled_generation = 0;        // one cancelled before it reached the strand
    std::optional<close_handler_type> close;

    mutable std::mutex mutex;  // guards what the accessors read
    std::vector<source_stats> stats;
    std::vector<sg::shard_failure> failures;
    std::size_t emitted = 0;
    std::size_t peak = 0;

    state(executor_type s, std::vector<Source> all, Merge const& m, options<Timer> o)
        : strand(std::move(s)), sources(std::move(all)), merge(m, sources.size()), opts(std::move(o)),
          slots(sources.size()), stats(sources.size()) {
      if (opts.read_timeout)
        for (auto& sl : slots) sl.timer.emplace(strand);
    }

    // --- the consumer -------------------------------------------------------------------
    void on_next(next_handler_type h, std::uint64_t generation) {
      if (next) {
        complete(std::move(h), std::make_error_code(std::errc::operation_in_progress), batch_type{});
        return;
      }
      if (cancelled_generation == generation) {  // cancelled before it reached the strand
        complete(std::move(h), std::make_error_code(std::errc::operation_canceled), batch_type{});
        return;
      }
      pending_generation = generation;
      next.emplace(std::move(h));
      pump();
    }

    // The caller cancelled async_next number `generation` (on the strand).
    void cancel_next(std::uint64_t generation) {
      if (next && pending_generation == generation)
        complete_next(std::make_error_code(std::errc::operation_canceled), {});
      else if (!next || pending_generation < generation)
        cancelled_generation = generation;  // not here yet: refused when it arrives
    }

    void on_close(close_handler_type h) {
      close.emplace(std::move(h));
      stop(source_state::cut_off);
      if (next) complete_next(std::make_error_code(std::errc::operation_canceled), {});
      finish_close();
    }

    void abandon() {
      stop(source_state::cut_off);
      if (next) complete_next(std::make_error_code(std::errc::operation_canceled), {});
    }

    // Hands the result to h on its own executor, through the strand: never inside the
    // call that started the operation.
    template <class H, class... Args>
    void complete(H h, Args... args) {
      boost::asio::post(strand, [s = strand, h = std::move(h), ... args = std::move(args)]() mutable {
        auto ex = boost::asio::get_associated_executor(h, s);
        boost::asio::dispatch(ex, [h = std::move(h), ... args = std::move(args)]() mutable {
          boost::asio::get_associated_cancellation_slot(h).clear();  // where the caller emits
          std::move(h)(std::move(args)...);
        });
      });
    }
    void complete_next(std::error_code ec, batch_type batch) {
      auto h = std::move(*next);
      next.reset();
      complete(std::move(h), ec, std::move(batch));
    }
    void finish_close() {
      if (close && in_flight == 0) {
        auto h = std::move(*close);
        close.reset();
        complete(std::move(h), std::error_code{});
      }
    }

    // Reads what has room, and gives the consumer what can go out.
    void pump() {
      read_what_has_room();
      serve();
      read_what_has_room();
      finish_close();
    }

    void serve() {
      if (!next) return;
      if (sources.empty()) return complete_next(make_error_code(sg::errc::no_shards), {});
      if (error || stopping) {
        if (in_flight == 0) complete_next(error, {});
        return;
      }
      const std::size_t room = std::min(opts.batch_rows, opts.limit - emitted);
      batch_type out;
      pull_status status = pull_status::done;
      if (room != 0) {
        try {
          status = merge.pull(out, room);
        } catch (std::exception const& e) {  // the merge itself failed (e.g. a throwing comparator)
          fail_stream(e);
          return serve();
        }
      }
      if (!out.empty()) {
        {
          std::lock_guard lock(mutex);
          emitted += out.size();
          peak = std::max(peak, merge.peak_buffered_rows());
        }
        if (emitted == opts.limit || !merge.needs_input()) stop(source_state::cut_off);
        complete_next({}, std::move(out));
        return;
      }
      if (status == pull_status::done) {
        stop(source_state::cut_off);  // a limit of 0, or a merge that needs no more
        const auto c = counts();
        if (!opts.rule.accepts(c.succeeded, c.targeted)) error = make_error_code(sg::errc::partial_result);
        if (in_flight == 0) complete_next(error, {});
      }
      // blocked: a read in flight will call pump() again
    }

    // --- the sources --------------------------------------------------------------------
    void read_what_has_room() {
      if (stopping || error || !merge.needs_input() || emitted == opts.limit) return;
      for (std::size_t i = 0; i < sources.size(); ++i)
        if (!slots[i].reading && !merge.ended(i) && merge.buffered_batches(i) < opts.buffer) start_read(i);
    }

    void start_read(std::size_t i) {
      auto& sl = slots[i];
      sl.reading = true;
      sl.timed_out = false;
      const std::uint64_t generation = ++sl.generation;
      ++in_flight;
      if (opts.read_timeout) {
        ++in_flight;
        sl.timer->expires_after(*opts.read_timeout);
        sl.timer->async_wait(boost::asio::bind_executor(
            strand, [self = this->shared_from_this(), i, generation](std::error_code ec) {
              self->on_timer(i, generation, ec);
            }));
      }
      try {
        sources[i].async_next(boost::asio::bind_cancellation_slot(
            sl.signal.slot(),
            boost::asio::bind_executor(strand, detail::read_handler<state>{this->shared_from_this(), i, generation})));
      } catch (std::exception const& e) {  // the read could not even start
        --in_flight;
        sl.reading = false;
        if (opts.read_timeout) sl.timer->cancel();
        fail(i, make_error_code(sg::errc::shard_failed), e.what());
      }
    }

    void on_timer(std::size_t i, std::uint64_t generation, std::error_code ec) {
      --in_flight;
      auto& sl = slots[i];
      if (!ec && sl.reading && sl.generation == generation && !stopping) {
        sl.timed_out = true;
        sl.signal.emit(boost::asio::cancellation_type::terminal);
      }
      pump();
    }

    void on_read(std::size_t i, std::uint64_t, std::error_code ec, std::exception_ptr ep, batch_type batch) {
      --in_flight;
      auto& sl = slots[i];
      sl.reading = false;
      if (opts.read_timeout) sl.timer->cancel();
      if (stopping) {
        // Cut off: whatever came is not needed. A source that ended anyway is not cut off.
        if (!ec && batch.empty() && !merge.ended(i)) set_state(i, source_state::ended);
      } else if (sl.timed_out) {
        fail(i, make_error_code(sg::errc::timeout),
             "sg::stream: source " + std::to_string(i) + " timed out: a read took longer than " +
                 std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(*opts.read_timeout).count()) +
                 " ms");
      } else if (ec) {
        fail(i, ec, describe(ec, ep));
      } else if (batch.empty()) {
        merge.end(i);
        set_state(i, source_state::ended);
      } else {
        const std::size_t rows = batch.size();
        try {
          merge.push(i, std::move(batch));
          std::lock_guard lock(mutex);
          ++stats[i].batches;
          stats[i].rows += rows;
          peak = std::max(peak, merge.peak_buffered_rows());
        } catch (std::system_error const& e) {
          fail(i, e.code(), e.what());
        } catch (std::exception const& e) {
          fail(i, make_error_code(sg::errc::shard_failed), e.what());
        }
      }
      pump();
    }

    static std::string describe(std::error_code ec, std::exception_ptr ep) {
      if (ep) try {
          std::rethrow_exception(ep);
        } catch (std::exception const& e) {
          return e.what();
        } catch (...) {
          return "a source threw something that is not a std::exception";
        }
      return ec.message();
    }

    // --- ending ---------------------------------------------------------------------------
    // Source i failed: what it delivered stays, and the rule decides about the stream.
    void fail(std::size_t i, std::error_code ec, std::string what) {
      if (!merge.ended(i)) merge.end(i);
      {
        std::lock_guard lock(mutex);
        stats[i].state = source_state::failed;
        failures.push_back({i, ec, std::move(what), 1});
      }
      const auto c = counts();
      if (!opts.rule.accepts(c.targeted - c.failed, c.targeted)) {
        error = make_error_code(sg::errc::partial_result);
        stop(source_state::cut_off);
      }
    }

    void fail_stream(std::exception const& e) {
      auto const* se = dynamic_cast<std::system_error const*>(&e);
      error = se ? se->code() : make_error_code(sg::errc::shard_failed);
      stop(source_state::cut_off);
    }

    // No more reads: the ones in flight are cancelled, open sources marked `as`.
    void stop(source_state as) {
      if (stopping) return;
      stopping = true;
      for (std::size_t i = 0; i < slots.size(); ++i) {
        if (slots[i].reading) slots[i].signal.emit(boost::asio::cancellation_type::terminal);
        if (opts.read_timeout) slots[i].timer->cancel();
        std::lock_guard lock(mutex);
        if (stats[i].state == source_state::open && !merge.ended(i)) stats[i].state = as;
      }
    }

    void set_state(std::size_t i, source_state s) {
      std::lock_guard lock(mutex);
      stats[i].state = s;
    }

    sg::completeness counts() const {
      std::lock_guard lock(mutex);
      sg::completeness c;
      c.targeted = stats.size();
      for (auto const& s : stats) {
        if (s.state == source_state::ended || s.state == source_state::cut_off) ++c.succeeded;
        if (s.state == source_state::failed) ++c.failed;
      }
      return c;
    }
  };

  void abandon() {
    if (!state_) return;
    boost::asio::dispatch(state_->strand, [st = state_] { st->abandon(); });
  }

  std::shared_ptr<state> state_;
};

// Starts nothing yet: the first async_next starts reading every source. Throws
// std::invalid_argument on bad options; a merge that cannot stream, or a source that is
// not a batch_source, is a compile-time error in words.
template <class Executor, std::ranges::input_range Sources, class Merge, class Timer = boost::asio::steady_timer>
auto open(Executor const& ex, Sources&& sources, Merge const& merge, options<Timer> opts = {}) {
  using source = std::remove_cvref_t<std::ranges::range_value_t<Sources>>;
  static_assert(batch_source<source>,
                "sg::stream::open: the sources are not batch sources: each needs a batch_type (a std::vector of "
                "rows) and src.async_next(token) completing with void(std::error_code, batch_type)");
  if constexpr (batch_source<source>) {
    static_assert(streamable_merge<typename source::batch_type::value_type, Merge>,
                  "sg::stream::open: this merge cannot run as a stream: use merge::concat, merge::distinct, "
                  "merge::sorted or merge::top_k (a hash aggregate needs every row before its first result), "
                  "with a comparator and projection that accept the rows");
    if constexpr (streamable_merge<typename source::batch_type::value_type, Merge>)
      return merged<source, Merge, Timer>(ex, std::forward<Sources>(sources), merge, std::move(opts));
  }
}

// A source over rows in memory, served batch_rows at a time on an executor (each read
// completes through a post, never inside async_next). Cancellation is not needed: every
// read completes at once.
template <class Row, class Executor = boost::asio::any_io_executor>
class rows_source {
 public:
  using batch_type = std::vector<Row>;

  // Throws std::invalid_argument when batch_rows is 0.
  rows_source(Executor ex, std::vector<Row> rows, std::size_t batch_rows)
      : ex_(std::move(ex)), rows_(std::move(rows)), batch_rows_(batch_rows) {
    if (batch_rows_ == 0) throw std::invalid_argument("sg::stream::from_rows: batch_rows must be at least 1");
  }

  template <class Token>
  auto async_next(Token&& token) {
    return boost::asio::async_initiate<Token, void(std::error_code, batch_type)>(
        [this](auto handler) {
          const std::size_t n = std::min(batch_rows_, rows_.size() - next_);
          batch_type batch(std::make_move_iterator(rows_.begin() + static_cast<std::ptrdiff_t>(next_)),
                           std::make_move_iterator(rows_.begin() + static_cast<std::ptrdiff_t>(next_ + n)));
          next_ += n;
          auto ex = boost::asio::get_associated_executor(handler, ex_);
          boost::asio::post(ex, [h = std::move(handler), b = std::move(batch)]() mutable {
            std::move(h)(std::error_code{}, std::move(b));
          });
        },
        token);
  }

 private:
  Executor ex_;
  std::vector<Row> rows_;
  std::size_t batch_rows_;
  std::size_t next_ = 0;
};

// rows, as a source of batches of batch_rows rows.
template <class Executor, class Row>
rows_source<Row, Executor> from_rows(Executor const& ex, std::vector<Row> rows, std::size_t batch_rows) {
  return {ex, std::move(rows), batch_rows};
}

}  // namespace sg::stream
