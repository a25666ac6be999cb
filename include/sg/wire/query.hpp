// sg/wire/query.hpp — sg::wire::encode_parameters(q) and decode_parameters(bytes, shape): a
// typed query's run-time values as bytes, for nodes that run the same query type.
//
//   auto bytes = sg::wire::encode_parameters(q);                          // coordinator
//   auto q2 = sg::wire::decode_parameters(bytes, make_query());           // node: same type
//   auto answer = sg::local::run(q2, rows);
//
// A typed query's shape — its clauses, columns (member pointers, lambdas), aggregates and
// sort keys — is its C++ type, compiled into both programs; only the values that vary at
// run time cross: each comparison's constant, BETWEEN's ends, an IN list (rebuilt on
// arrival as sg::in builds it: sorted, deduplicated, hashed), a LIKE pattern, IS [NOT]
// NULL, a custom predicate's selectivity hint, in WHERE and HAVING, depth first, left
// before right; approx_count_distinct's precision and approx_quantile's q and k; LIMIT's
// count and offset. `shape` is any query of that type (its values are replaced). The
// header's fingerprint is made of the values' types in order, so a node built with another
// query type is refused (most such mistakes: two types with the same values in the same
// order are not told apart). Bad bytes, a precision outside [4, 18], q outside [0, 1] or k
// outside [8, 65535]: std::system_error(sg::errc::bad_input). An aggregate or predicate of
// the user's own with run-time values is not seen: capture those in the request instead.
// Example: examples/wire_node.cpp, tests/wire/query.cpp.
#pragma once

#include <sg/agg/hyperloglog.hpp>
#include <sg/agg/kll.hpp>
#include <sg/query/predicate.hpp>
#include <sg/query/query.hpp>
#include <sg/wire/codec.hpp>

#include <boost/hana/for_each.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace sg::wire {

namespace detail::params {

template <class T, template <class...> class Template>
inline constexpr bool is = false;
template <template <class...> class Template, class... A>
inline constexpr bool is<Template<A...>, Template> = true;

template <class T>
inline constexpr bool is_compare = false;
template <class P, class V, compare_op Op>
inline constexpr bool is_compare<compare_predicate<P, V, Op>> = true;
template <class T>
inline constexpr bool is_logic = false;
template <class A, class B, logic_op Op>
inline constexpr bool is_logic<logic_predicate<A, B, Op>> = true;

// Visits every run-time value of a predicate, clause or query, in the documented order.
template <class Archive, class P>
void walk_predicate(Archive& a, P& p) {
  using T = std::remove_cv_t<P>;
  if constexpr (is_compare<T>) {
    a.value(p.value);
  } else if constexpr (is<T, between_predicate>) {
    a.value(p.lo);
    a.value(p.hi);
  } else if constexpr (is<T, in_predicate>) {
    a.in_list(p);
  } else if constexpr (is<T, like_predicate>) {
    a.value(p.pattern);
  } else if constexpr (is<T, null_predicate>) {
    a.value(p.negated);
  } else if constexpr (is<T, custom_predicate>) {
    a.value(p.selectivity);
  } else if constexpr (is_logic<T>) {
    walk_predicate(a, p.left);
    walk_predicate(a, p.right);
  } else if constexpr (is<T, not_predicate>) {
    walk_predicate(a, p.operand);
  }
}

template <class Archive, class A>
void walk_aggregate(Archive& a, A& agg) {
  using T = std::remove_cv_t<A>;
  if constexpr (is<T, agg::approx_count_distinct_fn>) {
    a.value(agg.precision);
    a.check(agg.precision >= agg::hyperloglog::min_precision && agg.precision <= agg::hyperloglog::max_precision,
            "approx_count_distinct's precision is outside [4, 18]");
  } else if constexpr (is<T, agg::approx_quantile_fn>) {
    a.value(agg.q);
    a.check(agg.q >= 0 && agg.q <= 1, "approx_quantile's q is outside [0, 1]");
    a.value(agg.k);
    a.check(agg.k >= 8 && agg.k <= 65535, "approx_quantile's k is outside [8, 65535]");
  }
}

template <class Archive, class Q>
void walk_query(Archive& a, Q& q) {
  using T = std::remove_cv_t<Q>;
  if constexpr (has_clause<decltype(T::where_part)>) walk_predicate(a, q.where_part.predicate);
  if constexpr (has_clause<decltype(T::aggregate_part)>)
    boost::hana::for_each(q.aggregate_part.aggregates, [&](auto& agg) { walk_aggregate(a, agg); });
  if constexpr (has_clause<decltype(T::having_part)>) walk_predicate(a, q.having_part.predicate);
  if constexpr (has_clause<decltype(T::limit_part)>) {
    a.value(q.limit_part.count);
    a.value(q.limit_part.offset);
  }
}

// Folds the types of the values into the fingerprint.
struct fingerprint {
  std::uint64_t h = wire::detail::tag("query parameters");
  template <class V>
  void value(V const&) {
    h = wire::detail::combine(h, codec<std::remove_cvref_t<V>>::schema);
  }
  template <class P>
  void in_list(P const& p) {
    value(p.values);
  }
  void check(bool, char const*) {}
};

struct param_writer {
  writer& w;
  template <class V>
  void value(V const& v) {
    codec<std::remove_cvref_t<V>>::write(w, v);
  }
  template <class P>
  void in_list(P const& p) {
    value(p.values);
  }
  void check(bool, char const*) {}
};

struct param_reader {
  reader& r;
  template <class V>
  void value(V& v) {
    v = codec<std::remove_cvref_t<V>>::read(r);
  }
  template <class P>
  void in_list(P& p) {
    auto values = codec<std::remove_cvref_t<decltype(p.values)>>::read(r);
    auto rebuilt = sg::detail::in_list(p.column, std::move(values));
    p.values = std::move(rebuilt.values);
    p.sorted = rebuilt.sorted;
    p.index = std::move(rebuilt.index);
  }
  void check(bool ok, char const* what) {
    if (!ok) r.fail(what);
  }
};

template <class Q>
concept typed_query = requires(Q const& q) {
  q.where_part;
  q.group_by_part;
  q.aggregate_part;
  q.having_part;
  q.distinct_part;
  q.order_by_part;
  q.limit_part;
  q.colocated_part;
};

}  // namespace detail::params

// The fingerprint of Q's run-time values (their types, in order): the header of its bytes.
template <class Q>
  requires detail::params::typed_query<Q>
std::uint64_t parameters_schema(Q const& q) {
  detail::params::fingerprint f;
  detail::params::walk_query(f, q);
  return f.h;
}

// q's run-time values (see the top of this file) as bytes: header, then the values.
template <class Q>
  requires detail::params::typed_query<Q>
std::vector<std::byte> encode_parameters(Q const& q) {
  writer w;
  w.bytes("SGW", 3);
  w.u8(version);
  w.u64(parameters_schema(q));
  detail::params::param_writer out{w};
  detail::params::walk_query(out, q);
  return std::move(w.buffer());
}

// `shape` with its run-time values replaced by those in `bytes` (which encode_parameters
// wrote for a query of the same type). Throws std::system_error(sg::errc::bad_input) on
// any bad byte or value; `shape` itself is a copy, so nothing half-decoded escapes.
template <class Q>
  requires detail::params::typed_query<Q>
Q decode_parameters(std::span<std::byte const> bytes, Q shape) {
  reader r(bytes);
  if (r.remaining() < header_size) r.fail("truncated: a buffer starts with a 12-byte header");
  auto magic = r.bytes(3, "the magic");
  if (std::memcmp(magic.data(), "SGW", 3) != 0) r.fail("the buffer does not start with \"SGW\": not sg::wire bytes");
  const auto v = r.u8("the version");
  if (v != version)
    r.fail("format version " + std::to_string(v) + ", but this build reads version " + std::to_string(version));
  if (r.u64("the parameters' fingerprint") != parameters_schema(shape))
    r.fail("the parameters are of another query type than the one decoded (their fingerprint differs)");
  detail::params::param_reader in{r};
  detail::params::walk_query(in, shape);
  if (r.remaining() != 0) r.fail(std::to_string(r.remaining()) + " bytes left over after the parameters");
  return shape;
}

}  // namespace sg::wire
