// sim/fault_scenario_json.hpp: parse_fault_scenario either returns a fault scenario or throws
// config_error. What it returns names only its own components and lists faults in time order, and
// written back as a file (every field explicit) it reads back equal.
#include "fuzz_support.hpp"

#include <pvmkit/core/error.hpp>
#include <pvmkit/core/json_writer.hpp>
#include <pvmkit/recovery/component.hpp>
#include <pvmkit/sim/fault_scenario_json.hpp>
#include <pvmkit/sim/faults.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

namespace {

namespace sim = pvmkit::sim;
using pvmkit::fuzz::expect;

std::string write(const sim::fault_scenario& s) {
  pvmkit::json_writer w;
  w.begin_object().field("name", s.name).field("guests", std::uint64_t{s.guests});
  w.key("components").begin_array();
  for (const auto& c : s.components)
    w.begin_object()
        .field("name", c.name)
        .field("kind", to_string(c.kind))
        .field("technique", to_string(c.technique))
        .field("state_entries", std::uint64_t{c.state_entries})
        .field("control_plane", c.control_plane)
        .field("data_path", c.data_path)
        .end_object();
  w.end_array();
  w.key("faults").begin_array();
  for (const auto& f : s.faults) w.begin_object().field("component", f.component).field("at_s", f.at_s).field("kind", to_string(f.kind)).end_object();
  w.end_array();
  w.key("parameters").begin_object();
  for (const auto& [name, member] : sim::detail::fault_parameter_fields) w.field(name, s.params.*member);
  w.end_object();
  w.end_object();
  return w.take();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::optional<sim::fault_scenario> s;
  if (!pvmkit::fuzz::accepted<pvmkit::config_error>(
          [&] { s.emplace(sim::parse_fault_scenario(pvmkit::fuzz::as_text(data, size), "fuzz.json")); }))
    return 0;
  expect(!s->components.empty() && !s->faults.empty(), "at least one component and one fault");
  for (std::size_t i = 0; i < s->faults.size(); ++i) {
    const auto& f = s->faults[i];
    expect(std::any_of(s->components.begin(), s->components.end(), [&](const auto& c) { return c.name == f.component; }),
           "a fault names one of the components");
    expect(i == 0 || s->faults[i - 1].at_s <= f.at_s, "faults in time order");
  }
  const std::string written = write(*s);
  std::optional<sim::fault_scenario> again;
  if (!pvmkit::fuzz::accepted<pvmkit::config_error>([&] { again.emplace(sim::parse_fault_scenario(written, "written.json")); }))
    pvmkit::fuzz::bug("a fault scenario written back does not parse: " + written);
  expect(*again == *s, "a fault scenario written back reads back equal");
  return 0;
}
