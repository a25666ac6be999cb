// sg/merge/hash_aggregate.hpp — sg::merge::hash_aggregate(key_proj, aggregates...): the
// group-by merge, two phases from one definition.
//
//   auto by_region = sg::merge::hash_aggregate(&order::region, sg::agg::count(),
//                                              sg::agg::avg(&order::cents));
//   auto table = by_region.partial(rows);   // on a shard: one partial state per group
//   for (auto const& [region, n, mean] : by_region(tables))   // on the coordinator
//     std::cout << region << ' ' << n << ' ' << mean << '\n';
//
// partial(rows) groups any input range of rows by key_proj(row) and folds each group into
// one state per aggregate (sg/agg/aggregate.hpp): a partial table, a std::vector of
// sg::merge::partial_group{key, std::tuple<states...>} with one entry per group, in no
// particular order. The merge takes such tables — from all shards, in any arrival order,
// even with a key repeated — merges the states of equal keys and finishes them: a
// std::vector<std::tuple<Key, V1, V2, ...>>, one row per group, so `auto const& [key, a1,
// a2] : result` reads as the query. Groups come out in no particular order (sort after, or
// use a sorted or top-k merge on the result). A merge also takes shards' raw rows (any
// range whose elements are not partial groups): each answer is then aggregated as it
// arrives, which is one-phase aggregation with the same result.
//
// Keys: any type hashed by sg::partition::default_hash (integers, strings, floating point,
// enums, and std::tuple/std::pair of those for composite keys: a key projection that
// returns a tuple) and compared with ==. Aggregates and their states are composed at
// compile time (a Boost.Hana tuple); no virtual call or std::function per row.
//
// Speed and memory (benchmarks/merge.cpp, docs/benchmarks.md): one open-addressing table
// (boost::unordered_flat_map, keys and states inline) while the groups fit in about 1 MiB;
// beyond that the merge radix-partitions incoming groups by hash into 256 partitions, each
// with its own table, and buffers groups per partition until a partition has as many as
// its table holds, so every table it touches is cache-sized (as DuckDB and ClickHouse do).
// Memory: the groups' keys and states, plus at most as much again in buffers.
//
// Errors: an aggregate that fails while a table is merged (an integer sum that leaves its
// range only fails at finish(); a HyperLogLog of another precision fails here) leaves the
// accumulator poisoned: its finish() rethrows that error rather than give a result that
// holds part of an answer. Example: tests/merge/hash_aggregate.cpp.
#pragma once

#include <sg/agg/aggregate.hpp>
#include <sg/detail/type_traits.hpp>
#include <sg/merge/protocol.hpp>
#include <sg/partition/hash.hpp>

#include <boost/hana/at.hpp>
#include <boost/hana/size.hpp>
#include <boost/hana/tuple.hpp>
#include <boost/hana/unpack.hpp>
#include <boost/unordered/unordered_flat_map.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <ranges>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace sg::merge {

// One group of a partial table: its key and one state per aggregate.
template <class Key, class States>
struct partial_group {
  Key key;
  States states;
  friend bool operator==(partial_group const&, partial_group const&) = default;
};

namespace detail {

template <class T>
inline constexpr bool is_partial_group = false;
template <class K, class S>
inline constexpr bool is_partial_group<partial_group<K, S>> = true;

template <class K>
concept group_key_type =
    std::movable<K> && std::equality_comparable<K> && std::invocable<partition::default_hash const&, K const&>;

// A key as a group table stores it: mutable, so that finish() can move keys out of a
// table it is about to destroy (flat_map keys are otherwise const).
template <class Key>
struct stored_key {
  mutable Key value;
};

// default_hash is avalanching (every key bit reaches every hash bit), so the table uses
// it as is. Transparent: a row's key is looked up without building a stored_key.
struct group_hash {
  using is_avalanching = void;
  using is_transparent = void;
  template <class Key>
  std::size_t operator()(Key const& k) const noexcept {
    return static_cast<std::size_t>(partition::default_hash{}(k));
  }
  template <class Key>
  std::size_t operator()(stored_key<Key> const& k) const noexcept {
    return (*this)(k.value);
  }
};

struct group_equal {
  using is_transparent = void;
  template <class Key>
  static Key const& get(Key const& k) noexcept {
    return k;
  }
  template <class Key>
  static Key const& get(stored_key<Key> const& k) noexcept {
    return k.value;
  }
  template <class A, class B>
  bool operator()(A const& a, B const& b) const {
    return get(a) == get(b);
  }
};

template <class Key, class States>
using group_map = boost::unordered_flat_map<stored_key<Key>, States, group_hash, group_equal>;

// Calls f(aggregate_i, state_i, extra_i...) for each aggregate of the Hana tuple.
template <class Aggs, class F, class... Tuples>
constexpr void for_each_aggregate(Aggs const& aggs, F&& f, Tuples&&... tuples) {
  constexpr std::size_t n = decltype(boost::hana::size(aggs))::value;
  auto one = [&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
    f(boost::hana::at_c<I>(aggs), std::get<I>(std::forward<Tuples>(tuples))...);  // distinct elements
  };
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (one(std::integral_constant<std::size_t, I>{}), ...);
  }(std::make_index_sequence<n>{});
}

template <class Aggs, class States>
void merge_states(Aggs const& aggs, States& into, States&& from) {
  for_each_aggregate(
      aggs, [](auto const& a, auto& s, auto&& o) { a.merge(s, std::move(o)); }, into, std::move(from));
}

// The groups seen so far: one table, or 256 radix partitions once the groups outgrow the
// cache (see the top of this file).
template <class Key, class States, class Aggs>
class group_table {
 public:
  using group = partial_group<Key, States>;

  explicit group_table(Aggs aggs) : aggs_(std::move(aggs)) {}

  Aggs const& aggregates() const noexcept { return aggs_; }

  void merge(group&& g) {
    if (parts_.empty()) {
      merge_into(single_, std::move(g));
      if (single_.size() > small_limit) partition();
      return;
    }
    part& p = parts_[part_of(group_hash{}(g.key))];
    p.buffer.push_back(std::move(g));
    if (p.buffer.size() >= p.flush_at) flush(p);
  }

  // Moves every group out: f(Key&&, States&&) once per group. The table is left empty.
  template <class F>
  void drain(F&& f) {
    auto drain_map = [&](map_type& m) {
      for (auto& [k, s] : m) f(std::move(k.value), std::move(s));
      m.clear();
    };
    drain_map(single_);
    for (part& p : parts_) {
      flush(p);
      drain_map(p.table);
    }
    parts_.clear();
  }

  std::size_t size_hint() const noexcept {
    std::size_t n = single_.size();
    for (part const& p : parts_) n += p.table.size() + p.buffer.size();
    return n;
  }

 private:
  using map_type = group_map<Key, States>;
  static constexpr unsigned radix_bits = 8;
  static constexpr std::size_t min_flush = 256;
  static constexpr std::size_t small_limit =
      std::max<std::size_t>(4096, (std::size_t{1} << 20) / sizeof(typename map_type::value_type));

  struct part {
    map_type table;
    std::vector<group> buffer;
    std::size_t flush_at = min_flush;
  };

  static std::size_t part_of(std::size_t hash) noexcept {
    // Bits of a second mix, independent of the bits the table itself uses for position.
    return static_cast<std::size_t>(partition::mix64(hash) >> (64 - radix_bits));
  }

  void merge_into(map_type& m, group&& g) {
    auto [at, inserted] = m.try_emplace(stored_key<Key>{std::move(g.key)}, std::move(g.states));
    if (!inserted) merge_states(aggs_, at->second, std::move(g.states));
  }

  void flush(part& p) {
    for (group& g : p.buffer) merge_into(p.table, std::move(g));
    p.buffer.clear();
    p.flush_at = std::max(min_flush, p.table.size());
  }

  // Leaves the single table for the partitions, moving its groups into theirs.
  void partition() {
    parts_.resize(std::size_t{1} << radix_bits);
    for (auto& [k, s] : single_) {
      part& p = parts_[part_of(group_hash{}(k.value))];
      p.table.emplace(stored_key<Key>{std::move(k.value)}, std::move(s));
    }
    single_ = map_type();
  }

  Aggs aggs_;
  map_type single_;
  std::vector<part> parts_;
};

// The key and states of rows of type Row, when the key projection and every aggregate
// take such rows.
template <class Row, class KeyProj, class... A>
struct row_traits {};

template <class Row, class KeyProj, class... A>
  requires std::regular_invocable<KeyProj const&, Row const&> &&
           group_key_type<agg::projected_t<KeyProj, Row>> && (agg::aggregate_for<A, Row> && ...)
struct row_traits<Row, KeyProj, A...> {
  using key_type = agg::projected_t<KeyProj, Row>;
  using states_type = std::tuple<agg::state_t<A, Row>...>;
};

template <class States, class... A>
inline constexpr bool merges_states = false;
template <class... S, class... A>
  requires(sizeof...(S) == sizeof...(A))
inline constexpr bool merges_states<std::tuple<S...>, A...> = (agg::merges_state<A, S> && ...);

template <class Row, class Aggs>
auto init_states(Aggs const& aggs) {
  return boost::hana::unpack(aggs, [](auto const&... a) { return std::tuple{a.template init<Row>()...}; });
}

// The partial table of rows: one group per distinct key (the first phase).
template <class Key, class States, class KeyProj, class Aggs, class Rows>
std::vector<partial_group<Key, States>> partial_table(KeyProj const& key, Aggs const& aggs, Rows&& rows) {
  using row = std::ranges::range_value_t<Rows>;
  group_map<Key, States> groups;
  for (auto&& r : rows) {
    decltype(auto) k = std::invoke(key, std::as_const(r));
    auto at = groups.find(k);
    if (at == groups.end()) at = groups.try_emplace(stored_key<Key>{Key(k)}, init_states<row>(aggs)).first;
    for_each_aggregate(aggs, [&](auto const& a, auto& s) { a.update(s, std::as_const(r)); }, at->second);
  }
  std::vector<partial_group<Key, States>> out;
  out.reserve(groups.size());
  for (auto& [k, s] : groups) out.push_back({std::move(k.value), std::move(s)});
  return out;
}

template <class States, class Aggs>
struct finished_row;
template <class... S, class... A>
struct finished_row<std::tuple<S...>, boost::hana::tuple<A...>> {
  template <class Key>
  using type = std::tuple<Key, agg::finish_t<A, S>...>;
};

}  // namespace detail

// The accumulator of hash_aggregate for answers of type Resp (partial tables or rows).
template <class Resp, class KeyProj, class Aggs, class Key, class States>
class hash_aggregate_accumulator {
 public:
  using row_type = typename detail::finished_row<States, Aggs>::template type<Key>;
  using result_type = std::vector<row_type>;

  hash_aggregate_accumulator(KeyProj key, Aggs aggs) : key_(std::move(key)), groups_(std::move(aggs)) {}

  // Merges a shard's answer. On failure part-way (see the top of the file) the accumulator
  // is poisoned and finish() rethrows; the exception also propagates from here.
  void add(std::size_t, Resp&& answer) {
    if (failed_) return;
    try {
      if constexpr (detail::is_partial_group<std::ranges::range_value_t<Resp>>) {
        for (auto&& g : answer) groups_.merge(group(sg::detail::forward_element<Resp&&>(g)));
      } else {
        for (group& g : detail::partial_table<Key, States>(key_, groups_.aggregates(), answer))
          groups_.merge(std::move(g));
      }
    } catch (...) {
      failed_ = std::current_exception();
      throw;
    }
  }

  // One row per group: the key, then each aggregate's finished value.
  result_type finish() && {
    if (failed_) std::rethrow_exception(failed_);
    result_type out;
    out.reserve(groups_.size_hint());
    Aggs const& aggs = groups_.aggregates();
    groups_.drain([&](Key&& k, States&& s) {
      [&]<std::size_t... I>(std::index_sequence<I...>) {
        out.emplace_back(std::move(k), boost::hana::at_c<I>(aggs).finish(std::as_const(std::get<I>(s)))...);
      }(std::make_index_sequence<std::tuple_size_v<States>>{});
    });
    return out;
  }

 private:
  using group = partial_group<Key, States>;

  KeyProj key_;
  detail::group_table<Key, States, Aggs> groups_;
  std::exception_ptr failed_;
};

template <class KeyProj, class... Aggs>
struct hash_aggregate_merge {
  KeyProj key;
  boost::hana::tuple<Aggs...> aggregates;

  // The partial table of `rows` (run this on a shard): one partial_group per distinct
  // key, in no particular order. O(rows) expected; memory: one entry per group.
  template <std::ranges::input_range Rows>
    requires requires { typename detail::row_traits<std::ranges::range_value_t<Rows>, KeyProj, Aggs...>::key_type; }
  auto partial(Rows&& rows) const {
    using traits = detail::row_traits<std::ranges::range_value_t<Rows>, KeyProj, Aggs...>;
    return detail::partial_table<typename traits::key_type, typename traits::states_type>(key, aggregates, rows);
  }

  template <class Resp>
  auto accumulator() const {
    using value = std::ranges::range_value_t<Resp>;
    if constexpr (detail::is_partial_group<value>) {
      using K = decltype(value::key);
      using S = decltype(value::states);
      static_assert(detail::merges_states<S, Aggs...>,
                    "sg::merge::hash_aggregate: the partial table's states do not match the "
                    "aggregates (one state per aggregate, in order, each one its merge() and "
                    "finish() take)");
      return hash_aggregate_accumulator<Resp, KeyProj, boost::hana::tuple<Aggs...>, K, S>(key, aggregates);
    } else if constexpr (!requires { typename detail::row_traits<value, KeyProj, Aggs...>::key_type; }) {
      static_assert(sg::detail::always_false<Resp>,
                    "sg::merge::hash_aggregate: the answers are neither partial tables nor rows the "
                    "key projection and every aggregate take (the key must be hashable by "
                    "sg::partition::default_hash and comparable with ==)");
      return;
    } else {
      using traits = detail::row_traits<value, KeyProj, Aggs...>;
      return hash_aggregate_accumulator<Resp, KeyProj, boost::hana::tuple<Aggs...>, typename traits::key_type,
                                        typename traits::states_type>(key, aggregates);
    }
  }

  // Merges a range of per-shard answers (partial tables, or rows).
  template <std::ranges::input_range Responses>
  auto operator()(Responses&& responses) const {
    return sg::detail::merge_all(*this, std::forward<Responses>(responses));
  }
};

// The group-by merge; see the top of this file.
template <class KeyProj, class... Aggs>
hash_aggregate_merge<KeyProj, Aggs...> hash_aggregate(KeyProj key_proj, Aggs... aggregates) {
  return {std::move(key_proj), boost::hana::make_tuple(std::move(aggregates)...)};
}

// The partial table type merge m's partial() produces for rows of type Row: what a shard
// that runs the first phase answers.
template <class M, class Row>
using partial_table_t = decltype(std::declval<M const&>().partial(std::declval<std::vector<Row> const&>()));

}  // namespace sg::merge
