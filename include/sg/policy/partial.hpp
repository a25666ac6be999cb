// sg/policy/partial.hpp — sg::partial: accept an answer from only some of the shards.
//
//   auto pipe = sg::scatter(shards)
//             | sg::with(sg::partial{.min_success_ratio = 0.75})
//             | sg::gather(sg::merge::concat());
//
// Without it a gather succeeds only when every targeted shard answered. With it, a
// gather succeeds when at least one shard answered and completeness.ratio() (succeeded
// over targeted) is at least min_success_ratio; the answer is then flagged incomplete in
// `completeness` and the missing shards are listed in `failures`. With no shard answering
// the gather fails whatever the ratio (as Elasticsearch's "all shards failed").
// Example: examples/quickstart.cpp.
#pragma once

#include <sg/policy/policy.hpp>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <tuple>

namespace sg {

struct partial {
  using policy_tag = completion_rule_tag;

  // In [0, 1]; 1 means every shard must answer (the default rule).
  double min_success_ratio = 1.0;

  // pipe.async: complete as soon as the rule can no longer be met — when the shards still
  // working could not make up the ratio even if all of them answered — cancelling them
  // (each recorded as a failure, sg::errc::cancelled, "the completion rule could no longer
  // be met") instead of waiting; the answers merged so far are kept in the result, and
  // the error is sg::errc::partial_result as it would have been. The gather still
  // completes only after the cancelled shards have (children first). Without it (the
  // default) every shard is waited for. The synchronous pipe(request) calls every shard.
  bool fail_fast = false;

  // Throws std::invalid_argument unless min_success_ratio is in [0, 1] (NaN is not).
  void validate() const {
    if (!(min_success_ratio >= 0.0 && min_success_ratio <= 1.0))
      throw std::invalid_argument("sg::partial: min_success_ratio must be in [0, 1], got " +
                                  std::to_string(min_success_ratio));
  }

  // Whether a gather with this completeness may be returned as a success.
  constexpr bool accepts(std::size_t succeeded, std::size_t targeted) const noexcept {
    if (succeeded == targeted) return succeeded != 0;  // every shard answered
    return succeeded != 0 &&
           static_cast<double>(succeeded) / static_cast<double>(targeted) >= min_success_ratio;
  }
};

namespace detail {
// The completion rule among a pipeline's policies; every shard must answer without one.
template <class... Ps>
constexpr partial completion_rule(std::tuple<Ps...> const& policies) {
  auto rule = policy_of<completion_rule_tag>(policies);
  if constexpr (present<decltype(rule)>)
    return rule;
  else
    return partial{};
}
}  // namespace detail

}  // namespace sg
