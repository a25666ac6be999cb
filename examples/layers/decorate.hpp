// examples/layers/decorate.hpp — a user's own attempt layer that decorates each request
// before it reaches the shard: a tenant, a trace id, the attempt number. Written only
// against sg's public API (sg/policy/layer.hpp); docs/resilience.md, "Your own layers".
//
//   struct query_request { std::string sql; std::string trace; };
//   auto tag = example::decorate{[](query_request& r, auto const& ctx) {
//     r.trace = "q42/shard" + std::to_string(ctx.shard()) + "/try" + std::to_string(ctx.attempt());
//   }};
//   auto pipe = sg::scatter(shards) | sg::with(sg::retry{}, tag) | sg::on(io.get_executor()) |
//               sg::gather(merge);
//
// `f(request_copy, ctx)` changes a copy of the request for each attempt (retries and
// hedges are decorated anew, with their own attempt number); the gather's request is
// never changed. If f throws, the attempt fails with the exception's words.
#pragma once

#include <sg/policy/layer.hpp>

#include <utility>

namespace example {

template <class F>
struct decorate {
  using policy_tag = sg::layer_tag;
  F f;

  template <class Ctx, class Req, class Next, class Done>
  void operator()(Ctx const& ctx, Req const& request, Next next, Done done) const {
    Req copy = request;
    f(copy, ctx);
    next(copy, std::move(done));  // sg keeps the copy for the attempt
  }
};

template <class F>
decorate(F) -> decorate<F>;

}  // namespace example
