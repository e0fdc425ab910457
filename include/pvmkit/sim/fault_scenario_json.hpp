// Reading fault scenarios (sim/faults.hpp) from JSON, with the reader and field decoder of
// core/json_reader.hpp, so errors look like a scenario's: "faults.json:14: faults[2].component: unknown
// component 'netbak' (components: xenstored, netback, blkback)". The format is in docs/recovery.md
// ("Fault scenario files"); examples/faults/default.json is default_fault_scenario().
#pragma once

#include <pvmkit/core/error.hpp>
#include <pvmkit/core/json_reader.hpp>
#include <pvmkit/core/text_file.hpp>
#include <pvmkit/recovery/component.hpp>
#include <pvmkit/sim/faults.hpp>

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace pvmkit::sim {

// Limits of a fault scenario file (docs/simulator.md, "Input limits"): its size, how many
// components and faults it lists (the model looks each fault's component up by name), and the
// longest time it names (about 116 days).
inline constexpr std::size_t fault_scenario_bytes_limit = std::size_t{16} << 20;
inline constexpr std::size_t max_fault_components = 1024;
inline constexpr std::size_t max_faults = 100'000;
inline constexpr double max_fault_time_s = 1e7;

namespace detail {

using field = json_field;

// The values of an enum whose to_string answers "?" past its last value, so the names accepted
// (and listed in errors) follow the enum instead of a copy of it.
template <class Enum>
[[nodiscard]] std::vector<Enum> enum_values() {
  using rep = std::underlying_type_t<Enum>;
  std::vector<Enum> out;
  for (unsigned i = 0; i < 256; ++i) {
    const auto e = static_cast<Enum>(static_cast<rep>(i));
    if (to_string(e) == "?") break;
    out.push_back(e);
  }
  return out;
}

template <class Enum>
[[nodiscard]] Enum enum_by_name(const field& f, std::string_view what) {
  const std::string name = f.string();
  std::string list;
  for (const Enum e : enum_values<Enum>()) {
    if (to_string(e) == name) return e;
    list += (list.empty() ? "" : ", ") + std::string{to_string(e)};
  }
  f.fail("unknown " + std::string{what} + " '" + name + "' (expected one of " + list + ")");
}

// Every fault_parameters field by its C++ name; the static_assert catches a field added to the
// struct but not here.
inline constexpr std::pair<std::string_view, double fault_parameters::*> fault_parameter_fields[] = {
    {"crash_detection_s", &fault_parameters::crash_detection_s},
    {"hang_detection_s", &fault_parameters::hang_detection_s},
    {"restart_s", &fault_parameters::restart_s},
    {"failover_s", &fault_parameters::failover_s},
    {"replay_per_entry_s", &fault_parameters::replay_per_entry_s},
    {"reconnect_s", &fault_parameters::reconnect_s},
    {"xl_restart_delay_s", &fault_parameters::xl_restart_delay_s},
    {"operator_reaction_s", &fault_parameters::operator_reaction_s},
    {"host_reboot_s", &fault_parameters::host_reboot_s},
    {"guest_boot_s", &fault_parameters::guest_boot_s},
};
static_assert(sizeof(fault_parameters) == std::size(fault_parameter_fields) * sizeof(double),
              "every fault_parameters field must be readable from a fault scenario file");

inline fault_parameters read_fault_parameters(const field& p) {
  if (p.json().type() != json_type::object)
    p.fail("expected an object, found " + std::string{json_type_name(p.json().type())});
  fault_parameters out;
  for (std::size_t i = 0; i < p.json().size(); ++i) {
    const std::string_view key = p.json().key(i);
    double fault_parameters::*member = nullptr;
    for (const auto& [name, m] : fault_parameter_fields)
      if (name == key) member = m;
    if (!member) {
      std::string list;
      for (const auto& f : fault_parameter_fields) list += (list.empty() ? "" : ", ") + std::string{f.first};
      p.at(key).fail("unknown field (expected one of " + list + ")");
    }
    out.*member = p.at(key).number(0, max_fault_time_s);
  }
  return out;
}

// A component the file does not mark is down for what its kind serves (docs/recovery.md).
[[nodiscard]] constexpr bool is_control_plane(recovery::component_kind k) noexcept {
  return k == recovery::component_kind::xenstore || k == recovery::component_kind::toolstack;
}
[[nodiscard]] constexpr bool is_data_path(recovery::component_kind k) noexcept {
  return k == recovery::component_kind::netback || k == recovery::component_kind::blkback ||
         k == recovery::component_kind::device_model;
}

}  // namespace detail

// Parses and validates a fault scenario; `source` names the file in errors. Throws config_error
// naming source:line: field on the first problem, so nothing runs on a half-read scenario.
// Faults must be listed in time order (equal times allowed): the report is a timeline, and a
// fault out of order is more likely a typo than an intent.
[[nodiscard]] inline fault_scenario parse_fault_scenario(std::string_view text, const std::string& source) {
  using detail::field;
  const json_document doc = parse_json(text, source);
  const field root = field::root(doc, "scenario");
  root.object({"name", "guests", "components", "faults", "parameters"});
  fault_scenario s;
  s.name = root.has("name") ? root.at("name").string() : source;
  s.guests = static_cast<std::size_t>(root.at("guests").integer(1, std::uint64_t{1} << 20));

  const field comps = root.at("components");
  const auto comp_items = comps.items();
  if (comp_items.empty()) comps.fail("needs at least one component");
  if (comp_items.size() > max_fault_components)
    comps.fail(std::to_string(comp_items.size()) + " components, over the limit of " + std::to_string(max_fault_components));
  std::set<std::string> names;
  for (const field& c : comp_items) {
    c.object({"name", "kind", "technique", "state_entries", "control_plane", "data_path"});
    fault_component fc;
    const field name_f = c.at("name");
    fc.name = name_f.string();
    if (fc.name.empty()) name_f.fail("must not be empty");
    if (!names.insert(fc.name).second) name_f.fail("component '" + fc.name + "' is defined twice");
    fc.kind = detail::enum_by_name<recovery::component_kind>(c.at("kind"), "kind");
    if (c.has("technique")) fc.technique = detail::enum_by_name<recovery::technique>(c.at("technique"), "technique");
    if (c.has("state_entries")) fc.state_entries = static_cast<std::size_t>(c.at("state_entries").integer(0, std::uint64_t{1} << 53));
    fc.control_plane = detail::is_control_plane(fc.kind);
    fc.data_path = detail::is_data_path(fc.kind);
    for (auto [key, dst] : {std::pair{"control_plane", &fc.control_plane}, std::pair{"data_path", &fc.data_path}})
      if (c.has(key)) *dst = c.at(key).boolean();
    s.components.push_back(std::move(fc));
  }

  const field faults = root.at("faults");
  const auto fault_items = faults.items();
  if (fault_items.empty()) faults.fail("needs at least one fault");
  if (fault_items.size() > max_faults)
    faults.fail(std::to_string(fault_items.size()) + " faults, over the limit of " + std::to_string(max_faults));
  for (std::size_t i = 0; i < fault_items.size(); ++i) {
    const field& f = fault_items[i];
    f.object({"component", "at_s", "kind"});
    fault x;
    const field comp_f = f.at("component");
    x.component = comp_f.string();
    if (!names.count(x.component)) {
      std::string list;
      for (const auto& c : s.components) list += (list.empty() ? "" : ", ") + c.name;
      comp_f.fail("unknown component '" + x.component + "' (components: " + list + ")");
    }
    const field at_f = f.at("at_s");
    x.at_s = at_f.number(0, max_fault_time_s);
    if (i > 0 && x.at_s < s.faults.back().at_s) {
      std::ostringstream m;
      m << "faults must be listed in time order: " << x.at_s << " s is before faults[" << i - 1 << "] at " << s.faults.back().at_s << " s";
      at_f.fail(m.str());
    }
    if (f.has("kind")) x.kind = detail::enum_by_name<fault_kind>(f.at("kind"), "fault kind");
    s.faults.push_back(std::move(x));
  }

  if (root.has("parameters")) s.params = detail::read_fault_parameters(root.at("parameters"));
  return s;
}

[[nodiscard]] inline fault_scenario read_fault_scenario_file(const std::string& path) {
  return parse_fault_scenario(read_text_file(path, "fault scenario", fault_scenario_bytes_limit), path);
}

}  // namespace pvmkit::sim
