// sim/scenario_json.hpp (and the "flipping" object of sim/flipping_scenario.hpp): parse_scenario
// either returns a scenario or throws config_error. What it returns is one the simulator can take:
// within the limits, a host the topology accepts, a valid flipping model, and reports of it (JSON,
// SVG) that are valid UTF-8, the JSON reading back with the same name, the SVG free of characters
// XML forbids. "trace" workloads read one built-in trace, traced.csv (examples/traces/).
#include "fuzz_support.hpp"

#include <pvmkit/core/error.hpp>
#include <pvmkit/core/json_reader.hpp>
#include <pvmkit/core/utf8.hpp>
#include <pvmkit/sim/flipping_scenario.hpp>
#include <pvmkit/sim/report.hpp>
#include <pvmkit/sim/scenario.hpp>
#include <pvmkit/sim/scenario_json.hpp>
#include <pvmkit/sim/trace.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>

namespace {

using pvmkit::fuzz::expect;
namespace sim = pvmkit::sim;

constexpr std::string_view traced_csv =
    "time_s,guest,net_pps,block_iops\n"
    "0,front,50000,100\n"
    "10,front,150000,200\n"
    "20,back,1000,5000\n"
    "30,back,2000,20000\n";

std::shared_ptr<const sim::io_trace> load_trace(const std::string& file) {
  static const auto traced = std::make_shared<const sim::io_trace>(sim::parse_trace(traced_csv, "traced.csv"));
  return file == "traced.csv" ? traced : nullptr;
}

// XML 1.0 allows tab, newline and carriage return below U+0020, nothing else.
bool xml_text(std::string_view s) {
  return pvmkit::utf8::is_valid(s) &&
         std::none_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r'; });
}

void check(const sim::scenario& s) {
  expect(!s.guests.empty() && s.guests.size() <= sim::limits::max_guests, "1 to max_guests guests");
  expect(s.host.nodes >= 1 && s.host.nodes * s.host.cpus_per_node <= sim::limits::max_cpus, "a host within the limits");
  expect(s.ticks() >= 1 && s.ticks() <= sim::limits::max_ticks, "1 to max_ticks ticks");
  std::set<std::string> names;
  for (const auto& g : s.guests) {
    expect(!g.name.empty() && names.insert(g.name).second, "guest names are unique and not empty");
    expect(g.home.index() < s.host.nodes, "a guest's home node exists");
  }
  expect(pvmkit::fuzz::accepted<pvmkit::topology_error>([&] { (void)sim::make_topology(s.host); }),
         "the host of an accepted scenario is a valid topology");
  if (s.flipping)
    expect(pvmkit::fuzz::accepted<pvmkit::config_error>([&] { sim::check_flip_scenario(*s.flipping); }),
           "the flipping model of an accepted scenario passes check_flip_scenario");

  const std::string json = sim::to_json(s, {}, std::nullopt);
  std::optional<pvmkit::json_document> doc;
  expect(pvmkit::fuzz::accepted<pvmkit::config_error>([&] { doc.emplace(pvmkit::parse_json(json, "report.json")); }),
         "the JSON report of an accepted scenario parses");
  const auto name = doc->root().find("scenario")->find("name");
  expect(name && name->string() == s.name, "the JSON report names the scenario as it was read");
  expect(xml_text(sim::to_svg(s, {})), "the SVG report is valid UTF-8 without characters XML forbids");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::optional<sim::scenario> s;
  if (pvmkit::fuzz::accepted<pvmkit::config_error>(
          [&] { s.emplace(sim::parse_scenario(pvmkit::fuzz::as_text(data, size), "fuzz.json", load_trace)); }))
    check(*s);
  return 0;
}
