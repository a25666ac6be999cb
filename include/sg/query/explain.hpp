// sg/query/explain.hpp — sg::explain(q): what each shard computes for query q and how the
// coordinator merges the answers, in words.
//
//   std::cout << sg::explain(q);
//   // shards:      keep rows where (region = "eu" AND day >= 20000); group them by region;
//   //              fold each group into AVG(cents) as a sum and a count; answer one partial
//   //              state per group, with no limit (a group's rows may be on several shards)
//   // coordinator: merge the partial states by group key (hash aggregate) and finish them;
//   //              sort by column 1 descending; keep 10 rows
//
// Columns print as their sg::named name, a member pointer as its type (order::<int>), sg::col<I> as
// "column I", anything else as "a projection"; constants print with operator<< when they
// have one. Aggregates print their sql_name and state_name when they have them.
// This header knows a typed query by its declaration (sg/query/fwd.hpp) and reads its
// predicates through sg::fold_predicate; sg/query/query.hpp includes it, not the reverse.
// Example: tests/query/query.cpp, docs/queries.md.
#pragma once

#include <sg/detail/plan_text.hpp>
#include <sg/query/fwd.hpp>
#include <sg/query/order.hpp>
#include <sg/query/predicate.hpp>

#include <boost/hana/for_each.hpp>

#include <cmath>
#include <cstddef>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>

namespace sg {

namespace detail {

template <class T>
constexpr std::string_view type_name() {
  std::string_view f = __PRETTY_FUNCTION__;  // "... [with T = int order::*; ...]"
  const auto start = f.find("T = ") + 4;
  const auto end = f.find_first_of(";]", start);
  return f.substr(start, end - start);
}

// "long int order::*" as "order::<long int>".
inline std::string describe_member(std::string_view type) {
  const auto space = type.rfind(' ');
  if (space == std::string_view::npos || !type.ends_with("::*")) return std::string(type);
  std::string member(type.substr(0, space));
  for (std::string_view from : {"std::__cxx11::basic_string<char>", "std::basic_string<char>"})
    if (member == from) member = "std::string";
  std::string_view owner = type.substr(space + 1);
  owner.remove_suffix(3);
  if (const auto scope = owner.rfind("::"); scope != std::string_view::npos && owner.find('<') == std::string_view::npos)
    owner.remove_prefix(scope + 2);  // the class's own name, without its namespaces
  return std::string(owner) + "::<" + member + ">";
}

template <class Proj>
std::string describe_column(Proj const& proj) {
  if constexpr (requires { proj.name; proj.proj; })
    return std::string(proj.name);
  else if constexpr (requires { Proj::index; })
    return "column " + std::to_string(Proj::index);
  else if constexpr (std::is_member_object_pointer_v<Proj>)
    return describe_member(type_name<Proj>());
  else
    return "a projection";
}

template <class V>
std::string describe_value(V const& v) {
  if constexpr (std::is_same_v<V, std::string>) {
    return "\"" + v + "\"";
  } else if constexpr (requires(std::ostream& os) { os << v; }) {
    std::ostringstream os;
    os << v;
    return os.str();
  } else {
    return "a value";
  }
}

inline constexpr char const* compare_symbols[] = {"=", "<>", "<", "<=", ">", ">="};

// A predicate in words, one visitor of sg::fold_predicate.
struct predicate_describer {
  template <class N>
  std::string compare(N const& n) const {
    return describe_column(n.column) + " " + compare_symbols[static_cast<int>(N::op)] + " " + describe_value(n.value);
  }
  template <class N>
  std::string between(N const& n) const {
    return describe_column(n.column) + " BETWEEN " + describe_value(n.lo) + " AND " + describe_value(n.hi);
  }
  template <class N>
  std::string in(N const& n) const {
    std::string s = describe_column(n.column) + " IN (";
    for (std::size_t i = 0; i < n.values.size(); ++i) s += (i ? ", " : "") + describe_value(n.values[i]);
    return s + ")";
  }
  template <class N>
  std::string like(N const& n) const {
    return describe_column(n.column) + " LIKE " + describe_value(n.pattern);
  }
  template <class N>
  std::string null_test(N const& n) const {
    return describe_column(n.column) + (n.negated ? " IS NOT NULL" : " IS NULL");
  }
  template <class N>
  std::string custom(N const& n) const {
    return std::isnan(n.selectivity) ? std::string("a custom predicate")
                                     : "a custom predicate (selectivity " + describe_value(n.selectivity) + ")";
  }
  template <class N>
  std::string logic(N const&, std::string left, std::string right) const {
    return "(" + left + (N::op == logic_op::and_ ? " AND " : " OR ") + right + ")";
  }
  template <class N>
  std::string negation(N const&, std::string operand) const {
    return "NOT " + operand;
  }
};

template <class P>
std::string describe_predicate(P const& p) {
  if constexpr (predicate_expression<P>)
    return fold_predicate(p, predicate_describer{});
  else
    return "a predicate";
}

template <class A>
std::string describe_aggregate(A const& a, bool with_state) {
  std::string s;
  if constexpr (requires { A::sql_name; })
    s = A::sql_name;
  else
    s = "an aggregate";
  if constexpr (requires { a.proj; })
    s += "(" + describe_column(a.proj) + ")";
  else if constexpr (requires { A::sql_name; })
    s += "(*)";
  if (with_state) {
    if constexpr (requires { A::state_name; }) s += std::string(" as ") + A::state_name;
  }
  return s;
}

template <class Aggs>
std::string describe_aggregates(Aggs const& aggs, bool with_state) {
  std::string s;
  boost::hana::for_each(aggs, [&](auto const& a) { s += (s.empty() ? "" : ", ") + describe_aggregate(a, with_state); });
  return s;
}

template <class... Keys>
std::string describe_keys(std::tuple<Keys...> const& keys) {
  std::string s;
  std::apply([&](auto const&... k) { ((s += (s.empty() ? "" : ", ") + describe_column(k)), ...); }, keys);
  return s;
}

template <class... SortKeys>
std::string describe_order(lexicographic_order<SortKeys...> const& order) {
  std::string s;
  for_each_sort_key(order, [&](auto const& proj, bool descending) {
    s += (s.empty() ? "" : ", ") + describe_column(proj) + (descending ? " descending" : "");
  });
  return s;
}

template <class Limit>
std::string describe_limit(Limit const& l) {
  std::string s = "keep " + std::to_string(l.count) + (l.count == 1 ? " row" : " rows");
  if (l.offset != 0) s += " after skipping " + std::to_string(l.offset);
  return s;
}

}  // namespace detail

struct explain_fn {
  template <class... C>
  std::string operator()(typed_query<C...> const& q) const {
    using Q = typed_query<C...>;
    constexpr bool has_where = has_clause<decltype(q.where_part)>;
    constexpr bool has_order = has_clause<decltype(q.order_by_part)>;
    constexpr bool has_limit = has_clause<decltype(q.limit_part)>;
    std::string shard = "shards:      ";
    std::string coord = "coordinator: ";
    auto step = [](std::string& line, std::string const& what) {
      if (line.back() != ' ') line += "; ";
      line += what;
    };
    if constexpr (has_where) step(shard, "keep rows where " + detail::describe_predicate(q.where_part.predicate));
    if constexpr (Q::grouped) {
      if constexpr (has_clause<decltype(q.group_by_part)>)
        step(shard, (has_where ? "group them by " : "group rows by ") + detail::describe_keys(q.group_by_part.keys));
      else
        step(shard, has_where ? "take them as one group" : "take all rows as one group");
      if constexpr (Q::two_phase) {
        if constexpr (has_clause<decltype(q.aggregate_part)>)
          step(shard, "fold each group into " + detail::describe_aggregates(q.aggregates(), true));
        step(shard, "answer one partial state per group, with no limit (a group's rows may be on several shards)");
        step(coord, "merge the partial states by group key (hash aggregate) and finish them");
      } else {
        if constexpr (has_clause<decltype(q.aggregate_part)>)
          step(shard, "compute " + detail::describe_aggregates(q.aggregates(), false) + " for each group");
        step(shard, "answer finished groups (groups_colocated: each group's rows are on one shard)");
      }
      if constexpr (has_clause<decltype(q.having_part)>) {
        std::string having = "keep the groups where " + detail::describe_predicate(q.having_part.predicate);
        step(Q::two_phase ? coord : shard, having);
      }
      if constexpr (!Q::two_phase) step(coord, "check that no group came from two shards");
    } else if constexpr (has_clause<decltype(q.distinct_part)>) {
      step(shard, "drop duplicate rows");
      step(coord, "drop rows another shard gave first");
    }
    if constexpr (has_order) {
      const std::string order = detail::describe_order(q.order_by_part.order);
      if constexpr (Q::two_phase) {
        step(coord, "sort by " + order);
      } else {
        step(shard, "sort by " + order);
        step(coord, has_limit && !has_clause<decltype(q.distinct_part)> ? "merge the sorted answers up to the limit (top-k)"
                                                                        : "merge the sorted answers (loser tree)");
      }
    } else if constexpr (!Q::two_phase) {
      step(coord, "concatenate the answers in shard order");
    }
    if constexpr (has_limit) {
      if constexpr (!Q::two_phase) {
        const std::size_t n = q.limit_part.count == 0 ? 0 : q.limit_part.shard_rows();
        step(shard, "keep the first " + std::to_string(n) + (n == 1 ? " row" : " rows") +
                        (has_order || Q::grouped ? "" : " (and stop reading)"));
      }
      step(coord, detail::describe_limit(q.limit_part));
    }
    if (shard.back() == ' ') shard += "answer every row";
    if (coord.back() == ' ') coord += "nothing more";
    return shard + "\n" + coord + "\n";
  }
};

// What each shard computes for query q and how the answers are merged, in words.
inline constexpr explain_fn explain{};

// The plan of a typed query, for sg::collect_stats.
template <class... C>
struct detail::plan_text<typed_query<C...>> {
  static constexpr bool available = true;
  static std::string of(typed_query<C...> const& q) { return explain(q); }
};

}  // namespace sg
