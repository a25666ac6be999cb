// sg/shard.hpp — what a shard is, how sg calls one, and what a set of shards is.
//
// A shard is any type that answers a request; sg never asks it to inherit anything.
// `sg::execute(s, req)` finds the answer, in this order:
//   1. s.execute(req)          — a member function;
//   2. execute(s, req)         — a free function found by argument-dependent lookup;
//   3. s(req)                  — the shard is itself callable (a lambda, a std::function);
//   4. req(s)                  — the request is a function of the shard's data, so plain
//                                data such as a std::vector<Row> is a shard.
// A shard answers with a value, or with an expected-like value (has_value(), operator*,
// error() convertible to std::error_code: boost::system::result, std::expected, …) whose
// error is recorded as that shard's failure without an exception.
//
// Async shards (sg::async_shard_for) follow Asio: s.async_execute(req, token) completes
// with void(error_code, Resp), or void(std::exception_ptr, Resp) to say what failed. Examples: examples/quickstart.cpp, tests/shard.cpp.
#pragma once

#include <sg/detail/type_traits.hpp>

#include <boost/asio/async_result.hpp>
#include <boost/hana/at.hpp>
#include <boost/hana/ext/std/tuple.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/range.hpp>
#include <boost/hana/size.hpp>
#include <boost/hana/tuple.hpp>

#include <concepts>
#include <cstddef>
#include <exception>
#include <functional>
#include <ranges>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>

namespace sg {

namespace detail {

// --- the execute customization point --------------------------------------------------
namespace execute_cpo {

// Poison pill: unqualified `execute(s, req)` below finds only ADL candidates, never
// sg::execute itself.
void execute() = delete;

template <class S, class Req>
concept has_member = requires(S& s, Req const& req) { s.execute(req); };

template <class S, class Req>
concept has_adl = requires(S& s, Req const& req) { execute(s, req); };

template <class S, class Req>
concept is_callable_shard = std::invocable<S&, Req const&>;

template <class S, class Req>
concept is_request_function = std::invocable<Req const&, S&>;

template <class S, class Req>
concept any_way = has_member<S, Req> || has_adl<S, Req> || is_callable_shard<S, Req> ||
                  is_request_function<S, Req>;

struct fn {
  template <class S, class Req>
    requires any_way<S, Req>
  constexpr decltype(auto) operator()(S& s, Req const& req) const {
    if constexpr (has_member<S, Req>)
      return s.execute(req);
    else if constexpr (has_adl<S, Req>)
      return execute(s, req);
    else if constexpr (is_callable_shard<S, Req>)
      return std::invoke(s, req);
    else
      return std::invoke(req, s);
  }

  // Not a constraint failure but a sentence, for callers who use sg::execute directly.
  template <class S, class Req>
    requires(!any_way<S, Req>)
  void operator()(S&, Req const&) const {
    static_assert(always_false<S>,
                  "sg::execute: S is not a shard for Req: no s.execute(req), no "
                  "execute(s, req) found by ADL, S is not callable with req, and req is "
                  "not callable with s");
  }
};

}  // namespace execute_cpo

// --- expected-like answers ---------------------------------------------------------------
template <class R>
concept expected_like = requires(R& r) {
  { r.has_value() } -> std::convertible_to<bool>;
  *std::move(r);
  { r.error() } -> std::convertible_to<std::error_code>;
};

template <class R>
struct unwrapped {
  using type = R;
};
template <expected_like R>
struct unwrapped<R> {
  using type = std::remove_cvref_t<decltype(*std::declval<R&&>())>;
};

}  // namespace detail

// The customization-point object. Returns exactly what the shard returns (an
// expected-like value is not unwrapped here; the pipeline does that).
inline namespace cpo {
inline constexpr detail::execute_cpo::fn execute{};
}

// S answers Req synchronously: sg::execute(s, req) is valid for an lvalue s and a const
// request, and returns a value (not void).
template <class S, class Req>
concept shard_for = detail::execute_cpo::any_way<S, Req> && requires(S& s, Req const& req) {
  { sg::execute(s, req) } -> detail::not_void;
};

// The answer a shard gives to Req, as the merge receives it: decayed, and unwrapped when
// the shard returns an expected-like value.
template <class S, class Req>
  requires shard_for<S, Req>
using response_t = typename detail::unwrapped<
    std::remove_cvref_t<decltype(sg::execute(std::declval<S&>(), std::declval<Req const&>()))>>::type;

// --- async shards --------------------------------------------------------------------------
namespace detail {

// A completion token that starts nothing: passed in an unevaluated context, it makes an
// Asio-style async_execute reveal its completion signature through its return type.
struct signature_probe {};

template <class... Signatures>
struct probed_signature {};

template <class Sig>
struct async_response_of {};
template <class Ec, class Resp>
  requires std::convertible_to<Ec, std::error_code> || std::same_as<std::remove_cvref_t<Ec>, std::exception_ptr>
struct async_response_of<probed_signature<void(Ec, Resp)>> {
  using type = std::remove_cvref_t<Resp>;
};

template <class S, class Req>
struct async_response {};
// Asio style: the return type reveals the signature.
template <class S, class Req>
  requires requires { typename async_response_of<decltype(std::declval<S&>().async_execute(
               std::declval<Req const&>(), signature_probe{}))>::type; }
struct async_response<S, Req> {
  using type = typename async_response_of<decltype(std::declval<S&>().async_execute(
      std::declval<Req const&>(), signature_probe{}))>::type;
};
// Plain-callback style: the shard names its answer type.
template <class S, class Req>
  requires(!requires {
    typename async_response_of<decltype(std::declval<S&>().async_execute(
        std::declval<Req const&>(), signature_probe{}))>::type;
  }) && requires { typename S::response_type; }
struct async_response<S, Req> {
  using type = typename S::response_type;
};

}  // namespace detail

// S answers Req asynchronously, Asio style: s.async_execute(req, token) is an
// asynchronous operation whose completion signature is void(error_code, Resp) (std:: or
// boost::system::error_code) or void(std::exception_ptr, Resp) — an exception carries
// its words into the shard's failure (a std::system_error its code too) — or S names
// Resp as S::response_type.
template <class S, class Req>
concept async_shard_for = requires { typename detail::async_response<S, Req>::type; };

template <class S, class Req>
  requires async_shard_for<S, Req>
using async_response_t = typename detail::async_response<S, Req>::type;

// --- shard sets ------------------------------------------------------------------------------
// A shard set is a forward range of shards (std::vector, std::array, std::span, a range-v3
// view: one shard type, runtime count) or a std::tuple / boost::hana::tuple of shards of
// different types (compile-time count). Shard i is the i-th element.
namespace detail {

template <class T>
inline constexpr bool is_shard_tuple = false;
template <class... Ts>
inline constexpr bool is_shard_tuple<std::tuple<Ts...>> = true;
template <class... Ts>
inline constexpr bool is_shard_tuple<boost::hana::tuple<Ts...>> = true;

template <class Set>
concept shard_range = std::ranges::forward_range<Set>;

template <class Set>
concept shard_tuple = !shard_range<Set> && is_shard_tuple<std::remove_cvref_t<Set>>;

template <class Set>
concept shard_set = shard_range<Set> || shard_tuple<Set>;

template <class Set>
struct tuple_size_of;
template <template <class...> class Tuple, class... Ts>
struct tuple_size_of<Tuple<Ts...>> : std::integral_constant<std::size_t, sizeof...(Ts)> {};

// The type of shard I of a tuple set, with the set's constness.
template <class Set, std::size_t I>
using tuple_shard_t = std::remove_reference_t<decltype(boost::hana::at_c<I>(std::declval<Set&>()))>;

template <class Set, std::size_t N = tuple_size_of<std::remove_cv_t<Set>>::value>
using tuple_indices = std::make_index_sequence<N>;

template <class Set, class Req, class Seq = tuple_indices<Set>>
inline constexpr bool tuple_all_shards = false;
template <class Set, class Req, std::size_t... I>
inline constexpr bool tuple_all_shards<Set, Req, std::index_sequence<I...>> =
    (shard_for<tuple_shard_t<Set, I>, Req> && ...);

template <class Set, class Req, class Seq = tuple_indices<Set>>
struct tuple_common_response {};
template <class Set, class Req, std::size_t... I>
  requires(shard_for<tuple_shard_t<Set, I>, Req> && ...) &&
          requires { typename std::common_type<response_t<tuple_shard_t<Set, I>, Req>...>::type; }
struct tuple_common_response<Set, Req, std::index_sequence<I...>> {
  using type = std::common_type_t<response_t<tuple_shard_t<Set, I>, Req>...>;
};

}  // namespace detail

// Every shard of Set answers Req synchronously.
template <class Set, class Req>
concept shard_set_for =
    (detail::shard_range<Set> && shard_for<std::remove_reference_t<std::ranges::range_reference_t<Set>>, Req>) ||
    (detail::shard_tuple<Set> && detail::tuple_all_shards<Set, Req>);

// The common answer type of a shard set: the response of its shard type, or for a tuple
// the std::common_type of its shards' responses (each answer is converted to it).
template <class Set, class Req>
struct set_response {};
template <class Set, class Req>
  requires detail::shard_range<Set> && shard_set_for<Set, Req>
struct set_response<Set, Req> {
  using type = response_t<std::remove_reference_t<std::ranges::range_reference_t<Set>>, Req>;
};
template <class Set, class Req>
  requires detail::shard_tuple<Set> && shard_set_for<Set, Req>
struct set_response<Set, Req> : detail::tuple_common_response<Set, Req> {};

template <class Set, class Req>
using set_response_t = typename set_response<Set, Req>::type;

// The shards of Set answer Req with one (common) type.
template <class Set, class Req>
concept has_set_response = requires { typename set_response<Set, Req>::type; };

namespace detail {

// Number of shards in a set. O(1) for sized ranges and tuples, O(n) for other forward
// ranges.
template <shard_set Set>
constexpr std::size_t shard_count(Set& set) {
  if constexpr (shard_tuple<Set>)
    return tuple_size_of<std::remove_cv_t<Set>>::value;
  else
    return static_cast<std::size_t>(std::ranges::distance(set));
}

// Calls f(index, shard) for every shard, in index order; for a tuple, with each shard's
// own type (expanded at compile time).
template <shard_set Set, class F>
constexpr void for_each_shard(Set& set, F&& f) {
  if constexpr (shard_tuple<Set>) {
    constexpr std::size_t n = tuple_size_of<std::remove_cv_t<Set>>::value;
    boost::hana::for_each(boost::hana::make_range(boost::hana::size_c<0>, boost::hana::size_c<n>),
                          [&](auto i) { f(std::size_t{i}, boost::hana::at(set, i)); });
  } else {
    std::size_t i = 0;
    for (auto&& shard : set) f(i++, shard);
  }
}

}  // namespace detail
}  // namespace sg

// Lets sg::async_shard_for read an Asio-style operation's completion signature.
template <class... Signatures>
struct boost::asio::async_result<sg::detail::signature_probe, Signatures...> {
  using return_type = sg::detail::probed_signature<Signatures...>;
  template <class Initiation, class RawToken, class... Args>
  static return_type initiate(Initiation&&, RawToken&&, Args&&...) {
    return {};
  }
};
