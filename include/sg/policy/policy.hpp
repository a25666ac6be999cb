// sg/policy/policy.hpp — what a policy is.
//
// A policy changes how the shards of one request are called or when the gather counts as
// done; policies are given to `sg::with(...)`, between sg::scatter and sg::gather. Each
// policy names its kind with a nested `policy_tag`; a pipeline takes at most one policy of
// each kind. A policy with a `validate()` member has it called by sg::with, which is where
// a bad setting is reported (std::invalid_argument), not at the first request.
// Example: tests/policy/partial.cpp.
#pragma once

namespace sg {

// Kinds of policy. Later kinds: retry, timeout, deadline, breaker, hedge, budget.
struct completion_rule_tag {};

template <class P>
concept policy = requires { typename P::policy_tag; };

}  // namespace sg
