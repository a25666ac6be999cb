// sg/policy/hedge.hpp — sg::hedge: when a shard is slow to answer, ask again (another
// replica when it has them); the first success wins and the other attempts are cancelled.
//
//   sg::latency_tracker latencies{{.quantile = 0.95}};                   // yours, shared
//   auto pipe = sg::scatter(replica_sets)
//             | sg::with(sg::hedge{.delay = 20ms, .adaptive = &latencies, .max_extra = 1})
//             | sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
//
// After `delay` without an answer (or, with `adaptive`, after that shard's running
// quantile of observed latency — `delay` until the tracker has enough samples), the gather
// sends the same request to the shard again: for a replica set, to a replica not already
// working on it and not failed in this gather. Then again after the same delay, up to
// max_extra hedges per shard in a gather. The first success wins; the other attempts are
// cancelled (not counted as failures by breakers). An attempt that fails while another is
// still running waits for that one. Each hedge takes one token from the retry budget (the
// hedge's `budget`, else the retry policy's) and none starts while the budget is at half
// or below, nor when it would start after the gather's deadline. Hedging needs async
// shards: a synchronous call cannot be cancelled when another attempt wins.
// Example: tests/policy/hedge.cpp.
#pragma once

#include <sg/detail/stable_map.hpp>
#include <sg/policy/budget.hpp>
#include <sg/policy/policy.hpp>

#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace sg {

// Running latency quantiles per shard: a log-linear histogram (8 buckets per power of two;
// a quantile is reported as its bucket's upper edge: never below the true value, at most
// 12.5 % above) from 1 µs to about 18 minutes, whose counts halve
// every `half_life` samples so that it follows a shard whose latency changes.
// Thread-safe: recording is a few relaxed atomic additions.
class latency_tracker {
 public:
  struct options {
    double quantile = 0.95;          // the quantile hedges wait for, in (0, 1)
    std::uint32_t min_samples = 20;  // before which a hedge uses its fixed delay
    std::uint32_t half_life = 1000;  // samples after which old counts weigh half
  };

  latency_tracker() : latency_tracker(options{}) {}
  // Throws std::invalid_argument for an option out of range.
  explicit latency_tracker(options o) : options_(o) {
    if (!(o.quantile > 0 && o.quantile < 1)) throw std::invalid_argument("sg::latency_tracker: quantile must be in (0, 1)");
    if (o.min_samples == 0) throw std::invalid_argument("sg::latency_tracker: min_samples must be at least 1");
    if (o.half_life < 16) throw std::invalid_argument("sg::latency_tracker: half_life must be at least 16");
  }
  latency_tracker(latency_tracker const&) = delete;
  latency_tracker& operator=(latency_tracker const&) = delete;

  // One observed latency of shard `shard`.
  void record(std::size_t shard, std::chrono::nanoseconds latency) {
    histogram& h = at(shard);
    h.counts[bucket_of(latency)].fetch_add(1, std::memory_order_relaxed);
    const std::uint32_t n = h.samples.fetch_add(1, std::memory_order_relaxed) + 1;
    if (n % options_.half_life == 0) {  // the thread that completes a half-life halves the counts
      for (auto& c : h.counts) {
        std::uint32_t v = c.load(std::memory_order_relaxed);
        while (!c.compare_exchange_weak(v, v / 2, std::memory_order_relaxed)) {
        }
      }
    }
    if (n % 16 == 0 || n == options_.min_samples) {  // refresh the cached quantile
      auto q = compute(h, options_.quantile);
      h.cached.store(q ? q->count() : -1, std::memory_order_relaxed);
    }
  }

  // The shard's latency at quantile q (0 < q < 1), or nullopt before min_samples samples.
  std::optional<std::chrono::nanoseconds> quantile(std::size_t shard, double q) {
    return compute(at(shard), q);
  }

  // The configured quantile, refreshed every 16 samples (what a hedge waits), or nullopt
  // before min_samples samples.
  std::optional<std::chrono::nanoseconds> hedge_delay(std::size_t shard) {
    const std::int64_t v = at(shard).cached.load(std::memory_order_relaxed);
    if (v < 0) return std::nullopt;
    return std::chrono::nanoseconds(v);
  }

  options const& settings() const noexcept { return options_; }

 private:
  static constexpr int sub_bits = 3;  // 8 buckets per power of two
  static constexpr int min_octave = 10, max_octave = 40;
  static constexpr std::size_t buckets = std::size_t{max_octave - min_octave + 1} << sub_bits;

  struct histogram {
    std::array<std::atomic<std::uint32_t>, buckets> counts{};
    std::atomic<std::uint32_t> samples{0};
    std::atomic<std::int64_t> cached{-1};
  };

  static std::size_t bucket_of(std::chrono::nanoseconds d) {
    const std::uint64_t v = static_cast<std::uint64_t>(std::max<std::int64_t>(d.count(), 1));
    const int octave = static_cast<int>(std::bit_width(v)) - 1;
    if (octave < min_octave) return 0;
    if (octave > max_octave) return buckets - 1;
    const std::uint64_t sub = (v >> (octave - sub_bits)) & ((1u << sub_bits) - 1);
    return (static_cast<std::size_t>(octave - min_octave) << sub_bits) | static_cast<std::size_t>(sub);
  }
  // The upper edge of bucket b: a quantile is never under-estimated (a hedge never waits
  // less than the quantile), and over-estimated by at most 12.5 %.
  static std::chrono::nanoseconds value_of(std::size_t b) {
    const int octave = static_cast<int>(b >> sub_bits) + min_octave;
    const double hi = std::ldexp(1.0 + static_cast<double>((b & ((1u << sub_bits) - 1)) + 1) / (1 << sub_bits), octave);
    return std::chrono::nanoseconds(static_cast<std::int64_t>(hi));
  }

  std::optional<std::chrono::nanoseconds> compute(histogram const& h, double q) const {
    if (h.samples.load(std::memory_order_relaxed) < options_.min_samples) return std::nullopt;
    std::array<std::uint32_t, buckets> c;
    std::uint64_t total = 0;
    for (std::size_t b = 0; b < buckets; ++b) total += c[b] = h.counts[b].load(std::memory_order_relaxed);
    if (total == 0) return std::nullopt;
    const auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total)));
    std::uint64_t seen = 0;
    for (std::size_t b = 0; b < buckets; ++b)
      if ((seen += c[b]) >= std::max<std::uint64_t>(rank, 1)) return value_of(b);
    return value_of(buckets - 1);
  }

  histogram& at(std::size_t shard) {
    return shards_.get(shard, [] { return std::make_unique<histogram>(); });
  }

  options options_;
  detail::stable_map<std::size_t, histogram> shards_;
};

struct hedge_tag {
  static constexpr bool async_only = true;
};
namespace detail {
template <>
inline constexpr bool engine_kind<hedge_tag> = true;
}  // namespace detail

template <class Timer = boost::asio::steady_timer>
struct hedge {
  using policy_tag = hedge_tag;
  using timer_type = Timer;

  // The wait before each hedge; with `adaptive`, the wait until the tracker knows the shard.
  std::chrono::nanoseconds delay{};
  // Optional: wait the shard's running quantile instead (your tracker, outliving the
  // pipeline; the gather records in it each shard's response time, from the first attempt
  // of a round — the first, or a retry — to the answer, hedges included).
  latency_tracker* adaptive = nullptr;
  unsigned max_extra = 1;  // hedges per shard per gather, beyond the first attempt
  // The token bucket hedges draw from; null: the retry policy's, if any.
  retry_budget* budget = nullptr;

  // Throws std::invalid_argument for a negative delay, or a zero delay without a tracker
  // (every shard would be asked max_extra + 1 times at once), or max_extra 0.
  void validate() const {
    auto fail = [](char const* why) { throw std::invalid_argument(std::string("sg::hedge: ") + why); };
    if (delay < std::chrono::nanoseconds::zero()) fail("delay must not be negative");
    if (delay == std::chrono::nanoseconds::zero() && adaptive == nullptr)
      fail("give a delay (or an adaptive tracker): a zero delay asks every shard twice at once");
    if (max_extra == 0) fail("max_extra must be at least 1");
  }
};

}  // namespace sg
