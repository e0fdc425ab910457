// The CSV trace format: one row per sample, `time_s,guest,net_pps,block_iops`, an optional header
// row with exactly those names, blank lines and lines starting with '#' ignored. Rows of one guest
// must not go back in time; rates stay within the scenario limits (sim/scenario.hpp). Errors name
// the source, the line and the column.
#pragma once

#include <pvmkit/core/error.hpp>
#include <pvmkit/core/text_file.hpp>
#include <pvmkit/core/utf8.hpp>
#include <pvmkit/sim/scenario.hpp>
#include <pvmkit/sim/workload.hpp>

#include <charconv>
#include <cmath>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <vector>

namespace pvmkit::sim {

// The most trace text one scenario reads, all its trace files together (a row takes 24 bytes once
// read: this bounds a scenario's traces to a few hundred MiB of memory).
inline constexpr std::size_t trace_bytes_limit = std::size_t{64} << 20;

struct io_trace {
  std::map<std::string, std::shared_ptr<std::vector<trace_point>>, std::less<>> guests;
  std::map<std::string, std::size_t, std::less<>> first_line;  // where each guest first appears

  [[nodiscard]] trace_load load_for(std::string_view guest) const {
    auto it = guests.find(guest);
    return it == guests.end() ? trace_load{} : trace_load{it->second};
  }
};

namespace detail {
[[nodiscard]] inline std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}
}  // namespace detail

[[nodiscard]] inline io_trace parse_trace(std::string_view text, std::string_view source = "trace") {
  static constexpr std::string_view columns[] = {"time_s", "guest", "net_pps", "block_iops"};
  io_trace out;
  std::size_t line_no = 0;
  bool first_row = true;
  while (!text.empty()) {
    const std::size_t eol = text.find('\n');
    std::string_view line = detail::trim(text.substr(0, eol));
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    const std::string at = std::string{source} + ":" + std::to_string(line_no) + ": ";
    std::vector<std::string_view> fields;
    for (std::size_t start = 0;;) {
      const std::size_t comma = line.find(',', start);
      fields.push_back(detail::trim(line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start)));
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    if (fields.size() != 4)
      throw config_error(at + "expected 4 columns (time_s,guest,net_pps,block_iops), found " + std::to_string(fields.size()));
    const bool header = first_row && fields[0] == columns[0];
    first_row = false;
    if (header) {
      for (std::size_t i = 0; i < 4; ++i)
        if (fields[i] != columns[i])
          throw config_error(at + "column " + std::to_string(i + 1) + " of the header must be '" + std::string{columns[i]} +
                             "', found '" + std::string{fields[i]} + "'");
      continue;
    }
    double num[4] = {};
    for (std::size_t i : {std::size_t{0}, std::size_t{2}, std::size_t{3}}) {
      const auto f = fields[i];
      const auto r = std::from_chars(f.data(), f.data() + f.size(), num[i]);
      const std::string col = "column " + std::to_string(i + 1) + " (" + std::string{columns[i]} + "): ";
      if (f.empty() || r.ec != std::errc{} || r.ptr != f.data() + f.size() || !std::isfinite(num[i]))
        throw config_error(at + col + "not a number: '" + std::string{f} + "'");
      if (num[i] < 0) throw config_error(at + col + "must not be negative, found " + std::string{f});
    }
    for (auto [i, max, unit] : {std::tuple{std::size_t{2}, limits::max_net_pps, "packets/s"},
                                std::tuple{std::size_t{3}, limits::max_block_iops, "requests/s"}})
      if (num[i] > max)
        throw config_error(at + "column " + std::to_string(i + 1) + " (" + std::string{columns[i]} + "): " + std::string{fields[i]} +
                           " is over the limit of " + std::to_string(static_cast<long long>(max)) + " " + unit +
                           " (docs/simulator.md, Input limits)");
    if (fields[1].empty()) throw config_error(at + "column 2 (guest): empty guest name");
    if (!utf8::is_valid(fields[1])) throw config_error(at + "column 2 (guest): the name is not valid UTF-8");
    auto& pts = out.guests[std::string{fields[1]}];
    if (!pts) {
      pts = std::make_shared<std::vector<trace_point>>();
      out.first_line[std::string{fields[1]}] = line_no;
    }
    if (!pts->empty() && num[0] < pts->back().time_s)
      throw config_error(at + "column 1 (time_s): " + std::string{fields[0]} + " goes back in time for guest '" +
                         std::string{fields[1]} + "'");
    pts->push_back({num[0], {num[2], num[3]}});
  }
  return out;
}

[[nodiscard]] inline io_trace read_trace_file(const std::string& path) {
  return parse_trace(read_text_file(path, "trace", trace_bytes_limit), path);
}

}  // namespace pvmkit::sim
