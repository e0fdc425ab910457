// sim/trace.hpp: parse_trace either returns a trace or throws config_error. Every guest of what it
// returns has rows, in time order, within the rate limits; written back as CSV (numbers as their
// shortest text) it reads back equal.
#include "fuzz_support.hpp"

#include <pvmkit/core/error.hpp>
#include <pvmkit/core/json_writer.hpp>
#include <pvmkit/core/utf8.hpp>
#include <pvmkit/sim/scenario.hpp>
#include <pvmkit/sim/trace.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace {

namespace sim = pvmkit::sim;
using pvmkit::fuzz::expect;

std::string write(const sim::io_trace& t) {
  using pvmkit::to_shortest_string;
  std::string out = "time_s,guest,net_pps,block_iops\n";
  for (const auto& [guest, points] : t.guests)
    for (const auto& p : *points)
      out += to_shortest_string(p.time_s) + "," + guest + "," + to_shortest_string(p.rates.net_pps) + "," +
             to_shortest_string(p.rates.block_iops) + "\n";
  return out;
}

bool same(const sim::io_trace& a, const sim::io_trace& b) {
  if (a.guests.size() != b.guests.size()) return false;
  for (const auto& [guest, points] : a.guests) {
    const auto it = b.guests.find(guest);
    if (it == b.guests.end() || points->size() != it->second->size()) return false;
    for (std::size_t i = 0; i < points->size(); ++i) {
      const auto &x = (*points)[i], &y = (*it->second)[i];
      if (x.time_s != y.time_s || x.rates.net_pps != y.rates.net_pps || x.rates.block_iops != y.rates.block_iops) return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::optional<sim::io_trace> t;
  if (!pvmkit::fuzz::accepted<pvmkit::config_error>([&] { t.emplace(sim::parse_trace(pvmkit::fuzz::as_text(data, size), "fuzz.csv")); }))
    return 0;
  expect(t->guests.size() == t->first_line.size(), "a first line for every guest");
  for (const auto& [guest, points] : t->guests) {
    expect(!guest.empty() && pvmkit::utf8::is_valid(guest), "guest names are valid UTF-8 and not empty");
    expect(points && !points->empty(), "every guest has rows");
    for (std::size_t i = 0; i < points->size(); ++i) {
      const auto& p = (*points)[i];
      expect(p.time_s >= 0 && (i == 0 || (*points)[i - 1].time_s <= p.time_s), "a guest's rows in time order");
      expect(p.rates.net_pps >= 0 && p.rates.net_pps <= sim::limits::max_net_pps && p.rates.block_iops >= 0 &&
                 p.rates.block_iops <= sim::limits::max_block_iops,
             "rates within the limits");
    }
  }
  const std::string written = write(*t);
  std::optional<sim::io_trace> again;
  if (!pvmkit::fuzz::accepted<pvmkit::config_error>([&] { again.emplace(sim::parse_trace(written, "written.csv")); }))
    pvmkit::fuzz::bug("a trace written back does not parse: " + written);
  expect(same(*t, *again), "a trace written back reads back equal");
  return 0;
}
