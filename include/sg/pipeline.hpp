// sg/pipeline.hpp — scatter | route | with | on | gather: one request to many shards,
// one answer.
//
//   auto pipe = sg::scatter(shards)                              // a set of shards
//             | sg::route(partitioner, key_of_request)           // which shards (optional)
//             | sg::with(sg::partial{.min_success_ratio = 0.5})  // policies (optional)
//             | sg::on(pool)                                     // executor (optional)
//             | sg::gather(sg::merge::concat());                 // the merge
//   sg::gathered r = pipe(request);             // throws sg::scatter_error on failure
//   sg::gathered s = pipe(request, ec);         // or reports it in ec
//
// A pipeline is a regular value: cheap to copy (it holds a reference to an lvalue shard
// set, or owns an rvalue one and any view), and callable from several threads at once if
// its shards are. The result type is deduced: gathered<merge_result_t<Merge, Resp>>, Resp
// being the shards' (common) answer type. Examples: examples/quickstart.cpp,
// docs/concepts.md.
#pragma once

#include <sg/detail/plan_text.hpp>
#include <sg/detail/type_traits.hpp>
#include <sg/exec/on.hpp>
#include <sg/exec/scatter.hpp>
#include <sg/gathered.hpp>
#include <sg/merge/protocol.hpp>
#include <sg/policy/partial.hpp>
#include <sg/policy/policy.hpp>
#include <sg/policy/stats.hpp>
#include <sg/route.hpp>
#include <sg/shard.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <ranges>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

namespace sg {

namespace detail {

// How a pipeline holds its shard set: by reference to an lvalue, by value otherwise.
template <class Set>
struct shard_ref {
  Set* set;
  constexpr Set& get() const noexcept { return *set; }
};
template <class Set>
struct shard_own {
  Set set;
  constexpr Set const& get() const noexcept { return set; }
};

struct no_merge {};
struct no_router {};

template <class... Ps>
struct with_stage {
  std::tuple<Ps...> policies;
};

template <class M>
struct gather_stage {
  M merge;
};

template <class P, class... Ps>
inline constexpr std::size_t count_kind =
    (std::size_t{0} + ... + std::is_same_v<typename P::policy_tag, typename Ps::policy_tag>);

// At most one policy of each kind; attempt layers (sg::layer_tag) stack, any number.
template <class... Ps>
inline constexpr bool distinct_kinds =
    ((std::is_same_v<typename Ps::policy_tag, layer_tag> || count_kind<Ps, Ps...> == 1) && ...);

// A policy only pipe.async can apply (a time limit: a synchronous call cannot be
// interrupted).
template <class P>
concept async_only_policy = requires { P::policy_tag::async_only; };

template <class Tuple>
inline constexpr bool has_async_only = false;
template <class... Ps>
inline constexpr bool has_async_only<std::tuple<Ps...>> = (async_only_policy<Ps> || ...);

template <class Tuple>
inline constexpr bool distinct_kinds_of = false;
template <class... Ps>
inline constexpr bool distinct_kinds_of<std::tuple<Ps...>> = distinct_kinds<Ps...>;


// The synchronous gather's statistics (sg::collect_stats): wraps its sink and notes, for
// each shard, when the coordinator took its answer or failure, and the time the merge spent
// adding it and finishing. One attempt a shard (retries and hedges are pipe.async's).
template <class R, class Sink>
class stats_sink {
  using clock = std::chrono::steady_clock;

 public:
  template <class Merge>
  stats_sink(Sink& sink, targets const& t, Merge const& merge) : sink_(&sink), start_(clock::now()) {
    stats_.shards.resize(t.count());
    for (std::size_t j = 0; j < t.count(); ++j) {
      stats_.shards[j].shard = t[j];
      stats_.shards[j].attempts = 1;
    }
    if constexpr (plan_text<Merge>::available) stats_.plan = plan_text<Merge>::of(merge);
  }

  void take_value(std::size_t shard, R&& value) {
    shard_stats& s = at(shard);
    s.latency = since_start();
    std::optional<std::size_t> rows;
    if constexpr (std::ranges::sized_range<R>) rows = static_cast<std::size_t>(std::ranges::size(value));
    const std::size_t failed_before = sink_->failure_count();
    const auto t0 = clock::now();
    sink_->take_value(shard, std::move(value));
    stats_.merge_time += clock::now() - t0;
    if (sink_->failure_count() == failed_before) {  // else the merge rejected the answer
      s.outcome = events::attempt_outcome::answered;
      s.rows = rows;
    }
  }
  void take_failure(std::size_t shard, failure_info&& f, unsigned attempts = 1) {
    shard_stats& s = at(shard);
    s.latency = since_start();
    s.attempts = attempts;
    sink_->take_failure(shard, std::move(f), attempts);
  }
  static constexpr bool can_settle = Sink::can_settle;
  bool settled(std::size_t frontier, partial const& rule) { return sink_->settled(frontier, rule); }
  void take_unneeded(std::size_t shard, unsigned attempts) {  // not called, or not waited for
    shard_stats& s = at(shard);
    s.attempts = attempts;
    s.outcome = events::attempt_outcome::cancelled;
    sink_->take_unneeded(shard, attempts);
  }
  auto finish(std::size_t targeted, std::size_t pruned, partial const& rule, std::error_code& ec) && {
    const auto t0 = clock::now();
    auto g = std::move(*sink_).finish(targeted, pruned, rule, ec);
    stats_.merge_time += clock::now() - t0;
    stats_.elapsed = since_start();
    g.stats = std::make_shared<query_stats const>(std::move(stats_));
    return g;
  }

 private:
  shard_stats& at(std::size_t shard) {
    return *std::lower_bound(stats_.shards.begin(), stats_.shards.end(), shard,
                             [](shard_stats const& s, std::size_t i) { return s.shard < i; });
  }
  std::chrono::nanoseconds since_start() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - start_);
  }

  Sink* sink_;
  clock::time_point start_;
  query_stats stats_;
};

}  // namespace detail

template <class Holder, class Router, class Exec, class Policies, class Merge>
class pipeline;

namespace detail {
// The engine behind pipe.async for a shard set, a request type and the policies: the
// pipeline's extension point, defined by <sg/exec/async.hpp> (included by <sg/sg.hpp>),
// so that this header needs no Asio. Without it, pipe.async says so in a sentence. The
// definition gives `set_traits` (::type, the answer type; ::stable_shards), `checks`
// (::same_clock, ::hedge_ok, ::layers_ok) and `initiation<R, Acc, Pipeline>`.
template <class Set, class Req, class Policies, class = void>
struct async_engine;
}  // namespace detail

namespace detail {
template <class T>
inline constexpr bool is_stage = false;
template <class... Ps>
inline constexpr bool is_stage<with_stage<Ps...>> = true;
template <class M>
inline constexpr bool is_stage<gather_stage<M>> = true;
template <class E>
inline constexpr bool is_stage<on_stage<E>> = true;
template <class P, class F>
inline constexpr bool is_stage<route_stage<P, F>> = true;
}  // namespace detail

// The composed pipeline. Built only by sg::scatter(...) and `|`; see the top of the file.
template <class Holder, class Router, class Exec, class Policies, class Merge>
class pipeline {
 public:
  // The shard set as the pipeline sees it (const when the pipeline owns it).
  using set_type = std::remove_reference_t<decltype(std::declval<Holder const&>().get())>;
  using merge_type = Merge;

  constexpr pipeline(Holder holder, Router router, Exec exec, Policies policies, Merge merge)
      : holder_(std::move(holder)),
        router_(std::move(router)),
        exec_(std::move(exec)),
        policies_(std::move(policies)),
        merge_(std::move(merge)) {}

  // Sends `request` to every shard, merges the answers. Throws sg::scatter_error when no
  // shard is targeted or the completion rule is not met; the error carries the partial
  // result. Exceptions thrown by the merge's finish() propagate unchanged.
  // Over async shards (or a set that mixes them with sync ones) this is pipe.async,
  // waited for: every policy applies, and the calling thread runs the pipeline's
  // io_context (sg::on(io.get_executor())) until the gather completes — so a program with
  // no event loop of its own calls async shards in one line. Needs <sg/exec/async.hpp>
  // (or <sg/sg.hpp>); not from a handler running on that io_context (use pipe.async there).
  // (A stage is never a request: the constraint keeps `pipe | stage` unambiguous when
  // another library's operator| asks whether the pipeline is callable with the stage.)
  template <class Req>
    requires(!detail::is_stage<Req>)
  auto operator()(Req const& request) const {
    if constexpr (waits_for_async<Req>()) {
      if constexpr (check_waiting<Req>()) {
        std::error_code ec;
        auto result = detail::async_engine<set_type, Req, Policies>::wait(*this, request, ec);
        if (ec) throw scatter_error(ec, std::move(result));
        return result;
      }
    } else if constexpr (check<Req>()) {
      std::error_code ec;
      auto result = run(request, ec);
      if (ec) throw scatter_error(ec, std::move(result));
      return result;
    }
  }

  // A pipeline that ends in sg::gather(q) for a typed query q (an sg::request_merge) runs
  // q: pipe() is pipe(q), so the query is given once.
  auto operator()() const
    requires request_merge<Merge>
  {
    return (*this)(merge_);
  }

  // As above, but reports the failed rule in `ec` (cleared on success) and returns the
  // partial result instead of throwing.
  template <class Req>
    requires(!detail::is_stage<Req>)
  auto operator()(Req const& request, std::error_code& ec) const {
    if constexpr (waits_for_async<Req>()) {
      if constexpr (check_waiting<Req>())
        return detail::async_engine<set_type, Req, Policies>::wait(*this, request, ec);
    } else if constexpr (check<Req>()) {
      return run(request, ec);
    }
  }

  // Sends `request` to every shard asynchronously and merges the answers as they arrive:
  // an Asio operation with completion signature void(std::error_code, sg::gathered<R>),
  // for any completion token (a callback, asio::use_future, use_awaitable, deferred).
  // `ec` is set as pipe(request, ec) sets it, and the (partial) result is delivered with
  // it; since the code is a std::error_code, use_future and use_awaitable give a
  // std::tuple<std::error_code, gathered<R>> rather than throw, so a partial result is
  // never lost in an exception. Needs <sg/exec/async.hpp> (included by <sg/sg.hpp>); see that header for threads,
  // cancellation and lifetimes.
  template <class Req, class Token>
    requires(!detail::is_stage<Req>)
  auto async(Req const& request, Token&& token) const {
    if constexpr (check_async<Req>()) {
      using engine = detail::async_engine<set_type, Req, Policies>;
      using R = typename engine::set_traits::type;
      using T = merge_result_t<Merge, R>;
      return boost::asio::async_initiate<Token, void(std::error_code, gathered<T>)>(
          typename engine::template initiation<R, accumulator_t<Merge, R>, pipeline>{this}, token, request);
    }
  }

  // pipe.async(token) for a pipeline that ends in sg::gather(q), q a typed query: runs q.
  template <class Token>
    requires request_merge<Merge>
  auto async(Token&& token) const {
    return async(merge_, std::forward<Token>(token));
  }

  // --- composition (hidden friends, found through the pipeline) ---------------------
  template <class... Ps>
  friend constexpr auto operator|(pipeline p, detail::with_stage<Ps...> w) {
    static_assert(std::is_same_v<Merge, detail::no_merge>,
                  "sg::with(...) must come before sg::gather(...): scatter | with | gather");
    using all = decltype(std::tuple_cat(std::move(p.policies_), std::move(w.policies)));
    static_assert(detail::distinct_kinds_of<all>,
                  "sg::with: two policies of the same kind (e.g. two sg::partial); give each "
                  "kind once (attempt layers excepted)");
    return pipeline<Holder, Router, Exec, all, Merge>(
        std::move(p.holder_), std::move(p.router_), std::move(p.exec_),
        std::tuple_cat(std::move(p.policies_), std::move(w.policies)), std::move(p.merge_));
  }

  template <class E>
  friend constexpr auto operator|(pipeline p, detail::on_stage<E> o) {
    static_assert(std::is_same_v<Merge, detail::no_merge>,
                  "sg::on(...) must come before sg::gather(...): scatter | on | gather");
    static_assert(std::is_same_v<Exec, inline_executor>, "sg::on: a pipeline runs on one executor");
    return pipeline<Holder, Router, E, Policies, Merge>(
        std::move(p.holder_), std::move(p.router_), std::move(o.executor), std::move(p.policies_),
        std::move(p.merge_));
  }

  template <class M>
  friend constexpr auto operator|(pipeline p, detail::gather_stage<M> g) {
    static_assert(std::is_same_v<Merge, detail::no_merge>,
                  "sg::gather: the pipeline already has a merge; give one sg::gather(...)");
    return pipeline<Holder, Router, Exec, Policies, M>(std::move(p.holder_), std::move(p.router_),
                                                       std::move(p.exec_), std::move(p.policies_),
                                                       std::move(g.merge));
  }

  template <class P, class F>
  friend constexpr auto operator|(pipeline p, detail::route_stage<P, F> r) {
    static_assert(std::is_same_v<Merge, detail::no_merge>,
                  "sg::route(...) must come before sg::gather(...): scatter | route | gather");
    static_assert(std::is_same_v<Router, detail::no_router>,
                  "sg::route: a pipeline takes one route");
    using routed = detail::route_stage<P, F>;
    return pipeline<Holder, routed, Exec, Policies, Merge>(
        std::move(p.holder_), std::move(r), std::move(p.exec_), std::move(p.policies_),
        std::move(p.merge_));
  }

  constexpr Merge const& merge() const noexcept { return merge_; }
  constexpr Policies const& policies() const noexcept { return policies_; }
  constexpr Exec const& executor() const noexcept { return exec_; }
  constexpr set_type& shards() const noexcept { return holder_.get(); }

  // The shards `request` goes to: every shard, or those the route picks (sg::route).
  template <class Req>
  detail::targets targets_of(Req const& request) const {
    return route(request, detail::shard_count(holder_.get()));
  }

 private:
  template <class, class, class, class, class>
  friend class pipeline;

  // What pipe.async needs before anything else is instantiated, each with one sentence.
  template <class Req>
  static consteval bool check_async() {
    using engine = detail::async_engine<set_type, Req, Policies>;
    if constexpr (!requires { sizeof(engine); }) {
      static_assert(detail::always_false<Req>,
                    "sg: pipe.async needs #include <sg/exec/async.hpp> (or <sg/sg.hpp>)");
      return false;
    } else if constexpr (!check_merge_and_route<Req>()) {
      return false;
    } else if constexpr (!std::copy_constructible<Req>) {
      static_assert(detail::always_false<Req>,
                    "sg: pipe.async copies the request into the operation: Req must be copyable");
      return false;
    } else if constexpr (!engine::set_traits::stable_shards) {
      static_assert(detail::always_false<Req>,
                    "sg::scatter: pipe.async needs shards that outlive the call: a range whose "
                    "elements are references (a container, not a view that makes shards)");
      return false;
    } else if constexpr (!requires { typename engine::set_traits::type; }) {
      static_assert(detail::always_false<Req>,
                    "sg::scatter: a shard in the set answers Req neither asynchronously "
                    "(s.async_execute(req, token)) nor synchronously (sg::shard_for), or the "
                    "shards of a tuple answer with types that have no common type");
      return false;
    } else if constexpr (!engine::checks::same_clock) {
      static_assert(detail::always_false<Req>,
                    "sg::with: the policies keep time on different clocks (their timers' "
                    "clock_type, the breaker registry's clock); give them one clock");
      return false;
    } else if constexpr (!engine::checks::hedge_ok) {
      static_assert(detail::always_false<Req>,
                    "sg::hedge needs async shards (s.async_execute(req, token)), or replica sets "
                    "of them: a synchronous call cannot be cancelled when another attempt wins");
      return false;
    } else if constexpr (!engine::checks::layers_ok) {
      static_assert(detail::always_false<Req>,
                    "sg::with: an attempt layer (policy_tag sg::layer_tag) cannot be called as "
                    "layer(ctx, request, next, done) with the pipeline's request (sg/policy/layer.hpp)");
      return false;
    } else {
      return check_merge_takes<Req, typename engine::set_traits::type>();
    }
  }

  template <class Req>
  static consteval bool routable() {
    if constexpr (std::is_same_v<Router, detail::no_router>)
      return true;
    else
      return std::invocable<decltype(std::declval<Router const&>().key_of) const&, Req const&>;
  }

  // Whether pipe(request) waits for pipe.async: a shard of the set is not a sync shard for
  // Req, but every one can be called asynchronously (sg/exec/async.hpp is included).
  template <class Req>
  static consteval bool waits_for_async() {
    if constexpr (shard_set_for<set_type, Req>) {
      return false;
    } else if constexpr (!requires { sizeof(detail::async_engine<set_type, Req, Policies>); }) {
      return false;
    } else {
      return requires { typename detail::async_engine<set_type, Req, Policies>::set_traits::type; };
    }
  }

  // pipe(request) over async shards: what pipe.async checks, and an executor to wait on.
  template <class Req>
  static consteval bool check_waiting() {
    if constexpr (std::is_same_v<Exec, inline_executor>) {
      static_assert(detail::always_false<Req>,
                    "sg: pipe(request) over async shards runs pipe.async and waits: give the pipeline "
                    "the executor the shards' I/O runs on, sg::on(io.get_executor()), which the call "
                    "then runs until the gather completes");
      return false;
    } else {
      return check_async<Req>();
    }
  }

  // Every misuse stops here with one sentence, before anything else is instantiated.
  template <class Req>
  static consteval bool check() {
    if constexpr (!check_merge_and_route<Req>()) {
      return false;
    } else if constexpr (detail::has_async_only<Policies>) {
      static_assert(detail::always_false<Req>,
                    "sg::deadline and sg::timeout apply to pipe.async(request, token), as do "
                    "sg::retry, sg::hedge, sg::breaker, sg::observe and attempt layers: the "
                    "synchronous pipe(request) cannot interrupt a shard or wait between attempts");
      return false;
    } else if constexpr (!shard_set_for<set_type, Req>) {
      static_assert(detail::always_false<Req>,
                    "sg::scatter: a shard in the set is not a shard for Req (sg::shard_for): "
                    "no s.execute(req), no execute(s, req) found by ADL, s is not callable "
                    "with req, and req is not callable with s");
      return false;
    } else if constexpr (!has_set_response<set_type, Req>) {
      static_assert(detail::always_false<Req>,
                    "sg::scatter: the shards of the tuple answer Req with types that have no "
                    "common type (std::common_type); make them answer one type");
      return false;
    } else {
      return check_merge_takes<Req, set_response_t<set_type, Req>>();
    }
  }

  // The checks both calls share, each with its sentence: a merge, and a request the route
  // can read...
  template <class Req>
  static consteval bool check_merge_and_route() {
    if constexpr (std::is_same_v<Merge, detail::no_merge>) {
      static_assert(detail::always_false<Req>,
                    "sg: the pipeline has no merge: end it with | sg::gather(merge)");
      return false;
    } else if constexpr (request_merge<Merge> && request_merge<Req> && !std::is_same_v<Req, Merge>) {
      static_assert(detail::always_false<Req>,
                    "sg::gather(q): the request is a different query from the one the pipeline "
                    "merges for; a pipeline built for query q runs q: call pipe(), or pipe(q2) with "
                    "a query of q's type");
      return false;
    } else if constexpr (!routable<Req>()) {
      static_assert(detail::always_false<Req>,
                    "sg::route: the key function cannot be called with the request: key_of(req) "
                    "must return a key, sg::key_set, sg::key_range or sg::all_shards");
      return false;
    } else {
      return true;
    }
  }

  // ...and a merge that takes the shards' answers.
  template <class Req, class Resp>
  static consteval bool check_merge_takes() {
    if constexpr (!merge_for<Merge, Resp>) {
      static_assert(detail::always_false<Req>,
                    "sg::gather: the merge cannot take the shards' answer type "
                    "(sg::merge_for): no m.accumulator<Resp>() whose add(index, Resp&&) and "
                    "finish() are valid");
      return false;
    } else {
      return true;
    }
  }

  template <class Req>
  auto run(Req const& request, std::error_code& ec) const {
    using response = set_response_t<set_type, Req>;
    using sink_type = detail::gather_sink<response, accumulator_t<Merge, response>>;
    auto const& merge = detail::merge_for_request(merge_, request);
    sink_type sink(merge);
    set_type& set = holder_.get();
    const detail::targets targets = route(request, detail::shard_count(set));
    const partial rule = detail::completion_rule(policies_);
    if constexpr (detail::present<decltype(detail::policy_of<collect_stats_tag>(std::declval<Policies const&>()))>) {
      detail::stats_sink<response, sink_type> recorder(sink, targets, merge);
      detail::scatter<response>(exec_, set, targets, request, recorder, rule);
      return std::move(recorder).finish(targets.count(), targets.pruned(), rule, ec);
    } else {
      detail::scatter<response>(exec_, set, targets, request, sink, rule);
      return std::move(sink).finish(targets.count(), targets.pruned(), rule, ec);
    }
  }

  template <class Req>
  detail::targets route(Req const& request, std::size_t n) const {
    if constexpr (std::is_same_v<Router, detail::no_router>)
      return detail::targets::all(n);
    else
      return router_.routing.route(std::invoke(router_.key_of, request), n);
  }

  Holder holder_;
  Router router_;
  Exec exec_;
  Policies policies_;
  Merge merge_;
};

namespace detail {

struct scatter_fn {
  template <class Set>
  constexpr auto operator()(Set&& set) const {
    using S = std::remove_cvref_t<Set>;
    if constexpr (!shard_set<S>) {
      static_assert(always_false<Set>,
                    "sg::scatter: the argument is not a shard set: pass a forward range of "
                    "shards (std::vector, std::array, std::span, a range-v3 view) or a "
                    "std::tuple / boost::hana::tuple of shards");
    } else if constexpr (std::is_lvalue_reference_v<Set> &&
                         !(shard_range<S> && std::ranges::view<S>)) {
      using holder = shard_ref<std::remove_reference_t<Set>>;
      return pipeline<holder, no_router, inline_executor, std::tuple<>, no_merge>(holder{&set}, {},
                                                                                  {}, {}, {});
    } else {
      static_assert(shard_set<S const>,
                    "sg::scatter: a shard range the pipeline owns must be iterable when "
                    "const (views such as views::filter are not): pass it as an lvalue");
      using holder = shard_own<S>;
      return pipeline<holder, no_router, inline_executor, std::tuple<>, no_merge>(
          holder{std::forward<Set>(set)}, {}, {}, {}, {});
    }
  }
};

// A policy sg's engine applies: one of sg's kinds, or an attempt layer.
template <class P>
inline constexpr bool applied_policy = engine_kind<typename P::policy_tag>;

struct with_fn {
  template <class... Ps>
  constexpr auto operator()(Ps... policies) const {
    static_assert((policy<Ps> && ...),
                  "sg::with: an argument is not a policy (sg::policy: no nested policy_tag)");
    static_assert((applied_policy<Ps> && ...),
                  "sg::with: a policy is of a kind the engine does not know, so it would be ignored: "
                  "write your own policy as an attempt layer (using policy_tag = sg::layer_tag; "
                  "sg/policy/layer.hpp), or include the header of sg's policy kind");
    static_assert(distinct_kinds<Ps...>,
                  "sg::with: two policies of the same kind (e.g. two sg::partial); give each "
                  "kind once (attempt layers excepted)");
    (
        [&] {
          if constexpr (requires { policies.validate(); }) policies.validate();
        }(),
        ...);
    return with_stage<Ps...>{std::tuple<Ps...>(std::move(policies)...)};
  }
};

struct gather_fn {
  template <class M>
  constexpr auto operator()(M merge) const {
    return gather_stage<M>{std::move(merge)};
  }
};

// A stage on the left of `|` means the pipeline did not start with sg::scatter.
template <class L, class R>
  requires is_stage<L>
auto operator|(L, R) {  // deduced, so the assertion fires before any use of the result
  static_assert(always_false<L>,
                "sg: a pipeline starts with sg::scatter(shards): write sg::scatter(shards) | "
                "sg::with(...) | sg::gather(merge)");
}

}  // namespace detail

// Starts a pipeline over a shard set (a forward range, or a tuple, of shards). An lvalue
// set is referenced and must outlive the pipeline; an rvalue set or a view is owned.
inline constexpr detail::scatter_fn scatter{};

// Adds policies (sg::partial, …) between scatter and gather; validates their settings
// and throws std::invalid_argument on a bad one. At most one policy of each kind.
inline constexpr detail::with_fn with{};

// Ends a pipeline with a merge strategy (sg::merge::concat(), …).
inline constexpr detail::gather_fn gather{};

}  // namespace sg
