#include <sg/merge/concat.hpp>
#include <sg/pipeline.hpp>

#include "support/property.hpp"
#include "support/seed.hpp"
#include "support/shards.hpp"

#include <boost/hana/tuple.hpp>
#include <catch2/catch.hpp>
#include <range/v3/view/iota.hpp>
#include <range/v3/view/transform.hpp>

#include <array>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

using sg_test::mode;
using sg_test::scripted_shard;
using rows = std::vector<int>;

TEST_CASE("scatter | gather(concat) answers in shard order", "[pipeline]") {
  std::vector<scripted_shard> shards{{{5, 1}}, {{}}, {{9, 3, 7}}};
  auto pipe = sg::scatter(shards) | sg::gather(sg::merge::concat());
  sg::gathered r = pipe(2);
  STATIC_REQUIRE(std::is_same_v<decltype(r), sg::gathered<rows>>);
  CHECK(r.value == rows{5, 9, 3, 7});
  CHECK(r.completeness == sg::completeness{3, 3, 0, 0});
  CHECK(r.completeness.complete());
  CHECK(r.failures.empty());
}

TEST_CASE("a failing shard is recorded, and by default the gather fails", "[pipeline][failure]") {
  std::vector<scripted_shard> shards{{{1}}, {{2}, mode::throw_exception}, {{3}}};
  auto pipe = sg::scatter(shards) | sg::gather(sg::merge::concat());

  SECTION("pipe(request) throws scatter_error carrying the partial result") {
    try {
      (void)pipe(0);
      FAIL("no exception");
    } catch (sg::scatter_error const& e) {
      CHECK(e.code() == sg::errc::partial_result);
      CHECK_THAT(std::string(e.what()), Catch::Contains("1 of 3 shards failed") &&
                                            Catch::Contains("shard 1: disk on fire"));
      auto const* partial = e.partial<rows>();
      REQUIRE(partial != nullptr);
      CHECK(partial->value == rows{1, 3});  // nothing that arrived is lost
      CHECK(partial->completeness == sg::completeness{3, 2, 1, 0});
    }
  }
  SECTION("pipe(request, ec) sets ec and returns the partial result") {
    std::error_code ec;
    auto r = pipe(0, ec);
    CHECK(ec == sg::errc::partial_result);
    CHECK(r.value == rows{1, 3});
    REQUIRE(r.failures.size() == 1);
    CHECK(r.failures[0] == sg::shard_failure{1, sg::errc::shard_failed, "disk on fire", 1});
  }
}

TEST_CASE("every way a shard can fail keeps its code and message", "[pipeline][failure]") {
  std::vector<scripted_shard> shards{{{}, mode::throw_system_error},
                                     {{}, mode::throw_exception},
                                     {{}, mode::throw_int},
                                     {{}, mode::return_error},
                                     {{4}}};
  std::error_code ec;
  auto r = (sg::scatter(shards) | sg::gather(sg::merge::concat()))(0, ec);
  CHECK(ec == sg::errc::partial_result);
  REQUIRE(r.failures.size() == 4);
  CHECK(r.failures[0].error == std::errc::connection_reset);
  CHECK_THAT(r.failures[0].what, Catch::Contains("lost"));
  CHECK(r.failures[1].error == sg::errc::shard_failed);
  CHECK(r.failures[2].error == sg::errc::shard_failed);
  CHECK(r.failures[2].what == "unknown exception");
  CHECK(r.failures[3].error == sg::errc::timeout);  // a boost::system code, as std::error_code
  CHECK(r.failures[3].what == "timed out");
  CHECK(r.value == rows{4});
}

TEST_CASE("sg::partial accepts a partial answer, flagged", "[pipeline][partial]") {
  std::vector<scripted_shard> shards{{{1}}, {{2}, mode::return_error}, {{3}}, {{4}}};
  auto pipe = sg::scatter(shards) | sg::with(sg::partial{.min_success_ratio = 0.75}) |
              sg::gather(sg::merge::concat());
  auto r = pipe(0);  // does not throw: 3 of 4 answered
  CHECK(r.value == rows{1, 3, 4});
  CHECK_FALSE(r.completeness.complete());
  CHECK(r.completeness.ratio() == 0.75);
  CHECK(r.failures.size() == 1);

  shards[2].behaviour = mode::throw_exception;  // 2 of 4 now: below the rule
  CHECK_THROWS_AS(pipe(0), sg::scatter_error);

  for (auto& s : shards) s.behaviour = mode::throw_exception;  // none answers
  auto anything = sg::scatter(shards) | sg::with(sg::partial{.min_success_ratio = 0.0}) |
                  sg::gather(sg::merge::concat());
  std::error_code ec;
  auto none = anything(0, ec);
  CHECK(ec == sg::errc::partial_result);  // all shards failed is never a success
  CHECK(none.value.empty());
  CHECK(none.completeness == sg::completeness{4, 0, 4, 0});
}

TEST_CASE("zero shards is an error, not an empty success", "[pipeline][edge]") {
  std::vector<scripted_shard> none;
  auto pipe = sg::scatter(none) | sg::with(sg::partial{.min_success_ratio = 0.0}) |
              sg::gather(sg::merge::concat());
  std::error_code ec;
  auto r = pipe(0, ec);
  CHECK(ec == sg::errc::no_shards);
  CHECK(r.completeness == sg::completeness{});
  CHECK_THROWS_WITH(pipe(0), Catch::Contains("targets no shard"));
}

TEST_CASE("the pipeline property holds inline", "[pipeline][property]") {
  SG_SEEDED_RNG(rng);
  sg_test::check_pipeline_property(
      rng,
      [](auto const& shards, sg::partial rule) {
        return sg::scatter(shards) | sg::with(rule) | sg::gather(sg::merge::concat());
      },
      300);
}

TEST_CASE("shard sets of every kind", "[pipeline][set]") {
  auto square = [](int x) { return rows{x * x}; };
  auto twice = [](int x) { return rows{x, x}; };
  const rows expected{9, 3, 3};

  std::array<decltype(twice), 1> arr{twice};
  CHECK((sg::scatter(arr) | sg::gather(sg::merge::concat()))(3).value == rows{3, 3});

  // a tuple of different shard types with one answer type
  auto t = std::make_tuple(square, twice);
  CHECK((sg::scatter(t) | sg::gather(sg::merge::concat()))(3).value == expected);
  auto h = boost::hana::make_tuple(square, twice);
  CHECK((sg::scatter(h) | sg::gather(sg::merge::concat()))(3).value == expected);

  // a range-v3 view of shards, owned by the pipeline
  auto view = ranges::views::iota(1, 4) |
              ranges::views::transform([](int k) { return [k](int x) { return rows{k * x}; }; });
  CHECK((sg::scatter(view) | sg::gather(sg::merge::concat()))(10).value == rows{10, 20, 30});

  // plain data as shards, the request a function of the data
  std::vector<rows> data{{1, 2}, {3}};
  auto evens = [](rows const& r) {
    rows out;
    for (int x : r)
      if (x % 2 == 0) out.push_back(x);
    return out;
  };
  CHECK((sg::scatter(data) | sg::gather(sg::merge::concat()))(evens).value == rows{2});
}

TEST_CASE("an lvalue set is referenced, an rvalue set is owned", "[pipeline][set]") {
  std::vector<scripted_shard> shards{{{1}}};
  auto by_ref = sg::scatter(shards) | sg::gather(sg::merge::concat());
  auto owned = sg::scatter(std::vector<scripted_shard>(shards)) | sg::gather(sg::merge::concat());
  shards.push_back({{2}});
  CHECK(by_ref(0).value == rows{1, 2});  // sees the change
  CHECK(owned(0).value == rows{1});      // its own copy

  auto copy = owned;  // pipelines are regular values
  CHECK(copy(0).value == rows{1});
  CHECK(&by_ref.shards() == &shards);
}

TEST_CASE("a shard answering by const reference is copied, not moved from", "[pipeline]") {
  struct cached {
    rows data;
    rows const& execute(int) const { return data; }
  };
  std::vector<cached> shards{{{1, 2}}, {{3}}};
  auto pipe = sg::scatter(shards) | sg::gather(sg::merge::concat());
  CHECK(pipe(0).value == rows{1, 2, 3});
  CHECK(pipe(0).value == rows{1, 2, 3});
  CHECK(shards[0].data == rows{1, 2});
}

namespace {
// A merge that rejects odd-sized answers, as a sorted merge rejects unsorted ones.
struct even_only_merge {
  struct acc {
    rows out;
    void add(std::size_t shard, rows&& r) {
      if (r.size() % 2 != 0)
        throw std::system_error(sg::errc::bad_input, "shard " + std::to_string(shard) + " odd");
      out.insert(out.end(), r.begin(), r.end());
    }
    rows finish() && { return std::move(out); }
  };
  template <class Resp>
  acc accumulator() const {
    return {};
  }
};
}  // namespace

TEST_CASE("an answer the merge rejects is that shard's failure", "[pipeline][failure]") {
  std::vector<rows> data{{1, 2}, {3}, {4, 5}};
  auto all = [](rows const& r) { return r; };
  std::error_code ec;
  auto r = (sg::scatter(data) | sg::gather(even_only_merge{}))(all, ec);
  CHECK(ec == sg::errc::partial_result);
  CHECK(r.value == rows{1, 2, 4, 5});
  REQUIRE(r.failures.size() == 1);
  CHECK(r.failures[0].shard == 1);
  CHECK(r.failures[0].error == sg::errc::bad_input);
}

TEST_CASE("sg::with checks its policies", "[pipeline][policy]") {
  CHECK_THROWS_AS(sg::with(sg::partial{.min_success_ratio = 2.0}), std::invalid_argument);
  std::vector<scripted_shard> shards{{{1}}};
  // stages between scatter and gather in either order
  auto a = sg::scatter(shards) | sg::with(sg::partial{}) | sg::gather(sg::merge::concat());
  CHECK(a(0).value == rows{1});
  STATIC_REQUIRE(std::tuple_size_v<std::remove_cvref_t<decltype(a.policies())>> == 1);
}
