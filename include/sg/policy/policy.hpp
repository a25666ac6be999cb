// sg/policy/policy.hpp — what a policy is.
//
// A policy changes how the shards of one request are called or when the gather counts as
// done; policies are given to `sg::with(...)`, between sg::scatter and sg::gather. Each
// policy names its kind with a nested `policy_tag`; a pipeline takes at most one policy of
// each kind. A policy with a `validate()` member has it called by sg::with, which is where
// a bad setting is reported (std::invalid_argument), not at the first request.
// Example: tests/policy/partial.cpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>

namespace sg {

// Kinds of policy (the others: deadline_tag and timeout_tag in time.hpp, retry_tag in
// retry.hpp, breaker_tag in circuit_breaker.hpp, hedge_tag in hedge.hpp, observe_tag in
// observe.hpp, collect_stats_tag in stats.hpp).
struct completion_rule_tag {};

// The kind of an attempt layer: a policy of the user's own that wraps each attempt on a
// shard (sg/policy/layer.hpp). A pipeline takes any number of them, applied in the order
// given, outermost first. Async only: a layer is an asynchronous operation.
struct layer_tag {
  static constexpr bool async_only = true;
};

template <class P>
concept policy = requires { typename P::policy_tag; };

namespace events {
// Why an attempt started: a shard's first, a retry after a failure, or a hedge beside a
// slow attempt. Observers (sg/policy/observe.hpp) and attempt layers both see it.
enum class attempt_kind : unsigned char { first, retry, hedge };

constexpr char const* to_string(attempt_kind k) noexcept {
  switch (k) {
    case attempt_kind::first: return "first";
    case attempt_kind::retry: return "retry";
    case attempt_kind::hedge: return "hedge";
  }
  return "?";
}
}  // namespace events

namespace detail {

// Whether the engine applies policies of kind Tag. Each of sg's policy headers says so of
// its own kind; a policy of any other kind is refused by sg::with (it would be ignored),
// unless it is an attempt layer.
template <class Tag>
inline constexpr bool engine_kind = false;
template <>
inline constexpr bool engine_kind<completion_rule_tag> = true;
template <>
inline constexpr bool engine_kind<layer_tag> = true;

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

// The clock a policy keeps time on (its timer's, or its own), or void.
template <class P>
struct policy_clock {
  using type = void;
};
template <class P>
  requires requires { typename P::timer_type::clock_type; }
struct policy_clock<P> {
  using type = typename P::timer_type::clock_type;
};
template <class P>
  requires requires { typename P::clock_type; }
struct policy_clock<P> {
  using type = typename P::clock_type;
};

template <class P>
using policy_clock_t = typename policy_clock<P>::type;

// The first clock among the policies', or the steady clock when none keeps time.
template <class... Cs>
struct first_clock {
  using type = std::chrono::steady_clock;
};
template <class C, class... Cs>
struct first_clock<C, Cs...> {
  using type = std::conditional_t<std::is_void_v<C>, typename first_clock<Cs...>::type, C>;
};

// The clock a gather with these policies keeps time on, and whether they all agree on it.
template <class... Ps>
using gather_clock_t = typename first_clock<policy_clock_t<Ps>...>::type;
template <class... Ps>
inline constexpr bool one_clock =
    (true && ... && (std::is_void_v<policy_clock_t<Ps>> || std::is_same_v<policy_clock_t<Ps>, gather_clock_t<Ps...>>));

}  // namespace detail

// Policies' settings: a duration that must be positive, or std::invalid_argument naming
// the policy.
namespace detail {
template <class Duration>
void check_positive(Duration d, char const* who) {
  if (d <= Duration::zero())
    throw std::invalid_argument(std::string(who) + ": the duration must be positive, got " +
                                std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count()) +
                                " ns");
}
}  // namespace detail

}  // namespace sg
