// sg/merge/protocol.hpp — what a merge strategy is.
//
// A merge folds per-shard answers into one value, one answer at a time, in whatever order
// the answers arrive:
//
//   auto acc = m.accumulator<Resp>();          // Resp: the shards' answer type
//   acc.add(shard_index, std::move(response));  // once per answering shard, any order
//   T out = std::move(acc).finish();
//
// Every merge is also callable on a range of per-shard answers, answer i from shard i:
// `T out = m(responses);`. Rules every merge keeps (the pipeline relies on them):
//  * add() gives the strong guarantee: if it throws, the accumulator is as before the call,
//    and the pipeline records that shard as failed with the exception's message (so a
//    merge that detects bad input in an answer rejects that answer, never part of it);
//  * the result does not depend on arrival order unless the merge documents it;
//  * an accumulator is used by one thread at a time (the pipeline serializes add()).
// An accumulator may also say when the answers so far settle the result
// (sg::settling_accumulator, below): the pipeline then stops the shards it no longer needs.
// Example: include/sg/merge/concat.hpp, tests/merge/concat.cpp.
#pragma once

#include <sg/detail/type_traits.hpp>

#include <concepts>
#include <cstddef>
#include <ranges>
#include <type_traits>
#include <utility>

namespace sg {

// The accumulator type M gives for answers of type Resp.
template <class M, class Resp>
using accumulator_t = decltype(std::declval<M const&>().template accumulator<Resp>());

// M can merge answers of type Resp: it gives an accumulator that takes (index, Resp&&)
// and finishes, as an rvalue, into a value.
template <class M, class Resp>
concept merge_for = requires(M const& m) { m.template accumulator<Resp>(); } &&
                    requires(accumulator_t<M, Resp>& acc, std::size_t shard, Resp&& r) {
                      acc.add(shard, std::move(r));
                      { std::move(acc).finish() } -> detail::not_void;
                    };

// What merging answers of type Resp with M produces.
template <class M, class Resp>
  requires merge_for<M, Resp>
using merge_result_t =
    std::remove_cvref_t<decltype(std::declval<accumulator_t<M, Resp>&&>().finish())>;

// An accumulator that can tell when later answers no longer matter: `acc.settled(f)`, asked
// after answers are added, with every shard whose index is below f already answered or
// failed, is true when no answer from a shard at or after f could change finish()'s
// result — as for a LIMIT without ORDER BY, which keeps the first rows in shard order.
// The gather then stops waiting for those shards and cancels them: they are counted as
// pruned (not targeted), and their answers, if any still arrive, are not added. Once true
// it must stay true for any larger f. Example: sg::query(sg::limit(n)) (query/query.hpp).
template <class Acc>
concept settling_accumulator = requires(Acc& acc, std::size_t frontier) {
  { acc.settled(frontier) } -> std::same_as<bool>;
};

// M is a merge that is also the request it merges: a typed query (sg::query(...)), whose
// type is its shape and whose value carries the run-time parameters both halves need.
// A pipeline ending in sg::gather(m) for such an M runs m when called without a request
// (pipe(), pipe.async(token)); called with a request of type M it builds its merge from
// that request, so the shards and the coordinator always run the same query; a request
// that is a request_merge of another type is refused at compile time.
template <class M>
concept request_merge = requires { typename M::request_merge_tag; };

namespace detail {

// The merge a gather builds its accumulator from: the request itself when the merge is a
// request_merge (a typed query) and the request is of its type, else the pipeline's merge.
template <class Merge, class Req>
constexpr decltype(auto) merge_for_request(Merge const& merge, Req const& request) noexcept {
  if constexpr (request_merge<Merge> && std::is_same_v<Req, Merge>)
    return (request);
  else
    return (merge);
}

// `m(responses)`: feeds answer i of the range as shard i's. Answers are moved from an
// rvalue range and copied from an lvalue one.
template <class M, std::ranges::input_range Responses>
  requires merge_for<M, std::ranges::range_value_t<Responses>>
constexpr auto merge_all(M const& m, Responses&& responses) {
  using resp = std::ranges::range_value_t<Responses>;
  auto acc = m.template accumulator<resp>();
  std::size_t shard = 0;
  for (auto&& r : responses) acc.add(shard++, resp(forward_element<Responses>(r)));
  return std::move(acc).finish();
}

}  // namespace detail
}  // namespace sg
