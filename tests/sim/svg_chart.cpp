#include <pvmkit/sim/svg_chart.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

using namespace pvmkit::sim;

namespace {

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + what.size())) ++n;
  return n;
}

// The polyline drawn for the n-th series, in document order.
std::string polyline(const std::string& svg, std::size_t n) {
  std::size_t at = 0;
  for (std::size_t i = 0; i <= n; ++i) at = svg.find("<polyline", at + (i ? 1 : 0));
  return svg.substr(at, svg.find("/>", at) - at);
}

}  // namespace

TEST_CASE("nice_step: 1, 2 or 5 times a power of ten, about the steps asked for") {
  CHECK(detail::nice_step(10, 5) == doctest::Approx(2));
  CHECK(detail::nice_step(7, 5) == doctest::Approx(2));
  CHECK(detail::nice_step(1000, 4) == doctest::Approx(500));
  CHECK(detail::nice_step(0.3, 6) == doctest::Approx(0.05));
  CHECK(detail::nice_step(0, 5) == 1);
  CHECK(detail::nice_step(-4, 5) == 1);
}

TEST_CASE("render_svg: a panel per panel, a line per series, one colour per label across panels") {
  const std::vector<chart_panel> panels{
      {"served", "time (s)", "%", {{"closer", {{0, 10}, {1, 20}}, false}, {"xen_default", {{0, 5}, {1, 6}}, false}}},
      {"remote", "time (s)", "%", {{"xen_default", {{0, 1}, {1, 2}}, false}, {"oracle", {{0, 0}, {1, 0}}, true}}}};
  const std::string svg = render_svg("run", panels, "policies");
  CHECK(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0);
  CHECK(svg.find("</svg>\n") == svg.size() - 7);
  CHECK(count(svg, "<polyline") == 4);
  CHECK(count(svg, "font-weight=\"bold\">served<") == 1);
  CHECK(count(svg, "font-weight=\"bold\">remote<") == 1);
  // xen_default keeps its colour in the second panel; the dashed reference is black.
  const std::string colour_of_xen = "stroke=\"#ff7f0e\"";
  CHECK(polyline(svg, 1).find(colour_of_xen) != std::string::npos);
  CHECK(polyline(svg, 2).find(colour_of_xen) != std::string::npos);
  CHECK(polyline(svg, 3).find("stroke-dasharray") != std::string::npos);
  // Legend: two coloured entries and one for the reference line, each label once.
  CHECK(count(svg, ">closer</text>") == 1);
  CHECK(count(svg, ">xen_default</text>") == 1);
  CHECK(count(svg, ">oracle</text>") == 1);
}

TEST_CASE("render_svg: non-finite points are left out; names cannot break the markup") {
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<chart_panel> panels{
      {"a<b & \"c\"", "x", "y", {{std::string{"g\0<x>", 5}, {{0, 1}, {1, nan}, {2, inf}, {3, 2}}, false}}}};
  const std::string svg = render_svg("t", panels, "legend");
  CHECK(svg.find("nan") == std::string::npos);
  CHECK(svg.find("inf") == std::string::npos);
  CHECK(count(polyline(svg, 0), ",") == 2);  // the two finite points only
  CHECK(svg.find("a&lt;b &amp; &quot;c&quot;") != std::string::npos);
  CHECK(svg.find("<x>") == std::string::npos);
  CHECK(svg.find(std::string{"\0", 1}) == std::string::npos);
  CHECK(svg.find("g\xEF\xBF\xBD&lt;x&gt;") != std::string::npos);  // NUL as U+FFFD
}

TEST_CASE("render_svg: a huge maximum still draws a bounded number of grid lines") {
  const std::vector<chart_panel> panels{{"p", "x", "y", {{"s", {{0, 0}, {1, 1e308}}, false}}}};
  const std::string svg = render_svg("t", panels, "l");
  CHECK(count(svg, "stroke=\"#ddd\"") <= 100);
}
