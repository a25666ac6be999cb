// sg/policy/budget.hpp — sg::retry_budget: a token bucket shared across queries that
// stops retries and hedges during an outage, gRPC style.
//
//   sg::retry_budget budget{{.max_tokens = 10, .token_ratio = 0.1}};   // yours; outlives the pipelines
//   auto pipe = sg::scatter(shards) | sg::with(sg::retry{.budget = &budget}) | ...;
//
// The bucket starts full. Every failed attempt takes one token, every successful one gives
// back token_ratio (never above max_tokens), and a retry may start only while more than
// half of max_tokens remain. So when most attempts fail, retries stop after a few and a
// total outage never multiplies the load; as answers come back, the tokens (and retries)
// return. The same as gRPC's retry throttling, which keeps tokens in thousandths: so does
// this. Thread-safe (lock-free); share one budget between any number of pipelines and
// threads. Example: tests/policy/budget.cpp.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace sg {

class retry_budget {
 public:
  struct options {
    double max_tokens = 10;    // in (0, 1000]
    double token_ratio = 0.1;  // tokens a success gives back, in (0, 1]
  };

  // A full bucket of 10 tokens, giving back 0.1 a success (gRPC's usual setting).
  retry_budget() : retry_budget(options{}) {}

  // Throws std::invalid_argument when an option is out of its range.
  explicit retry_budget(options o)
      : max_(to_milli(check(o.max_tokens, 0, 1000, "max_tokens"))),
        ratio_(to_milli(check(o.token_ratio, 0, 1, "token_ratio"))),
        tokens_(max_) {}

  retry_budget(retry_budget const&) = delete;
  retry_budget& operator=(retry_budget const&) = delete;

  // Whether a retry or hedge may start now: more than half of max_tokens remain.
  bool may_retry() const noexcept { return tokens_.load(std::memory_order_relaxed) * 2 > max_; }

  void on_failure() noexcept { add(-1000); }
  void on_success() noexcept { add(ratio_); }

  double tokens() const noexcept { return static_cast<double>(tokens_.load(std::memory_order_relaxed)) / 1000; }
  double max_tokens() const noexcept { return static_cast<double>(max_) / 1000; }

 private:
  static double check(double v, double lo, double hi, char const* name) {
    if (!(v > lo && v <= hi))
      throw std::invalid_argument(std::string("sg::retry_budget: ") + name + " must be in (" + std::to_string(lo) +
                                  ", " + std::to_string(hi) + "], got " + std::to_string(v));
    return v;
  }
  static std::int64_t to_milli(double v) { return static_cast<std::int64_t>(std::llround(v * 1000)); }

  void add(std::int64_t delta) noexcept {
    std::int64_t current = tokens_.load(std::memory_order_relaxed);
    std::int64_t next;
    do {
      next = std::clamp<std::int64_t>(current + delta, 0, max_);
    } while (!tokens_.compare_exchange_weak(current, next, std::memory_order_relaxed));
  }

  std::int64_t max_;
  std::int64_t ratio_;
  std::atomic<std::int64_t> tokens_;
};

}  // namespace sg
