#include <pvmkit/core/json_writer.hpp>
#include <pvmkit/core/utf8.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <limits>

using namespace pvmkit;

TEST_CASE("json writer nests, separates and escapes") {
  json_writer w;
  w.begin_object()
      .field("name", "a\"b\\c\n")
      .field("n", 3)
      .field("ok", true)
      .key("list")
      .begin_array()
      .value(1.5)
      .value(std::numeric_limits<double>::quiet_NaN())
      .begin_object()
      .end_object()
      .end_array()
      .field("ctl", std::string_view{"\x01", 1})
      .end_object();
  CHECK(w.str() == R"({"name":"a\"b\\c\n","n":3,"ok":true,"list":[1.5,null,{}],"ctl":"\u0001"})");
}

TEST_CASE("raw embeds another document as a value") {
  json_writer inner;
  inner.begin_array().value(1).value(2).end_array();
  json_writer w;
  w.begin_object().field("a", 1).key("b").raw(inner.str()).field("c", false).end_object();
  CHECK(w.str() == R"({"a":1,"b":[1,2],"c":false})");
}

TEST_CASE("json writer prints doubles exactly, as the shortest text that reads back the same") {
  json_writer w;
  w.begin_array().value(0.1).value(1.0 / 3).value(123456789.0).value(1e300).value(5e-324).value(-0.0).value(100.0).value(2.5e-7).end_array();
  // %.6g printed 0.333333, 1.23457e+08: neither reads back as the value written.
  CHECK(w.str() == "[0.1,0.3333333333333333,123456789,1e+300,5e-324,-0,100,2.5e-07]");
  CHECK(to_shortest_string(0.1 + 0.2) == "0.30000000000000004");
}

TEST_CASE("json writer output is valid UTF-8 whatever the strings hold") {
  json_writer w;
  // A code point above U+FFFF, a NUL, DEL, and bytes that are not UTF-8 (a lone continuation, a
  // UTF-8-encoded surrogate, a cut-short sequence).
  w.begin_object()
      .field("ok", "\xF0\x90\x80\x80 \xC3\xA9")
      .field("ctl", std::string_view{"a\0b\x7f\x1f", 5})
      .field("bad", "\x80|\xED\xA0\x80|\xE2\x82")
      .end_object();
  CHECK(w.str() == "{\"ok\":\"\xF0\x90\x80\x80 \xC3\xA9\",\"ctl\":\"a\\u0000b\x7f\\u001f\",\"bad\":\"\\ufffd|\\ufffd\\ufffd\\ufffd|\\ufffd\\ufffd\"}");
  CHECK(utf8::is_valid(w.str()));
}
