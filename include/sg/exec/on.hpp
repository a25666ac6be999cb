// sg/exec/on.hpp — where the shards of a synchronous pipeline run.
//
// By default every shard runs on the calling thread, one after another in shard order.
// `| sg::on(pool)` runs them in parallel on an executor:
//
//   boost::asio::thread_pool pool{4};          // the user owns the pool
//   auto pipe = sg::scatter(shards) | sg::on(pool) | sg::gather(sg::merge::concat());
//
// sg::on accepts an executor (anything with `ex.execute(f)`, as every Asio executor has)
// or an execution context by lvalue reference (anything with `get_executor()`, such as
// boost::asio::thread_pool or io_context). The pipeline keeps only the executor, a handle:
// the pool must outlive every call of the pipeline. The calling thread takes part in the
// work and never waits for a shard that has not started, so a gather cannot deadlock on a
// busy, stopped or too-small pool, nor when called from inside the pool.
// Example: tests/exec/on.cpp, benchmarks/fanout.cpp.
#pragma once

#include <sg/detail/type_traits.hpp>

#include <concepts>
#include <type_traits>
#include <utility>

namespace sg {

namespace detail {
struct task_probe {
  void operator()() const noexcept {}
};
}  // namespace detail

// Ex runs a nullary function object, eventually, on some thread: `ex.execute(f)`.
template <class Ex>
concept executor =
    std::copy_constructible<Ex> && requires(Ex const& ex) { ex.execute(detail::task_probe{}); };

// The default: shards run on the calling thread, in shard order.
struct inline_executor {
  friend constexpr bool operator==(inline_executor, inline_executor) noexcept { return true; }
};

namespace detail {

template <class Ex>
struct on_stage {
  Ex executor;
};

struct on_fn {
  template <class X>
  constexpr auto operator()(X&& x) const {
    using D = std::remove_cvref_t<X>;
    if constexpr (executor<D>) {
      return on_stage<D>{std::forward<X>(x)};
    } else if constexpr (requires { x.get_executor(); }) {
      static_assert(std::is_lvalue_reference_v<X>,
                    "sg::on: pass the execution context by lvalue reference; a temporary "
                    "pool would be destroyed before the pipeline runs");
      static_assert(executor<std::remove_cvref_t<decltype(x.get_executor())>>,
                    "sg::on: the context's get_executor() is not an executor: no "
                    "ex.execute(f)");
      return on_stage<std::remove_cvref_t<decltype(x.get_executor())>>{x.get_executor()};
    } else {
      static_assert(always_false<X>,
                    "sg::on: the argument is neither an executor (no ex.execute(f)) nor an "
                    "execution context (no get_executor()), such as boost::asio::thread_pool");
    }
  }
};

}  // namespace detail

// Runs the pipeline's shards on an executor. See the top of this file.
inline constexpr detail::on_fn on{};

}  // namespace sg
