// sg/cost/model.hpp — a cost model: weighted terms over a plan's profile, composed at
// compile time, with optional feedback that corrects each term from executed plans.
//
//   auto model = sg::cost::model(sg::cost::cpu(1.0), sg::cost::network(0.5), sg::cost::io(2.0),
//                                sg::cost::memory(0.01),
//                                sg::cost::term("cross-zone $", 1e-9, [](sg::cost::profile const& p) {
//                                  return p.bytes_sent * 0.4;  // 40 % of the traffic leaves the zone
//                                }));
//   sg::cost::estimate e = model.evaluate(plan_profile);     // e.total, e.terms[i]
//
// A profile says what a plan does in physical quantities (rows read, rows processed, hash
// probes, comparisons, bytes sent, bytes held by the coordinator, requests, cache misses);
// a term turns one of them into cost with its weight. Built-in terms: cpu (rows processed), hashing and
// sorting (what those of them hashed or compared cost beyond a plain row), io (rows read on
// the shards), network (bytes sent), memory (peak bytes on the coordinator), requests
// (shard calls), cache (random accesses expected to miss the CPU cache). A user term
// is any callable profile -> double, with a name. Terms live in a Boost.Hana tuple: no
// virtual call, no allocation per evaluation. Weights are in whatever unit the caller
// calibrates to (nanoseconds on this machine, dollars); sg::cost::feedback corrects them.
// Example: tests/cost/model.cpp, docs/cost.md.
#pragma once

#include <boost/hana/for_each.hpp>
#include <boost/hana/tuple.hpp>

#include <array>
#include <cmath>
#include <cstddef>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>

namespace sg::cost {

// What a plan does (estimated by a plan, or measured after running it).
struct profile {
  double requests = 0;           // shard calls
  double rows_read = 0;          // rows the shards read
  double cpu_rows = 0;           // rows processed anywhere: filtered, hashed, compared, merged
  double hash_probes = 0;        // of cpu_rows, rows and states hashed: looked up in a hash table, or routed
  double comparisons = 0;        // of cpu_rows, rows compared by a sort, a selection or a merge
  double bytes_sent = 0;         // bytes across the network (answers and exchanges)
  double coordinator_bytes = 0;  // peak bytes held by the coordinator
  double cache_misses = 0;       // random accesses expected to miss the CPU cache (hash tables beyond it)
  double result_rows = 0;        // rows in the answer (informational)
};

// One cost term: weight × measure(profile).
template <class Measure>
struct cost_term {
  char const* name;
  double weight;
  Measure measure;

  double operator()(profile const& p) const { return weight * static_cast<double>(std::invoke(measure, p)); }
};

// A term of the caller's own: `name`, `weight` and what it measures.
template <class Measure>
cost_term<Measure> term(char const* name, double weight, Measure measure) {
  if (!(weight >= 0) || !std::isfinite(weight))
    throw std::invalid_argument(std::string("sg::cost::term: the weight of \"") + name + "\" must be finite and >= 0");
  return {name, weight, std::move(measure)};
}

// Rows processed anywhere (filtering, hashing, comparing, merging).
inline auto cpu(double weight) { return term("cpu", weight, &profile::cpu_rows); }
// Rows and partial states hashed — looked up in a hash table (a group-by, a merge of
// partial states, a join's build and probe sides) or routed to a shard by a hash
// partitioner: what that costs beyond the plain row cpu counts.
inline auto hashing(double weight) { return term("hashing", weight, &profile::hash_probes); }
// Comparisons of rows (sorting, selecting the first k, merging sorted runs): what one costs
// beyond the plain row cpu counts.
inline auto sorting(double weight) { return term("sorting", weight, &profile::comparisons); }
// Rows read on the shards.
inline auto io(double weight) { return term("io", weight, &profile::rows_read); }
// Bytes sent across the network.
inline auto network(double weight) { return term("network", weight, &profile::bytes_sent); }
// Peak bytes held by the coordinator.
inline auto memory(double weight) { return term("memory", weight, &profile::coordinator_bytes); }
// Shard calls (per-request overhead).
inline auto requests(double weight) { return term("requests", weight, &profile::requests); }
// Random accesses that miss the CPU cache (probes of hash tables larger than it, and what
// a join's probe touches through them).
inline auto cache(double weight) { return term("cache", weight, &profile::cache_misses); }

// A model's estimate of one plan: the total and each term's share, in the model's order.
template <std::size_t N>
struct estimate {
  double total = 0;
  std::array<double, N> terms{};
};

// Per-term multiplicative corrections learned from executed plans, shared by queries
// (thread-safe; the caller owns it and passes it by reference). After a plan runs,
// record(e, actual) compares its estimate with what it really cost; each term's
// correction moves toward the ratio actual / estimate in proportion to that term's share
// of the estimate, as an exponentially weighted moving average in log space with weight
// `alpha`: c_i ← c_i · (actual / estimate)^(alpha · share_i). Where the caller measured each
// term separately, record_terms(e, actuals) moves each correction toward its own ratio.
// Corrections stay in [1/1000, 1000].
template <std::size_t N>
class feedback {
 public:
  explicit feedback(double alpha = 0.2) : alpha_(alpha) {
    if (!(alpha > 0 && alpha <= 1)) throw std::invalid_argument("sg::cost::feedback: alpha must be in (0, 1]");
    corrections_.fill(1.0);
  }

  std::array<double, N> corrections() const {
    std::lock_guard lock(mutex_);
    return corrections_;
  }

  void record(estimate<N> const& e, double actual_total) {
    if (!(e.total > 0) || !(actual_total > 0) || !std::isfinite(actual_total)) return;
    const double log_ratio = std::log(actual_total / e.total);
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < N; ++i) corrections_[i] = clamp(corrections_[i] * std::exp(alpha_ * (e.terms[i] / e.total) * log_ratio));
  }

  void record_terms(estimate<N> const& e, std::array<double, N> const& actual) {
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < N; ++i) {
      if (!(e.terms[i] > 0) || !(actual[i] > 0)) continue;
      corrections_[i] = clamp(corrections_[i] * std::exp(alpha_ * std::log(actual[i] / e.terms[i])));
    }
  }

 private:
  static double clamp(double c) { return std::fmin(1000.0, std::fmax(1e-3, c)); }
  double alpha_;
  mutable std::mutex mutex_;
  std::array<double, N> corrections_{};
};

// The model: terms composed at compile time.
template <class... Terms>
struct cost_model {
  static constexpr std::size_t size = sizeof...(Terms);
  boost::hana::tuple<Terms...> terms;

  estimate<size> evaluate(profile const& p) const { return evaluate_with(p, nullptr); }

  // The estimate with each term multiplied by the feedback's correction.
  estimate<size> evaluate(profile const& p, feedback<size> const& fb) const {
    const auto c = fb.corrections();
    return evaluate_with(p, &c);
  }

  // Each term's name, in order.
  std::array<char const*, size> names() const {
    std::array<char const*, size> out{};
    std::size_t i = 0;
    boost::hana::for_each(terms, [&](auto const& t) { out[i++] = t.name; });
    return out;
  }

 private:
  estimate<size> evaluate_with(profile const& p, std::array<double, size> const* corrections) const {
    estimate<size> e;
    std::size_t i = 0;
    boost::hana::for_each(terms, [&](auto const& t) {
      double v = t(p);
      if (corrections != nullptr) v *= (*corrections)[i];
      e.terms[i++] = v;
      e.total += v;
    });
    return e;
  }
};

// A model from terms (sg::cost::cpu(w), network(w), ..., term(name, w, f)).
template <class... Terms>
cost_model<Terms...> model(Terms... terms) {
  static_assert(sizeof...(Terms) > 0, "sg::cost::model needs at least one term (sg::cost::cpu(w), ...)");
  return {boost::hana::make_tuple(std::move(terms)...)};
}

// The feedback type for a model.
template <class Model>
using feedback_for = feedback<Model::size>;

}  // namespace sg::cost
