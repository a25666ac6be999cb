// What a gather did, as JSON lines: an observer (sg::observe) that writes every event of
// the asynchronous gather to stdout, one JSON object a line, ready for a log pipeline.
//
// Three shards on real timers: shard 0 is a replica set whose first replica is slow (a
// hedge goes to the other); shard 1's first replica fails (its breaker opens, and the retry
// goes to the other replica); shard 2 never answers in time (a hedge, then a timeout for
// both attempts; the partial rule lets the gather answer without it). CTest checks the
// last line: 2 of the 3 shards answered.
#include <sg/sg.hpp>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;

// The observer: one overload per event type it wants (all of them here).
class json_lines {
 public:
  void on(sg::events::attempt_start const& e) {
    line("attempt_start", "\"shard\":%zu,\"replica\":%zu,\"attempt\":%u,\"kind\":\"%s\"", e.shard, e.replica, e.attempt,
         sg::events::to_string(e.kind));
  }
  void on(sg::events::attempt_end const& e) {
    line("attempt_end", "\"shard\":%zu,\"replica\":%zu,\"attempt\":%u,\"outcome\":\"%s\",\"ms\":%.3f,\"rows\":%lld,\"error\":%s",
         e.shard, e.replica, e.attempt, sg::events::to_string(e.outcome), ms(e.elapsed),
         e.rows ? static_cast<long long>(*e.rows) : -1LL, quoted(e.error ? std::string(e.what) : "").c_str());
  }
  void on(sg::events::retry const& e) {
    line("retry", "\"shard\":%zu,\"next_attempt\":%u,\"wait_ms\":%.3f,\"after\":%s", e.shard, e.next_attempt, ms(e.wait),
         quoted(e.after.message()).c_str());
  }
  void on(sg::events::hedge const& e) { line("hedge", "\"shard\":%zu,\"attempt\":%u", e.shard, e.attempt); }
  void on(sg::events::timeout const& e) {
    if (e.shard)
      line("timeout", "\"shard\":%zu,\"replica\":%zu,\"attempt\":%u", *e.shard, e.replica, e.attempt);
    else
      line("deadline", "\"gather\":true");
  }
  void on(sg::events::breaker_transition const& e) {
    line("breaker", "\"shard\":%zu,\"replica\":%zu,\"from\":\"%s\",\"to\":\"%s\"", e.key.shard, e.key.replica,
         sg::to_string(e.from), sg::to_string(e.to));
  }
  void on(sg::events::gather_end const& e) {
    line("gather_end", "\"targeted\":%zu,\"succeeded\":%zu,\"failed\":%zu,\"ms\":%.3f,\"error\":%s",
         e.completeness.targeted, e.completeness.succeeded, e.completeness.failed, ms(e.elapsed),
         quoted(e.error ? e.error.message() : "").c_str());
  }

 private:
  template <class... A>
  void line(char const* event, char const* fields, A... a) {
    const double t = ms(std::chrono::steady_clock::now() - t0_);
    std::printf("{\"t_ms\":%.3f,\"event\":\"%s\",", t, event);
    std::printf(fields, a...);
    std::printf("}\n");
  }
  static double ms(std::chrono::nanoseconds d) { return std::chrono::duration<double, std::milli>(d).count(); }
  // A JSON string: quotes, backslashes and control characters escaped.
  static std::string quoted(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += c;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      } else {
        out += c;
      }
    }
    return out + '"';
  }
  std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
};

// An async shard on a steady timer: answers {value} after `delay`, or fails its first
// `failures` calls; cancellation stops the wait.
struct timed_shard {
  asio::io_context* io;
  int value;
  std::chrono::milliseconds delay;
  int failures = 0;
  std::shared_ptr<int> calls = std::make_shared<int>(0);

  template <class Token>
  auto async_execute(int, Token&& token) const {
    return asio::async_initiate<Token, void(std::error_code, std::vector<int>)>(
        [this](auto handler) {
          const bool fail = (*calls)++ < failures;
          auto timer = std::make_shared<asio::steady_timer>(*io, delay);
          auto slot = asio::get_associated_cancellation_slot(handler);
          if (slot.is_connected()) slot.assign([timer](asio::cancellation_type) { timer->cancel(); });
          // Complete on the handler's executor (the gather's strand), where sg emits
          // cancellation: a cancellation slot is not thread-safe.
          auto ex = asio::get_associated_executor(handler, io->get_executor());
          timer->async_wait(asio::bind_executor(ex, [h = std::move(handler), timer, fail, v = value](std::error_code waited) mutable {
            asio::get_associated_cancellation_slot(h).clear();
            std::error_code ec = waited ? std::make_error_code(std::errc::operation_canceled)
                                 : fail ? std::make_error_code(std::errc::connection_reset)
                                        : std::error_code{};
            std::move(h)(ec, ec ? std::vector<int>{} : std::vector<int>{v});
          }));
        },
        token);
  }
};

int main() {
  asio::io_context io;
  using set = decltype(sg::replicas_of(std::vector<timed_shard>{}));
  std::vector<set> shards;
  shards.push_back(sg::replicas_of(std::vector<timed_shard>{{&io, 0, 200ms}, {&io, 0, 5ms}}));
  shards.push_back(sg::replicas_of(std::vector<timed_shard>{{&io, 1, 5ms, 1}, {&io, 1, 5ms}}));
  shards.push_back(sg::replicas_of(std::vector<timed_shard>{{&io, 2, 10s}}));

  json_lines log;
  sg::breaker_registry<> breakers({.window_size = 1, .minimum_calls = 1});
  auto pipe = sg::scatter(shards) |
              sg::with(sg::retry{.max_attempts = 2, .backoff = {.initial = 2ms}}, sg::hedge{.delay = 20ms},
                       sg::timeout{60ms}, sg::breaker{breakers}, sg::partial{.min_success_ratio = 0.5},
                       sg::observe{&log}) |
              sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
  bool ok = false;
  pipe.async(0, [&](std::error_code ec, sg::gathered<std::vector<int>> r) {
    ok = !ec && r.completeness.succeeded == 2 && r.completeness.failed == 1;
  });
  io.run();
  return ok ? 0 : 1;
}
