// UTF-8 as RFC 3629 defines it: no overlong forms, no surrogates (U+D800..U+DFFF), nothing above
// U+10FFFF. Readers reject what does not decode; writers replace it with U+FFFD, so every output
// pvmkit produces (JSON, SVG, CSV) is valid UTF-8 whatever its input held.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pvmkit::utf8 {

inline constexpr char32_t replacement_character = 0xFFFD;

struct decoded {
  char32_t code_point = 0;
  std::size_t length = 0;  // bytes the sequence takes; 0 = not valid UTF-8 at this position
};

// The code point whose encoding starts at s[pos] (pos < s.size()).
[[nodiscard]] constexpr decoded decode(std::string_view s, std::size_t pos) noexcept {
  const auto byte = [&](std::size_t i) -> unsigned { return pos + i < s.size() ? static_cast<unsigned char>(s[pos + i]) : 0U; };
  const unsigned b0 = byte(0);
  if (b0 < 0x80) return {b0, 1};
  // The valid range of the second byte depends on the first (RFC 3629, section 4): it is what
  // excludes overlong forms, surrogates and code points above U+10FFFF.
  unsigned lo = 0x80, hi = 0xBF;
  std::size_t len = 0;
  char32_t cp = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    cp = b0 & 0x1FU;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    cp = b0 & 0x0FU;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    cp = b0 & 0x07U;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return {};
  }
  for (std::size_t i = 1; i < len; ++i) {
    const unsigned b = byte(i);
    if (b < (i == 1 ? lo : 0x80U) || b > (i == 1 ? hi : 0xBFU)) return {};
    cp = (cp << 6) | (b & 0x3FU);
  }
  return {cp, len};
}

[[nodiscard]] constexpr bool is_valid(std::string_view s) noexcept {
  for (std::size_t i = 0; i < s.size();) {
    const auto d = decode(s, i);
    if (d.length == 0) return false;
    i += d.length;
  }
  return true;
}

// Appends `cp` (a Unicode scalar value: not a surrogate, at most U+10FFFF) encoded.
inline void append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// `s` with U+FFFD for each byte that does not start a valid sequence and for each code point
// `forbidden` refuses (an output format's own exclusions: XML's control characters, say).
template <class Forbidden>
[[nodiscard]] std::string make_valid(std::string_view s, Forbidden forbidden) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const auto d = decode(s, i);
    if (d.length == 0 || forbidden(d.code_point)) {
      append(out, replacement_character);
      i += d.length == 0 ? 1 : d.length;
    } else {
      out.append(s.substr(i, d.length));
      i += d.length;
    }
  }
  return out;
}

}  // namespace pvmkit::utf8
