// sg/replicas.hpp — a shard served by several replicas, and how one is chosen.
//
//   auto s0 = sg::replicas(primary0, standby0);                        // round-robin
//   auto s1 = sg::replicas(sg::latency_aware{}, a1, b1, c1);            // EWMA + load
//   auto s2 = sg::replicas_of(servers_of_shard_2, sg::least_outstanding{});
//   std::vector shards{std::move(s0), ...};  auto pipe = sg::scatter(shards) | ...;
//
// A replica set is a shard. Synchronously (pipe(request)) it calls the replica its
// selection ranks first and, when that one fails, the next, until one answers (a failure
// with sg::errc::bad_input is the request's fault and ends the search). Asynchronously
// (pipe.async) the gather picks the replica of every attempt itself: a retry goes to a
// replica that has not failed in this gather, a hedge to one that is not already working
// on the request, and one whose circuit breaker is open is passed over.
// Selections: round_robin (default), least_outstanding (fewest calls in flight from this
// process, ties in turn), latency_aware (C3's and Elasticsearch's adaptive replica
// selection, on what a client sees: EWMA of response time × (1 + in flight)³, unmeasured
// replicas first). The selection's statistics live in the set — yours, shared by every
// pipeline that uses it, thread-safe (atomics). 1 to 64 replicas, all of one type; lvalue
// replicas are referenced (they must outlive the set), rvalues moved in.
// Example: tests/replicas.cpp.
#pragma once

#include <sg/error.hpp>
#include <sg/exec/scatter.hpp>
#include <sg/shard.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <ranges>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

namespace sg {

// Selections. Each is a value with a nested selection_tag.
struct round_robin_selection {
  using selection_tag = void;
};
struct least_outstanding {
  using selection_tag = void;
};
struct latency_aware {
  using selection_tag = void;
  double alpha = 0.3;  // weight of the newest sample in the EWMA, in (0, 1]
};
using round_robin = round_robin_selection;

template <class T>
concept replica_selection = requires { typename T::selection_tag; };

// How an attempt on a replica ended, for the selection's statistics.
enum class attempt_end { success, failure, cancelled };

namespace detail {

template <class T>
struct deref_t {
  using type = T;
  template <class U>
  static constexpr U& get(U& t) noexcept {
    return t;
  }
};
template <class T>
struct deref_t<T*> {
  using type = T;
  static constexpr T& get(T* t) noexcept { return *t; }
};

// Per replica: calls in flight and the EWMA of response time (ns; −1 before a sample).
struct replica_stats {
  std::atomic<std::uint32_t> outstanding{0};
  std::atomic<std::int64_t> ewma_ns{-1};
};

}  // namespace detail

// A replica set over the random-access range `Store` (an array of replicas or of
// pointers to them, or a range of replicas). Built by sg::replicas / sg::replicas_of.
template <class Store, class Selection = round_robin>
class replica_set {
  using element = std::ranges::range_value_t<Store>;
  using access = detail::deref_t<element>;

 public:
  using replica_type = typename access::type;
  using selection_type = Selection;
  static constexpr std::size_t max_replicas = 64;

  // Throws std::invalid_argument for no replicas, more than 64, or a latency_aware alpha
  // outside (0, 1].
  replica_set(Store store, Selection selection)
      : store_(std::move(store)), selection_(selection), size_(static_cast<std::size_t>(std::ranges::size(store_))) {
    if (size_ == 0) throw std::invalid_argument("sg::replicas: a replica set needs at least one replica");
    if (size_ > max_replicas)
      throw std::invalid_argument("sg::replicas: at most 64 replicas, got " + std::to_string(size_));
    if constexpr (std::is_same_v<Selection, latency_aware>)
      if (!(selection.alpha > 0 && selection.alpha <= 1))
        throw std::invalid_argument("sg::latency_aware: alpha must be in (0, 1]");
    stats_ = std::make_unique<detail::replica_stats[]>(size_);
  }

  replica_set(replica_set&&) noexcept = default;
  replica_set& operator=(replica_set&&) noexcept = default;

  std::size_t size() const noexcept { return size_; }
  // Replica i (const when the set owns its replicas and is const).
  decltype(auto) operator[](std::size_t i) noexcept { return access::get(std::ranges::begin(store_)[diff(i)]); }
  decltype(auto) operator[](std::size_t i) const noexcept { return access::get(std::ranges::begin(store_)[diff(i)]); }

  // Writes the replicas not in `exclude` (bit i: replica i), best first, to `order`;
  // returns how many. Each call starts its ties at the next replica in turn.
  std::size_t rank(std::uint64_t exclude, std::size_t* order) const noexcept {
    const std::size_t start = next_->fetch_add(1, std::memory_order_relaxed) % size_;
    std::size_t n = 0;
    for (std::size_t k = 0; k < size_; ++k) {
      const std::size_t i = (start + k) % size_;
      if ((exclude >> i & 1) == 0) order[n++] = i;
    }
    if constexpr (!std::is_same_v<Selection, round_robin>) {
      double score[max_replicas];
      for (std::size_t k = 0; k < n; ++k) score[order[k]] = this->score(order[k]);
      std::stable_sort(order, order + n, [&](std::size_t a, std::size_t b) { return score[a] < score[b]; });
    }
    return n;
  }

  // Bookkeeping around every attempt on replica i (the async gather does it; so does
  // execute below).
  void started(std::size_t i) const noexcept { stats_[i].outstanding.fetch_add(1, std::memory_order_relaxed); }
  void finished(std::size_t i, std::chrono::nanoseconds elapsed, attempt_end end) const noexcept {
    stats_[i].outstanding.fetch_sub(1, std::memory_order_relaxed);
    if constexpr (std::is_same_v<Selection, latency_aware>) {
      auto& ewma = stats_[i].ewma_ns;
      std::int64_t old = ewma.load(std::memory_order_relaxed);
      std::int64_t next;
      do {
        // A failure counts as at least twice the current estimate, so a failing replica
        // drops down the ranking and climbs back as it answers again.
        double sample = static_cast<double>(elapsed.count());
        if (end == attempt_end::failure && old > 0) sample = std::max(sample, 2.0 * static_cast<double>(old));
        next = old < 0 ? static_cast<std::int64_t>(sample)
                       : static_cast<std::int64_t>(selection_.alpha * sample +
                                                   (1 - selection_.alpha) * static_cast<double>(old));
      } while (!ewma.compare_exchange_weak(old, next, std::memory_order_relaxed));
    }
  }

  // Calls in flight on replica i, and its latency estimate (−1 ns before the first sample;
  // kept by latency_aware only).
  std::uint32_t outstanding(std::size_t i) const noexcept { return stats_[i].outstanding.load(std::memory_order_relaxed); }
  std::chrono::nanoseconds latency_estimate(std::size_t i) const noexcept {
    return std::chrono::nanoseconds(stats_[i].ewma_ns.load(std::memory_order_relaxed));
  }

  // The synchronous call: the best replica, then the next on failure (not on bad input).
  // Throws std::system_error with the last failure when every replica failed.
  template <class Req>
    requires shard_for<replica_type, Req>
  response_t<replica_type, Req> execute(Req const& request) {
    return execute_on(*this, request);
  }
  template <class Req>
    requires shard_for<replica_type const, Req>
  response_t<replica_type const, Req> execute(Req const& request) const {
    return execute_on(*this, request);
  }

 private:
  static std::ptrdiff_t diff(std::size_t i) noexcept { return static_cast<std::ptrdiff_t>(i); }

  template <class Self, class Req>
  static auto execute_on(Self& self, Req const& request) {
    using replica = std::remove_reference_t<decltype(self[0])>;
    using R = response_t<replica, Req>;
    std::size_t order[max_replicas];
    const std::size_t n = self.rank(0, order);
    detail::failure_info last{};
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t i = order[k];
      self.started(i);
      const auto t0 = std::chrono::steady_clock::now();
      auto o = detail::call_shard<R>(self[i], request);
      const auto elapsed = std::chrono::steady_clock::now() - t0;
      if (o.index() == 0) {
        self.finished(i, elapsed, attempt_end::success);
        return R(std::get<0>(std::move(o)));
      }
      self.finished(i, elapsed, attempt_end::failure);
      last = std::get<1>(std::move(o));
      if (last.error == errc::bad_input) break;
    }
    throw std::system_error(last.error, last.what);
  }

  double score(std::size_t i) const noexcept {
    const double q = static_cast<double>(stats_[i].outstanding.load(std::memory_order_relaxed));
    if constexpr (std::is_same_v<Selection, least_outstanding>) {
      return q;
    } else {
      const auto r = stats_[i].ewma_ns.load(std::memory_order_relaxed);
      if (r < 0) return -1;  // never measured: try it first
      const double load = 1 + q;
      return static_cast<double>(r) * load * load * load;
    }
  }

  Store store_;
  Selection selection_;
  std::size_t size_;
  std::unique_ptr<detail::replica_stats[]> stats_;
  std::unique_ptr<std::atomic<std::size_t>> next_ = std::make_unique<std::atomic<std::size_t>>(0);
};

namespace detail {

template <class T>
inline constexpr bool is_replica_set = false;
template <class Store, class Sel>
inline constexpr bool is_replica_set<replica_set<Store, Sel>> = true;

template <class Sel, class... Rs>
auto make_replicas(Sel sel, Rs&&... rs) {
  using first = std::remove_cvref_t<std::tuple_element_t<0, std::tuple<Rs...>>>;
  static_assert((std::is_same_v<std::remove_cvref_t<Rs>, first> && ...),
                "sg::replicas: every replica must have the same type");
  constexpr bool all_lvalues = (std::is_lvalue_reference_v<Rs> && ...);
  constexpr bool no_lvalues = (!std::is_lvalue_reference_v<Rs> && ...);
  static_assert(all_lvalues || no_lvalues,
                "sg::replicas: pass every replica as an lvalue (referenced) or every one as an "
                "rvalue (moved in), not a mix");
  if constexpr (all_lvalues) {
    using store = std::array<std::remove_reference_t<std::tuple_element_t<0, std::tuple<Rs...>>>*, sizeof...(Rs)>;
    return replica_set<store, Sel>(store{&rs...}, sel);
  } else {
    using store = std::array<first, sizeof...(Rs)>;
    return replica_set<store, Sel>(store{std::move(rs)...}, sel);
  }
}

struct replicas_fn {
  template <class First, class... Rs>
  auto operator()(First&& first, Rs&&... rs) const {
    if constexpr (replica_selection<std::remove_cvref_t<First>>) {
      static_assert(sizeof...(Rs) > 0, "sg::replicas: give at least one replica after the selection");
      return make_replicas(std::remove_cvref_t<First>(first), std::forward<Rs>(rs)...);
    } else {
      return make_replicas(round_robin{}, std::forward<First>(first), std::forward<Rs>(rs)...);
    }
  }
};

struct replicas_of_fn {
  template <class Range, class Sel = round_robin>
  auto operator()(Range&& range, Sel sel = {}) const {
    static_assert(std::ranges::random_access_range<Range> && std::ranges::sized_range<Range>,
                  "sg::replicas_of: the replicas must be a sized random-access range (a vector, "
                  "an array, a span)");
    static_assert(replica_selection<Sel>,
                  "sg::replicas_of: the second argument is not a selection (sg::round_robin, "
                  "sg::least_outstanding, sg::latency_aware)");
    if constexpr (std::is_lvalue_reference_v<Range>) {
      using store = std::ranges::ref_view<std::remove_reference_t<Range>>;
      return replica_set<store, Sel>(store(range), sel);
    } else {
      return replica_set<std::remove_cvref_t<Range>, Sel>(std::move(range), sel);
    }
  }
};

}  // namespace detail

// sg::replicas([selection,] r0, r1, ...): one shard served by any of r0, r1, ...
inline constexpr detail::replicas_fn replicas{};
// sg::replicas_of(range [, selection]): the same over a range of replicas (its size is
// read once; keep the range alive and unchanged when passed as an lvalue).
inline constexpr detail::replicas_of_fn replicas_of{};

}  // namespace sg
