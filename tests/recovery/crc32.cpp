#include <pvmkit/recovery/crc32.hpp>

#include <doctest/doctest.h>

#include <string_view>

using namespace pvmkit::recovery;

TEST_CASE("crc32 matches the standard check value and composes") {
  CHECK(crc32(std::string_view{"123456789"}) == 0xCBF43926U);
  CHECK(crc32(std::string_view{""}) == 0U);
  CHECK(crc32(std::string_view{"6789"}, crc32(std::string_view{"12345"})) == 0xCBF43926U);
}

TEST_CASE("crc32 sees a single flipped bit and the order of bytes") {
  CHECK(crc32(std::string_view{"123456788"}) != 0xCBF43926U);
  CHECK(crc32(std::string_view{"213456789"}) != 0xCBF43926U);
  CHECK(crc32(std::string_view{"a"}) == 0xE8B7BE43U);
}
