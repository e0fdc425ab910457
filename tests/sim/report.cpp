#include "test_policies.hpp"

#include <pvmkit/core/utf8.hpp>
#include <pvmkit/sim/engine.hpp>
#include <pvmkit/sim/report.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

using namespace pvmkit;
using namespace pvmkit::sim;

namespace {
std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

std::vector<run_result> two_runs_and_oracle(scenario& s) {
  s.name = "report";
  s.duration_s = 10;
  s.host = {2, 4, 16, {}, {}};  // no NIC on either node: a request at home costs its local cost
  guest_spec a;
  a.name = "a";
  a.load = steady_load{{600000, 0}};
  guest_spec b;
  b.name = "b";
  b.home = node_id{1};
  b.load = steady_load{{100000, 0}};
  s.guests = {a, b};
  return {simulate(s, controlled_by(test::fixed_per_node_sizing{1}, test::home_placement{}), "home+one"),
          simulate(s, controlled_by(test::no_op_policy{}, test::no_op_policy{}), "float+boot"), simulate_oracle(s)};
}
}  // namespace

TEST_CASE("the table has one row per run, the oracle last, and marks the best policy value per column") {
  scenario s;
  const auto runs = two_runs_and_oracle(s);
  const std::string t = format_table(s, runs);
  CHECK(t.find("MODELLED") != std::string::npos);
  const auto home = t.find("home+one"), flt = t.find("float+boot"), oracle = t.find("\noracle");
  REQUIRE(home != std::string::npos);
  REQUIRE(flt != std::string::npos);
  REQUIRE(oracle != std::string::npos);
  CHECK(home < oracle);
  CHECK(flt < oracle);
  // float+boot serves everything (8 vCPUs), home+one cannot (1.2 cores on one vCPU): served is
  // best on the float row; cores held best on the home row; remote work best on home.
  const std::string float_row = t.substr(flt, t.find('\n', flt) - flt);
  const std::string home_row = t.substr(home, t.find('\n', home) - home);
  const std::string oracle_row = t.substr(oracle + 1, t.find('\n', oracle + 1) - oracle - 1);
  CHECK(float_row.find("100.00*") != std::string::npos);
  CHECK(home_row.find("2.00*") != std::string::npos);   // cores held
  CHECK(home_row.find("0.0*") != std::string::npos);    // remote work
  CHECK(home_row.find(" 1.00*") != std::string::npos);  // cost x: everything local
  CHECK(float_row.find(" 1.00") == std::string::npos);
  CHECK(count(oracle_row, "*") == 0);                   // the reference is not a contender
  CHECK(runs[0].served_pct < 100);
}

TEST_CASE("JSON, CSV and SVG outputs carry every run and say they are modelled") {
  scenario s;
  const auto runs = two_runs_and_oracle(s);
  const auto t = evaluate_targets(s, runs, "home+one");
  REQUIRE(!t.items.empty());
  CHECK(t.items.front().value == doctest::Approx(100.0 * runs[0].served_work / runs[2].served_work));
  const std::string j = to_json(s, runs, t);
  CHECK(j.find("\"modelled\":true") != std::string::npos);
  CHECK(count(j, "\"label\":") == 3);
  CHECK(j.find("\"targets\":{\"scenario\":") != std::string::npos);
  CHECK(j.find("\"policy\":\"home+one\"") != std::string::npos);
  const std::string c = to_csv(runs[0]);
  CHECK(c.rfind("# home+one", 0) == 0);
  CHECK(c.find("MODELLED") != std::string::npos);
  CHECK(count(c, "\n") == 2 + runs[0].series.size());
  CHECK(file_stem("closer:hysteresis=0.2+closer_dynamic") == "closer_hysteresis_0.2_closer_dynamic");
  const std::string svg = to_svg(s, runs);
  CHECK(svg.rfind("<svg", 0) == 0);
  CHECK(svg.find("</svg>") != std::string::npos);
  CHECK(svg.find("MODELLED") != std::string::npos);
  CHECK(count(svg, "<polyline") == 2 * runs.size() + 1);  // two panels, plus the demand line
  CHECK(svg.find(">home+one</text>") != std::string::npos);
  CHECK(svg.find(">time (s)</text>") != std::string::npos);
}

namespace {
// What XML 1.0 allows in a document: valid UTF-8 without C0 controls other than tab, newline and
// return, and without U+FFFE or U+FFFF.
bool xml_characters_only(const std::string& s) {
  if (!utf8::is_valid(s)) return false;
  for (std::size_t i = 0; i < s.size();) {
    const auto d = utf8::decode(s, i);
    if ((d.code_point < 0x20 && d.code_point != '\t' && d.code_point != '\n' && d.code_point != '\r') || d.code_point == 0xFFFE ||
        d.code_point == 0xFFFF)
      return false;
    i += d.length;
  }
  return true;
}
}  // namespace

TEST_CASE("outputs stay well-formed whatever the names hold") {
  scenario s;
  auto runs = two_runs_and_oracle(s);
  // A NUL, markup characters, a byte that is not UTF-8 and a code point above U+FFFF.
  s.name = std::string{"a\0<b>&c\xFF\xF0\x90\x80\x80", 12};
  runs[0].label = std::string{"x\ny\0\"z", 6};
  const std::string svg = to_svg(s, runs);
  CHECK(xml_characters_only(svg));
  CHECK(svg.find("pvmkit simulate: a\xEF\xBF\xBD&lt;b&gt;&amp;c\xEF\xBF\xBD\xF0\x90\x80\x80 (MODELLED") != std::string::npos);
  CHECK(svg.find(">x\ny\xEF\xBF\xBD&quot;z</text>") != std::string::npos);  // XML keeps the newline
  const std::string j = to_json(s, runs, std::nullopt);
  CHECK(utf8::is_valid(j));
  CHECK(j.find(R"("name":"a\u0000<b>&c\ufffd)" "\xF0\x90\x80\x80\"") != std::string::npos);
  CHECK(j.find(R"("label":"x\ny\u0000\"z")") != std::string::npos);
  // The label stays on the CSV's comment line: one header line, one row per period.
  const std::string c = to_csv(runs[0]);
  CHECK(utf8::is_valid(c));
  CHECK(c.rfind("# x\xEF\xBF\xBDy\xEF\xBF\xBD\"z: per-control-period", 0) == 0);
  CHECK(count(c, "\n") == 2 + runs[0].series.size());
}

TEST_CASE("the SVG leaves out points that are not finite") {
  const std::string svg =
      render_svg("t", {chart_panel{"p", "x", "y", {chart_series{"s", {{0, 1}, {1, std::nan("")}, {2, HUGE_VAL}, {3, 2}}, false}}}}, "l");
  CHECK(svg.find("nan") == std::string::npos);
  CHECK(svg.find("inf") == std::string::npos);
  const auto points = svg.find("points=\"");
  REQUIRE(points != std::string::npos);
  CHECK(count(svg.substr(points, svg.find('"', points + 8) - points), ",") == 2);
}
