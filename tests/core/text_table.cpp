#include <pvmkit/core/text_table.hpp>

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

using pvmkit::text_table;

TEST_CASE("text_table: columns as wide as their widest cell, numbers to the right, a rule under the header") {
  text_table t{{"policy", "served %", "note"}, {0, 2}};
  t.add({"closer", "99.5", "home"}).add({"xen_default", "7", "-"});
  CHECK(t.rows() == 2);
  CHECK(t.render() ==
        "policy       served %  note\n"
        "---------------------------\n"
        "closer           99.5  home\n"
        "xen_default         7  -\n");
}

TEST_CASE("text_table: a cell's own trailing blank is kept; a right-aligned last column has no padding after it") {
  text_table t{{"a", "b"}};
  t.add({"x", "1.0*"}).add({"yy", "2.0 "});
  CHECK(t.render() == "a      b\n--------\nx   1.0*\nyy  2.0 \n");
}

TEST_CASE("text_table: a header alone, and a row of the wrong width refused") {
  text_table t{{"only"}};
  CHECK(t.render() == "only\n----\n");
  CHECK_THROWS_AS((t.add({"a", "b"})), std::logic_error);
  CHECK(t.rows() == 0);  // nothing half-added
}
