// sg/policy/policy.hpp — what a policy is.
//
// A policy changes how the shards of one request are called or when the gather counts as
// done; policies are given to `sg::with(...)`, between sg::scatter and sg::gather. Each
// policy names its kind with a nested `policy_tag`; a pipeline takes at most one policy of
// each kind. A policy with a `validate()` member has it called by sg::with, which is where
// a bad setting is reported (std::invalid_argument), not at the first request.
// Example: tests/policy/partial.cpp.
#pragma once

#include <cstddef>
#include <tuple>
#include <type_traits>

namespace sg {

// Kinds of policy (the others: deadline_tag and timeout_tag in time.hpp, retry_tag in
// retry.hpp). Later kinds: breaker, hedge.
struct completion_rule_tag {};

template <class P>
concept policy = requires { typename P::policy_tag; };

namespace detail {

// What stands for a policy a pipeline does not have.
struct no_policy {
  using timer_type = void;
};

template <class Policy>
inline constexpr bool present = !std::is_same_v<Policy, no_policy>;

// The policy of kind Tag among a pipeline's (at most one of each kind), or no_policy.
template <class Tag, class... Ps>
constexpr auto policy_of(std::tuple<Ps...> const& policies) {
  constexpr std::size_t n = sizeof...(Ps);
  constexpr std::size_t index = [] {
    constexpr bool match[] = {std::is_same_v<typename Ps::policy_tag, Tag>..., false};
    std::size_t i = 0;
    while (i < n && !match[i]) ++i;
    return i;
  }();
  if constexpr (index < n)
    return std::get<index>(policies);
  else
    return no_policy{};
}

}  // namespace detail

}  // namespace sg
