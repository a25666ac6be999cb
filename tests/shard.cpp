#include <sg/shard.hpp>

#include <boost/asio/async_result.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/hana/tuple.hpp>
#include <boost/system/result.hpp>
#include <catch2/catch.hpp>
#include <range/v3/view/iota.hpp>
#include <range/v3/view/transform.hpp>

#include <array>
#include <list>
#include <span>
#include <string>
#include <system_error>
#include <tuple>
#include <vector>

namespace shards {

struct member {
  int execute(int x) const { return x + 1; }
};

struct adl {};
inline std::string execute(adl const&, int x) { return std::to_string(x); }

// Has both: the member wins.
struct both {
  int execute(int) const { return 1; }
};
inline int execute(both const&, int) { return 2; }

struct mutable_member {
  int calls = 0;
  int execute(int) { return ++calls; }
};

struct not_a_shard {};

struct returns_void {
  void execute(int) const {}
};

struct fallible {
  boost::system::result<std::vector<int>> execute(int x) const {
    if (x < 0) return std::make_error_code(std::errc::invalid_argument);
    return std::vector<int>{x};
  }
};

// Asio style: the completion token decides how the result is delivered.
struct asio_style {
  boost::asio::io_context* io;
  template <class Token>
  auto async_execute(int x, Token&& token) {
    return boost::asio::async_initiate<Token, void(std::error_code, std::vector<int>)>(
        [this](auto handler, int value) {
          boost::asio::post(*io, [h = std::move(handler), value]() mutable {
            h(std::error_code{}, std::vector<int>{value});
          });
        },
        token, x);
  }
};

// Plain callback style: names its answer type.
struct callback_style {
  using response_type = double;
  template <class Handler>
  void async_execute(int x, Handler&& handler) {
    handler(std::error_code{}, x * 0.5);
  }
};

}  // namespace shards

TEST_CASE("sg::execute finds a member, then ADL, then callables", "[shard][execute]") {
  const shards::member m0;
  CHECK(sg::execute(m0, 4) == 5);
  shards::adl a;
  CHECK(sg::execute(a, 7) == "7");
  shards::both b;
  CHECK(sg::execute(b, 0) == 1);  // member before ADL

  auto callable = [](int x) { return x * 2; };
  CHECK(sg::execute(callable, 21) == 42);  // the shard is a function

  std::vector<int> data{1, 2, 3};
  auto sum = [](std::vector<int> const& rows) { return rows.size(); };
  CHECK(sg::execute(data, sum) == 3u);  // the request is a function of the shard

  shards::mutable_member m;
  CHECK(sg::execute(m, 0) == 1);
  CHECK(sg::execute(m, 0) == 2);  // non-const shards are called as non-const lvalues
}

TEST_CASE("shard_for and response_t", "[shard][concepts]") {
  STATIC_REQUIRE(sg::shard_for<shards::member, int>);
  STATIC_REQUIRE(sg::shard_for<shards::member const, int>);
  STATIC_REQUIRE(sg::shard_for<shards::adl, int>);
  STATIC_REQUIRE_FALSE(sg::shard_for<shards::not_a_shard, int>);
  STATIC_REQUIRE_FALSE(sg::shard_for<shards::returns_void, int>);
  STATIC_REQUIRE_FALSE(sg::shard_for<shards::member, std::string>);  // wrong request type
  STATIC_REQUIRE_FALSE(sg::shard_for<shards::mutable_member const, int>);

  STATIC_REQUIRE(std::is_same_v<sg::response_t<shards::member, int>, int>);
  STATIC_REQUIRE(std::is_same_v<sg::response_t<shards::adl, int>, std::string>);
  // expected-like answers are unwrapped: the merge sees the value type
  STATIC_REQUIRE(std::is_same_v<sg::response_t<shards::fallible, int>, std::vector<int>>);
  STATIC_REQUIRE(sg::detail::expected_like<boost::system::result<int>>);
  STATIC_REQUIRE_FALSE(sg::detail::expected_like<std::optional<int>>);
}

TEST_CASE("async_shard_for reads an Asio-style completion signature", "[shard][concepts][async]") {
  STATIC_REQUIRE(sg::async_shard_for<shards::asio_style, int>);
  STATIC_REQUIRE(std::is_same_v<sg::async_response_t<shards::asio_style, int>, std::vector<int>>);
  STATIC_REQUIRE(sg::async_shard_for<shards::callback_style, int>);
  STATIC_REQUIRE(std::is_same_v<sg::async_response_t<shards::callback_style, int>, double>);
  STATIC_REQUIRE_FALSE(sg::async_shard_for<shards::member, int>);
  STATIC_REQUIRE_FALSE(sg::async_shard_for<shards::asio_style, std::string>);

  // The probe starts nothing: the real operation still works with a real token.
  boost::asio::io_context io;
  shards::asio_style s{&io};
  std::vector<int> got;
  s.async_execute(5, [&](std::error_code ec, std::vector<int> v) {
    CHECK_FALSE(ec);
    got = std::move(v);
  });
  io.run();
  CHECK(got == std::vector<int>{5});
}

TEST_CASE("shard sets: ranges and tuples", "[shard][set]") {
  using sg::detail::shard_count;
  std::vector<shards::member> v(3);
  std::array<shards::member, 2> a{};
  std::span<shards::member> s(v);
  std::list<shards::member> l(4);  // forward, not random access
  auto view = ranges::views::iota(0, 5) | ranges::views::transform([](int) { return shards::member{}; });
  STATIC_REQUIRE(sg::shard_set_for<decltype(v), int>);
  STATIC_REQUIRE(sg::shard_set_for<decltype(a), int>);
  STATIC_REQUIRE(sg::shard_set_for<decltype(s), int>);
  STATIC_REQUIRE(sg::shard_set_for<decltype(l), int>);
  STATIC_REQUIRE(sg::shard_set_for<decltype(view), int>);
  CHECK(shard_count(v) == 3);
  CHECK(shard_count(a) == 2);
  CHECK(shard_count(s) == 3);
  CHECK(shard_count(l) == 4);
  CHECK(shard_count(view) == 5);

  auto t = std::make_tuple(shards::member{}, [](int x) { return long{x} * 10; });
  auto h = boost::hana::make_tuple(shards::member{}, [](int x) { return short(x); });
  STATIC_REQUIRE(sg::shard_set_for<decltype(t), int>);
  STATIC_REQUIRE(sg::shard_set_for<decltype(h), int>);
  STATIC_REQUIRE(std::is_same_v<sg::set_response_t<decltype(t), int>, long>);  // common type
  STATIC_REQUIRE(std::is_same_v<sg::set_response_t<decltype(h), int>, int>);
  CHECK(shard_count(t) == 2);

  std::vector<long> answers;
  sg::detail::for_each_shard(t, [&](std::size_t i, auto& shard) {
    CHECK(answers.size() == i);
    answers.push_back(static_cast<long>(sg::execute(shard, 3)));
  });
  CHECK(answers == std::vector<long>{4, 30});

  auto no_common = std::make_tuple(shards::member{}, shards::adl{});  // int and std::string
  STATIC_REQUIRE(sg::shard_set_for<decltype(no_common), int>);
  STATIC_REQUIRE_FALSE(sg::has_set_response<decltype(no_common), int>);
  STATIC_REQUIRE_FALSE(sg::shard_set_for<std::tuple<shards::member, shards::not_a_shard>, int>);
  STATIC_REQUIRE_FALSE(sg::shard_set_for<int, int>);
}
