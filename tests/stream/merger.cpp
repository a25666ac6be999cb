#include <sg/stream/merger.hpp>

#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <set>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace {

struct row {
  int key;
  std::uint32_t source;
  std::uint32_t index;  // position within its source
  friend bool operator==(row const&, row const&) = default;
};

using batches = std::vector<std::vector<row>>;

// Source s's rows (sorted by key when `sorted`), cut into batches of 1..max_batch rows.
batches make_source(std::mt19937_64& rng, std::uint32_t s, std::size_t rows, bool sorted, std::size_t max_batch) {
  std::vector<int> keys(rows);
  for (auto& k : keys) k = static_cast<int>(rng() % 20);  // many ties
  if (sorted) std::sort(keys.begin(), keys.end());
  batches out;
  for (std::size_t i = 0; i < rows;) {
    const std::size_t n = std::min(rows - i, 1 + static_cast<std::size_t>(rng() % max_batch));
    out.emplace_back();
    for (std::size_t j = 0; j < n; ++j, ++i) out.back().push_back({keys[i], s, static_cast<std::uint32_t>(i)});
  }
  return out;
}

// Every row of every source, in source order then row order.
std::vector<row> all_rows(std::vector<batches> const& sources) {
  std::vector<row> out;
  for (auto const& s : sources)
    for (auto const& b : s) out.insert(out.end(), b.begin(), b.end());
  return out;
}

// Drives merger m over the sources in a random interleaving: a source delivers only while
// it holds fewer than `buffer` batches; pull() takes a random number of rows. Checks that a
// blocked pull names a source that can deliver (no deadlock), and returns what came out.
template <class Merger>
std::vector<row> drive(std::mt19937_64& rng, Merger& m, std::vector<batches> sources, std::size_t buffer) {
  std::vector<std::size_t> next(sources.size(), 0);
  std::vector<bool> ended(sources.size(), false);
  std::vector<row> out;
  for (int steps = 0;; ++steps) {
    REQUIRE(steps < 1'000'000);
    if (rng() % 2 == 0) {  // a source delivers, if one can
      std::vector<std::size_t> can;
      for (std::size_t i = 0; i < sources.size(); ++i)
        if (!ended[i] && m.buffered_batches(i) < buffer) can.push_back(i);
      if (!can.empty()) {
        const std::size_t i = can[rng() % can.size()];
        if (next[i] == sources[i].size()) {
          m.end(i);
          ended[i] = true;
        } else {
          m.push(i, std::move(sources[i][next[i]++]));
        }
        continue;
      }
    }
    std::vector<row> got;
    const auto status = m.pull(got, 1 + rng() % 7);
    out.insert(out.end(), got.begin(), got.end());
    if (status == sg::stream::pull_status::done) {
      if (m.needs_input())  // else a limit was reached: the sources are cut off
        for (std::size_t i = 0; i < sources.size(); ++i) CHECK(ended[i]);
      CHECK(m.buffered_rows() == 0);
      return out;
    }
    if (status == sg::stream::pull_status::blocked) {
      CHECK(got.empty());
      const std::size_t b = m.blocked_on();
      REQUIRE(b < sources.size());
      CHECK_FALSE(ended[b]);
      CHECK(m.buffered_batches(b) < buffer);  // it can deliver: backpressure never deadlocks
    }
  }
}

bool by_key(row const& a, row const& b) { return a.key < b.key; }

}  // namespace

TEST_CASE("stream merger: sorted equals a stable sort of all rows, in any interleaving", "[stream][merger][property]") {
  SG_SEEDED_RNG(rng);
  for (int round = 0; round < 300; ++round) {
    const std::size_t k = rng() % 7;
    const std::size_t buffer = 1 + rng() % 3;
    const std::size_t max_batch = 1 + rng() % 5;
    std::vector<batches> sources;
    for (std::uint32_t s = 0; s < k; ++s) sources.push_back(make_source(rng, s, rng() % 30, true, max_batch));
    auto want = all_rows(sources);
    std::stable_sort(want.begin(), want.end(), by_key);
    INFO("round " << round << ", " << k << " sources, buffer " << buffer);
    auto m = sg::stream::make_merger<row>(sg::merge::sorted(std::ranges::less{}, &row::key), k);
    CHECK(drive(rng, m, sources, buffer) == want);
    CHECK(m.peak_buffered_rows() <= k * buffer * max_batch);
  }
}

TEST_CASE("stream merger: top_k equals the slice of a stable sort, folded or presorted", "[stream][merger][property]") {
  SG_SEEDED_RNG(rng);
  for (int round = 0; round < 300; ++round) {
    const std::size_t k = rng() % 6;
    const std::size_t buffer = 1 + rng() % 3;
    const bool presorted = rng() % 2 == 0;
    std::vector<batches> sources;
    for (std::uint32_t s = 0; s < k; ++s) sources.push_back(make_source(rng, s, rng() % 25, presorted, 4));
    auto want = all_rows(sources);
    std::stable_sort(want.begin(), want.end(), by_key);
    const std::size_t limit = rng() % 12, offset = rng() % 8;
    want.erase(want.begin(), want.begin() + static_cast<std::ptrdiff_t>(std::min(offset, want.size())));
    if (want.size() > limit) want.resize(limit);
    INFO("round " << round << ", k " << limit << ", offset " << offset << (presorted ? ", presorted" : ""));
    auto merge = sg::merge::top_k(limit, sg::merge::offset{offset}, std::ranges::less{}, &row::key);
    if (presorted) merge = merge.presorted_answers();
    auto m = sg::stream::make_merger<row>(merge, k);
    CHECK(drive(rng, m, sources, buffer) == want);
    if (!presorted) CHECK(m.peak_buffered_rows() <= limit + offset);
  }
}

TEST_CASE("stream merger: concat emits every row once, each source's in its order", "[stream][merger][property]") {
  SG_SEEDED_RNG(rng);
  for (int round = 0; round < 300; ++round) {
    const std::size_t k = rng() % 7;
    const std::size_t buffer = 1 + rng() % 3;
    std::vector<batches> sources;
    for (std::uint32_t s = 0; s < k; ++s) sources.push_back(make_source(rng, s, rng() % 30, false, 6));
    const auto all = all_rows(sources);
    INFO("round " << round);
    auto m = sg::stream::make_merger<row>(sg::merge::concat(), k);
    const auto got = drive(rng, m, sources, buffer);
    REQUIRE(got.size() == all.size());
    std::vector<std::vector<row>> per_source(k);
    for (auto const& r : got) per_source[r.source].push_back(r);
    for (std::uint32_t s = 0; s < k; ++s) {
      std::vector<row> want;
      for (auto const& r : all)
        if (r.source == s) want.push_back(r);
      CHECK(per_source[s] == want);
    }
    CHECK(m.peak_buffered_rows() <= k * buffer * 6);
  }
}

TEST_CASE("stream merger: distinct emits each key once, its first arrival", "[stream][merger][property]") {
  SG_SEEDED_RNG(rng);
  for (int round = 0; round < 300; ++round) {
    const std::size_t k = rng() % 6;
    std::vector<batches> sources;
    for (std::uint32_t s = 0; s < k; ++s) sources.push_back(make_source(rng, s, rng() % 30, false, 5));
    std::set<int> keys;
    for (auto const& r : all_rows(sources)) keys.insert(r.key);
    auto m = sg::stream::make_merger<row>(sg::merge::distinct(&row::key), k);
    const auto got = drive(rng, m, sources, 2);
    std::set<int> seen;
    for (auto const& r : got) CHECK(seen.insert(r.key).second);
    CHECK(seen == keys);
    // Per source, the emitted rows keep their order.
    for (std::uint32_t s = 0; s < k; ++s) {
      std::uint32_t last = 0;
      bool first = true;
      for (auto const& r : got)
        if (r.source == s) {
          CHECK((first || r.index > last));
          last = r.index;
          first = false;
        }
    }
  }
}

TEST_CASE("stream merger: a sorted merge waits for the source whose next row may be smallest", "[stream][merger]") {
  auto m = sg::stream::make_merger<row>(sg::merge::sorted(std::ranges::less{}, &row::key), 2);
  std::vector<row> out;
  m.push(0, {{1, 0, 0}, {5, 0, 1}});
  CHECK(m.pull(out, 10) == sg::stream::pull_status::blocked);  // source 1 has said nothing
  CHECK(m.blocked_on() == 1);
  m.push(1, {{2, 1, 0}});
  CHECK(m.pull(out, 10) == sg::stream::pull_status::ready);
  CHECK(out == std::vector<row>{{1, 0, 0}, {2, 1, 0}});  // not 5: source 1 may send 3 next
  CHECK(m.pull(out, 10) == sg::stream::pull_status::blocked);
  CHECK(m.blocked_on() == 1);
  m.end(1);
  CHECK(m.pull(out, 10) == sg::stream::pull_status::ready);
  CHECK(out.back() == row{5, 0, 1});
  CHECK(m.pull(out, 10) == sg::stream::pull_status::blocked);
  m.end(0);
  CHECK(m.pull(out, 10) == sg::stream::pull_status::done);
}

TEST_CASE("stream merger: edge cases: no source, k = 0, a huge k, one source", "[stream][merger]") {
  std::vector<row> out;
  auto none = sg::stream::make_merger<row>(sg::merge::sorted(std::ranges::less{}, &row::key), 0);
  CHECK(none.pull(out, 4) == sg::stream::pull_status::done);
  auto none_concat = sg::stream::make_merger<row>(sg::merge::concat(), 0);
  CHECK(none_concat.pull(out, 4) == sg::stream::pull_status::done);

  auto zero = sg::stream::make_merger<row>(sg::merge::top_k(0, std::ranges::less{}, &row::key), 3);
  CHECK_FALSE(zero.needs_input());
  CHECK(zero.pull(out, 4) == sg::stream::pull_status::done);
  auto zero_sorted = sg::stream::make_merger<row>(sg::merge::top_k(0, std::ranges::less{}, &row::key).presorted_answers(), 3);
  CHECK_FALSE(zero_sorted.needs_input());
  CHECK(out.empty());

  auto huge = sg::stream::make_merger<row>(sg::merge::top_k(std::size_t(-1), sg::merge::offset{2}, std::ranges::less{}, &row::key), 2);
  huge.push(0, {{3, 0, 0}, {1, 0, 1}});
  huge.push(1, {{2, 1, 0}, {0, 1, 1}});
  huge.end(0);
  huge.end(1);
  CHECK(huge.pull(out, 100) == sg::stream::pull_status::ready);
  CHECK(out == std::vector<row>{{2, 1, 0}, {3, 0, 0}});

  out.clear();
  auto one = sg::stream::make_merger<row>(sg::merge::top_k(2, std::ranges::less{}, &row::key).presorted_answers(), 1);
  one.push(0, {{1, 0, 0}, {2, 0, 1}, {3, 0, 2}});
  CHECK(one.pull(out, 100) == sg::stream::pull_status::ready);
  CHECK(out.size() == 2);
  CHECK_FALSE(one.needs_input());  // its limit is reached: the source need not be read on
  CHECK(one.pull(out, 100) == sg::stream::pull_status::done);
}

TEST_CASE("stream merger: rows are moved, never copied", "[stream][merger]") {
  using owned = std::unique_ptr<int>;
  auto m = sg::stream::make_merger<owned>(sg::merge::sorted(std::ranges::less{}, [](owned const& p) { return *p; }), 2);
  std::vector<owned> a, b;
  a.push_back(std::make_unique<int>(1));
  a.push_back(std::make_unique<int>(4));
  b.push_back(std::make_unique<int>(2));
  m.push(0, std::move(a));
  m.push(1, std::move(b));
  m.end(0);
  m.end(1);
  std::vector<owned> out;
  CHECK(m.pull(out, 10) == sg::stream::pull_status::ready);
  REQUIRE(out.size() == 3);
  CHECK((*out[0] == 1 && *out[1] == 2 && *out[2] == 4));
}

TEST_CASE("stream merger: bad input is rejected in words and loses no row", "[stream][merger][errors]") {
  auto m = sg::stream::make_merger<row>(sg::merge::sorted(std::ranges::less{}, &row::key), 2);
  m.push(0, {{1, 0, 0}, {4, 0, 1}});
  CHECK_THROWS_MATCHES(m.push(0, {{5, 0, 2}, {3, 0, 3}}), std::system_error,
                       Catch::Matchers::Predicate<std::system_error>([](std::system_error const& e) {
                         return e.code() == sg::errc::bad_input &&
                                std::string(e.what()).find("source 0 is not sorted: row 1") != std::string::npos;
                       }));
  CHECK_THROWS_WITH(m.push(0, {{3, 0, 2}}), Catch::Contains("starts before the row its previous batch ended with"));
  CHECK(m.buffered_rows() == 2);  // the rejected batches left nothing behind
  CHECK_THROWS_WITH(m.push(1, {}), Catch::Contains("empty batch"));
  CHECK_THROWS_WITH(m.push(7, {{1, 7, 0}}), Catch::Contains("source 7 of 2 does not exist"));
  m.end(0);
  CHECK_THROWS_WITH(m.push(0, {{9, 0, 2}}), Catch::Contains("source 0 has already ended"));
  std::vector<row> out;
  CHECK_THROWS_AS(m.pull(out, 0), std::invalid_argument);
  m.push(1, {{4, 1, 0}});
  m.end(1);
  CHECK(m.pull(out, 10) == sg::stream::pull_status::ready);
  CHECK(out == std::vector<row>{{1, 0, 0}, {4, 0, 1}, {4, 1, 0}});  // the good rows, all of them
}
