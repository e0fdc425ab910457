#include <pvmkit/core/utf8.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace pvmkit;

TEST_CASE("utf8::decode takes RFC 3629's sequences and nothing else") {
  CHECK(utf8::decode("A", 0).code_point == U'A');
  CHECK(utf8::decode("\xC3\xA9", 0).code_point == U'\u00e9');
  CHECK(utf8::decode("\xC3\xA9", 0).length == 2);
  CHECK(utf8::decode("\xEF\xBF\xBD", 0).code_point == 0xFFFD);
  CHECK(utf8::decode("\xF0\x90\x80\x80", 0).code_point == 0x10000);
  CHECK(utf8::decode("\xF4\x8F\xBF\xBF", 0).code_point == 0x10FFFF);
  CHECK(utf8::decode("x\xF4\x8F\xBF\xBF", 1).length == 4);
  // Continuation bytes alone, overlong forms, surrogates, above U+10FFFF, cut short, never used.
  for (const char* bad : {"\x80", "\xBF", "\xC0\x80", "\xC1\xBF", "\xE0\x9F\xBF", "\xED\xA0\x80", "\xED\xBF\xBF", "\xF0\x8F\xBF\xBF",
                          "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xE2\x82", "\xF0\x90\x80", "\xFE", "\xFF"}) {
    CAPTURE(bad);
    CHECK(utf8::decode(bad, 0).length == 0);
    CHECK_FALSE(utf8::is_valid(bad));
  }
  CHECK(utf8::is_valid(""));
  CHECK(utf8::is_valid("plain \xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"));
}

TEST_CASE("utf8::append encodes each length, and make_valid replaces what is invalid or forbidden") {
  std::string s;
  for (char32_t c : {U'A', U'\u00e9', U'\u20ac', U'\U0001F600', U'\U0010FFFF'}) utf8::append(s, c);
  CHECK(s == "A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF");
  CHECK(utf8::is_valid(s));
  const auto none = [](char32_t) { return false; };
  CHECK(utf8::make_valid("a\xFF" "b\xE2\x82", none) == "a\xEF\xBF\xBD" "b\xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK(utf8::make_valid(std::string{"a\0b", 3}, [](char32_t c) { return c == 0; }) == "a\xEF\xBF\xBD" "b");
  CHECK(utf8::make_valid("\xC3\xA9", none) == "\xC3\xA9");
}
