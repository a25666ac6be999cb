// sg/query/query.hpp — sg::query(clauses...): a query described once, as a value whose type
// carries its shape, from which sg derives what each shard computes and how the
// coordinator merges the answers.
//
//   auto q = sg::query(sg::where(sg::ge(&order::day, 20'000)),
//                      sg::group_by(&order::region),
//                      sg::aggregate(sg::agg::count(), sg::agg::avg(&order::cents)),
//                      sg::having(sg::gt(sg::col<1>, 100u)),
//                      sg::order_by(sg::desc(sg::col<2>)),
//                      sg::limit(10));
//   // a shard answers sg::local::run(q, rows)               (sg/query/local.hpp)
//   auto pipe = sg::scatter(shards) | sg::gather(q);      // the query is its own merge
//   for (auto const& [region, n, mean] : pipe(q).value) ...  // the query is the request
//
// Clauses, in any order, each at most once: where, group_by, aggregate, having, distinct,
// order_by, limit, and groups_colocated (a promise about the data, below). The result is
// a std::vector of rows: the shards' rows for a query without group_by or aggregate, else
// one std::tuple per group — its keys, then its aggregates' values, in the order given —
// so `auto const& [k1, k2, a1, a2] : rows` reads as the SELECT list.
//
// The two phases (docs/queries.md has each shape beside its SQL):
//  * rows (no grouping): each shard filters, removes duplicates (distinct), sorts
//    (order_by) and keeps its first offset + n rows (limit); the coordinator removes
//    duplicates across shards, merges the sorted answers (a loser tree, or top-k under a
//    limit), then skips offset and keeps n. The result is exactly what single-node
//    evaluation over the shards' rows taken in shard order gives, including the order of
//    ties (sorting is stable) and which rows a limit without order_by keeps (the first ones).
//  * groups: each shard filters and folds each group into partial states (AVG as SUM and
//    COUNT, variance as count, mean and M2, sketches as sketches) — with no limit, since a
//    group's rows may be on several shards; the coordinator merges the states by key
//    (sg::merge::hash_aggregate's table), finishes them, applies HAVING, sorts and limits.
//    Groups that compare equal under order_by, and the groups a limit without order_by
//    keeps, are in no particular order, as in SQL.
//  * groups_colocated(): the caller promises that every group's rows are on one shard
//    (the data is partitioned by the group key, or a prefix of it). Each shard then runs
//    the whole query — finished aggregates, HAVING, ORDER BY and a limit of offset + n —
//    and the coordinator merges finished rows as for a row query. A group key that comes
//    from two shards breaks the promise: that answer is rejected with
//    std::system_error(sg::errc::bad_input) naming the shards (in a pipeline, a failed
//    shard), never a group counted twice.
// A global aggregate (aggregate without group_by) gives one row, or none when no row
// passes the filter: sg has no NULL for the MIN of nothing.
//
// Errors at compile time, each one sentence: a clause given twice, an argument that is
// not a clause, having or groups_colocated without grouping, an empty group_by, aggregate
// or order_by. Example: tests/query/query.cpp, docs/queries.md.
#pragma once

#include <sg/agg/aggregate.hpp>
#include <sg/detail/type_traits.hpp>
#include <sg/error.hpp>
#include <sg/merge/concat.hpp>
#include <sg/merge/distinct.hpp>
#include <sg/merge/hash_aggregate.hpp>
#include <sg/merge/protocol.hpp>
#include <sg/merge/sorted.hpp>
#include <sg/merge/top_k.hpp>
#include <sg/order.hpp>
#include <sg/query/explain.hpp>  // sg::explain(q) and the plan text sg::collect_stats shows
#include <sg/query/fwd.hpp>
#include <sg/query/order.hpp>
#include <sg/query/predicate.hpp>

#include <boost/container_hash/hash.hpp>
#include <boost/hana/tuple.hpp>
#include <boost/hana/unpack.hpp>
#include <boost/unordered/unordered_flat_map.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <functional>
#include <limits>
#include <ranges>
#include <string>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace sg {

// --- clauses ------------------------------------------------------------------------------

enum class clause_kind { where, group_by, aggregate, having, distinct, order_by, limit, colocated };

template <class P>
struct where_clause {
  static constexpr clause_kind kind = clause_kind::where;
  P predicate;
};
template <class... Keys>
struct group_by_clause {
  static constexpr clause_kind kind = clause_kind::group_by;
  std::tuple<Keys...> keys;
};
template <class... Aggs>
struct aggregate_clause {
  static constexpr clause_kind kind = clause_kind::aggregate;
  boost::hana::tuple<Aggs...> aggregates;
};
template <class P>
struct having_clause {
  static constexpr clause_kind kind = clause_kind::having;
  P predicate;
};
struct distinct_clause {
  static constexpr clause_kind kind = clause_kind::distinct;
};
template <class... SortKeys>
struct order_by_clause {
  static constexpr clause_kind kind = clause_kind::order_by;
  detail::lexicographic_order<SortKeys...> order;
};
struct limit_clause {
  static constexpr clause_kind kind = clause_kind::limit;
  std::size_t count = 0;
  std::size_t offset = 0;
  // offset + count, saturating: how many rows a shard must keep.
  constexpr std::size_t shard_rows() const noexcept { return merge::detail::saturating_sum(offset, count); }
};
struct colocated_clause {
  static constexpr clause_kind kind = clause_kind::colocated;
};

namespace detail {

template <class P>
constexpr auto as_predicate(P p) {
  if constexpr (predicate_expression<P>)
    return p;
  else
    return custom_predicate<P>{std::move(p)};
}

}  // namespace detail

// WHERE: the rows a query reads. A predicate of sg/query/predicate.hpp, or any callable
// row -> bool (opaque to cost models).
template <class P>
constexpr auto where(P predicate) {
  using pred = decltype(detail::as_predicate(std::move(predicate)));
  return where_clause<pred>{detail::as_predicate(std::move(predicate))};
}

// GROUP BY: one group per distinct tuple of keys (projections of a row). Keys are hashed
// with sg::total_hash and compared with sg::total_equal (boost::hash and ==, except that
// every floating-point NaN is one group and -0.0 is 0.0: sg/order.hpp).
template <class... Keys>
constexpr group_by_clause<Keys...> group_by(Keys... keys) {
  static_assert(sizeof...(Keys) > 0,
                "sg::group_by needs at least one key; a global aggregate is sg::aggregate alone");
  return {std::tuple<Keys...>(std::move(keys)...)};
}

// The aggregates computed per group (sg::agg::count(), sum, avg, min, max, variance, ...).
template <class... Aggs>
constexpr aggregate_clause<Aggs...> aggregate(Aggs... aggregates) {
  static_assert(sizeof...(Aggs) > 0, "sg::aggregate needs at least one aggregate (sg::agg::count(), ...)");
  return {boost::hana::make_tuple(std::move(aggregates)...)};
}

// HAVING: the groups kept, a predicate on a result row (sg::col<I> reads its columns).
template <class P>
constexpr auto having(P predicate) {
  using pred = decltype(detail::as_predicate(std::move(predicate)));
  return having_clause<pred>{detail::as_predicate(std::move(predicate))};
}

// DISTINCT: equal result rows once (rows hashed with sg::total_hash, compared with
// sg::total_equal: NaN equals NaN, -0.0 equals 0.0, elementwise in tuple rows; the first
// in shard order is kept). A grouped result is distinct already.
constexpr distinct_clause distinct() noexcept { return {}; }

// ORDER BY: sg::asc(proj) / sg::desc(proj) / a bare projection (ascending), on the result
// rows (sg::col<I> for a grouped query's columns).
template <class... Keys>
constexpr auto order_by(Keys... keys) {
  static_assert(sizeof...(Keys) > 0, "sg::order_by needs at least one sort key");
  using order = detail::lexicographic_order<decltype(detail::as_sort_key(std::move(keys)))...>;
  return order_by_clause<decltype(detail::as_sort_key(std::move(keys)))...>{
      order{{detail::as_sort_key(std::move(keys))...}}};
}

// LIMIT count OFFSET offset: rows [offset, offset + count) of the result.
constexpr limit_clause limit(std::size_t count, std::size_t offset = 0) noexcept { return {count, offset}; }

// The caller's promise that every group's rows are on one shard (see the top of the file).
constexpr colocated_clause groups_colocated() noexcept { return {}; }

// --- the query --------------------------------------------------------------------------

namespace detail {

template <class T>
concept query_clause = requires { T::kind; } && std::same_as<std::remove_cv_t<decltype(T::kind)>, clause_kind>;

// The projection of a row onto its group key: a tuple of each key's value (references
// where a key projection gives one, so looking a row's group up copies nothing).
template <class... Keys>
struct key_projection {
  std::tuple<Keys...> keys;
  template <class Row>
  constexpr auto operator()(Row const& row) const {
    return std::apply(
        [&](auto const&... k) { return std::tuple<std::invoke_result_t<Keys const&, Row const&>...>(std::invoke(k, row)...); },
        keys);
  }
};

template <class Row, class GroupBy>
struct key_type_of {
  using type = std::tuple<>;
};
template <class Row, class... Keys>
struct key_type_of<Row, group_by_clause<Keys...>> {
  using type = std::tuple<agg::projected_t<Keys, Row>...>;
};

template <class States, class Aggs>
inline constexpr bool merges_states_of = false;
template <class... S, class... A>
  requires(sizeof...(S) == sizeof...(A))
inline constexpr bool merges_states_of<std::tuple<S...>, boost::hana::tuple<A...>> = (true && ... && agg::merges_state<A, S>);

template <class Row, class Aggs>
struct states_type_of;
template <class Row, class... Aggs>
struct states_type_of<Row, boost::hana::tuple<Aggs...>> {
  using type = std::tuple<agg::state_t<Aggs, Row>...>;
};

template <class Key, class States, class Aggs>
struct result_row_of;
template <class... K, class... S, class... A>
struct result_row_of<std::tuple<K...>, std::tuple<S...>, boost::hana::tuple<A...>> {
  using type = std::tuple<K..., agg::finish_t<A, S>...>;
};

// Keeps rows [offset, offset + count) of `rows`.
template <class Rows>
void apply_limit(Rows& rows, limit_clause const& l) {
  if (rows.size() > l.shard_rows()) rows.erase(rows.begin() + static_cast<std::ptrdiff_t>(l.shard_rows()), rows.end());
  rows.erase(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(std::min(l.offset, rows.size())));
}

// Sorts rows and keeps rows [offset, offset + count), not stable (groups have no order).
template <class Rows, class Order>
void sort_and_limit(Rows& rows, Order const& order, limit_clause const* l) {
  if (l != nullptr && l->shard_rows() < rows.size()) {
    const auto keep = rows.begin() + static_cast<std::ptrdiff_t>(l->shard_rows());
    std::nth_element(rows.begin(), keep, rows.end(), order);
    rows.erase(keep, rows.end());
  }
  std::sort(rows.begin(), rows.end(), order);
  if (l != nullptr) apply_limit(rows, *l);
}

// The coordinator of a two-phase grouped query: merges partial tables by key (sg::merge::
// hash_aggregate's table), finishes each group into a result row, then HAVING, ORDER BY,
// LIMIT. Poisoned by an error while merging (the table's rule, as in hash_aggregate).
template <class Resp, class Key, class States, class Aggs, class Having, class OrderBy, class Limit>
class grouped_accumulator {
 public:
  using row_type = typename result_row_of<Key, States, Aggs>::type;
  using result_type = std::vector<row_type>;

  grouped_accumulator(Aggs aggs, Having having, OrderBy order, Limit limit)
      : groups_(std::move(aggs)), having_(std::move(having)), order_(std::move(order)), limit_(limit) {}

  void add(std::size_t, Resp&& answer) { groups_.merge_all(std::move(answer)); }
  // The groups of one node's rows, straight from their hash table (sg::local::evaluate and
  // a co-located shard): no second hashing.
  void adopt(merge::detail::group_map<Key, States>&& groups) { groups_.adopt(std::move(groups)); }

  result_type finish() && {
    result_type out;
    out.reserve(groups_.size_hint());
    groups_.drain_finished([&](Key&& k, auto&&... values) {
      std::apply([&](auto&&... key) { out.emplace_back(std::move(key)..., std::move(values)...); }, std::move(k));
      if constexpr (has_clause<Having>) {
        if (!having_.predicate(std::as_const(out.back()))) out.pop_back();
      }
    });
    if constexpr (has_clause<OrderBy>) {
      limit_clause const* l = nullptr;
      if constexpr (has_clause<Limit>) l = &limit_;
      sort_and_limit(out, order_.order, l);
    } else if constexpr (has_clause<Limit>) {
      apply_limit(out, limit_);
    }
    return out;
  }

 private:
  merge::detail::group_table<Key, States, Aggs> groups_;
  [[no_unique_address]] Having having_;
  [[no_unique_address]] OrderBy order_;
  [[no_unique_address]] Limit limit_;
};

// Rejects an answer whose group keys (the first KeyCount columns) another answer, or the
// same one, already gave: the check of groups_colocated().
template <class Row, std::size_t KeyCount>
class colocation_check {
 public:
  template <class Rows>
  void check(std::size_t shard, Rows const& rows) {
    boost::unordered_flat_map<key_type, std::size_t, total_hash_fn, total_equal_fn> fresh;
    for (auto const& row : rows) {
      key_type k = key_of(row);
      if (auto at = seen_.find(k); at != seen_.end()) fail(at->second, shard);
      if (!fresh.try_emplace(std::move(k), shard).second) fail(shard, shard);
    }
    for (auto& [k, s] : fresh) seen_.try_emplace(std::move(k), s);  // strong guarantee: after the check
  }

 private:
  template <class Seq>
  struct prefix;
  template <std::size_t... I>
  struct prefix<std::index_sequence<I...>> {
    using type = std::tuple<std::tuple_element_t<I, Row>...>;
  };
  using key_type = typename prefix<std::make_index_sequence<KeyCount>>::type;

  static key_type key_of(Row const& row) {
    return [&]<std::size_t... I>(std::index_sequence<I...>) { return key_type(std::get<I>(row)...); }(
        std::make_index_sequence<KeyCount>{});
  }

  [[noreturn]] static void fail(std::size_t first, std::size_t second) {
    throw std::system_error(
        make_error_code(errc::bad_input),
        first == second ? "sg::query: groups_colocated() was declared, but shard " + std::to_string(first) +
                              " answered one group twice"
                        : "sg::query: groups_colocated() was declared, but one group came from shards " +
                              std::to_string(first) + " and " + std::to_string(second) +
                              "; the data is not partitioned by the group key");
  }

  boost::unordered_flat_map<key_type, std::size_t, total_hash_fn, total_equal_fn> seen_;
};

struct no_check {};

// The coordinator of a row query (and of a colocated grouped one, whose shards answer
// finished rows): one of sg's merges, then what is left of the plan.
template <class Resp, bool Distinct, class OrderBy, class Limit, class Check>
class rows_accumulator {
 public:
  using row_type = std::ranges::range_value_t<Resp>;
  using result_type = std::vector<row_type>;

  rows_accumulator(OrderBy order, Limit limit)
      : order_(std::move(order)), limit_(limit), inner_(make_inner(order_, limit_)) {}

  // A limit without order_by keeps the first offset + count rows in shard order: the
  // shards after the first ones that give that many rows cannot change the answer.
  static constexpr bool settles =
      has_clause<Limit> && !Distinct && !has_clause<OrderBy> && std::ranges::sized_range<Resp>;

  void add(std::size_t shard, Resp&& answer) {
    if constexpr (!std::is_same_v<Check, no_check>) check_.check(shard, answer);
    if constexpr (settles) {
      const std::size_t rows = static_cast<std::size_t>(std::ranges::size(answer));
      later_.reserve(later_.size() + 1);  // strong guarantee: nothing throws after the merge took it
      inner_.add(shard, std::move(answer));
      later_.push_back({shard, rows});
    } else {
      inner_.add(shard, std::move(answer));
    }
  }

  // sg::settling_accumulator: every shard before `frontier` has answered or failed, and
  // their rows already fill the limit. O(answers since the last call).
  bool settled(std::size_t frontier)
    requires settles
  {
    std::erase_if(later_, [&](answered const& a) {
      if (a.shard >= frontier) return false;
      before_ = merge::detail::saturating_sum(before_, a.rows);
      return true;
    });
    return before_ >= limit_.shard_rows();
  }

  result_type finish() && {
    result_type out = std::move(inner_).finish();
    if constexpr (Distinct && has_clause<OrderBy>)
      std::stable_sort(out.begin(), out.end(), order_.order);
    if constexpr (has_clause<Limit> && (Distinct || !has_clause<OrderBy>)) apply_limit(out, limit_);
    return out;
  }

 private:
  static auto make_inner(OrderBy const& order, Limit const& limit) {
    if constexpr (Distinct) {
      return merge::distinct_accumulator<Resp, std::identity>(std::identity{});
    } else if constexpr (has_clause<OrderBy> && has_clause<Limit>) {
      return merge::top_k_accumulator<Resp, decltype(order.order), std::identity>(limit.count, limit.offset, false,
                                                                                  order.order, std::identity{});
    } else if constexpr (has_clause<OrderBy>) {
      return merge::sorted_accumulator<Resp, decltype(order.order), std::identity>(order.order, std::identity{});
    } else {
      return merge::concat_accumulator<Resp>();
    }
  }

  struct answered {
    std::size_t shard, rows;
  };
  struct none {};

  [[no_unique_address]] OrderBy order_;
  [[no_unique_address]] Limit limit_;
  decltype(make_inner(std::declval<OrderBy const&>(), std::declval<Limit const&>())) inner_;
  [[no_unique_address]] Check check_;
  // With settles: the answers of shards not yet before the frontier, and the rows of those that are.
  [[no_unique_address]] std::conditional_t<settles, std::vector<answered>, none> later_;
  std::size_t before_ = 0;
};

template <class T>
inline constexpr bool is_partial_table =
    merge::detail::is_partial_group<std::remove_cvref_t<std::ranges::range_value_t<T>>>;

}  // namespace detail

namespace detail {
// What typed_query::aggregates() returns, named without calling it: Clang cannot call a
// member with a deduced return type while its class is still incomplete.
template <class Aggregate>
struct aggregates_of {
  using type = boost::hana::tuple<>;
};
template <class... Aggs>
struct aggregates_of<aggregate_clause<Aggs...>> {
  using type = boost::hana::tuple<Aggs...>;
};
}  // namespace detail

// A query: one member per clause, no_clause where absent. Built by sg::query(...).
// (Declared in sg/query/fwd.hpp.)
template <class Where, class GroupBy, class Aggregate, class Having, class Distinct, class OrderBy, class Limit,
          class Colocated>
struct typed_query {
  Where where_part;
  GroupBy group_by_part;
  Aggregate aggregate_part;
  Having having_part;
  Distinct distinct_part;
  OrderBy order_by_part;
  Limit limit_part;
  Colocated colocated_part;

  // A query is its own request and merge (sg::request_merge): a pipeline built with
  // sg::gather(q) runs q, or a query of q's type given as the request, on both halves.
  using request_merge_tag = void;

  // Whether the result is one row per group (group_by or aggregate given).
  static constexpr bool grouped = has_clause<GroupBy> || has_clause<Aggregate>;
  // Whether shards answer partial states (grouped, and groups may span shards).
  static constexpr bool two_phase = grouped && !has_clause<Colocated>;

  // The aggregates, as a Boost.Hana tuple (empty without an aggregate clause).
  constexpr auto aggregates() const {
    if constexpr (has_clause<Aggregate>)
      return aggregate_part.aggregates;
    else
      return boost::hana::tuple<>{};
  }
  using aggregates_type = typename detail::aggregates_of<Aggregate>::type;

  // The group key of a row: a std::tuple of the keys (empty for a global aggregate).
  constexpr auto key_projection() const {
    if constexpr (has_clause<GroupBy>)
      return std::apply([](auto const&... k) { return detail::key_projection<std::remove_cvref_t<decltype(k)>...>{{k...}}; },
                        group_by_part.keys);
    else
      return detail::key_projection<>{};
  }

  // Types for rows of type Row: the group key, the partial states, a result row.
  template <class Row>
  using key_type = typename detail::key_type_of<Row, GroupBy>::type;
  template <class Row>
  using states_type = typename detail::states_type_of<Row, aggregates_type>::type;
  template <class Row>
  using result_row_type =
      std::conditional_t<grouped, typename detail::result_row_of<key_type<Row>, states_type<Row>, aggregates_type>::type, Row>;

  // The same query with groups_colocated(): the coordinator's merge of a three-phase
  // plan, whose shards finish the groups the exchange gave them (sg::local::exchange).
  constexpr auto colocated() const {
    static_assert(has_clause<GroupBy>, "sg::query::colocated(): the query needs sg::group_by");
    return typed_query<Where, GroupBy, Aggregate, Having, Distinct, OrderBy, Limit, colocated_clause>{
        where_part, group_by_part, aggregate_part, having_part, distinct_part, order_by_part, limit_part, {}};
  }

  // The coordinator's half: the merge for the shards' answers (sg::local::run(q, rows)).
  template <class Resp>
  auto accumulator() const {
    using value = std::remove_cvref_t<std::ranges::range_value_t<Resp>>;
    if constexpr (two_phase) {
      if constexpr (!detail::is_partial_table<Resp>) {
        static_assert(sg::detail::always_false<Resp>,
                      "sg::gather(query): the query groups, so each shard answers its partial table "
                      "(sg::local::run(q, rows)), not rows");
        return;
      } else {
        using K = decltype(value::key);
        using S = decltype(value::states);
        static_assert(detail::merges_states_of<S, aggregates_type>,
                      "sg::gather(query): the partial table's states do not match the query's aggregates");
        return detail::grouped_accumulator<Resp, K, S, aggregates_type, Having, OrderBy, Limit>(
            aggregates(), having_part, order_by_part, limit_part);
      }
    } else if constexpr (grouped) {
      static_assert(!detail::is_partial_table<Resp>,
                    "sg::gather(query): groups_colocated() queries are finished on the shards, which answer "
                    "result rows (sg::local::run(q, rows)), not partial tables");
      constexpr std::size_t keys = std::tuple_size_v<decltype(group_by_part.keys)>;
      return detail::rows_accumulator<Resp, false, OrderBy, Limit, detail::colocation_check<value, keys>>(
          order_by_part, limit_part);
    } else {
      return detail::rows_accumulator<Resp, has_clause<Distinct>, OrderBy, Limit, detail::no_check>(order_by_part,
                                                                                                  limit_part);
    }
  }

  // Merges a range of per-shard answers (answer i is shard i's), as a pipeline would.
  template <std::ranges::input_range Responses>
  auto operator()(Responses&& responses) const {
    return sg::detail::merge_all(*this, std::forward<Responses>(responses));
  }
};

namespace detail {

template <clause_kind K, class... Clauses>
inline constexpr std::size_t count_of = (std::size_t{0} + ... + (Clauses::kind == K ? 1u : 0u));

// The clause of kind K among `clauses`, or no_clause.
template <clause_kind K>
constexpr no_clause pick() {
  return {};
}
template <clause_kind K, class First, class... Rest>
constexpr auto pick(First const& first, Rest const&... rest) {
  if constexpr (First::kind == K)
    return first;
  else
    return pick<K>(rest...);
}

}  // namespace detail

struct query_fn {
  template <class... Clauses>
  constexpr auto operator()(Clauses... clauses) const {
    if constexpr (!(true && ... && detail::query_clause<Clauses>)) {
      static_assert(detail::always_false<Clauses...>,
                    "sg::query: every argument must be a clause: sg::where, sg::group_by, sg::aggregate, "
                    "sg::having, sg::distinct, sg::order_by, sg::limit or sg::groups_colocated");
      return;
    } else {
      static_assert((true && ... && (detail::count_of<Clauses::kind, Clauses...> == 1)),
                    "sg::query: a clause is given twice; give each clause at most once (combine "
                    "predicates with && and sort keys in one sg::order_by)");
      constexpr bool grouped = (false || ... || (Clauses::kind == clause_kind::group_by ||
                                                 Clauses::kind == clause_kind::aggregate));
      constexpr bool has_group_by = (false || ... || (Clauses::kind == clause_kind::group_by));
      static_assert(grouped || !(false || ... || (Clauses::kind == clause_kind::having)),
                    "sg::query: sg::having filters groups; the query needs sg::group_by or sg::aggregate "
                    "(filter rows with sg::where)");
      static_assert(has_group_by || !(false || ... || (Clauses::kind == clause_kind::colocated)),
                    "sg::query: sg::groups_colocated() is a promise about group keys; the query needs sg::group_by");
      auto w = detail::pick<clause_kind::where>(clauses...);
      auto g = detail::pick<clause_kind::group_by>(clauses...);
      auto a = detail::pick<clause_kind::aggregate>(clauses...);
      auto h = detail::pick<clause_kind::having>(clauses...);
      auto d = detail::pick<clause_kind::distinct>(clauses...);
      auto o = detail::pick<clause_kind::order_by>(clauses...);
      auto l = detail::pick<clause_kind::limit>(clauses...);
      auto c = detail::pick<clause_kind::colocated>(clauses...);
      return typed_query<decltype(w), decltype(g), decltype(a), decltype(h), decltype(d), decltype(o), decltype(l),
                         decltype(c)>{std::move(w), std::move(g), std::move(a), std::move(h),
                                      std::move(d), std::move(o), std::move(l), std::move(c)};
    }
  }
};

// Builds a query from clauses in any order; see the top of this file.
inline constexpr query_fn query{};

template <class T>
inline constexpr bool is_query = false;
template <class... C>
inline constexpr bool is_query<typed_query<C...>> = true;

}  // namespace sg
