// sg/wire/gathered.hpp — sg::wire codecs for sg::completeness, sg::shard_failure and
// sg::gathered<T> (T encodable): a node's whole answer, with which of its own shards failed.
//
//   auto bytes = sg::wire::encode(pipe(q));                        // a sub-coordinator
//   auto r = sg::wire::decode<sg::gathered<result>>(bytes);
//
// completeness: four u64 (targeted, succeeded, failed, pruned), refused unless succeeded +
// failed = targeted. shard_failure: the shard (u64), the error code as its category's
// name (a string) and value (i32), the text (a string) and the attempts (u32). A code
// reads back in its own category when the receiving process knows the name: "sg",
// "generic" and "system" always, any other once register_category(cat) was called (e.g.
// sg::postgres's, so SQLSTATEs survive); otherwise in remote_category(), which keeps the
// value and says where it came from (the text always survives). gathered: the value, the
// completeness, the failures; `stats` (sg::collect_stats) is not sent and reads back null.
// Example: examples/wire_node.cpp, tests/wire/gathered.cpp.
#pragma once

#include <sg/error.hpp>
#include <sg/gathered.hpp>
#include <sg/wire/codec.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace sg::wire {

namespace detail {

class remote_category_impl final : public std::error_category {
 public:
  char const* name() const noexcept override { return "sg.wire.remote"; }
  std::string message(int value) const override {
    return "error " + std::to_string(value) + " of a category this process does not know (from another process)";
  }
};

struct category_registry {
  std::mutex mutex;
  std::vector<std::error_category const*> categories;
};
inline category_registry& registry() {
  static category_registry r;
  return r;
}

}  // namespace detail

// The category of codes whose own category the decoding process does not know.
inline std::error_category const& remote_category() noexcept {
  static const detail::remote_category_impl category;
  return category;
}

// Lets decode give codes of category `c` (found by c.name()) back in `c`. Thread-safe;
// registering twice is harmless. The category must outlive every decode (categories are
// static objects).
inline void register_category(std::error_category const& c) {
  auto& r = detail::registry();
  std::lock_guard lock(r.mutex);
  if (std::find(r.categories.begin(), r.categories.end(), &c) == r.categories.end()) r.categories.push_back(&c);
}

// The category named `name` in this process, or remote_category().
inline std::error_category const& category_named(std::string_view name) {
  if (name == sg::error_category().name()) return sg::error_category();
  if (name == std::generic_category().name()) return std::generic_category();
  if (name == std::system_category().name()) return std::system_category();
  auto& r = detail::registry();
  std::lock_guard lock(r.mutex);
  for (auto const* c : r.categories)
    if (name == c->name()) return *c;
  return remote_category();
}

template <>
struct codec<completeness> {
  static constexpr std::uint64_t schema = detail::tag("completeness");
  static constexpr std::size_t min_size = 32;
  static void write(writer& w, completeness const& c) {
    w.u64(c.targeted);
    w.u64(c.succeeded);
    w.u64(c.failed);
    w.u64(c.pruned);
  }
  static completeness read(reader& r) {
    const auto targeted = r.u64("completeness.targeted"), succeeded = r.u64("completeness.succeeded"),
               failed = r.u64("completeness.failed"), pruned = r.u64("completeness.pruned");
    if (succeeded > targeted || failed != targeted - succeeded)
      r.fail("completeness: " + std::to_string(succeeded) + " succeeded and " + std::to_string(failed) +
             " failed of " + std::to_string(targeted) + " targeted");
    auto size = [&](std::uint64_t v) {
      if (v > std::numeric_limits<std::size_t>::max()) r.fail("completeness: a count does not fit a size_t");
      return static_cast<std::size_t>(v);
    };
    return {size(targeted), size(succeeded), size(failed), size(pruned)};
  }
};

template <>
struct codec<shard_failure> {
  static constexpr std::uint64_t schema = detail::tag("shard_failure");
  static constexpr std::size_t min_size = 8 + 8 + 4 + 8 + 4;
  static void write(writer& w, shard_failure const& f) {
    w.u64(f.shard);
    codec<std::string>::write(w, f.error.category().name());
    codec<std::int32_t>::write(w, f.error.value());
    codec<std::string>::write(w, f.what);
    codec<std::uint32_t>::write(w, f.attempts);
  }
  static shard_failure read(reader& r) {
    shard_failure f;
    const auto shard = r.u64("a failure's shard");
    if (shard > std::numeric_limits<std::size_t>::max()) r.fail("a failure's shard does not fit a size_t");
    f.shard = static_cast<std::size_t>(shard);
    const std::string category = codec<std::string>::read(r);
    const auto value = codec<std::int32_t>::read(r);
    f.error = std::error_code(value, category_named(category));
    f.what = codec<std::string>::read(r);
    f.attempts = codec<std::uint32_t>::read(r);
    return f;
  }
};

template <class T>
  requires encodable<T>
struct codec<gathered<T>> {
  static constexpr std::uint64_t schema = detail::schema_of<T>("gathered");
  static constexpr std::size_t min_size = codec<T>::min_size + 32 + 8;
  static void write(writer& w, gathered<T> const& g) {
    codec<T>::write(w, g.value);
    codec<completeness>::write(w, g.completeness);
    codec<std::vector<shard_failure>>::write(w, g.failures);
  }
  static gathered<T> read(reader& r) {
    T value = codec<T>::read(r);
    const auto c = codec<completeness>::read(r);
    auto failures = codec<std::vector<shard_failure>>::read(r);
    return gathered<T>{std::move(value), c, std::move(failures), nullptr};
  }
};

}  // namespace sg::wire
