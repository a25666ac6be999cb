// sg/agg/aggregate.hpp — what a mergeable aggregate is.
//
// An aggregate A over rows of type Row is a value with four operations on a state S:
//
//   S s = a.template init<Row>();   // the state of no rows
//   a.update(s, row);               // s takes one more row          (on a shard)
//   a.merge(s, std::move(other));   // s takes every row of other    (on the coordinator)
//   auto v = a.finish(s);           // the value the query asked for (s: S const&)
//
// merge is associative and commutative up to floating-point rounding, so states computed
// on different shards combine into the state of all their rows in any order: this is what
// lets sg::merge::hash_aggregate run in two phases from one definition. States are plain
// regular values (numbers, small structs, sketches) that a shard can send over a wire.
// Optionally, `A::sql_name` and `A::state_name` (char const*) say what A computes and
// what state a shard sends, for sg::explain; and `a.proj`, the column it reads.
// Example: include/sg/agg/sum.hpp, tests/agg/aggregates.cpp.
#pragma once

#include <sg/detail/type_traits.hpp>

#include <concepts>
#include <type_traits>
#include <utility>

namespace sg::agg {

// The state A keeps for rows of type Row.
template <class A, class Row>
using state_t = std::remove_cvref_t<decltype(std::declval<A const&>().template init<Row>())>;

// A folds rows of type Row into a mergeable state (see the top of this file).
template <class A, class Row>
concept aggregate_for =
    requires(A const& a) { a.template init<Row>(); } &&
    std::movable<state_t<A, Row>> &&
    requires(A const& a, state_t<A, Row>& s, state_t<A, Row>&& other, Row const& row) {
      a.update(s, row);
      a.merge(s, std::move(other));
      { a.finish(std::as_const(s)) } -> detail::not_void;
    };

// A can merge and finish states of type S (what the coordinator needs: it never sees rows).
template <class A, class S>
concept merges_state = std::movable<S> && requires(A const& a, S& s, S&& other) {
  a.merge(s, std::move(other));
  { a.finish(std::as_const(s)) } -> detail::not_void;
};

// What A finishes a state of type S into.
template <class A, class S>
  requires merges_state<A, S>
using finish_t = std::remove_cvref_t<decltype(std::declval<A const&>().finish(std::declval<S const&>()))>;

// The value a projection gives for a row (the column an aggregate reads).
template <class Proj, class Row>
  requires std::regular_invocable<Proj const&, Row const&>
using projected_t = std::remove_cvref_t<std::invoke_result_t<Proj const&, Row const&>>;

}  // namespace sg::agg
