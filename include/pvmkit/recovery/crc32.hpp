// CRC-32 (IEEE 802.3 polynomial, reflected, as in zlib and Ethernet) for journal records.
// check value: crc32("123456789") == 0xCBF43926.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace pvmkit::recovery {

namespace detail {
inline constexpr std::array<std::uint32_t, 256> crc32_table = [] {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1U) ? (0xEDB88320U ^ (c >> 1)) : (c >> 1);
    t[i] = c;
  }
  return t;
}();
}  // namespace detail

// Continues a running CRC: crc32(b, crc32(a)) == crc32(a + b).
[[nodiscard]] constexpr std::uint32_t crc32(std::span<const unsigned char> data, std::uint32_t crc = 0) noexcept {
  crc = ~crc;
  for (unsigned char b : data) crc = detail::crc32_table[(crc ^ b) & 0xFFU] ^ (crc >> 8);
  return ~crc;
}

[[nodiscard]] constexpr std::uint32_t crc32(std::string_view s, std::uint32_t crc = 0) noexcept {
  crc = ~crc;
  for (char ch : s) crc = detail::crc32_table[(crc ^ static_cast<unsigned char>(ch)) & 0xFFU] ^ (crc >> 8);
  return ~crc;
}

static_assert(crc32(std::string_view{"123456789"}) == 0xCBF43926U);

}  // namespace pvmkit::recovery
