// sg/cost/plans.hpp — alternative plans for a typed query, each estimating its profile
// from per-shard statistics, for sg::cost::choose.
//
//   std::vector<decltype(sg::cost::collect(rows, &order::region))> shard_stats = ...;
//   auto c = sg::cost::choose(model, shard_stats,
//                             sg::cost::two_phase<order>(q), sg::cost::one_phase<order>(q),
//                             sg::cost::three_phase<order>(q));
//
// Aggregation of a grouped query (Row: the shards' row type):
//  * one_phase: shards filter and ship their rows; the coordinator aggregates them.
//  * two_phase: shards ship one partial state per group (sg::local::run); the coordinator
//    merges states — and, once they outgrow its cache, keeps the partial tables whole
//    until it merges them partition by partition, so its memory grows with the sum of
//    the shards' groups.
//  * three_phase: shards re-partition their partial states by group key among the shards
//    (an exchange), each shard merges and finishes one slice of the groups, and the
//    coordinator only concatenates finished rows: more bytes on the network, far less
//    memory on the coordinator when groups are many.
// Top-k of an ordered, limited row query:
//  * top_k_pushdown: each shard sorts and sends its first offset + n rows (sg::local::run);
//  * fetch_all: shards send every row that passes the filter; the coordinator sorts.
// A row query whose WHERE selects a set of keys (sg::in(&row::customer, keys)):
//  * targeted: only the shards that own a key (by the partitioner) are asked, and each
//    looks its keys up in an index (log2 of its rows per key) — sg::route;
//  * full_scatter: every shard scans its rows against the IN list.
// An inner equi-join of two sharded inputs (statistics: sg::cost::join_inputs{left, right}):
//  * broadcast_join: every shard receives the whole right input and joins its left rows;
//  * shuffle_join: both inputs are re-partitioned by the join key, each shard joins a slice;
//  * colocated_join: the inputs are already partitioned alike by the join key (the caller
//    says so, e.g. left_partitioner == right_partitioner), so shards join what they hold;
//    it does not apply (std::nullopt) otherwise.
//   Output rows: |L| · |R| / max(NDV(left key), NDV(right key)) (the containment assumption).
// Estimates: rows from the tables' counts and the WHERE selectivity (sg/cost/selectivity.hpp);
// groups per shard as the product of the keys' distinct counts (200 for a key without
// statistics), at most the shard's filtered rows; global groups from the merged sketches;
// bytes from the tables' average row bytes and the sizes of keys and states. Reading and
// filtering a row is rows_read (the io term); cpu_rows counts the work beyond: rows
// hashed, merged, compared, partitioned, copied into an answer. Of those, hash_probes
// counts the rows and states hashed (looked up in a table, or routed to a shard: the
// hashing term; a join's build inserts are plain rows) and comparisons the rows compared
// (sorted, selected, merged: the sorting term), which cost more than a copy. A key's
// search of a sorted list (an IN list, an index) is plain cpu work: its steps compare
// keys, not rows. A probe of a hash table larger than sg::cost::cache_bytes misses the
// cache with probability 1 − cache / size (cache_misses, the cache term), and one beyond
// sg::cost::last_level_cache_bytes goes to memory with probability 1 − last level / size,
// priced as memory_miss_cost misses; an insert misses only there, at half that price. A
// new group is hashed twice more than a row of an existing one (its insert, its rehash as
// the table grows). A merge into more groups than hash_aggregate keeps in one table
// radix-partitions first, and costs two misses a state instead. The
// model is deliberately simple and documented (docs/cost.md); benchmarks/cost.cpp measures
// how well it ranks real plans.
#pragma once

#include <sg/cost/model.hpp>
#include <sg/cost/selectivity.hpp>
#include <sg/cost/statistics.hpp>
#include <sg/merge/hash_aggregate.hpp>
#include <sg/query/query.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace sg::cost {

enum class aggregation_strategy { one_phase, two_phase, three_phase };

// The cache a plan's hash tables compete for (bytes): a core's share of L2.
inline constexpr double cache_bytes = 1 << 20;
// The cache beyond which a probe goes to memory, and even a stream of inserts misses
// (bytes): the share of the last level a core gets on a shared host. Measured on the
// 2-core VM these figures come from (benchmarks/join.cpp), a join's probe and its output
// row take 9 ns with the build table in L2, 17-24 ns at 5 MiB, 43-59 ns at 10 MiB, 66 ns
// at 20 MiB, 74-116 ns at 50 MiB; an insert 5-6 ns up to 5 MiB, then 7-12, 17, 27-29 ns.
inline constexpr double last_level_cache_bytes = 8 << 20;
// A probe that misses the last level too costs this many misses of cache_bytes (a
// memory access against a last-level hit), an insert half as many: its stores overlap.
inline constexpr double memory_miss_cost = 6;

namespace detail {

inline constexpr double unknown_distinct = 200;

// Expected cache misses of `probes` random probes of a table of `table_bytes`, in a cache
// of `cache` bytes.
inline double misses(double probes, double table_bytes, double cache = cache_bytes) {
  return table_bytes <= cache ? 0.0 : probes * (1 - cache / table_bytes);
}

// Misses of cache_bytes from `missed(level)`, the misses of a cache of `level` bytes: one
// for each that misses cache_bytes, memory_miss_cost for each that misses the last level too.
template <class Missed>
double over_both_levels(Missed const& missed) {
  return missed(cache_bytes) + (memory_miss_cost - 1) * missed(last_level_cache_bytes);
}

// What `probes` random probes of a table of `table_bytes` cost in misses of cache_bytes.
inline double probe_misses(double probes, double table_bytes) {
  return over_both_levels([&](double level) { return misses(probes, table_bytes, level); });
}

// The same for `inserts` inserts into a table sized in advance: only those beyond the last
// level miss, at half a probe's price.
inline double insert_misses(double inserts, double table_bytes) {
  return memory_miss_cost / 2 * misses(inserts, table_bytes, last_level_cache_bytes);
}

template <class Q, class Table>
double filtered_rows(Q const& q, Table const& t) {
  if constexpr (has_clause<decltype(q.where_part)>)
    return t.rows * selectivity(q.where_part.predicate, t);
  else
    return t.rows;
}

// What sg::local::run's ORDER BY ... LIMIT does to put the first `keep` of `rows` rows in
// order (sg/query/local.hpp), rows in random order: a buffer of 2 * keep candidates, cut to
// the first keep whenever full. After a cut at t rows seen, a row enters if it beats the
// last kept one, with probability keep / t, so the next keep enter over the next t rows:
// the cuts come at 2 * keep, 4 * keep, 8 * keep, ... and keep rows enter between two.
inline double first_rows_copied(double rows, double keep) {
  if (keep <= 0) return 0;  // LIMIT 0: nothing is read
  return rows <= 2 * keep ? rows : 2 * keep + keep * std::log2(rows / (2 * keep));
}

// Its comparisons (calls of the order), counted as sg::local::run makes them: one for each
// row past the first 2 * keep, against the last kept; a selection over the buffer at each
// cut and at the end, which breaks ties by position and calls the order about 3.3 times an
// element (counted, 1,000 of 10,000 rows); and 1.5 calls per step of the final sort of
// the keep rows. Without a cut (rows <= keep), the same sort of them all. A cut selects
// from 2 * keep candidates; the final selection from the keep of the last cut and those
// that entered since: none when the rows end with a cut (exactly 2 * keep rows), keep / 2
// on average once rows are many (counted, averaged over inputs: 0.88 to 1.06 of
// sg::local::run's calls from 1.5 * keep to 100 * keep rows; charging 2 * keep for the
// final selection counted up to 1.31 times them, at 2 * keep rows).
inline double first_rows_work(double rows, double keep) {
  if (keep <= 0) return 0;
  if (rows <= keep) return 1.5 * rows * std::log2(std::max(2.0, rows));
  const double sort = 1.5 * keep * std::log2(std::max(2.0, keep));
  if (rows <= 2 * keep) return 3.3 * rows + sort;  // one selection: at the end, or the one cut
  const double cuts = 1 + (first_rows_copied(rows, keep) - 2 * keep) / keep;
  const double last = keep * (1 + 0.5 * std::min(1.0, (rows - 2 * keep) / keep));
  return (rows - 2 * keep) + 3.3 * (cuts * 2 * keep + last) + sort;
}

// How a row's scan tests an IN list (sg/query/predicate.hpp): against `values` values,
// probing the hash set sg::in built of a list of integers (`set_value_bytes`: sizeof a
// value; 0 without a set), binary-searching a longer sorted list, or comparing a row's
// value with each.
struct in_list_shape {
  double values = 0;
  double set_value_bytes = 0;
  bool searched = false;
};

// The shape of the query's WHERE when it is an sg::in predicate, read from the predicate
// itself (its de-duplicated list, the set it holds or not); otherwise a list of `keys`
// values without a set: searched beyond in_scan_limit values, scanned up to it.
template <class P>
inline constexpr bool is_in_predicate = false;
template <class Proj, class V>
inline constexpr bool is_in_predicate<in_predicate<Proj, V>> = true;

template <class Q>
in_list_shape in_shape(Q const& q, double keys) {
  if constexpr (has_clause<decltype(q.where_part)>) {
    if constexpr (is_in_predicate<std::remove_cvref_t<decltype(q.where_part.predicate)>>) {
      auto const& in = q.where_part.predicate;
      using value = typename std::remove_cvref_t<decltype(in.values)>::value_type;
      in_list_shape shape;
      shape.values = static_cast<double>(in.values.size());
      if constexpr (!std::is_same_v<std::remove_cvref_t<decltype(in.index)>, sg::detail::no_index>)
        shape.set_value_bytes = in.index.empty() ? 0.0 : static_cast<double>(sizeof(value));
      shape.searched = shape.set_value_bytes == 0 && in.searched();
      return shape;
    }
  }
  return {keys, 0.0, keys > static_cast<double>(sg::detail::in_scan_limit)};
}

// The number of groups among `rows` rows of table t: the product of the keys' distinct
// counts, at most `rows`.
template <class Q, class Table>
double groups(Q const& q, Table const& t, double rows) {
  if (rows <= 0) return 0;
  double g = 1;
  if constexpr (has_clause<decltype(q.group_by_part)>) {
    std::apply([&](auto const&... k) {
      ((g *= [&] {
         column_stats const* c = t.find(k);
         return c != nullptr && c->distinct >= 1 ? c->distinct : unknown_distinct;
       }()),
       ...);
    }, q.group_by_part.keys);
  }
  return std::min(g, rows);
}

// The share of a numeric column's rows whose value is among its `cached` most frequent
// values, from its histogram: each bucket holds the same share of the rows, over distinct
// values taken to spread evenly across [min, max], so a bucket over a narrow range holds
// few values, each often; the narrowest buckets are taken first. 0 without a histogram.
inline double histogram_hot_share(column_stats const& c, double cached) {
  const auto b = c.hist.bounds();
  if (c.hist.buckets() < 2 || c.distinct < 1 || cached <= 0) return 0;
  const double span = b.back() - b.front();
  if (!(span > 0)) return 0;
  std::vector<double> values(c.hist.buckets());
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = std::max(1.0, c.distinct * (b[i + 1] - b[i]) / span);
  std::ranges::sort(values);
  const double share = 1.0 / static_cast<double>(values.size());
  double hot = 0, left = cached;
  for (double v : values) {
    if (left <= 0) break;
    hot += share * std::min(1.0, left / v);
    left -= v;
  }
  return std::min(1.0, hot);
}

// What `probes` probes of a table of `groups` groups, `group_bytes` each, cost in misses
// (as probe_misses): at each level, the probes of groups beyond the `level / group_bytes`
// that fit it miss it. With uniform keys that is 1 - level / size of them; a single
// numeric key whose histogram shows hot values keeps those in the caches, and their rows
// hit them (benchmarks/cost.cpp's skewed keys).
template <class Q, class Table>
double group_misses(Q const& q, Table const& t, double probes, double groups, double group_bytes) {
  return over_both_levels([&](double level) {
    const double uniform = misses(probes, groups * group_bytes, level);
    if constexpr (has_clause<decltype(q.group_by_part)>) {
      if constexpr (std::tuple_size_v<std::remove_cvref_t<decltype(q.group_by_part.keys)>> == 1) {
        if (column_stats const* c = t.find(std::get<0>(q.group_by_part.keys)); c != nullptr && uniform > 0)
          return std::min(uniform, probes * (1 - histogram_hot_share(*c, level / group_bytes)));
      }
    }
    return uniform;
  });
}

// Bytes of a group key's heap data (strings), from the key columns' widths.
template <class Q, class Table>
double key_heap_bytes(Q const& q, Table const& t) {
  double b = 0;
  if constexpr (has_clause<decltype(q.group_by_part)>) {
    std::apply([&](auto const&... k) {
      ((b += [&] {
         column_stats const* c = t.find(k);
         return c != nullptr && c->width > 32 ? c->width - 32 : 0.0;
       }()),
       ...);
    }, q.group_by_part.keys);
  }
  return b;
}

}  // namespace detail

// One of the aggregation strategies of a grouped query (see the top of this file).
template <class Row, class Q>
struct aggregation_plan {
  Q query;
  aggregation_strategy strategy;

  char const* name() const {
    switch (strategy) {
      case aggregation_strategy::one_phase: return "one-phase aggregation (ship rows)";
      case aggregation_strategy::two_phase: return "two-phase aggregation (partial states)";
      case aggregation_strategy::three_phase: return "three-phase aggregation (re-partition partial states)";
    }
    return "aggregation";
  }

  // The profile over per-shard statistics (a range of sg::cost::table_stats).
  template <std::ranges::forward_range Shards>
  sg::cost::profile profile(Shards const& shards) const {
    static_assert(Q::grouped, "sg::cost::aggregation plans are for grouped queries (sg::group_by / sg::aggregate)");
    using key = typename Q::template key_type<Row>;
    using states = typename Q::template states_type<Row>;
    using result = typename Q::template result_row_type<Row>;
    sg::cost::profile p;
    const double s = static_cast<double>(std::ranges::distance(shards));
    if (s == 0) return p;
    double shard_groups = 0, filtered = 0, shipped_rows_bytes = 0, shard_misses = 0;
    const double entry_bytes = 2 * static_cast<double>(sizeof(key) + sizeof(states));  // a table at ~50 % load
    for (auto const& t : shards) {
      const double rows = detail::filtered_rows(query, t);
      const double groups = detail::groups(query, t, rows);
      p.rows_read += t.rows;
      filtered += rows;
      shard_groups += groups;
      shard_misses += detail::group_misses(query, t, rows, groups, entry_bytes);
      shipped_rows_bytes += rows * t.row_bytes;
    }
    const auto global = merge_all(shards);
    const double g = std::min(filtered, detail::groups(query, global, filtered));
    const double heap = detail::key_heap_bytes(query, global);
    const double partial_bytes = static_cast<double>(sizeof(merge::partial_group<key, states>)) + heap;
    const double table_bytes = g * (entry_bytes + 2 * heap);
    const double result_bytes = static_cast<double>(sizeof(result)) + heap;
    // Merging `partials` states into a table of `groups`: random probes while the table
    // fits hash_aggregate's single table (its ~1 MiB limit); beyond, the merge radix-
    // partitions the states first (sg/merge/hash_aggregate.hpp), and each state then costs
    // about two misses (the swap into its partition, the probe of the partition's table).
    const double single_table_groups =
        std::max(4096.0, cache_bytes / static_cast<double>(sizeof(std::pair<key, states>)));
    auto merge_misses = [&](double partials, double groups) {
      return groups > single_table_groups ? 2 * partials : detail::probe_misses(partials, groups * entry_bytes);
    };
    p.requests = s;
    p.result_rows = g;
    // A group costs two hashes more than a row of a group that exists: the lookup that
    // misses is followed by the insert's own probe (sg/merge/hash_aggregate.hpp), and a
    // table that starts empty and doubles as groups arrive has rehashed about as many
    // groups as it ends with. Shards' partial tables and one-phase's table start empty;
    // the two-phase coordinator reserves room for the first answer's groups; three-phase's
    // slices start empty.
    const double two_phase_grown = shard_groups + std::max(0.0, g - shard_groups / s);
    switch (strategy) {
      case aggregation_strategy::one_phase:
        p.cpu_rows = 2 * filtered + g;  // copied into the answer; hashed by the coordinator
        p.hash_probes = filtered + 2 * g;
        p.cache_misses = detail::group_misses(query, global, filtered, g, entry_bytes + 2 * heap);
        p.bytes_sent = shipped_rows_bytes;
        p.coordinator_bytes = table_bytes;
        break;
      case aggregation_strategy::two_phase:
        p.cpu_rows = filtered + 2 * shard_groups + two_phase_grown;  // shards hash rows; states copied, merged
        p.hash_probes = filtered + shard_groups + two_phase_grown + shard_groups + g;
        p.cache_misses = shard_misses + merge_misses(shard_groups, g);
        p.bytes_sent = shard_groups * partial_bytes;
        p.coordinator_bytes = table_bytes + (table_bytes > (1 << 20) ? shard_groups * partial_bytes : 0.0);
        break;
      case aggregation_strategy::three_phase:
        p.requests = s + s * s;  // the query, then the exchange between shards
        // Per group, beyond two-phase: routed (a hash), bucketed, copied and merged into a
        // slice; then finished, sorted into the answer and checked for colocation. Counted
        // as 4 rows' work each (a state is several words; the check is another hash probe).
        p.cpu_rows = filtered + 2 * shard_groups + 4 * (shard_groups + g) + shard_groups + g;
        // rows; states routed, merged into slices; the check; the shards' and slices' groups created
        p.hash_probes = filtered + 2 * shard_groups + g + 2 * (shard_groups + g);
        // The split scatters each state to its destination's bucket, and the copy on the
        // way in lands cold: two misses a state. The coordinator's colocation check hashes
        // every group's key once.
        p.cache_misses = shard_misses + 2 * shard_groups + merge_misses(shard_groups, g / s) +
                         detail::probe_misses(g, g * 2 * static_cast<double>(sizeof(key) + sizeof(std::size_t)));
        p.bytes_sent = shard_groups * partial_bytes * (s - 1) / s + g * result_bytes;
        p.coordinator_bytes = g * result_bytes;
        break;
    }
    return p;
  }
};

// Shards ship filtered rows; the coordinator aggregates.
template <class Row, class Q>
aggregation_plan<Row, Q> one_phase(Q q) {
  return {std::move(q), aggregation_strategy::one_phase};
}
// Shards ship partial states per group; the coordinator merges them.
template <class Row, class Q>
aggregation_plan<Row, Q> two_phase(Q q) {
  return {std::move(q), aggregation_strategy::two_phase};
}
// Shards exchange partial states by group key, merge a slice each; the coordinator concatenates.
template <class Row, class Q>
aggregation_plan<Row, Q> three_phase(Q q) {
  return {std::move(q), aggregation_strategy::three_phase};
}

// Top-k pushdown or fetch-all for an ordered, limited row query.
template <class Row, class Q>
struct top_k_plan {
  Q query;
  bool pushdown;

  char const* name() const { return pushdown ? "top-k pushed to the shards" : "fetch all rows, sort on the coordinator"; }

  template <std::ranges::forward_range Shards>
  sg::cost::profile profile(Shards const& shards) const {
    static_assert(!Q::grouped && has_clause<decltype(query.order_by_part)> && has_clause<decltype(query.limit_part)>,
                  "sg::cost::top_k plans are for row queries with sg::order_by and sg::limit");
    sg::cost::profile p;
    const double keep = static_cast<double>(query.limit_part.shard_rows());
    double all = 0, sent = 0, sent_bytes = 0, bytes = 0;
    auto select = [&](double rows) {
      const double work = detail::first_rows_work(rows, keep);
      p.cpu_rows += work;
      p.comparisons += work;
    };
    for (auto const& t : shards) {
      const double rows = detail::filtered_rows(query, t);
      p.requests += 1;
      p.rows_read += t.rows;
      p.cpu_rows += pushdown ? detail::first_rows_copied(rows, keep) : rows;  // copied into the answer
      all += rows;
      const double out = pushdown ? std::min(rows, keep) : rows;
      if (pushdown) select(rows);  // on the shard
      sent += out;
      sent_bytes += out * t.row_bytes;
      bytes = std::max(bytes, t.row_bytes);
    }
    p.bytes_sent = sent_bytes;
    if (pushdown) {
      // Each answer checked for order (a comparison a row), then merged by a loser tree
      // until offset + n rows are out: log2(shards) matches a row, each priced as 3
      // comparisons. Measured (benchmarks/query.cpp, rows of two sort keys), a selection
      // spends about 2.5 ns a comparison as this file counts them, and a match at most twice
      // that at 2-4 shards, 2.5-3 times at 8-16: each match waits for the one below it.
      const double levels = std::log2(std::max(2.0, static_cast<double>(std::ranges::distance(shards))));
      const double merge = sent + 3 * std::min(sent, keep) * levels;
      p.cpu_rows += merge;
      p.comparisons += merge;
    } else {
      p.cpu_rows += detail::first_rows_copied(sent, keep);  // the candidates, copied again
      select(sent);
    }
    p.coordinator_bytes = sent * bytes;
    p.result_rows = std::min(all, static_cast<double>(query.limit_part.count));
    return p;
  }
};

template <class Row, class Q>
top_k_plan<Row, Q> top_k_pushdown(Q q) {
  return {std::move(q), true};
}
template <class Row, class Q>
top_k_plan<Row, Q> fetch_all(Q q) {
  return {std::move(q), false};
}

// Targeted lookups or a full scatter for a row query that selects keys (see the top).
template <class Row, class Q>
struct lookup_plan {
  Q query;
  double keys = 0;        // keys looked up (as the caller gave them)
  double shards_hit = 0;  // shards that own at least one of them
  bool targeted = false;

  char const* name() const { return targeted ? "targeted: index lookups on the shards that own the keys"
                                             : "full scatter: every shard scans"; }

  template <std::ranges::forward_range Shards>
  sg::cost::profile profile(Shards const& shards) const {
    static_assert(!Q::grouped, "sg::cost::targeted / full_scatter plans are for row queries");
    sg::cost::profile p;
    const double s = static_cast<double>(std::ranges::distance(shards));
    if (s == 0) return p;
    double rows = 0, matched = 0, bytes = 0, table_bytes = 0;
    for (auto const& t : shards) {
      rows += t.rows;
      table_bytes += t.rows * t.row_bytes;
      const double m = detail::filtered_rows(query, t);
      matched += m;
      bytes += m * t.row_bytes;
    }
    if (targeted) {
      // Each key: routed to its shard, then one descent of a sorted index; then the
      // matching rows are read. A step of a descent compares two keys, not two rows by an
      // order, and is priced as 4 copied rows: sg::in sorts the keys, so successive
      // descents share the top of their path, whose branches are predicted, and part ways
      // below it, where half are not (measured in benchmarks/query.cpp: about 1 ns a step
      // over ascending values, 3.6 ns over values in random order). The steps of a descent
      // into an index larger than the cache that land below what the cache holds of it,
      // about log2(index / cache), miss it.
      p.requests = std::min(shards_hit, s);
      p.rows_read = matched;
      const double steps = keys * std::log2(2 + rows / s);
      p.cpu_rows = keys + 4 * steps + matched;  // routed, then a descent
      p.hash_probes = keys;
      p.cache_misses = keys * std::log2(std::max(1.0, table_bytes / s / cache_bytes));
    } else {
      p.requests = s;
      p.rows_read = rows;
      const auto list = detail::in_shape(query, keys);
      if (list.set_value_bytes > 0) {
        // Each row: one probe of the hash set sg::in keeps of a list of integers (about 1.5
        // times the values' bytes: slots at its usual load, and a byte of metadata a slot).
        // Measured (benchmarks/query.cpp), a probe of a set in cache costs about 4 copied
        // rows, and one beyond the cache half a table's miss: the probes of successive rows
        // do not depend on each other, so the processor overlaps their misses.
        p.cpu_rows = 4 * rows + matched;
        p.cache_misses = 0.5 * detail::misses(rows, list.values * 1.5 * list.set_value_bytes);
      } else if (list.searched) {
        // Each row: a binary search of the IN list. A row's value is in no order relative
        // to the list's, so half its steps' branches are mispredicted: priced as 6 copied
        // rows a step (measured in benchmarks/query.cpp: about 3.6 ns a step).
        p.cpu_rows = 6 * rows * std::log2(1 + list.values) + matched;
      } else {
        // Each row: a scan of the list (a short one, or one of values without <), one
        // comparison of two values a value.
        p.cpu_rows = rows * list.values + matched;
      }
    }
    p.bytes_sent = bytes;
    p.coordinator_bytes = bytes;
    p.result_rows = matched;
    return p;
  }
};

// Ask only the shards that own `keys` under partitioner p (give the keys without
// duplicates: each is one lookup); each shard looks its keys up in an index. The shards
// hit are counted here, once. A partitioner that names a shard outside
// [0, shard_count()) throws std::out_of_range.
template <class Row, class Q, class P, std::ranges::input_range Keys>
lookup_plan<Row, Q> targeted(Q q, P const& p, Keys const& keys) {
  std::vector<bool> hit(static_cast<std::size_t>(p.shard_count()));
  std::size_t n = 0, shards = 0;
  for (auto const& k : keys) {
    const auto i = static_cast<std::size_t>(p.shard_of(k));
    if (i >= hit.size())
      throw std::out_of_range("sg::cost::targeted: the partitioner put key " + std::to_string(n) + " on shard " +
                              std::to_string(i) + " of " + std::to_string(hit.size()));
    if (!hit[i]) ++shards;
    hit[i] = true;
    ++n;
  }
  return {std::move(q), static_cast<double>(n), static_cast<double>(shards), true};
}
// Ask every shard; each scans its rows against the query's WHERE. When the WHERE is an
// sg::in, the scan's work is read from the list it holds (de-duplicated, probed as a set
// or searched, as sg::in built it); `keys` is the IN list's length for any other WHERE.
template <class Row, class Q>
lookup_plan<Row, Q> full_scatter(Q q, std::size_t keys) {
  return {std::move(q), static_cast<double>(keys), 0, false};
}

// The statistics of a join's two inputs: ranges of per-shard sg::cost::table_stats.
template <std::ranges::forward_range Left, std::ranges::forward_range Right>
struct join_inputs {
  Left const& left;
  Right const& right;
};
template <class Left, class Right>
join_inputs(Left const&, Right const&) -> join_inputs<Left, Right>;

enum class join_strategy { broadcast, shuffle, colocated };

// One strategy for the inner join left ⋈ right on left_key = right_key (see the top).
template <class LeftKey, class RightKey>
struct join_plan {
  LeftKey left_key;
  RightKey right_key;
  join_strategy strategy;
  bool co_partitioned = false;  // colocated: whether the inputs are partitioned alike by the key

  char const* name() const {
    switch (strategy) {
      case join_strategy::broadcast: return "broadcast join (the right input to every shard)";
      case join_strategy::shuffle: return "shuffle join (both inputs re-partitioned by the key)";
      case join_strategy::colocated: return "co-located join (each shard joins what it holds)";
    }
    return "join";
  }

  template <class Left, class Right>
  std::optional<sg::cost::profile> profile(join_inputs<Left, Right> const& in) const {
    if (strategy == join_strategy::colocated && !co_partitioned) return std::nullopt;
    sg::cost::profile p;
    const double s = static_cast<double>(std::ranges::distance(in.left));
    if (s == 0) return p;
    const auto l = merge_all(in.left);
    const auto r = merge_all(in.right);
    auto ndv = [](auto const& t, auto const& key) {
      column_stats const* c = t.find(key);
      return std::max(1.0, c != nullptr && c->distinct >= 1 ? c->distinct : std::min(t.rows, detail::unknown_distinct));
    };
    const double out = l.rows * r.rows / std::max(ndv(l, left_key), ndv(r, right_key));
    const double out_bytes = out * (l.row_bytes + r.row_bytes);
    const double l_bytes = l.rows * l.row_bytes, r_bytes = r.rows * r.row_bytes;
    // What a probe may touch per build row: its key's slot in the build table (a key and a
    // 32-bit row index, ~16 bytes at 7/8 load) and the row itself (hash_join chains rows,
    // 4 bytes more, only where a key repeats).
    const double entry_bytes = 18 + r.row_bytes;
    p.rows_read = l.rows + r.rows;
    p.result_rows = out;
    p.requests = s;
    p.cpu_rows = r.rows + l.rows + 2 * out;  // build, probe, emit, concatenate
    // Probes are lookups; a build's inserts into a table sized in advance are not counted
    // as hashes: measured, one costs about 8 copied rows, a fifth of a lookup's price.
    p.hash_probes = l.rows;
    p.bytes_sent = out_bytes;
    p.coordinator_bytes = out_bytes;
    // Each shard builds on a slice of the right input (all of it when broadcast) and probes it
    // with its left rows.
    double build_rows = r.rows / s;
    switch (strategy) {
      case join_strategy::broadcast:  // every shard gets what it lacks of the right input
        build_rows = r.rows;
        p.requests += s * s;
        p.cpu_rows += 2 * (s - 1) * r.rows;  // copied in, and built on every shard
        p.bytes_sent += r_bytes * (s - 1);
        break;
      case join_strategy::shuffle:  // both inputs partitioned, copied and (s - 1) / s of them moved
        p.requests += s * s;
        p.cpu_rows += 2 * (l.rows + r.rows);
        p.hash_probes += l.rows + r.rows;  // routed by the key's hash
        p.bytes_sent += (l_bytes + r_bytes) * (s - 1) / s;
        break;
      case join_strategy::colocated: break;
    }
    // A probe's lookup of a table beyond the cache misses it, and beyond the last level
    // goes to memory; an insert misses only there, at half the price: its stores overlap
    // (measured: see last_level_cache_bytes).
    const double table_bytes = build_rows * entry_bytes;
    p.cache_misses = s * (detail::probe_misses(l.rows / s, table_bytes) + detail::insert_misses(build_rows, table_bytes));
    return p;
  }
};

template <class LeftKey, class RightKey>
join_plan<LeftKey, RightKey> broadcast_join(LeftKey l, RightKey r) {
  return {std::move(l), std::move(r), join_strategy::broadcast};
}
template <class LeftKey, class RightKey>
join_plan<LeftKey, RightKey> shuffle_join(LeftKey l, RightKey r) {
  return {std::move(l), std::move(r), join_strategy::shuffle};
}
// Applies only when `co_partitioned`: both inputs split by the join key with equal partitioners.
template <class LeftKey, class RightKey>
join_plan<LeftKey, RightKey> colocated_join(LeftKey l, RightKey r, bool co_partitioned) {
  return {std::move(l), std::move(r), join_strategy::colocated, co_partitioned};
}

}  // namespace sg::cost
