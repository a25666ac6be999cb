// sg/gathered.hpp — the result of every gather: the merged value, which shards answered,
// and why the others did not.
//
//   sg::gathered r = pipe(request);
//   if (!r.completeness.complete()) for (auto const& f : r.failures) log(f.shard, f.what);
//
// Example: examples/quickstart.cpp; docs/concepts.md ("Completeness").
#pragma once

#include <sg/error.hpp>

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <typeinfo>
#include <utility>
#include <vector>

namespace sg {

// How much of the request was answered. Every targeted shard is counted exactly once, as
// succeeded or failed; pruned shards (left out by routing) are not targeted.
struct completeness {
  std::size_t targeted = 0;   // shards whose answer the result needed (succeeded + failed)
  std::size_t succeeded = 0;  // shards whose answer is in the merged value
  std::size_t failed = 0;     // shards whose answer is not (see gathered::failures)
  std::size_t pruned = 0;     // shards the answer did not need: routing proved them irrelevant
                              // (never called), or a merge settled without them (a LIMIT
                              // without ORDER BY: not called, or cancelled)

  // Every targeted shard answered (and at least one was targeted).
  constexpr bool complete() const noexcept { return targeted != 0 && succeeded == targeted; }

  // succeeded / targeted, in [0, 1]; 0 when no shard was targeted.
  constexpr double ratio() const noexcept {
    return targeted == 0 ? 0.0
                         : static_cast<double>(succeeded) / static_cast<double>(targeted);
  }

  friend constexpr bool operator==(completeness const&, completeness const&) = default;
};

// Why one shard's answer is missing from a result.
struct shard_failure {
  std::size_t shard = 0;   // index of the shard in the shard set
  std::error_code error;   // the shard's own code, or an sg::errc
  std::string what;        // human-readable: the exception's what(), or error.message()
  unsigned attempts = 1;   // calls made to this shard for this request (retries included)

  friend bool operator==(shard_failure const&, shard_failure const&) = default;
};

// The merged value of one request, with its completeness and failures (sorted by shard).
// A partial answer is never silent: completeness says how partial it is.
struct query_stats;  // sg/policy/stats.hpp

template <class T>
struct gathered {
  T value;
  sg::completeness completeness;
  std::vector<shard_failure> failures;
  // What the gather did, per shard, and the merge's time (sg::collect_stats, with
  // pipe.async); null without that policy.
  std::shared_ptr<query_stats const> stats{};
};

// Thrown by `pipe(request)` when the completion rule is not met (by default: a targeted
// shard failed) or when no shard was targeted. It carries the partial result, so nothing
// that did arrive is lost: `e.partial<R>()` is the gathered<R> the pipeline would have
// returned (R is the pipeline's result type). `pipe(request, ec)` reports the same
// condition through `ec` instead of throwing.
class scatter_error : public std::system_error {
 public:
  template <class T>
  scatter_error(std::error_code ec, gathered<T> partial)
      : std::system_error(ec, describe(ec, partial.completeness, partial.failures)) {
    auto held = std::make_shared<gathered<T>>(std::move(partial));
    completeness_ = &held->completeness;
    failures_ = &held->failures;
    type_ = &typeid(gathered<T>);
    partial_ = std::move(held);
  }

  sg::completeness const& completeness() const noexcept { return *completeness_; }
  std::span<shard_failure const> failures() const noexcept { return *failures_; }

  // The partial result, or nullptr if it is not a gathered<T>. Copies of the exception
  // share it; it is immutable.
  template <class T>
  gathered<T> const* partial() const noexcept {
    return *type_ == typeid(gathered<T>) ? static_cast<gathered<T> const*>(partial_.get())
                                         : nullptr;
  }

 private:
  static std::string describe(std::error_code ec, sg::completeness const& c,
                              std::vector<shard_failure> const& failures) {
    std::string s = "sg: ";
    if (ec == errc::no_shards) return s + "the request targets no shard";
    s += std::to_string(c.failed) + " of " + std::to_string(c.targeted) + " shards failed";
    constexpr std::size_t shown = 3;
    for (std::size_t i = 0; i < failures.size() && i < shown; ++i) {
      s += i == 0 ? " (" : "; ";
      s += "shard " + std::to_string(failures[i].shard) + ": " + failures[i].what;
    }
    if (!failures.empty()) s += failures.size() > shown ? "; ...)" : ")";
    return s;
  }

  std::shared_ptr<void const> partial_;
  std::type_info const* type_ = nullptr;
  sg::completeness const* completeness_ = nullptr;
  std::vector<shard_failure> const* failures_ = nullptr;
};

}  // namespace sg
