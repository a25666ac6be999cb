#include <sg/error.hpp>

#include <catch2/catch.hpp>

#include <iterator>
#include <set>
#include <string>
#include <system_error>

TEST_CASE("sg::errc is an error code enum of its own category", "[error]") {
  STATIC_REQUIRE(std::is_error_code_enum_v<sg::errc>);
  std::error_code ec = sg::errc::timeout;
  CHECK(ec == sg::errc::timeout);
  CHECK(ec != sg::errc::cancelled);
  CHECK(ec.category() == sg::error_category());
  CHECK(std::string(ec.category().name()) == "sg");
  CHECK(ec.message() == "timed out");
}

TEST_CASE("every sg::errc has its own message", "[error]") {
  const sg::errc all[] = {sg::errc::shard_failed, sg::errc::timeout,     sg::errc::cancelled,
                          sg::errc::circuit_open, sg::errc::no_shards,   sg::errc::bad_input,
                          sg::errc::overflow,     sg::errc::partial_result};
  std::set<std::string> messages;
  for (auto e : all) {
    std::error_code ec = e;
    CHECK(ec);  // never the zero value: a code of sg's always means failure
    CHECK(ec.message().find("unknown") == std::string::npos);
    messages.insert(ec.message());
  }
  CHECK(messages.size() == std::size(all));
  CHECK(std::error_code(99, sg::error_category()).message() == "unknown sg error 99");
}

TEST_CASE("sg codes compare equal to the matching standard conditions", "[error]") {
  CHECK(std::error_code(sg::errc::timeout) == std::errc::timed_out);
  CHECK(std::error_code(sg::errc::cancelled) == std::errc::operation_canceled);
  CHECK(std::error_code(sg::errc::bad_input) == std::errc::invalid_argument);
  CHECK(std::error_code(sg::errc::overflow) == std::errc::value_too_large);
  CHECK(std::error_code(sg::errc::no_shards) != std::errc::timed_out);
  // and the other way round: a foreign code is not one of sg's
  CHECK(std::make_error_code(std::errc::timed_out) != sg::errc::timeout);
}
