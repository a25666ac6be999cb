#include <sg/merge/concat.hpp>
#include <sg/merge/protocol.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace {

// A user-written merge: the sum of every shard's answer. Uses only the protocol.
struct sum_merge {
  template <class Resp>
  struct acc {
    Resp total{};
    void add(std::size_t, Resp&& r) { total += r; }
    Resp finish() && { return total; }
  };
  template <class Resp>
  acc<Resp> accumulator() const {
    return {};
  }
};

struct no_finish {
  struct acc {
    void add(std::size_t, int&&) {}
  };
  template <class Resp>
  acc accumulator() const {
    return {};
  }
};

}  // namespace

TEST_CASE("merge_for and merge_result_t describe the merge protocol", "[merge][protocol]") {
  STATIC_REQUIRE(sg::merge_for<sum_merge, int>);
  STATIC_REQUIRE(std::is_same_v<sg::merge_result_t<sum_merge, long>, long>);
  STATIC_REQUIRE_FALSE(sg::merge_for<no_finish, int>);
  STATIC_REQUIRE(sg::merge_for<sg::merge::concat_merge, std::vector<std::string>>);
  STATIC_REQUIRE(std::is_same_v<sg::merge_result_t<sg::merge::concat_merge, std::vector<std::string>>,
                                std::vector<std::string>>);
  STATIC_REQUIRE_FALSE(sg::merge_for<sg::merge::concat_merge, int>);  // not a range of rows
}

TEST_CASE("merge_all feeds answer i as shard i's", "[merge][protocol]") {
  std::vector<int> answers{1, 2, 3};
  CHECK(sg::detail::merge_all(sum_merge{}, answers) == 6);
}
