// The two-way merge kernels of the merge tree (sg/merge/detail/merge_kernel.hpp): every
// dispatch path (portable, AVX2, AVX-512, each where the processor has it) writes bit for
// bit what a stable std::merge writes, and sg::merge::sorted gives the same result and the
// same errors whichever path it takes.
#include <sg/merge/detail/merge_kernel.hpp>
#include <sg/merge/sorted.hpp>
#include <sg/order.hpp>

#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

namespace {

using sg::merge::detail::merge_isa;

constexpr merge_isa every_isa[] = {merge_isa::portable, merge_isa::avx2, merge_isa::avx512};

char const* name(merge_isa isa) {
  return isa == merge_isa::portable ? "portable" : isa == merge_isa::avx2 ? "avx2" : "avx512";
}

// Forces the merges onto one path for the scope (-1 again after).
struct forced_isa {
  explicit forced_isa(merge_isa isa) { sg::merge::detail::forced_merge_isa = static_cast<int>(isa); }
  ~forced_isa() { sg::merge::detail::forced_merge_isa = -1; }
  forced_isa(forced_isa const&) = delete;
  forced_isa& operator=(forced_isa const&) = delete;
};

// Whether this processor runs the path; says so when it does not (the path is skipped).
bool runs_here(merge_isa isa) {
  if (static_cast<int>(isa) <= static_cast<int>(sg::merge::detail::detected_merge_isa())) return true;
  WARN("the " << name(isa) << " merge kernel is not tested: this processor lacks it");
  return false;
}

// A random value of T: a few distinct values (ties), any value, or an extreme.
template <class T>
T random_value(std::mt19937_64& rng, int kind) {
  using limits = std::numeric_limits<T>;
  if constexpr (std::is_floating_point_v<T>) {
    constexpr T specials[] = {T(0), -T(0), limits::quiet_NaN(), -limits::quiet_NaN(), limits::infinity(),
                              -limits::infinity(), limits::lowest(), limits::max()};
    if (kind == 0) return static_cast<T>(rng() % 4);
    if (kind == 1) return specials[rng() % 8];
    return static_cast<T>(static_cast<double>(rng() % 2'000'000) / 7.0 - 100'000.0);
  } else {
    if (kind == 0) return static_cast<T>(rng() % 4);
    if (kind == 1) return rng() % 2 == 0 ? limits::min() : limits::max();
    return static_cast<T>(rng());
  }
}

template <class T>
bool same_bits(T const* a, T const* b, std::size_t n) {
  return n == 0 || std::memcmp(a, b, n * sizeof(T)) == 0;
}

// merge_prefix on random runs against a stable std::merge in sg's total order, bit for bit.
template <class T, int Order>
void check_prefix(std::mt19937_64& rng, merge_isa isa) {
  const auto before = [](T const& x, T const& y) { return sg::merge::detail::goes_before<Order>(x, y); };
  for (int round = 0; round < 400; ++round) {
    const int kind = round % 3;
    const std::size_t size_a = round % 7 == 0 ? 0 : rng() % (round % 2 ? 3000 : 90);
    const std::size_t size_b = round % 11 == 0 ? 0 : rng() % (round % 4 ? 3000 : 90);
    std::vector<T> a(size_a), b(size_b);
    for (auto& x : a) x = random_value<T>(rng, kind);
    for (auto& x : b) x = random_value<T>(rng, round % 5 == 0 ? 1 : kind);
    std::ranges::stable_sort(a, before);
    std::ranges::stable_sort(b, before);
    std::vector<T> expected(size_a + size_b);
    std::ranges::merge(a, b, expected.begin(), before);
    const std::size_t m = rng() % (size_a + size_b + 1);
    std::vector<T> got(size_a + size_b);
    const std::size_t from_a = sg::merge::detail::merge_prefix<Order>(a.data(), size_a, b.data(), size_b, got.data(), m);
    INFO(name(isa) << ", round " << round << ": " << size_a << " + " << size_b << ", first " << m);
    CHECK(same_bits(got.data(), expected.data(), m));
    CHECK(from_a == sg::merge::detail::co_rank<Order>(a.data(), size_a, b.data(), size_b, m));
  }
}

}  // namespace

TEST_CASE("merge kernels: every path writes the stable merge bit for bit", "[merge][sorted][merge_kernel][property]") {
  SG_SEEDED_RNG(rng);
  for (merge_isa isa : every_isa) {
    if (!runs_here(isa)) continue;
    forced_isa force(isa);
    CHECK(sg::merge::detail::merge_isa_in_use() == isa);
    check_prefix<std::int64_t, 1>(rng, isa);
    check_prefix<std::int64_t, -1>(rng, isa);
    check_prefix<std::uint64_t, 1>(rng, isa);
    check_prefix<std::uint64_t, -1>(rng, isa);
    check_prefix<std::int32_t, 1>(rng, isa);
    check_prefix<std::int32_t, -1>(rng, isa);
    check_prefix<std::uint32_t, 1>(rng, isa);
    check_prefix<double, 1>(rng, isa);  // -0.0 / 0.0 and NaNs keep their run order
    check_prefix<double, -1>(rng, isa);
    check_prefix<float, 1>(rng, isa);
    check_prefix<std::int16_t, 1>(rng, isa);
  }
}

TEST_CASE("merge kernels: a forced path never exceeds the processor's", "[merge][sorted][merge_kernel]") {
  forced_isa force(merge_isa::avx512);
  CHECK(static_cast<int>(sg::merge::detail::merge_isa_in_use()) <=
        static_cast<int>(sg::merge::detail::detected_merge_isa()));
}

namespace {

// sorted() over k random runs of T on one path, against a stable sort of the concatenation.
template <class T>
void check_sorted(std::mt19937_64& rng, merge_isa isa, bool descending) {
  const auto before = [&](T const& x, T const& y) {
    return descending ? sg::total_less(y, x) : sg::total_less(x, y);
  };
  const std::size_t ks[] = {0, 1, 2, 3, 8, 64, 100};
  for (int round = 0; round < 28; ++round) {
    const std::size_t k = ks[static_cast<std::size_t>(round) % 7];
    const int kind = round % 3;
    std::vector<std::vector<T>> runs(k);
    std::vector<T> all;
    for (auto& r : runs) {
      r.resize(rng() % 5 == 0 ? 0 : rng() % (k > 8 ? 800 : 20'000));
      for (auto& x : r) x = random_value<T>(rng, kind);
      std::ranges::stable_sort(r, before);
      all.insert(all.end(), r.begin(), r.end());
    }
    std::ranges::stable_sort(all, before);
    INFO(name(isa) << ", k " << k << (descending ? ", descending" : ", ascending") << ", kind " << kind);
    const auto merged = descending ? sg::merge::sorted(sg::total_greater)(runs) : sg::merge::sorted()(runs);
    REQUIRE(merged.size() == all.size());
    CHECK(same_bits(merged.data(), all.data(), all.size()));
    std::vector<T> out(all.size());
    const auto written = descending ? sg::merge::sorted(sg::total_greater)(runs, std::span(out))
                                    : sg::merge::sorted()(runs, std::span(out));
    CHECK(written.size() == all.size());
    CHECK(same_bits(out.data(), all.data(), all.size()));
  }
}

std::string error_of(std::vector<std::vector<std::int64_t>> const& runs) {
  try {
    (void)sg::merge::sorted()(runs);
  } catch (std::system_error const& e) {
    CHECK(e.code() == sg::errc::bad_input);
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("sorted gives one result on every merge kernel path", "[merge][sorted][merge_kernel][property]") {
  SG_SEEDED_RNG(rng);
  for (merge_isa isa : every_isa) {
    if (!runs_here(isa)) continue;
    forced_isa force(isa);
    for (bool descending : {false, true}) {
      check_sorted<std::int64_t>(rng, isa, descending);
      check_sorted<std::uint64_t>(rng, isa, descending);
      check_sorted<std::int32_t>(rng, isa, descending);
      check_sorted<double>(rng, isa, descending);
    }
  }
}

TEST_CASE("sorted finds the same unsorted run and position on every merge kernel path",
          "[merge][sorted][merge_kernel][bad-input][property]") {
  SG_SEEDED_RNG(rng);
  for (int round = 0; round < 40; ++round) {
    const std::size_t k = 2 + rng() % 20;
    std::vector<std::vector<std::int64_t>> runs(k);
    for (auto& r : runs) {
      r.resize(1 + rng() % 6000);
      for (auto& x : r) x = static_cast<std::int64_t>(rng() % 1000);
      std::ranges::sort(r);
    }
    auto& bad = runs[rng() % k];
    const std::size_t at = bad.size() < 2 ? 0 : 1 + rng() % (bad.size() - 1);
    if (at != 0) bad[at] = bad[at - 1] - 1;
    INFO("round " << round << ", k " << k);
    std::string first;
    for (merge_isa isa : every_isa) {
      if (static_cast<int>(isa) > static_cast<int>(sg::merge::detail::detected_merge_isa())) continue;
      forced_isa force(isa);
      const std::string message = error_of(runs);
      CHECK((at == 0) == message.empty());
      if (isa == merge_isa::portable)
        first = message;
      else
        CHECK(message == first);
    }
  }
}
