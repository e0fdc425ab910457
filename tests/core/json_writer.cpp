#include <pvmkit/core/json_writer.hpp>

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
