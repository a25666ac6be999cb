// sg/route.hpp — routing: which shards of the set a request needs.
//
//   auto pipe = sg::scatter(shards)
//             | sg::route(sg::partition::jump{8}, [](get_order const& r) { return r.customer; })
//             | sg::gather(sg::merge::concat());
//
// `key_of(request)` says what the request touches, in one of four words:
//   a key                      → the one shard that holds it;
//   sg::key_set{keys}          → the shards of those keys (an IN-list; each shard once),
//                                from a range of keys or the keys themselves;
//   sg::key_range{lo, hi}      → the shards the closed range [lo, hi] meets — on a
//                                partitioner with shards_for(lo, hi) (sg::partition::range);
//                                every shard on others, which scatter keys;
//   sg::all_shards             → every shard (a query with no usable key).
// The shards left out are counted in completeness.pruned and never called; zero targeted
// shards is the sg::errc::no_shards error, as always. A partitioner whose shard_count()
// differs from the set's size, or that returns an index out of range, is a bug reported by
// throwing std::system_error with sg::errc::bad_input (from both forms of pipe(request)),
// never undefined behaviour. Example: tests/route.cpp, docs/partitioners.md.
#pragma once

#include <sg/error.hpp>
#include <sg/partition/partitioner.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <functional>
#include <ranges>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace sg {

// Every shard: the request has no key that narrows it.
struct all_shards_t {
  explicit constexpr all_shards_t() = default;
};
inline constexpr all_shards_t all_shards{};

// Several keys (an IN-list): the request goes to each of their shards once.
//   sg::key_set{ids}          // from a range of keys (a std::vector, a span, a view)
//   sg::key_set{7, 12, 40}    // from the keys themselves
template <class K>
struct key_set {
  std::vector<K> keys;

  key_set() = default;
  template <std::ranges::input_range R>
    requires std::convertible_to<std::ranges::range_reference_t<R>, K> &&
             (!std::convertible_to<R const&, K>)
  explicit key_set(R&& r) : keys(std::ranges::begin(r), std::ranges::end(r)) {}
  template <class... Ks>
    requires(sizeof...(Ks) > 0 && (std::convertible_to<Ks, K> && ...))
  key_set(Ks&&... ks) : keys{K(std::forward<Ks>(ks))...} {}
};
namespace detail {
// A string is one key, not a range of char keys.
template <class R>
concept key_range_arg =
    std::ranges::input_range<R> && !std::convertible_to<R const&, std::string_view>;
}  // namespace detail
template <detail::key_range_arg R>
key_set(R&&) -> key_set<std::ranges::range_value_t<R>>;
template <class K, class... Ks>
  requires(sizeof...(Ks) > 0 || !detail::key_range_arg<K>)
key_set(K, Ks...) -> key_set<K>;

// A closed key range [lo, hi].
template <class K>
struct key_range {
  K lo;
  K hi;
};
template <class K>
key_range(K, K) -> key_range<K>;

namespace detail {

template <class T>
inline constexpr bool is_key_set = false;
template <class K>
inline constexpr bool is_key_set<key_set<K>> = true;
template <class T>
inline constexpr bool is_key_range = false;
template <class K>
inline constexpr bool is_key_range<key_range<K>> = true;

// The shards a request targets: all of them, or a sorted list without duplicates.
class targets {
 public:
  static targets all(std::size_t n) { return targets(n, true); }
  static targets some(std::size_t n, std::vector<std::size_t> list) {
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
    targets t(n, false);
    t.list_ = std::move(list);
    return t;
  }

  bool is_all() const noexcept { return all_; }
  std::size_t count() const noexcept { return all_ ? n_ : list_.size(); }
  std::size_t pruned() const noexcept { return n_ - count(); }
  // The j-th targeted shard's index.
  std::size_t operator[](std::size_t j) const noexcept { return all_ ? j : list_[j]; }

 private:
  targets(std::size_t n, bool all) : n_(n), all_(all) {}
  std::size_t n_;
  bool all_;
  std::vector<std::size_t> list_;
};

[[noreturn]] inline void bad_route(std::string const& what) {
  throw std::system_error(make_error_code(errc::bad_input), "sg::route: " + what);
}

template <class P>
struct router {
  P partitioner;  // or a std::reference_wrapper to one

  decltype(auto) get() const noexcept {
    if constexpr (requires { partitioner.get(); })
      return partitioner.get();
    else
      return (partitioner);
  }

  // A shard index the partitioner returned, checked against the set's n shards.
  static std::size_t checked(std::size_t s, std::size_t n) {
    if (s >= n)
      bad_route("the partitioner returned shard " + std::to_string(s) + " for a set of " + std::to_string(n) +
                " shards");
    return s;
  }

  // The targets of `key` (one of the four words) over a set of n shards.
  template <class Key>
  targets route(Key const& key, std::size_t n) const {
    const std::size_t pn = static_cast<std::size_t>(get().shard_count());
    if (pn != n)
      bad_route("the partitioner has " + std::to_string(pn) + " shards but the shard set has " +
                std::to_string(n));
    if constexpr (std::is_same_v<Key, all_shards_t>) {
      return targets::all(n);
    } else if constexpr (is_key_set<Key>) {
      std::vector<std::size_t> list;
      list.reserve(key.keys.size());
      for (auto const& k : key.keys) list.push_back(checked(static_cast<std::size_t>(get().shard_of(k)), n));
      return targets::some(n, std::move(list));
    } else if constexpr (is_key_range<Key>) {
      if constexpr (requires { get().shards_for(key.lo, key.hi); }) {
        std::vector<std::size_t> list;
        for (auto s : get().shards_for(key.lo, key.hi)) list.push_back(checked(static_cast<std::size_t>(s), n));
        return targets::some(n, std::move(list));
      } else {
        return targets::all(n);  // a hash partitioner scatters ranges over every shard
      }
    } else {
      return targets::some(n, {checked(static_cast<std::size_t>(get().shard_of(key)), n)});
    }
  }
};

template <class P, class F>
struct route_stage {
  router<P> routing;
  F key_of;
};

struct route_fn {
  template <class P, class F>
  constexpr auto operator()(P partitioner, F key_of) const {
    static_assert(requires(std::unwrap_reference_t<P> const& p) {
      { p.shard_count() } -> std::convertible_to<std::size_t>;
    }, "sg::route: the first argument is not a partitioner: no p.shard_count()");
    return route_stage<P, F>{router<P>{std::move(partitioner)}, std::move(key_of)};
  }
};

}  // namespace detail

// Routes each request to the shards its key needs; see the top of this file. Goes between
// sg::scatter and sg::gather. The partitioner is copied into the pipeline (share a
// stateful one, such as concurrent_round_robin, through std::ref).
inline constexpr detail::route_fn route{};

}  // namespace sg
