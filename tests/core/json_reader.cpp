#include <pvmkit/core/json_reader.hpp>
#include <pvmkit/core/json_writer.hpp>

#include "config_errors.hpp"
#include "mutations.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <iterator>
#include <string>

using namespace pvmkit;

namespace {
std::string error_of(const std::string& text) {
  return test::error_of([&] { (void)parse_json(text, "j.json"); });
}

// An object of `n` distinct keys "k0".."k<n-1>", each with its index as value.
std::string object_of(std::size_t n) {
  std::string text = "{";
  for (std::size_t i = 0; i < n; ++i) text += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":" + std::to_string(i);
  return text + "}";
}
}  // namespace

TEST_CASE("json reader: every kind of value, where it starts, and lookups") {
  const auto doc = parse_json("{\"a\": [1, -2.5e3, true, false, null],\n \"b\": {\"c\": \"d\"}, \"e\": {}, \"f\": []}", "j.json");
  const json_value root = doc.root();
  CHECK(doc.source() == "j.json");
  REQUIRE(root.type() == json_type::object);
  REQUIRE(root.size() == 4);
  CHECK(root.key(0) == "a");
  CHECK(root.key(3) == "f");
  const json_value a = root.member(0);
  REQUIRE(a.type() == json_type::array);
  REQUIRE(a.size() == 5);
  CHECK(a.item(0).number() == 1);
  CHECK(a.item(1).number() == -2500);
  CHECK(a.item(2).boolean());
  CHECK(a.item(3).type() == json_type::boolean);
  CHECK_FALSE(a.item(3).boolean());
  CHECK(a.item(4).type() == json_type::null);
  CHECK(a.item(1).position().line == 1);
  CHECK(a.item(1).position().column == 11);
  const auto b = root.find("b");
  REQUIRE(b.has_value());
  CHECK(b->position().line == 2);
  CHECK(b->position().column == 7);
  CHECK(b->find("c")->string() == "d");
  CHECK_FALSE(root.find("zz").has_value());
  CHECK_FALSE(a.find("a").has_value());  // not an object
  CHECK(root.find("e")->size() == 0);
  CHECK(root.find("f")->size() == 0);
  // Accessors of another type answer a neutral value.
  CHECK(a.number() == 0);
  CHECK(a.string().empty());
  CHECK(a.item(0).size() == 0);
}

TEST_CASE("json reader: syntax errors name the line and column") {
  CHECK(error_of("") == "j.json:1:1: expected a value (object, array, string, number, true, false or null), found the end of the file");
  CHECK(error_of("{\n  \"a\": 1,,\n}") == "j.json:2:10: expected a field name in double quotes, found ','");
  CHECK(error_of("[1, 2") == "j.json:1:6: expected ',' or ']', found the end of the file");
  CHECK(error_of("[1,]") == "j.json:1:4: expected a value (object, array, string, number, true, false or null), found ']'");
  CHECK(error_of("{\"a\" 1}") == "j.json:1:6: expected ':', found '1'");
  CHECK(error_of("[1] [2]") == "j.json:1:5: unexpected text after the top-level value");
  CHECK(error_of("[\"a\nb\"]") == "j.json:1:4: control character in a string (write it as an escape: \\n, \\t, \\u0001...)");
  CHECK(error_of("[\"abc") == "j.json:1:6: unterminated string");
  CHECK(error_of("[\"\\q\"]") == "j.json:1:3: unknown escape '\\q'");
  CHECK(error_of("[\"\\u12G4\"]") == "j.json:1:3: malformed \\u escape (expected four hex digits)");
  CHECK(error_of("\x01") == "j.json:1:1: expected a value (object, array, string, number, true, false or null), found byte 0x01");
}

TEST_CASE("json reader: numbers follow RFC 8259 and must fit a double") {
  for (const char* bad : {"01", "1.", "-.5", "1e", "1e+", "-", "1.2.3", "--1", "1ee2", "1e2.5"}) {
    CAPTURE(bad);
    CHECK(error_of(std::string{"["} + bad + "]") == std::string{"j.json:1:2: "} + "malformed number '" + bad + "'");
  }
  CHECK(error_of("[+1]") == "j.json:1:2: expected a value (object, array, string, number, true, false or null), found '+'");
  CHECK(error_of("[0x10]") == "j.json:1:3: expected ',' or ']', found 'x'");
  CHECK(error_of("[1e999]") == "j.json:1:2: number out of range '1e999' (a double holds magnitudes from 2.2e-308 to 1.8e308)");
  CHECK(error_of("[-1e400]").find("number out of range") != std::string::npos);
  CHECK(parse_json("[-0, 0.5, 1E2, 2e-3, 1.7976931348623157e308]").root().item(4).number() == 1.7976931348623157e308);
  CHECK(parse_json("[1E2]").root().item(0).number() == 100);
  const std::string long_run(100, '9');
  CHECK(error_of("[" + long_run + ".]") == "j.json:1:2: malformed number '" + std::string(40, '9') + "...'");
}

TEST_CASE("json reader: strings are UTF-8, and \\u escapes pair their surrogates") {
  const auto doc = parse_json(R"(["\u00e9", "\ud800\udc00", "\uD83D\uDE00", "\u0000", "caf\u00E9 \"q\" \\ \/ \b\f\n\r\t", "é€😀"])");
  const json_value r = doc.root();
  CHECK(r.item(0).string() == "\xC3\xA9");
  CHECK(r.item(1).string() == "\xF0\x90\x80\x80");  // U+10000: one 4-byte sequence, not two 3-byte halves
  CHECK(r.item(2).string() == "\xF0\x9F\x98\x80");
  CHECK(r.item(3).string() == std::string(1, '\0'));
  CHECK(r.item(4).string() == "caf\xC3\xA9 \"q\" \\ / \b\f\n\r\t");
  CHECK(r.item(5).string() == "é€😀");
  CHECK(error_of(R"(["ab\ud800"])") == R"(j.json:1:5: lone surrogate \ud800: a high surrogate must be followed by a low one (\udc00 to \udfff))");
  CHECK(error_of(R"(["\udbff\u0041"])") == R"(j.json:1:3: lone surrogate \udbff: a high surrogate must be followed by a low one (\udc00 to \udfff))");
  CHECK(error_of(R"(["\ud800\ud800"])").find("lone surrogate") != std::string::npos);
  CHECK(error_of(R"(["\udc00"])") == R"(j.json:1:3: lone surrogate \udc00: a low surrogate must follow a high one (\ud800 to \udbff))");
  // Raw bytes that are not UTF-8: a stray continuation, an overlong '/', a UTF-8-encoded
  // surrogate, a code point above U+10FFFF, a sequence cut short.
  for (const char* bad : {"\x80", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xE2\x82", "\xFF"}) {
    CAPTURE(bad);
    CHECK(error_of(std::string{"[\""} + bad + "\"]").rfind("j.json:1:3: invalid UTF-8 in a string (byte 0x", 0) == 0);
  }
}

TEST_CASE("json reader: duplicate keys are found in small and large objects, at the first repeat") {
  CHECK(error_of(R"({"a": 1, "b": 2, "a": 3})") == "j.json:1:18: field 'a' appears twice");
  // 40,000 keys took 35 s when every key was compared with every earlier one.
  std::string many = object_of(40'000);
  const auto doc = parse_json(many);
  REQUIRE(doc.root().size() == 40'000);
  CHECK(doc.root().find("k39999")->number() == 39'999);
  // Two repeats: the error names the one that comes first in the file.
  many = object_of(200'000);
  many.insert(many.size() - 1, ",\"k7\":0,\"k3\":0");
  const std::size_t k7_at = many.size() - 1 - std::string{",\"k7\":0,\"k3\":0"}.size() + 1;
  CHECK(error_of(many) == "j.json:1:" + std::to_string(k7_at + 1) + ": field 'k7' appears twice");
}

TEST_CASE("json reader: nesting stops at 64 levels, without exhausting the stack") {
  CHECK_NOTHROW((void)parse_json(std::string(65, '[') + std::string(65, ']')));
  CHECK(error_of(std::string(66, '[') + std::string(66, ']')) == "j.json:1:66: nesting deeper than 64 levels");
  CHECK(error_of(std::string(1'000'000, '[')) == "j.json:1:66: nesting deeper than 64 levels");
  CHECK(error_of(std::string(1'000'000, '{')) == "j.json:1:2: expected a field name in double quotes, found '{'");
}

TEST_CASE("json reader: any mutation of a document fails with a config_error or parses") {
  const std::string valid = R"({"name": "x\u00e9\ud83d\ude00", "n": [1, -2.5e-3, true, null, {"k": "v"}], "s": "a\\b"})";
  std::size_t parsed = 0, refused = 0;
  test::for_each_mutation(valid, 20'000, [&](const std::string& t) {
    try {
      (void)parse_json(t);
      ++parsed;
    } catch (const config_error&) {
      ++refused;
    }
  });
  CHECK(parsed + refused == 20'000);
  CHECK(refused > 0);
}

TEST_CASE("json_field decodes a value at a path and names the line and the path in its errors") {
  const auto doc = parse_json("{\"host\": {\"nodes\": 2,\n \"cpus\": \"x\", \"list\": [1, 2.5], \"flag\": true}}", "f.json");
  const auto root = json_field::root(doc, "config");
  const auto host = root.at("host");
  CHECK(host.at("nodes").integer(1, 4) == 2);
  CHECK(host.at("flag").boolean());
  CHECK(host.at("list").items().size() == 2);
  CHECK(host.at("list").items()[1].path() == "host.list[1]");
  CHECK(test::error_of([&] { (void)host.at("cpus").number(0, 1); }) == "f.json:2: host.cpus: expected a number, found a string");
  CHECK(test::error_of([&] { (void)host.at("nodes").integer(3, 4); }) == "f.json:1: host.nodes: must be at least 3, found 2");
  CHECK(test::error_of([&] { (void)host.at("list").items()[1].integer(0, 9); }) == "f.json:2: host.list[1]: must be a whole number, found 2.5");
  CHECK(test::error_of([&] { (void)host.at("list").items()[1].number(0, 1); }) == "f.json:2: host.list[1]: must be at most 1, found 2.5");
  CHECK(test::error_of([&] { (void)host.at("missing"); }) == "f.json:1: host: missing required field 'missing'");
  CHECK(test::error_of([&] { (void)root.object({"guests"}); }) == "f.json:1: host: unknown field (expected one of guests)");
  CHECK(test::error_of([&] { (void)root.string(); }) == "f.json:1: config: expected a string, found an object");
}

TEST_CASE("what json_writer writes, the reader reads back exactly") {
  const double numbers[] = {0.1, 1.0 / 3, -2.5e-300, 1.7976931348623157e308, 123456789.123, 0, 4.9406564584124654e-324 * 1e16};
  const std::string strings[] = {"plain", "quote \" backslash \\ slash /", std::string{"nul \0 and \x1f", 11}, "\xC3\xA9\xF0\x9F\x98\x80"};
  json_writer w;
  w.begin_object().key("numbers").begin_array();
  for (double x : numbers) w.value(x);
  w.end_array().key("strings").begin_array();
  for (const auto& s : strings) w.value(s);
  w.end_array().end_object();
  const auto doc = parse_json(w.str());
  const auto n = doc.root().find("numbers");
  const auto s = doc.root().find("strings");
  REQUIRE(n.has_value());
  REQUIRE(s.has_value());
  for (std::size_t i = 0; i < std::size(numbers); ++i) CHECK(n->item(i).number() == numbers[i]);
  for (std::size_t i = 0; i < std::size(strings); ++i) CHECK(s->item(i).string() == strings[i]);
}
