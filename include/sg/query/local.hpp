// sg/query/local.hpp — sg::local::run(q, rows): the shard's half of a query, over any range
// of rows in memory; sg::local::evaluate(q, rows): the whole query on one node.
//
//   struct memory_shard {
//     std::vector<order> rows_;
//     auto execute(auto const& q) const { return sg::local::run(q, rows_); }
//   };
//   auto pipe = sg::scatter(shards) | sg::gather(q);   // pipe(q).value: the query's answer
//
// What run gives (the shard-side plan; sg::explain(q) says it in words):
//  * a row query: the rows that pass WHERE, as a std::vector<Row> — duplicates removed
//    (DISTINCT, first occurrence kept), stably sorted (ORDER BY), and cut to offset + n
//    rows (LIMIT; without ORDER BY the scan stops there; with it, at most 2 * (offset + n)
//    candidates are held, and a row that cannot be among them is not copied);
//  * a grouped query: the partial table of the rows that pass WHERE (one
//    sg::merge::partial_group{key tuple, state tuple} per group, in no order), no limit;
//  * a groups_colocated() query: finished result rows after HAVING, sorted, cut to
//    offset + n.
// Rows are read once, in order, and copied only into the answer. evaluate(q, rows) is
// run followed by the coordinator's merge of that one answer: the query's result (a
// grouped query's groups go from their one hash table straight to the finish).
// A misuse fails with one sentence (the clause that does not fit the rows).
// Example: tests/query/query.cpp.
#pragma once

#include <sg/detail/type_traits.hpp>
#include <sg/merge/hash_aggregate.hpp>
#include <sg/merge/top_k.hpp>
#include <sg/order.hpp>
#include <sg/partition/split.hpp>
#include <sg/query/query.hpp>

#include <boost/container_hash/hash.hpp>
#include <boost/unordered/unordered_flat_set.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <functional>
#include <limits>
#include <ranges>
#include <type_traits>
#include <utility>
#include <vector>

namespace sg::local {

namespace detail {

template <class Row, class Where>
inline constexpr bool where_fits = true;
template <class Row, class P>
inline constexpr bool where_fits<Row, where_clause<P>> = std::predicate<P const&, Row const&>;

template <class Row, class Keys>
inline constexpr bool keys_fit = true;
template <class Row, class... Keys>
inline constexpr bool keys_fit<Row, group_by_clause<Keys...>> =
    (true && ... && (std::regular_invocable<Keys const&, Row const&> &&
                     merge::detail::group_key_type<agg::projected_t<Keys, Row>>));

template <class Row, class Aggs>
inline constexpr bool aggregates_fit = false;
template <class Row, class... A>
inline constexpr bool aggregates_fit<Row, boost::hana::tuple<A...>> = (true && ... && agg::aggregate_for<A, Row>);

template <class Q, class Row>
consteval bool check() {
  if constexpr (!sg::is_query<Q>) {
    static_assert(sg::detail::always_false<Q>, "sg::local::run: the first argument must be an sg::query(...)");
    return false;
  } else if constexpr (!where_fits<Row, decltype(Q::where_part)>) {
    static_assert(sg::detail::always_false<Q>,
                  "sg::local::run: the sg::where predicate cannot be called with a row (const&) to give a bool");
    return false;
  } else if constexpr (!keys_fit<Row, decltype(Q::group_by_part)>) {
    static_assert(sg::detail::always_false<Q>,
                  "sg::local::run: an sg::group_by key cannot be read from a row, or its value is not "
                  "hashable with boost::hash and comparable with ==");
    return false;
  } else if constexpr (Q::grouped && !aggregates_fit<Row, typename Q::aggregates_type>) {
    static_assert(sg::detail::always_false<Q>,
                  "sg::local::run: an aggregate of the query cannot fold these rows (sg::agg::aggregate_for: "
                  "its projection does not take a row, or the column's type does not suit it)");
    return false;
  } else {
    return true;
  }
}

// The rows of `rows` that pass the query's WHERE (all of them without one).
template <class Q, class Rows>
decltype(auto) filtered(Q const& q, Rows& rows) {
  if constexpr (has_clause<decltype(q.where_part)>)
    return std::views::filter(rows, std::cref(q.where_part.predicate));
  else
    return (rows);
}

template <class Row>
struct index_hash {
  std::vector<Row> const* rows;
  std::size_t operator()(std::size_t i) const { return total_hash((*rows)[i]); }
};
template <class Row>
struct index_equal {
  std::vector<Row> const* rows;
  bool operator()(std::size_t a, std::size_t b) const { return total_equal((*rows)[a], (*rows)[b]); }
};

// The first `cap` (> 0) of `rows` in the stable order `comp` gives, sorted, reading each row
// once. Candidates collect in a buffer, each with its arrival number; when the buffer holds
// 2 * cap it is cut to its first cap (a selection, not a sort), and from then on a row
// enters only if it comes strictly before the last of those (a later row with an equal key
// ranks after it). A row that cannot be among the first is compared once and never
// copied: rows in random order copy about cap * (2 + log2(n / (2 * cap))) of n, and rows
// arriving best-last copy every one and cost a selection over 2 * cap every cap rows.
// Selections and the final sort move the rows themselves, not indices into them: a buffer
// of 100,000 rows does not fit a cache, and an indirect selection missed on every step.
template <class Row, class Filtered, class Comp>
std::vector<Row> first_rows_of(Filtered&& rows, std::size_t cap, Comp const& comp) {
  struct candidate {
    Row row;
    std::size_t arrival;
  };
  // (row, arrival): a strict total order, so selection and sort are stable.
  auto before = [&](candidate const& a, candidate const& b) {
    if (comp(a.row, b.row)) return true;
    if (comp(b.row, a.row)) return false;
    return a.arrival < b.arrival;
  };
  const std::size_t full = cap > std::numeric_limits<std::size_t>::max() / 2 ? cap : 2 * cap;
  std::vector<candidate> buf;
  auto keep_first = [&] {  // the first cap at [0, cap), the last of them at cap - 1
    std::nth_element(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(cap - 1), buf.end(), before);
    buf.erase(buf.begin() + static_cast<std::ptrdiff_t>(cap), buf.end());
  };
  std::size_t arrival = 0;
  bool cut = false;
  for (auto&& r : rows) {
    if (cut && !comp(r, buf[cap - 1].row)) continue;
    buf.push_back(candidate{std::forward<decltype(r)>(r), arrival++});
    if (buf.size() == full) {
      keep_first();
      cut = true;
    }
  }
  if (buf.size() > cap) keep_first();
  std::sort(buf.begin(), buf.end(), before);
  std::vector<Row> out;
  out.reserve(buf.size());
  for (auto& c : buf) out.push_back(std::move(c.row));
  return out;
}

// A row query's shard half.
template <class Row, class Q, class Rows>
std::vector<Row> run_rows(Q const& q, Rows& rows) {
  constexpr bool distinct = has_clause<decltype(q.distinct_part)>;
  constexpr bool ordered = has_clause<decltype(q.order_by_part)>;
  std::size_t cap = std::numeric_limits<std::size_t>::max();
  if constexpr (has_clause<decltype(q.limit_part)>)
    cap = q.limit_part.count == 0 ? 0 : q.limit_part.shard_rows();
  const std::size_t scan_cap = ordered ? std::numeric_limits<std::size_t>::max() : cap;

  std::vector<Row> out;
  if (scan_cap == 0) return out;
  if constexpr (ordered && !distinct) {
    if (cap == 0) return out;
    if (cap != std::numeric_limits<std::size_t>::max())
      return first_rows_of<Row>(filtered(q, rows), cap, q.order_by_part.order);
  }
  if constexpr (distinct) {
    static_assert(requires(Row const& r) {
      { boost::hash<Row>{}(r) } -> std::convertible_to<std::size_t>;
      { r == r } -> std::convertible_to<bool>;
    }, "sg::distinct: the rows must be hashable with boost::hash (a hash_value overload) and comparable with ==");
    boost::unordered_flat_set<std::size_t, index_hash<Row>, index_equal<Row>> seen(0, index_hash<Row>{&out},
                                                                                   index_equal<Row>{&out});
    for (auto&& r : filtered(q, rows)) {
      out.push_back(r);
      if (!seen.insert(out.size() - 1).second) out.pop_back();
      if (out.size() == scan_cap) break;
    }
  } else {
    for (auto&& r : filtered(q, rows)) {
      out.push_back(r);
      if (out.size() == scan_cap) break;
    }
  }
  if constexpr (ordered) {
    if (cap < out.size())
      out = merge::detail::first_rows(std::move(out), cap, q.order_by_part.order, std::identity{});
    else
      std::stable_sort(out.begin(), out.end(), q.order_by_part.order);
  }
  return out;
}

// The accumulator of a shard that owns its groups: q's, with the limit at offset + n.
template <class Key, class States, class Q>
auto owner_accumulator(Q const& q) {
  using table = std::vector<merge::partial_group<Key, States>>;
  using limit_type = decltype(q.limit_part);
  limit_type shard_limit = q.limit_part;
  if constexpr (has_clause<limit_type>)
    shard_limit = limit_clause{q.limit_part.count == 0 ? 0 : q.limit_part.shard_rows(), 0};
  return sg::detail::grouped_accumulator<table, Key, States, typename Q::aggregates_type, decltype(q.having_part),
                                         decltype(q.order_by_part), limit_type>(q.aggregates(), q.having_part,
                                                                                q.order_by_part, shard_limit);
}

// Finishes the groups of `tables` (partial tables that together hold every row of their
// groups) as a shard that owns them: merged, finished, HAVING, sorted, cut to offset + n.
// The tables are moved from only when the range itself is an rvalue.
template <class Key, class States, class Q, class Tables>
auto finish_groups(Q const& q, Tables&& tables) {
  using table = std::vector<merge::partial_group<Key, States>>;
  auto acc = owner_accumulator<Key, States>(q);
  for (auto&& t : tables) acc.add(0, table(sg::detail::forward_element<Tables>(t)));
  return std::move(acc).finish();
}

// The groups of `rows` in one hash table (hashed once; not yet a partial table).
template <class Row, class Q, class Rows>
auto group_rows(Q const& q, Rows& rows) {
  using key = typename Q::template key_type<Row>;
  using states = typename Q::template states_type<Row>;
  return merge::detail::partial_map<key, states>(q.key_projection(), q.aggregates(), filtered(q, rows));
}

}  // namespace detail

struct run_fn {
  // The shard's answer to query q over `rows` (see the top of this file).
  template <class Q, std::ranges::input_range Rows>
  auto operator()(Q const& q, Rows&& rows) const {
    using row = std::remove_cvref_t<std::ranges::range_value_t<Rows>>;
    if constexpr (detail::check<Q, row>()) {
      if constexpr (!Q::grouped) {
        return detail::run_rows<row>(q, rows);
      } else {
        using key = typename Q::template key_type<row>;
        using states = typename Q::template states_type<row>;
        if constexpr (Q::two_phase) {
          return merge::detail::partial_table<key, states>(q.key_projection(), q.aggregates(), detail::filtered(q, rows));
        } else {
          auto acc = detail::owner_accumulator<key, states>(q);
          acc.adopt(detail::group_rows<row>(q, rows));
          return std::move(acc).finish();
        }
      }
    }
  }
};

// The shard half of query q over an in-memory range of rows.
inline constexpr run_fn run{};

struct evaluate_fn {
  // Query q over `rows` on one node: run, then the coordinator's merge of that answer.
  template <class Q, std::ranges::input_range Rows>
  auto operator()(Q const& q, Rows&& rows) const {
    using row = std::remove_cvref_t<std::ranges::range_value_t<Rows>>;
    if constexpr (detail::check<Q, row>()) {
      auto acc = q.template accumulator<decltype(run(q, rows))>();
      if constexpr (Q::grouped && Q::two_phase)
        acc.adopt(detail::group_rows<row>(q, rows));  // one hash table, straight to the finish
      else
        acc.add(0, run(q, rows));
      return std::move(acc).finish();
    }
  }
};

// The whole of query q over an in-memory range of rows (the single-node answer).
inline constexpr evaluate_fn evaluate{};

struct exchange_fn {
  // Phase 1 of a three-phase aggregation, on a shard: its partial table of `rows`, split by
  // group key with partitioner p into p.shard_count() tables (table j goes to shard j).
  template <class Q, std::ranges::input_range Rows, class P>
  auto operator()(Q const& q, Rows&& rows, P const& p) const {
    static_assert(!sg::is_query<Q> || Q::two_phase,
                  "sg::local::exchange: the query must group (sg::group_by) without groups_colocated()");
    static_assert(!sg::is_query<Q> || has_clause<decltype(q.group_by_part)>,
                  "sg::local::exchange: a global aggregate has one group; there is nothing to re-partition");
    auto partial = run(q, rows);
    using group = std::ranges::range_value_t<decltype(partial)>;
    return partition::split(partial, p, &group::key);
  }
};

// Phase 1 of a three-phase aggregation (sg::cost::three_phase): a shard's partial states,
// re-partitioned by group key. Throws as sg::partition::split does on a bad partitioner.
inline constexpr exchange_fn exchange{};

struct merge_exchanged_fn {
  // Phase 2 of a three-phase aggregation, on shard j: the tables every shard sent it
  // (each one's exchange(...)[j]) merged and finished; the coordinator merges these
  // answers with q.colocated() (phase 3).
  template <class Q, std::ranges::input_range Tables>
  auto operator()(Q const& q, Tables&& tables) const {
    using table = std::remove_cvref_t<std::ranges::range_value_t<Tables>>;
    static_assert(sg::detail::is_partial_table<table>,
                  "sg::local::merge_exchanged: the second argument must be a range of partial tables "
                  "(what sg::local::exchange gave each shard)");
    using group = std::ranges::range_value_t<table>;
    return detail::finish_groups<decltype(group::key), decltype(group::states)>(q, std::forward<Tables>(tables));
  }
};

// Phase 2 of a three-phase aggregation: the finished groups a shard owns, from the partial
// tables the exchange sent it. O(groups) expected; HAVING, order and offset + n applied.
inline constexpr merge_exchanged_fn merge_exchanged{};

}  // namespace sg::local
