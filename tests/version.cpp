#include <sg/version.hpp>

#include <catch2/catch.hpp>

#include <string>

TEST_CASE("the header version equals the CMake project version", "[version]") {
  const std::string header = std::to_string(SG_VERSION_MAJOR) + "." +
                             std::to_string(SG_VERSION_MINOR) + "." +
                             std::to_string(SG_VERSION_PATCH);
  CHECK(header == SG_CMAKE_VERSION);
  CHECK(SG_VERSION == SG_VERSION_MAJOR * 10000 + SG_VERSION_MINOR * 100 + SG_VERSION_PATCH);
}
