// A small line-chart renderer (hand-written SVG): stacked panels, each with its own axes, one line
// per series, a shared legend. The simulator's plots (placement/sizing over time, page-flipping
// drift) are data handed to this one engine.
#pragma once

#include <pvmkit/core/utf8.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pvmkit::sim {

struct chart_series {
  std::string label;
  std::vector<std::pair<double, double>> points;  // (x, y)
  bool dashed = false;                            // drawn black and dashed (a reference line)
};

struct chart_panel {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<chart_series> series;
};

namespace detail {

[[nodiscard]] inline std::string svg_num(double v, int decimals = 1) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// 1, 2 or 5 times a power of ten, giving about `want` steps over [0, max].
[[nodiscard]] inline double nice_step(double max, int want) {
  if (max <= 0) return 1;
  const double raw = max / want;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * p >= raw) return m * p;
  return 10 * p;
}

// Text as XML 1.0 character data or an attribute value: markup characters escaped, anything XML
// forbids (C0 controls but tab, newline and return; U+FFFE, U+FFFF) and bytes that are not UTF-8
// replaced by U+FFFD, so a name holding a NUL or '<' still gives a well-formed document.
[[nodiscard]] inline std::string xml_escape(std::string_view s) {
  const std::string valid = utf8::make_valid(s, [](char32_t c) {
    return (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0xFFFE || c == 0xFFFF;
  });
  std::string out;
  for (char c : valid) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

}  // namespace detail

// Series are coloured by their position in the legend: the same label keeps its colour in every
// panel, so a policy is one colour across the whole picture.
[[nodiscard]] inline std::string render_svg(const std::string& title, const std::vector<chart_panel>& panels,
                                            const std::string& legend_title) {
  using detail::svg_num;
  static constexpr const char* colours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                            "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  std::vector<std::string> legend;  // non-dashed labels, first-seen order
  std::string dashed_label;  // one legend entry for the reference line
  for (const auto& p : panels)
    for (const auto& s : p.series) {
      if (s.dashed) {
        if (dashed_label.empty()) dashed_label = s.label;
      }
      else if (std::find(legend.begin(), legend.end(), s.label) == legend.end()) legend.push_back(s.label);
    }
  auto colour_of = [&](const std::string& label) {
    const auto i = static_cast<std::size_t>(std::find(legend.begin(), legend.end(), label) - legend.begin());
    return std::string{colours[i % 10]};
  };

  const double W = 900, left = 70, right = 250, top = 50, ph = 230, gap = 80;
  const double H = top + static_cast<double>(panels.size()) * (ph + gap);
  const double pw = W - left - right;
  std::string out;
  out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + svg_num(W, 0) + "\" height=\"" + svg_num(H, 0) +
         "\" viewBox=\"0 0 " + svg_num(W, 0) + " " + svg_num(H, 0) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  out += "<text x=\"" + svg_num(left, 0) + "\" y=\"22\" font-size=\"15\">" + detail::xml_escape(title) + "</text>\n";

  for (std::size_t pi = 0; pi < panels.size(); ++pi) {
    const auto& pn = panels[pi];
    const double y0 = top + static_cast<double>(pi) * (ph + gap);
    double xmax = 0, vmax = 0;
    for (const auto& s : pn.series)
      for (const auto& [x, y] : s.points)
        if (std::isfinite(x) && std::isfinite(y)) {  // a non-finite point is left out of the plot
          xmax = std::max(xmax, x);
          vmax = std::max(vmax, y);
        }
    if (xmax <= 0) xmax = 1;
    const double ystep = detail::nice_step(vmax * 1.05, 5);
    const double ytop = std::max(ystep, std::ceil(vmax * 1.05 / ystep) * ystep);
    auto X = [&](double x) { return left + pw * x / xmax; };
    auto Y = [&](double v) { return y0 + ph - ph * v / ytop; };
    out += "<text x=\"" + svg_num(left, 0) + "\" y=\"" + svg_num(y0 - 8, 0) + "\" font-weight=\"bold\">" +
           detail::xml_escape(pn.title) + "</text>\n";
    out += "<rect x=\"" + svg_num(left) + "\" y=\"" + svg_num(y0) + "\" width=\"" + svg_num(pw) + "\" height=\"" +
           svg_num(ph) + "\" fill=\"none\" stroke=\"black\"/>\n";
    // At most ~10 grid lines by construction; the cap holds even when a huge maximum makes the
    // step infinite.
    for (double v = 0, lines = 0; v <= ytop + 1e-9 && lines < 100; v += ystep, ++lines) {
      out += "<line x1=\"" + svg_num(left - 5) + "\" x2=\"" + svg_num(left + pw) + "\" y1=\"" + svg_num(Y(v)) + "\" y2=\"" +
             svg_num(Y(v)) + "\" stroke=\"#ddd\"/>\n";
      out += "<text x=\"" + svg_num(left - 8) + "\" y=\"" + svg_num(Y(v) + 4) + "\" text-anchor=\"end\">" +
             svg_num(v, ystep < 1 ? 1 : 0) + "</text>\n";
    }
    const double xstep = detail::nice_step(xmax, 6);
    for (double x = 0, lines = 0; x <= xmax + 1e-9 && lines < 100; x += xstep, ++lines) {
      out += "<line x1=\"" + svg_num(X(x)) + "\" x2=\"" + svg_num(X(x)) + "\" y1=\"" + svg_num(y0 + ph) + "\" y2=\"" +
             svg_num(y0 + ph + 5) + "\" stroke=\"black\"/>\n";
      out += "<text x=\"" + svg_num(X(x)) + "\" y=\"" + svg_num(y0 + ph + 18) + "\" text-anchor=\"middle\">" +
             svg_num(x, xstep < 1 ? 1 : 0) + "</text>\n";
    }
    out += "<text x=\"" + svg_num(left + pw / 2) + "\" y=\"" + svg_num(y0 + ph + 34) + "\" text-anchor=\"middle\">" +
           detail::xml_escape(pn.x_label) + "</text>\n";
    out += "<text transform=\"translate(18," + svg_num(y0 + ph / 2) + ") rotate(-90)\" text-anchor=\"middle\">" +
           detail::xml_escape(pn.y_label) + "</text>\n";
    for (const auto& s : pn.series) {
      const std::string style = s.dashed ? "stroke=\"black\" stroke-dasharray=\"5,4\" stroke-width=\"1.5\""
                                         : "stroke=\"" + colour_of(s.label) + "\" stroke-width=\"1.5\"";
      out += "<polyline fill=\"none\" " + style + " points=\"";
      for (const auto& [x, y] : s.points)
        if (std::isfinite(x) && std::isfinite(y)) out += svg_num(X(x)) + "," + svg_num(Y(y)) + " ";
      out += "\"/>\n";
    }
  }

  const double lx = W - right + 20;
  double ly = top + 10;
  out += "<text x=\"" + svg_num(lx, 0) + "\" y=\"" + svg_num(ly, 0) + "\" font-weight=\"bold\">" +
         detail::xml_escape(legend_title) + "</text>\n";
  auto legend_line = [&](const std::string& label, const std::string& style) {
    ly += 20;
    out += "<line x1=\"" + svg_num(lx, 0) + "\" x2=\"" + svg_num(lx + 24, 0) + "\" y1=\"" + svg_num(ly - 4, 0) + "\" y2=\"" +
           svg_num(ly - 4, 0) + "\" " + style + "/>\n";
    out += "<text x=\"" + svg_num(lx + 30, 0) + "\" y=\"" + svg_num(ly, 0) + "\">" + detail::xml_escape(label) + "</text>\n";
  };
  for (const auto& label : legend) legend_line(label, "stroke=\"" + colour_of(label) + "\" stroke-width=\"2\"");
  if (!dashed_label.empty()) legend_line(dashed_label, "stroke=\"black\" stroke-dasharray=\"5,4\" stroke-width=\"1.5\"");
  out += "</svg>\n";
  return out;
}

}  // namespace pvmkit::sim
