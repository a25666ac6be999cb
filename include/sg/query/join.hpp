// sg/query/join.hpp — sg::local::hash_join(left, right, left_key, right_key): the inner
// equi-join of two in-memory ranges, the building block of the join plans of
// sg/cost/plans.hpp (broadcast, shuffle, co-located).
//
//   std::vector<std::pair<order, region>> joined =
//       sg::local::hash_join(orders, regions, &order::region_id, &region::id);
//
// The table is built on `right` (give the smaller side there): one open-addressing entry
// per distinct key (boost::unordered_flat_map), rows addressed by index (in place when
// `right` is random-access), chained only once a key repeats; `left` is read once, in
// order. Output: for each left row in order, its matches in right's order, as
// std::pair<L, R> copies, in a vector that reserves one row per row of a sized `left` (a
// foreign-key join's output; at most 64 MiB) before it grows. O(|left| + |right| + output)
// expected time.
// A key that is an empty std::optional (SQL NULL) matches nothing, as in SQL. Keys must
// hash with boost::hash and compare with ==; they match in sg's total order (sg/order.hpp:
// a NaN key matches a NaN key, -0.0 matches 0.0, as PostgreSQL's float8 = does, also inside
// tuple keys). Either side may be empty. Example: tests/query/join.cpp.
#pragma once

#include <sg/detail/type_traits.hpp>
#include <sg/order.hpp>

#include <boost/container_hash/hash.hpp>
#include <boost/unordered/unordered_flat_map.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

namespace sg::local {

namespace detail {

// The join key as the table stores it: the optional's value (NULL rows never get here).
template <class K>
struct join_key {
  using type = K;
};
template <class K>
struct join_key<std::optional<K>> {
  using type = K;
};

// The key itself: the optional's value, for a key that is an engaged optional.
template <class K>
constexpr auto const& key_value(K const& k) noexcept {
  if constexpr (sg::detail::is_optional<K>)
    return *k;
  else
    return k;
}

// The table's hash and equality: sg's total order, on the table's own key type (a left key
// of another type converts to it before it is looked up, as it would be compared).
template <class K>
struct join_hash {
  std::size_t operator()(K const& k) const { return total_hash(k); }
};
template <class K>
struct join_equal {
  bool operator()(K const& a, K const& b) const { return total_equal(a, b); }
};

}  // namespace detail

struct hash_join_fn {
  template <std::ranges::input_range Left, std::ranges::forward_range Right, class LeftKey, class RightKey>
  auto operator()(Left&& left, Right&& right, LeftKey left_key, RightKey right_key) const {
    using L = std::remove_cvref_t<std::ranges::range_value_t<Left>>;
    using R = std::remove_cvref_t<std::ranges::range_value_t<Right>>;
    static_assert(std::regular_invocable<RightKey const&, R const&>,
                  "sg::local::hash_join: right_key cannot be called with a row of the right range");
    static_assert(std::regular_invocable<LeftKey const&, L const&>,
                  "sg::local::hash_join: left_key cannot be called with a row of the left range");
    using rk = std::remove_cvref_t<std::invoke_result_t<RightKey const&, R const&>>;
    using lk = std::remove_cvref_t<std::invoke_result_t<LeftKey const&, L const&>>;
    using key = typename detail::join_key<rk>::type;
    static_assert(requires(key const& k, typename detail::join_key<lk>::type const& l) {
      { boost::hash<key>{}(k) } -> std::convertible_to<std::size_t>;
      { k == l } -> std::convertible_to<bool>;
    }, "sg::local::hash_join: the right key must hash with boost::hash and compare with == to the left key");

    // The build side is referred to by address: a range that yields its rows by value (a
    // transforming view) is copied once first, so that no address dangles.
    if constexpr (std::is_lvalue_reference_v<std::ranges::range_reference_t<Right>>) {
      return join<L, R, key, lk, rk>(left, right, std::move(left_key), std::move(right_key));
    } else {
      std::vector<R> owned;
      for (auto&& r : right) owned.push_back(std::forward<decltype(r)>(r));
      return join<L, R, key, lk, rk>(left, owned, std::move(left_key), std::move(right_key));
    }
  }

 private:
  // The keys are the join's own values, not references to the caller's: through a reference
  // the compiler had to assume the table's stores might change a member pointer, and
  // reloaded it on every row.
  template <class L, class R, class Key, class LK, class RK, class Left, class Right, class LeftKey, class RightKey>
  static std::vector<std::pair<L, R>> join(Left& left, Right& right, LeftKey left_key, RightKey right_key) {
    // Build: head[key] is the last row of the key; next[i] the row before i of the same key.
    // A random-access build side is indexed in place; another is addressed through a
    // vector of pointers. Without a repeated key there is no chain (next stays empty).
    constexpr std::uint32_t none = 0xffffffffu;
    constexpr bool indexed = std::ranges::random_access_range<Right> && std::ranges::sized_range<Right>;
    std::vector<R const*> rows;
    if constexpr (!indexed)
      for (auto const& r : right) rows.push_back(&r);
    std::size_t n = rows.size();
    if constexpr (indexed) n = static_cast<std::size_t>(std::ranges::size(right));
    auto row = [&](std::size_t i) -> R const& {
      if constexpr (indexed)
        return std::ranges::begin(right)[static_cast<std::ranges::range_difference_t<Right>>(i)];
      else
        return *rows[i];
    };
    if (n >= none) throw std::length_error("sg::local::hash_join: more than 2^32 - 2 rows on the build side");
    boost::unordered_flat_map<Key, std::uint32_t, detail::join_hash<Key>, detail::join_equal<Key>> head;
    head.reserve(n);
    std::vector<std::uint32_t> next;  // allocated at the first repeated key
    bool chained = false;
    // Rows go in from last to first, so that each chain runs in right's order.
    // The insert and the probe are written out in their loops: as per-row lambdas GCC 12
    // did not always inline them, and where it did not, building took 1.6-1.8 times as long.
    for (std::size_t i = n; i-- > 0;) {
      decltype(auto) k = std::invoke(right_key, row(i));
      if constexpr (sg::detail::is_optional<RK>)
        if (!k) continue;
      auto [it, fresh] = head.try_emplace(detail::key_value(k), static_cast<std::uint32_t>(i));
      if (!fresh) [[unlikely]] {
        if (!chained) next.assign(n, none);
        chained = true;
        next[i] = std::exchange(it->second, static_cast<std::uint32_t>(i));
      }
    }

    // One output row a left row (a foreign-key join's size) is reserved up front, up to
    // 64 MiB, so that a selective join of a huge left side does not claim memory it will
    // not use; more matches grow it. Growing from nothing copied every row about twice more.
    std::vector<std::pair<L, R>> out;
    if constexpr (std::ranges::sized_range<Left>) {
      constexpr std::size_t most = (std::size_t{64} << 20) / sizeof(std::pair<L, R>);
      if (!head.empty()) out.reserve(std::min(static_cast<std::size_t>(std::ranges::size(left)), most));
    }
    for (auto const& l : left) {
      decltype(auto) k = std::invoke(left_key, l);
      if constexpr (sg::detail::is_optional<LK>)
        if (!k) continue;
      auto it = head.find(detail::key_value(k));
      if (it == head.end()) continue;
      if (!chained) {
        out.emplace_back(l, row(it->second));
        continue;
      }
      for (std::uint32_t i = it->second; i != none; i = next[i]) out.emplace_back(l, row(i));
    }
    return out;
  }
};

// The inner equi-join of two in-memory ranges; see the top of this file.
inline constexpr hash_join_fn hash_join{};

}  // namespace sg::local
