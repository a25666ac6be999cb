// sg/cache.hpp — sg::cache, a result cache for repeated requests, and the pipeline stage
// sg::cached that puts one in front of every shard.
//
//   using result = sg::gathered<std::vector<row>>;
//   sg::cache<std::string, result> results({.max_bytes = 64 << 20, .ttl = std::chrono::seconds(30)});
//   auto pipe = sg::scatter(shards) | sg::gather(merge)
//             | sg::cached(results, [](query const& q) { return q.normalized_text(); });
//   result r = pipe(q);      // a hit answers from the cache; a miss asks the shards, then stores
//   results.erase(key);  results.erase_if([](auto const& key, result const&) { ... });
//
// The cache: least-recently-used eviction under a byte budget (and, optionally, an entry
// count), a time to live per entry, invalidation by key and by predicate, and counters
// (hits, misses, insertions, evictions, expirations, rejections, invalidations). A value is
// weighed once, when stored: by default sizeof plus the heap memory it reaches through
// strings, containers, optionals, tuples, aggregate structs (Boost.PFR) and sg::gathered —
// an estimate; pass `weigh` to count otherwise. A value heavier than the whole budget is not
// stored (a rejection) and takes the key's older value with it. Thread-safe: one mutex, held
// for a hash lookup and a few pointer moves; values are kept behind shared pointers and
// copied outside the lock. The clock is a template parameter (a virtual clock in tests).
//
// The stage: a miss runs the pipeline and stores the result when it is complete — a partial
// result is not cached unless {.partial = true}, and a failed one (pipe(request) throws,
// pipe.async completes with an error) never is. The key is key_of(request), by default the
// request itself. pipe.async answers a hit through the handler's executor, never inside the
// call. Two misses for one key at once both ask the shards (no request coalescing).
// Example: tests/cache.cpp; docs/cache.md.
#pragma once

#include <sg/detail/type_traits.hpp>
#include <sg/exec/completion_executor.hpp>
#include <sg/gathered.hpp>
#include <sg/partition/hash.hpp>
#include <sg/pipeline.hpp>

#include <boost/asio/async_result.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <boost/container_hash/hash.hpp>
#include <boost/pfr/core.hpp>
#include <boost/unordered/unordered_flat_map.hpp>

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace sg {

// Whether approximate_bytes reads an aggregate struct T field by field (Boost.PFR).
// Specialize as false for one PFR cannot read (an aggregate with a base class): it then
// counts its sizeof only.
template <class T>
inline constexpr bool weigh_fields = std::is_aggregate_v<T> && std::is_class_v<T> && !std::is_array_v<T>;

namespace detail {

template <class T>
inline constexpr bool is_gathered = false;
template <class T>
inline constexpr bool is_gathered<gathered<T>> = true;

template <class T>
std::size_t heap_bytes(T const& x);

// The heap memory of each element of a range, beyond the elements themselves.
template <class R>
std::size_t elements_heap_bytes(R const& r) {
  using element = std::ranges::range_value_t<R>;
  if constexpr (std::is_arithmetic_v<element> || std::is_enum_v<element> || std::is_pointer_v<element>) {
    return 0;
  } else {
    std::size_t n = 0;
    for (auto const& e : r) n += heap_bytes(e);
    return n;
  }
}

// What x reaches on the heap, beyond sizeof(x): an estimate (see the top of the file).
template <class T>
std::size_t heap_bytes(T const& x) {
  if constexpr (is_gathered<T>) {
    return heap_bytes(x.value) + heap_bytes(x.failures);
  } else if constexpr (std::is_same_v<T, shard_failure>) {
    return heap_bytes(x.what);
  } else if constexpr (std::is_same_v<T, std::string>) {
    return x.capacity() > std::string().capacity() ? x.capacity() + 1 : 0;  // beyond the inline buffer
  } else if constexpr (std::ranges::sized_range<T const>) {
    using element = std::ranges::range_value_t<T const>;
    std::size_t slots = static_cast<std::size_t>(std::ranges::size(x));
    if constexpr (requires { x.capacity(); }) slots = static_cast<std::size_t>(x.capacity());
    const std::size_t own = requires { x.data(); } && requires { std::tuple_size<T>::value; } ? 0 : slots * sizeof(element);
    return own + elements_heap_bytes(x);
  } else if constexpr (is_optional<T>) {
    return x ? heap_bytes(*x) : 0;
  } else if constexpr (partition::detail::is_tuple_like<T>) {
    return std::apply([](auto const&... e) { return (std::size_t{0} + ... + heap_bytes(e)); }, x);
  } else if constexpr (weigh_fields<T>) {
    std::size_t n = 0;
    boost::pfr::for_each_field(x, [&](auto const& field) { n += heap_bytes(field); });
    return n;
  } else {
    return 0;
  }
}

}  // namespace detail

// The bytes `x` occupies by sg's estimate: sizeof(x) plus what it reaches on the heap
// through std::string, containers (their capacity), std::optional, tuples and pairs,
// aggregate structs (field by field, Boost.PFR; see sg::weigh_fields) and sg::gathered.
// Other types count their sizeof only. The default weight of a cache entry.
template <class T>
std::size_t approximate_bytes(T const& x) {
  return sizeof(T) + detail::heap_bytes(x);
}

// What a cache has done since it was made (a snapshot; the counters only grow).
struct cache_statistics {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;         // absent, or expired
  std::uint64_t insertions = 0;     // values stored (a replacement counts)
  std::uint64_t evictions = 0;      // least recently used, removed for the budget
  std::uint64_t expirations = 0;    // found past their time to live, removed
  std::uint64_t rejections = 0;     // heavier than the whole budget, not stored
  std::uint64_t invalidations = 0;  // removed by erase, erase_if or clear
  std::size_t entries = 0;          // now
  std::size_t bytes = 0;            // now, by the weights
};

template <class Key, class Value, class Clock = std::chrono::steady_clock, class Hash = boost::hash<Key>,
          class Equal = std::equal_to<Key>>
class cache {
 public:
  using key_type = Key;
  using value_type = Value;
  using clock_type = Clock;

  struct options {
    std::size_t max_bytes = std::size_t{64} << 20;  // the budget, by the weights
    std::size_t max_entries = std::numeric_limits<std::size_t>::max();
    typename Clock::duration ttl = Clock::duration::max();  // max: entries never expire
    // An entry's weight; empty: approximate_bytes(key) + approximate_bytes(value) + the
    // entry's own bookkeeping.
    std::function<std::size_t(Key const&, Value const&)> weigh{};

    // Throws std::invalid_argument for a budget of zero bytes or entries, or a ttl ≤ 0.
    void validate() const {
      auto fail = [](char const* why) { throw std::invalid_argument(std::string("sg::cache: ") + why); };
      if (max_bytes == 0) fail("max_bytes must be at least 1");
      if (max_entries == 0) fail("max_entries must be at least 1");
      if (ttl <= Clock::duration::zero()) fail("ttl must be positive (Clock::duration::max() for no expiry)");
    }
  };

  // Throws std::invalid_argument when the options are out of range (options::validate).
  explicit cache(options o) : options_(std::move(o)) { options_.validate(); }
  cache() : cache(options()) {}
  cache(cache const&) = delete;
  cache& operator=(cache const&) = delete;

  // The value stored for `key`, shared (no copy), or null when absent or expired. A hit
  // makes the entry the most recently used. O(1).
  std::shared_ptr<Value const> find(Key const& key) {
    const auto now = Clock::now();
    std::lock_guard lock(mutex_);
    auto it = index_.find(key);
    if (it == index_.end()) {
      ++stats_.misses;
      return nullptr;
    }
    auto node = it->second;
    if (node->expires <= now) {
      ++stats_.misses;
      ++stats_.expirations;
      remove(it);
      return nullptr;
    }
    ++stats_.hits;
    lru_.splice(lru_.begin(), lru_, node);
    return node->value;
  }

  // A copy of the value stored for `key` (made outside the lock), as find.
  std::optional<Value> get(Key const& key) {
    if (auto v = find(key)) return std::optional<Value>(*v);
    return std::nullopt;
  }

  // Stores `value` for `key` (replacing any), most recently used, expiring after the ttl;
  // then evicts least recently used entries until the budget holds. Returns false, storing
  // nothing and removing the key's older value, when the value alone outweighs the budget.
  bool put(Key key, Value value) {
    const std::size_t weight = weigh(key, value);
    auto shared = std::make_shared<Value const>(std::move(value));
    const auto now = Clock::now();
    const auto ttl = options_.ttl;
    const auto expires =
        ttl >= Clock::time_point::max() - now ? Clock::time_point::max() : now + ttl;
    std::unique_lock lock(mutex_);
    if (auto it = index_.find(key); it != index_.end()) remove(it);
    if (weight > options_.max_bytes) {
      ++stats_.rejections;
      return false;
    }
    lru_.push_front(entry{key, std::move(shared), weight, expires});
    index_.emplace(std::move(key), lru_.begin());
    bytes_ += weight;
    ++stats_.insertions;
    while (bytes_ > options_.max_bytes || lru_.size() > options_.max_entries) {
      ++stats_.evictions;
      remove(index_.find(lru_.back().key));
    }
    return true;
  }

  // Removes the entry for `key`; false when there was none.
  bool erase(Key const& key) {
    std::lock_guard lock(mutex_);
    auto it = index_.find(key);
    if (it == index_.end()) return false;
    ++stats_.invalidations;
    remove(it);
    return true;
  }

  // Removes every entry for which pred(key, value) is true; returns how many. pred runs
  // under the cache's lock: it must not call the cache. O(entries).
  template <class Pred>
    requires std::predicate<Pred&, Key const&, Value const&>
  std::size_t erase_if(Pred pred) {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (auto node = lru_.begin(); node != lru_.end();) {
      auto next = std::next(node);
      if (pred(std::as_const(node->key), std::as_const(*node->value))) {
        remove(index_.find(node->key));
        ++n;
      }
      node = next;
    }
    stats_.invalidations += n;
    return n;
  }

  // Removes every entry whose time to live is over; returns how many. (Lookups remove
  // expired entries as they meet them; this frees their memory sooner.) O(entries).
  std::size_t purge_expired() {
    const auto now = Clock::now();
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (auto node = lru_.begin(); node != lru_.end();) {
      auto next = std::next(node);
      if (node->expires <= now) {
        remove(index_.find(node->key));
        ++n;
      }
      node = next;
    }
    stats_.expirations += n;
    return n;
  }

  void clear() {
    std::lock_guard lock(mutex_);
    stats_.invalidations += lru_.size();
    index_.clear();
    lru_.clear();
    bytes_ = 0;
  }

  cache_statistics statistics() const {
    std::lock_guard lock(mutex_);
    cache_statistics s = stats_;
    s.entries = lru_.size();
    s.bytes = bytes_;
    return s;
  }
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return lru_.size();
  }
  std::size_t bytes() const {
    std::lock_guard lock(mutex_);
    return bytes_;
  }
  options const& settings() const noexcept { return options_; }

 private:
  struct entry {
    Key key;
    std::shared_ptr<Value const> value;
    std::size_t weight;
    typename Clock::time_point expires;
  };
  using list_type = std::list<entry>;
  using index_type = boost::unordered_flat_map<Key, typename list_type::iterator, Hash, Equal>;

  std::size_t weigh(Key const& key, Value const& value) const {
    if (options_.weigh) return options_.weigh(key, value);
    // The list node, the index slot and the shared value's control block, roughly.
    constexpr std::size_t bookkeeping = sizeof(entry) + 2 * sizeof(void*) + sizeof(Key) + 32;
    return bookkeeping + approximate_bytes(key) + approximate_bytes(value);
  }

  void remove(typename index_type::iterator it) {
    bytes_ -= it->second->weight;
    lru_.erase(it->second);
    index_.erase(it);
  }

  options options_;
  mutable std::mutex mutex_;
  list_type lru_;  // most recently used first
  index_type index_;
  std::size_t bytes_ = 0;
  cache_statistics stats_{};
};

// --- the stage ------------------------------------------------------------------------------

// How sg::cached stores results.
struct cached_options {
  bool partial = false;  // also store results that are not complete (completeness says so)
};

namespace detail {

template <class Cache, class KeyOf>
struct cached_stage {
  Cache* cache;
  KeyOf key_of;
  cached_options options;
};
template <class C, class K>
inline constexpr bool is_stage<cached_stage<C, K>> = true;

template <class T>
inline constexpr bool is_cache = false;
template <class K, class V, class C, class H, class E>
inline constexpr bool is_cache<cache<K, V, C, H, E>> = true;

// pipe | sg::cached(cache): a lookup, posted (a hit never completes inside the call), then
// on a miss the pipeline's own async gather, whose result is stored before completing.
template <class Pipe, class Cache, class Key, class Req>
struct cached_async_op {
  Pipe const* pipe;
  Cache* cache;
  Key key;
  Req request;
  bool partial;
  bool posted = false;

  template <class Self>
  void operator()(Self& self) {
    if (!posted) {
      posted = true;
      self.reset_cancellation_state(boost::asio::enable_total_cancellation());
      return boost::asio::post(std::move(self));
    }
    if (auto hit = cache->find(key)) return self.complete(std::error_code{}, typename Cache::value_type(*hit));
    Req copy = request;  // the request outlives the move of self into the gather
    pipe->async(copy, std::move(self));
  }

  template <class Self, class Value>
  void operator()(Self& self, std::error_code ec, Value result) {
    static_assert(std::is_same_v<Value, typename Cache::value_type>,
                  "sg::cached: the cache's value type must be the pipeline's result type, sg::gathered<T>");
    if (!ec && (result.completeness.complete() || (partial && result.completeness.succeeded > 0)))
      cache->put(key, result);
    self.complete(ec, std::move(result));
  }
};

template <class Pipe, class Cache, class Key, class Req>
struct cached_async_initiation {
  Pipe const* pipe;
  Cache* cache;
  bool partial;

  template <class Handler>
  void operator()(Handler&& handler, Key key, Req request) const {
    boost::asio::async_compose<Handler, void(std::error_code, typename Cache::value_type)>(
        cached_async_op<Pipe, Cache, Key, Req>{pipe, cache, std::move(key), std::move(request), partial},
        handler, default_completion_executor(pipe->executor()));
  }
};


}  // namespace detail

// A pipeline behind a cache (built by `pipe | sg::cached(...)`): called as the pipeline is,
// with the same result type. Holds the pipeline by value and the cache by reference (the
// cache must outlive it).
template <class Pipe, class Cache, class KeyOf>
class cached_pipeline {
 public:
  using cache_type = Cache;

  cached_pipeline(Pipe pipe, Cache& c, KeyOf key_of, cached_options o)
      : pipe_(std::move(pipe)), cache_(&c), key_of_(std::move(key_of)), options_(o) {}

  // As pipe(request): throws sg::scatter_error when the pipeline does; stores the result
  // when it is complete (or partial results are asked for).
  template <class Req>
    requires(!detail::is_stage<Req>)
  auto operator()(Req const& request) const {
    std::error_code ec;
    auto result = (*this)(request, ec);
    if (ec) throw scatter_error(ec, std::move(result));
    return result;
  }

  // As pipe(request, ec); a result with `ec` set is never stored.
  template <class Req>
    requires(!detail::is_stage<Req>)
  auto operator()(Req const& request, std::error_code& ec) const {
    using result = decltype(pipe_(request, ec));
    if constexpr (check<Req, std::is_same_v<typename Cache::value_type, result>>()) {
      auto key = key_of_(request);
      if (auto hit = cache_->find(key)) {
        ec.clear();
        return result(*hit);
      }
      result r = pipe_(request, ec);
      if (!ec && storable(r)) cache_->put(std::move(key), r);
      return r;
    }
  }

  // As pipe.async(request, token): a hit completes with it (on the handler's executor, or
  // the pipeline's, never inside this call); a miss runs pipe.async and stores the result
  // as above before completing. Needs <sg/exec/async.hpp> (or <sg/sg.hpp>).
  template <class Req, class Token>
    requires(!detail::is_stage<Req>)
  auto async(Req const& request, Token&& token) const {
    using value = typename Cache::value_type;
    if constexpr (check<Req, detail::is_gathered<value>>()) {
      return boost::asio::async_initiate<Token, void(std::error_code, value)>(
          detail::cached_async_initiation<Pipe, Cache, typename Cache::key_type, Req>{&pipe_, cache_,
                                                                                      options_.partial},
          token, typename Cache::key_type(key_of_(request)), request);
    }
  }

  Pipe const& pipeline() const noexcept { return pipe_; }
  Cache& cache() const noexcept { return *cache_; }

 private:
  // Each misuse stops here with one sentence, before anything else is instantiated. (The
  // async call cannot know the pipeline's result type this early: it checks that the value
  // is a gathered<T>, and the operation checks T when the gather completes.)
  template <class Req, bool ValueIsResult>
  static consteval bool check() {
    if constexpr (!ValueIsResult) {
      static_assert(detail::always_false<Req>,
                    "sg::cached: the cache's value type must be the pipeline's result type, sg::gathered<T>");
      return false;
    } else if constexpr (!std::is_convertible_v<std::invoke_result_t<KeyOf const&, Req const&>,
                                                typename Cache::key_type>) {
      static_assert(detail::always_false<Req>, "sg::cached: key_of(request) must give the cache's key type");
      return false;
    } else {
      return true;
    }
  }

  template <class Result>
  bool storable(Result const& r) const {
    return r.completeness.complete() || (options_.partial && r.completeness.succeeded > 0);
  }

  Pipe pipe_;
  Cache* cache_;
  KeyOf key_of_;
  cached_options options_;
};

namespace detail {

struct cached_fn {
  template <class Cache>
  auto operator()(Cache& c, cached_options o = {}) const {
    static_assert(is_cache<Cache>, "sg::cached: the first argument must be an sg::cache (yours, by reference)");
    return cached_stage<Cache, std::identity>{&c, {}, o};
  }
  template <class Cache, class KeyOf>
    requires(!std::is_same_v<std::remove_cvref_t<KeyOf>, cached_options>)
  auto operator()(Cache& c, KeyOf key_of, cached_options o = {}) const {
    static_assert(is_cache<Cache>, "sg::cached: the first argument must be an sg::cache (yours, by reference)");
    return cached_stage<Cache, KeyOf>{&c, std::move(key_of), o};
  }
};

}  // namespace detail

// sg::cached(cache [, key_of] [, {.partial = true}]): the stage that ends a pipeline (after
// sg::gather) and answers repeated requests from `cache`.
inline constexpr detail::cached_fn cached{};

template <class H, class R, class E, class P, class M, class C, class K>
auto operator|(pipeline<H, R, E, P, M> p, detail::cached_stage<C, K> s) {
  static_assert(!std::is_same_v<M, detail::no_merge>,
                "sg::cached(...) comes last, after sg::gather(...): scatter | gather | cached");
  return cached_pipeline<pipeline<H, R, E, P, M>, C, K>(std::move(p), *s.cache, std::move(s.key_of), s.options);
}

}  // namespace sg
