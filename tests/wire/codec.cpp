// sg::wire's codecs: round trips on random values, and refusals of bad bytes.
#include <sg/wire/codec.hpp>
#include <sg/wire/gathered.hpp>

#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <system_error>
#include <tuple>
#include <vector>

namespace {

using row = std::tuple<std::int64_t, std::string, double, std::optional<std::int32_t>, bool, std::uint8_t>;

std::string random_string(std::mt19937_64& rng) {
  std::string s(rng() % 40, '\0');
  for (auto& c : s) c = static_cast<char>(rng());  // any byte, NUL included
  return s;
}

row random_row(std::mt19937_64& rng) {
  std::optional<std::int32_t> o;
  if (rng() % 3 != 0) o = static_cast<std::int32_t>(rng());
  return {static_cast<std::int64_t>(rng()), random_string(rng), std::bit_cast<double>(rng()), o, rng() % 2 == 0,
          static_cast<std::uint8_t>(rng())};
}

// Rows compared bit for bit (the doubles are random bits: NaNs included).
bool same(row const& a, row const& b) {
  return std::get<0>(a) == std::get<0>(b) && std::get<1>(a) == std::get<1>(b) &&
         std::bit_cast<std::uint64_t>(std::get<2>(a)) == std::bit_cast<std::uint64_t>(std::get<2>(b)) &&
         std::get<3>(a) == std::get<3>(b) && std::get<4>(a) == std::get<4>(b) && std::get<5>(a) == std::get<5>(b);
}

template <class T>
std::string refusal(std::vector<std::byte> const& bytes) {
  try {
    (void)sg::wire::decode<T>(bytes);
  } catch (std::system_error const& e) {
    CHECK(e.code() == sg::errc::bad_input);
    return e.what();
  }
  FAIL("decoded bytes that should have been refused");
  return {};
}

sg::gathered<std::vector<row>> random_gathered(std::mt19937_64& rng) {
  sg::gathered<std::vector<row>> g;
  const auto n = rng() % 50;
  for (std::uint64_t i = 0; i < n; ++i) g.value.push_back(random_row(rng));
  const std::size_t failed = rng() % 3, succeeded = rng() % 5;
  g.completeness = {succeeded + failed, succeeded, failed, static_cast<std::size_t>(rng() % 4)};
  for (std::size_t i = 0; i < failed; ++i)
    g.failures.push_back({i * 2, i % 2 == 0 ? std::error_code(sg::errc::timeout) : std::make_error_code(std::errc::connection_refused),
                          random_string(rng), static_cast<unsigned>(rng() % 5)});
  return g;
}

}  // namespace

TEST_CASE("wire: numbers, strings, optionals, tuples and vectors read back as written", "[wire][property]") {
  SG_SEEDED_RNG(rng);
  for (int round = 0; round < 200; ++round) {
    std::vector<row> rows;
    const auto n = rng() % 30;
    for (std::uint64_t i = 0; i < n; ++i) rows.push_back(random_row(rng));
    const auto back = sg::wire::decode<std::vector<row>>(sg::wire::encode(rows));
    REQUIRE(back.size() == rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) CHECK(same(back[i], rows[i]));
  }
  CHECK(sg::wire::decode<std::int8_t>(sg::wire::encode(std::int8_t{-128})) == -128);
  CHECK(sg::wire::decode<std::uint64_t>(sg::wire::encode(~std::uint64_t{0})) == ~std::uint64_t{0});
  CHECK(std::signbit(sg::wire::decode<double>(sg::wire::encode(-0.0))));
  CHECK(sg::wire::decode<float>(sg::wire::encode(1.5f)) == 1.5f);
  CHECK(sg::wire::decode<std::pair<int, std::string>>(sg::wire::encode(std::pair<int, std::string>{7, "x"})) ==
        std::pair<int, std::string>{7, "x"});
  CHECK(sg::wire::decode<std::array<std::int16_t, 3>>(sg::wire::encode(std::array<std::int16_t, 3>{1, -2, 3})) ==
        std::array<std::int16_t, 3>{1, -2, 3});
  CHECK(sg::wire::decode<std::vector<std::byte>>(sg::wire::encode(std::vector<std::byte>{std::byte{0}, std::byte{255}})) ==
        std::vector<std::byte>{std::byte{0}, std::byte{255}});
}

TEST_CASE("wire: the layout is little-endian with the documented header", "[wire]") {
  const auto b = sg::wire::encode(std::uint32_t{0x01020304});
  REQUIRE(b.size() == sg::wire::header_size + 4);
  CHECK(b[0] == std::byte{'S'});
  CHECK(b[1] == std::byte{'G'});
  CHECK(b[2] == std::byte{'W'});
  CHECK(b[3] == std::byte{sg::wire::version});
  CHECK(b[12] == std::byte{4});
  CHECK(b[15] == std::byte{1});
  const auto s = sg::wire::encode(std::string("ab"));
  REQUIRE(s.size() == sg::wire::header_size + 8 + 2);
  CHECK(s[12] == std::byte{2});
  CHECK(s[20] == std::byte{'a'});
  STATIC_REQUIRE(sg::wire::codec<std::int32_t>::schema != sg::wire::codec<std::uint32_t>::schema);
  STATIC_REQUIRE(sg::wire::codec<std::vector<int>>::schema != sg::wire::codec<std::vector<long>>::schema);
  STATIC_REQUIRE(!sg::wire::encodable<long double>);
  STATIC_REQUIRE(!sg::wire::encodable<std::vector<long double>>);
}

TEST_CASE("wire: a gathered answer keeps its value, completeness and failures", "[wire][property]") {
  SG_SEEDED_RNG(rng);
  for (int round = 0; round < 100; ++round) {
    const auto g = random_gathered(rng);
    const auto back = sg::wire::decode<sg::gathered<std::vector<row>>>(sg::wire::encode(g));
    REQUIRE(back.value.size() == g.value.size());
    for (std::size_t i = 0; i < g.value.size(); ++i) CHECK(same(back.value[i], g.value[i]));
    CHECK(back.completeness == g.completeness);
    CHECK(back.failures == g.failures);  // codes back in their own categories
    CHECK(back.stats == nullptr);
  }
}

TEST_CASE("wire: error codes of an unknown category come back as remote ones, of a registered one as themselves", "[wire]") {
  struct custom_category final : std::error_category {
    char const* name() const noexcept override { return "sg.test.custom"; }
    std::string message(int v) const override { return "custom " + std::to_string(v); }
  };
  static const custom_category custom;
  const sg::shard_failure f{3, std::error_code(42, custom), "the shard's words", 2};
  const auto bytes = sg::wire::encode(f);
  auto back = sg::wire::decode<sg::shard_failure>(bytes);
  CHECK(&back.error.category() == &sg::wire::remote_category());
  CHECK(back.error.value() == 42);
  CHECK(back.what == "the shard's words");
  CHECK(back.attempts == 2);
  sg::wire::register_category(custom);
  sg::wire::register_category(custom);
  back = sg::wire::decode<sg::shard_failure>(bytes);
  CHECK(back == f);
}

TEST_CASE("wire: every truncation and every extension of a valid buffer is refused", "[wire]") {
  SG_SEEDED_RNG(rng);
  auto g = random_gathered(rng);
  g.value.push_back(random_row(rng));
  const auto bytes = sg::wire::encode(g);
  using T = sg::gathered<std::vector<row>>;
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    INFO("the first " << n << " of " << bytes.size() << " bytes");
    CHECK_THROWS_MATCHES(sg::wire::decode<T>(std::span(bytes).first(n)), std::system_error,
                         Catch::Predicate<std::system_error>([](auto const& e) { return e.code() == sg::errc::bad_input; }));
  }
  auto longer = bytes;
  longer.push_back(std::byte{0});
  CHECK_THAT(refusal<T>(longer), Catch::Contains("1 bytes left over"));
}

TEST_CASE("wire: another version, another type, a foreign buffer, a lying length, a bad bool are refused", "[wire]") {
  auto bytes = sg::wire::encode(std::vector<std::string>{"a", "b"});
  using T = std::vector<std::string>;
  auto v2 = bytes;
  v2[3] = std::byte{2};
  CHECK_THAT(refusal<T>(v2), Catch::Contains("format version 2, but this build reads version 1"));
  CHECK_THAT(refusal<std::vector<std::int64_t>>(bytes), Catch::Contains("another type"));
  auto foreign = bytes;
  foreign[0] = std::byte{'X'};
  CHECK_THAT(refusal<T>(foreign), Catch::Contains("not sg::wire bytes"));
  auto huge = bytes;  // the vector's count: 2^64 - 1, which must not be allocated
  for (std::size_t i = 12; i < 20; ++i) huge[i] = std::byte{0xff};
  CHECK_THAT(refusal<T>(huge), Catch::Contains("18446744073709551615 items"));
  auto long_string = bytes;  // the first string's length: 1000 bytes, 13 remain
  long_string[20] = std::byte{0xe8};
  long_string[21] = std::byte{0x03};
  CHECK_THAT(refusal<T>(long_string), Catch::Contains("a string's length says 1000 items"));
  auto b = sg::wire::encode(true);
  b.back() = std::byte{2};
  CHECK_THAT(refusal<bool>(b), Catch::Contains("a bool is 2, not 0 or 1"));
  auto c = sg::wire::encode(sg::completeness{3, 2, 1, 0});
  c[12 + 16] = std::byte{0};  // failed = 0: 2 + 0 != 3
  CHECK_THAT(refusal<sg::completeness>(c), Catch::Contains("2 succeeded and 0 failed of 3 targeted"));
}

TEST_CASE("wire: random byte flips are refused or decode to a value, never undefined behaviour", "[wire][property]") {
  SG_SEEDED_RNG(rng);
  using T = sg::gathered<std::vector<row>>;
  for (int round = 0; round < 2000; ++round) {
    auto bytes = sg::wire::encode(random_gathered(rng));
    const auto flips = 1 + rng() % 4;
    for (std::uint64_t i = 0; i < flips; ++i) bytes[rng() % bytes.size()] ^= static_cast<std::byte>(1u << (rng() % 8));
    try {
      auto g = sg::wire::decode<T>(bytes);
      CHECK(g.completeness.succeeded + g.completeness.failed == g.completeness.targeted);
    } catch (std::system_error const& e) {
      CHECK(e.code() == sg::errc::bad_input);
    }
  }
}

namespace {
struct point {
  std::int32_t x = 0;
  std::string label;
  std::optional<double> weight;
  int not_sent = 7;
  friend bool operator==(point const&, point const&) = default;
};
}  // namespace

template <>
struct sg::wire::codec<point> : sg::wire::fields<point, &point::x, &point::label, &point::weight> {};

TEST_CASE("wire: a struct of the user's crosses field by field through sg::wire::fields", "[wire]") {
  const std::vector<point> points{{-3, "a", 0.5, 1}, {4, "", std::nullopt, 2}};
  const auto back = sg::wire::decode<std::vector<point>>(sg::wire::encode(points));
  REQUIRE(back.size() == 2);
  CHECK(back[0].x == -3);
  CHECK(back[0].label == "a");
  CHECK(back[0].weight == 0.5);
  CHECK(back[0].not_sent == 7);  // value-initialized: fields left out are not sent
  CHECK(back[1].weight == std::nullopt);
  STATIC_REQUIRE(sg::wire::codec<point>::min_size == 4 + 8 + 1);
  STATIC_REQUIRE(sg::wire::codec<point>::schema != sg::wire::codec<std::tuple<std::int32_t, std::string, std::optional<double>>>::schema);
  const auto bytes = sg::wire::encode(points);
  for (std::size_t n = 0; n < bytes.size(); ++n)
    CHECK_THROWS_AS(sg::wire::decode<std::vector<point>>(std::span(bytes).first(n)), std::system_error);
}
