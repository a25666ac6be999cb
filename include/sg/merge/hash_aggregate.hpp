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
// Keys: any type boost::hash hashes (integers, strings, floating point, enums, and
// std::tuple/std::pair of those for composite keys: a key projection that returns a
// tuple) and == compares. Floating-point keys, alone or inside a tuple, pair or
// optional, group in sg's total order (sg/order.hpp): every NaN is one group, -0.0 and 0.0
// are one group, and a group's key is stored canonical (0.0, the quiet NaN). Aggregates
// and their states are composed at compile time (a Boost.Hana tuple); no virtual call or
// std::function per row.
//
// Speed and memory (benchmarks/merge.cpp, docs/benchmarks.md): while the groups fit in
// about 1 MiB, every answer is merged at once into one open-addressing table
// (boost::unordered_flat_map, keys and states inline). Beyond that, a table would miss
// cache on every probe, so each answer is radix-partitioned in place by hash (256
// partitions) and kept, and finish() merges one partition at a time into one cache-sized
// table that it empties and reuses (the partitioned aggregation of DuckDB and ClickHouse).
// Memory: the groups while they fit; beyond, the answers themselves until finish() (as
// concat keeps them), plus one byte a group while an answer is partitioned.
//
// Errors: an aggregate that fails while a table is merged (an integer sum that leaves its
// range only fails at finish(); a HyperLogLog of another precision fails here) leaves the
// accumulator poisoned: its finish() rethrows that error rather than give a result that
// holds part of an answer. Example: tests/merge/hash_aggregate.cpp.
#pragma once

#include <sg/agg/aggregate.hpp>
#include <sg/detail/type_traits.hpp>
#include <sg/merge/protocol.hpp>
#include <sg/order.hpp>
#include <sg/partition/hash.hpp>

#include <boost/container_hash/hash.hpp>
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
concept group_key_type = std::movable<K> && std::equality_comparable<K> && requires(K const& k) {
  { boost::hash<K>{}(k) } -> std::convertible_to<std::size_t>;
};

// A key as a group table stores it: mutable, so that finish() can move keys out of a
// table it is about to destroy (flat_map keys are otherwise const).
template <class Key>
struct stored_key {
  mutable Key value;
};

// sg::total_hash of the key (boost::hash, floating point normalised: every NaN one key,
// -0.0 the same as 0.0; sg/order.hpp), which the table mixes itself (one multiply for an
// integer: the pinned, stronger default_hash matters for placing data on shards, not
// inside a table). Transparent: a row's key is looked up without building a stored_key.
struct group_hash {
  using is_transparent = void;
  template <class Key>
  std::size_t operator()(Key const& k) const {
    return total_hash(k);
  }
  template <class Key>
  std::size_t operator()(stored_key<Key> const& k) const {
    return (*this)(k.value);
  }
};

// sg::total_equal of the keys: all NaN equal, -0.0 equal to 0.0.
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
    return total_equal(get(a), get(b));
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

// into takes from's rows, aggregate by aggregate (from is moved from when an rvalue).
// Forced inline: it runs once per merged group, and GCC's -O2 heuristics otherwise leave
// a call per row.
template <class Aggs, class States, class From, std::size_t... I>
[[gnu::always_inline]] inline void merge_states(Aggs const& aggs, States& into, From&& from,
                                                std::index_sequence<I...>) {
  (boost::hana::at_c<I>(aggs).merge(std::get<I>(into), std::get<I>(std::forward<From>(from))), ...);
}

template <class Aggs, class States, class From>
[[gnu::always_inline]] inline void merge_states(Aggs const& aggs, States& into, From&& from) {
  merge_states(aggs, into, std::forward<From>(from), std::make_index_sequence<std::tuple_size_v<States>>{});
}

// The groups seen so far (see "Speed and memory" at the top of this file). While they fit
// about 1 MiB, one table that every answer is merged into at once. Beyond, each answer is
// radix-partitioned by hash on arrival (in place) and kept; finish() then merges partition
// by partition into one cache-sized table, emptied and reused for the next partition.
template <class Key, class States, class Aggs>
class group_table {
 public:
  using group = partial_group<Key, States>;

  explicit group_table(Aggs aggs) : aggs_(std::move(aggs)) {}

  Aggs const& aggregates() const noexcept { return aggs_; }

  // Merges every group of a partial table (moved from when the table is an rvalue). An
  // error part-way poisons the table: it propagates from here, later tables are ignored,
  // and drain_finished() rethrows it rather than give groups that hold part of an answer.
  template <class Table>
  void merge_all(Table&& table) {
    if (failed_) return;
    try {
      merge_table(std::forward<Table>(table));
    } catch (...) {
      failed_ = std::current_exception();
      throw;
    }
  }

  // Takes a whole table of distinct groups (partial_map's) when nothing has been merged
  // yet, without hashing its groups again; otherwise merges them group by group.
  void adopt(group_map<Key, States>&& groups) {
    if (failed_) return;
    if (single_.empty() && runs_.empty()) {  // a large one starts partitioning when merged into
      single_ = std::move(groups);
      return;
    }
    std::vector<group> table;
    table.reserve(groups.size());
    for (auto& [k, s] : groups) table.push_back({std::move(k.value), std::move(s)});
    groups.clear();
    merge_all(std::move(table));
  }

  // Moves every group out finished: f(Key&&, V1&&, V2&&, ...) once per group, Vi the i-th
  // aggregate's finish() of its state. Rethrows the error that poisoned the table.
  template <class F>
  void drain_finished(F&& f) {
    if (failed_) std::rethrow_exception(failed_);
    drain([&](Key&& k, States&& s) {
      [&]<std::size_t... I>(std::index_sequence<I...>) {
        f(std::move(k), boost::hana::at_c<I>(aggs_).finish(std::as_const(std::get<I>(s)))...);
      }(std::make_index_sequence<std::tuple_size_v<States>>{});
    });
  }

  // At least the number of groups (exact before partitioning).
  std::size_t size_hint() const noexcept { return single_.size() + (runs_.empty() ? 0 : small_limit); }

 private:
  using map_type = group_map<Key, States>;
  static constexpr unsigned radix_bits = 8;
  static constexpr std::size_t partitions = std::size_t{1} << radix_bits;
  static constexpr std::size_t small_limit =
      std::max<std::size_t>(4096, (std::size_t{1} << 20) / sizeof(typename map_type::value_type));

  template <class Table>
  void merge_table(Table&& table) {
    auto it = std::ranges::begin(table);
    const auto end = std::ranges::end(table);
    if (runs_.empty()) {
      // One table: the size check runs only when a group is new. `limit` rows at most;
      // false when the table outgrew the cache (the rest is then kept partitioned).
      std::size_t taken = 0;
      auto merge_rows = [&](std::size_t limit) {
        for (; it != end && taken < limit; ++taken) {
          const bool added = merge_into(single_, sg::detail::forward_element<Table>(*it));
          ++it;
          if (added && single_.size() > small_limit) [[unlikely]] {
            start_partitioning();
            return false;
          }
        }
        return true;
      };
      // Room for the groups an answer brings, sized by what is known of them. An answer of
      // distinct groups (what a coordinator mostly receives) brings as many as it has rows,
      // and growing into them by rehashing took half the time of merging a first answer of
      // 1,000 groups; but an answer whose keys repeat (a million partial rows of a thousand
      // groups) brings far fewer, and a table sized for its rows is a megabyte where 32 KiB
      // would do, missing cache on every probe. So: a small answer is reserved for whole;
      // a large one first merges `sample` rows into a table that grows by itself, and is
      // reserved for (up to the single table's limit) only if every one was a new group.
      if constexpr (std::ranges::sized_range<Table>) {
        constexpr std::size_t sample = 1024;
        const std::size_t rows = static_cast<std::size_t>(std::ranges::size(table));
        const std::size_t want = std::min(single_.size() + rows, small_limit);
        if (rows > sample) {
          const std::size_t groups_before = single_.size();
          if (!merge_rows(sample)) return keep_partitioned(std::forward<Table>(table), it, end);
          if (single_.size() - groups_before == sample && want > single_.max_load()) single_.reserve(want);
        } else if (want > single_.max_load()) {
          single_.reserve(want);
        }
      }
      if (merge_rows(static_cast<std::size_t>(-1))) return;
    }
    keep_partitioned(std::forward<Table>(table), it, end);
  }

  // Moves every group out: f(Key&&, States&&) once per group. The table is left empty.
  template <class F>
  void drain(F&& f) {
    auto drain_map = [&](map_type& m) {
      for (auto& [k, s] : m) f(std::move(k.value), std::move(s));
      m.clear();
    };
    drain_map(single_);
    // Nothing kept: done. (Draining the emptied table once per partition anyway scanned its
    // whole bucket array 256 times, which cost 25 ns a group at 1,000 groups.)
    if (runs_.empty()) return;
    for (std::size_t p = 0; p < partitions; ++p) {
      for (run& r : runs_)
        for (std::size_t i = r.bounds[p]; i < r.bounds[p + 1]; ++i) merge_into(single_, std::move(r.rows[i]));
      drain_map(single_);  // the same table, emptied but not freed, for the next partition
    }
    runs_.clear();
  }

  // A kept answer: its groups ordered by partition, partition p at [bounds[p], bounds[p+1]).
  struct run {
    std::vector<group> rows;
    std::vector<std::size_t> bounds;
  };

  static std::size_t part_of(Key const& key) noexcept {
    // Another mix than the table's own, so a key's partition says nothing of its position
    // in the partition's table.
    return static_cast<std::size_t>(partition::mix64(group_hash{}(key)) >> (64 - radix_bits));
  }

  // Merges one group into m; true when its key was new there.
  template <class G>
  [[gnu::always_inline]] inline bool merge_into(map_type& m, G&& g) {
    auto at = m.find(g.key);
    if (at != m.end()) [[likely]] {
      merge_states(aggs_, at->second, std::forward<G>(g).states);
      return false;
    }
    m.emplace(stored_key<Key>{canonical(Key(std::forward<G>(g).key))}, std::forward<G>(g).states);
    return true;
  }

  // The single table outgrew the cache: its groups become the first kept run.
  void start_partitioning() {
    std::vector<group> groups;
    groups.reserve(single_.size());
    for (auto& [k, s] : single_) groups.push_back({std::move(k.value), std::move(s)});
    map_type().swap(single_);
    keep(std::move(groups));
  }

  // The rest of an answer, from `first`, to keep: the answer's own vector when it can be
  // taken, else a copy (or moved elements) in one.
  template <class Table, class It, class Sentinel>
  void keep_partitioned(Table&& table, It first, Sentinel last) {
    if constexpr (std::is_same_v<std::remove_cvref_t<Table>, std::vector<group>> &&
                  !std::is_lvalue_reference_v<Table> && !std::is_const_v<std::remove_reference_t<Table>>) {
      table.erase(table.begin(), first);
      keep(std::move(table));
    } else {
      std::vector<group> rows;
      for (; first != last; ++first) rows.push_back(sg::detail::forward_element<Table>(*first));
      keep(std::move(rows));
    }
  }

  // Keeps `in`, reordered by partition in place: an American flag sort, each group swapped
  // once into its partition's next free slot, with one byte a group for its partition
  // number and no second buffer (fresh memory is what large merges would pay most for).
  void keep(std::vector<group>&& in) {
    const std::size_t n = in.size();
    run r;
    r.bounds.assign(partitions + 1, 0);
    std::vector<std::uint8_t> part(n);
    for (std::size_t i = 0; i < n; ++i) {
      part[i] = static_cast<std::uint8_t>(part_of(in[i].key));
      ++r.bounds[part[i] + 1];
    }
    for (std::size_t p = 0; p < partitions; ++p) r.bounds[p + 1] += r.bounds[p];
    std::vector<std::size_t> next(r.bounds.begin(), r.bounds.end() - 1);
    for (std::size_t p = 0; p < partitions; ++p) {
      while (next[p] < r.bounds[p + 1]) {
        const std::size_t i = next[p];
        const std::size_t q = part[i];
        if (q == p) {
          ++next[p];
          continue;
        }
        const std::size_t j = next[q]++;
        std::ranges::swap(in[i], in[j]);
        std::swap(part[i], part[j]);
      }
    }
    r.rows = std::move(in);
    runs_.push_back(std::move(r));
  }

  Aggs aggs_;
  map_type single_;
  std::vector<run> runs_;
  std::exception_ptr failed_;
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

// The groups of rows, in a hash table: one entry per distinct key.
template <class Key, class States, class KeyProj, class Aggs, class Rows>
group_map<Key, States> partial_map(KeyProj const& key, Aggs const& aggs, Rows&& rows) {
  using row = std::ranges::range_value_t<Rows>;
  group_map<Key, States> groups;
  for (auto&& r : rows) {
    decltype(auto) k = std::invoke(key, std::as_const(r));
    auto at = groups.find(k);
    if (at == groups.end()) at = groups.try_emplace(stored_key<Key>{canonical(Key(k))}, init_states<row>(aggs)).first;
    for_each_aggregate(aggs, [&](auto const& a, auto& s) { a.update(s, std::as_const(r)); }, at->second);
  }
  return groups;
}

// The partial table of rows: one group per distinct key (the first phase).
template <class Key, class States, class KeyProj, class Aggs, class Rows>
std::vector<partial_group<Key, States>> partial_table(KeyProj const& key, Aggs const& aggs, Rows&& rows) {
  auto groups = partial_map<Key, States>(key, aggs, std::forward<Rows>(rows));
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
    if constexpr (detail::is_partial_group<std::ranges::range_value_t<Resp>>) {
      groups_.merge_all(std::move(answer));
    } else {
      groups_.merge_all(detail::partial_table<Key, States>(key_, groups_.aggregates(), answer));
    }
  }

  // One row per group: the key, then each aggregate's finished value.
  result_type finish() && {
    result_type out;
    out.reserve(groups_.size_hint());
    groups_.drain_finished([&](Key&& k, auto&&... values) { out.emplace_back(std::move(k), std::move(values)...); });
    return out;
  }

 private:
  KeyProj key_;
  detail::group_table<Key, States, Aggs> groups_;
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
                    "boost::hash and comparable with ==)");
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
