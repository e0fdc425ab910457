// Policies by name, for the CLI and scenario files: "name" or "name:key=value,key=value", e.g.
// "closer:hysteresis=0.2" or "static_fixed:vcpus=4,memory=4GiB". An unknown name or key, or a
// value that does not parse or is out of range, throws config_error naming it and the valid ones.
#pragma once

#include <pvmkit/core/error.hpp>
#include <pvmkit/core/units.hpp>
#include <pvmkit/placement/closer.hpp>
#include <pvmkit/placement/nova_isolate.hpp>
#include <pvmkit/placement/nova_share.hpp>
#include <pvmkit/placement/numad.hpp>
#include <pvmkit/placement/pinned_node0.hpp>
#include <pvmkit/placement/xen_default.hpp>
#include <pvmkit/runtime/any_placement_policy.hpp>
#include <pvmkit/runtime/any_sizing_policy.hpp>
#include <pvmkit/sizing/closer_dynamic.hpp>
#include <pvmkit/sizing/nova_isolate.hpp>
#include <pvmkit/sizing/nova_share.hpp>
#include <pvmkit/sizing/numad.hpp>
#include <pvmkit/sizing/static_fixed.hpp>
#include <pvmkit/sizing/static_xen_default.hpp>
#include <pvmkit/sizing/static_xenserver.hpp>

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace pvmkit::runtime {

namespace detail {

struct spec_param {
  std::string key;
  std::string value;
};

struct parsed_spec {
  std::string family;  // "placement" / "sizing", for messages
  std::string name;
  std::vector<spec_param> params;

  [[nodiscard]] std::string where() const { return family + " policy '" + name + "'"; }
};

[[nodiscard]] inline std::string join(const std::vector<std::string>& xs) {
  std::string out;
  for (const auto& x : xs) out += (out.empty() ? "" : ", ") + x;
  return out.empty() ? std::string{"none"} : out;
}

[[nodiscard]] inline parsed_spec parse_spec(std::string_view text, std::string_view family) {
  parsed_spec s;
  s.family = std::string{family};
  const auto colon = text.find(':');
  s.name = std::string{text.substr(0, colon)};
  if (s.name.empty()) throw config_error(s.family + " policy: empty name in '" + std::string{text} + "'");
  if (colon == std::string_view::npos) return s;
  std::string_view rest = text.substr(colon + 1);
  if (rest.empty()) throw config_error(s.where() + ": nothing after ':' (expected key=value[,key=value...])");
  while (true) {
    const auto comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    const auto eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0)
      throw config_error(s.where() + ": '" + std::string{item} + "' is not key=value");
    std::string key{item.substr(0, eq)};
    for (const auto& p : s.params)
      if (p.key == key) throw config_error(s.where() + ": key '" + key + "' given twice");
    s.params.push_back({std::move(key), std::string{item.substr(eq + 1)}});
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return s;
}

[[noreturn]] inline void bad_value(const parsed_spec& s, const spec_param& p, std::string_view expected) {
  throw config_error(s.where() + ": bad value '" + p.value + "' for '" + p.key + "': expected " + std::string{expected});
}

[[nodiscard]] inline double parse_number(const parsed_spec& s, const spec_param& p) {
  double v = 0;
  const char* b = p.value.data();
  const char* e = b + p.value.size();
  const auto r = std::from_chars(b, e, v);
  if (p.value.empty() || r.ec != std::errc{} || r.ptr != e || !std::isfinite(v)) bad_value(s, p, "a number");
  return v;
}

[[nodiscard]] inline std::size_t parse_count(const parsed_spec& s, const spec_param& p) {
  std::size_t v = 0;
  const char* b = p.value.data();
  const char* e = b + p.value.size();
  const auto r = std::from_chars(b, e, v);
  if (p.value.empty() || r.ec != std::errc{} || r.ptr != e) bad_value(s, p, "a whole number >= 0");
  return v;
}

// "4GiB", "512MiB", "64KiB", "4096B" or a plain number of bytes; fractions allowed ("1.5GiB").
[[nodiscard]] inline bytes parse_size(const parsed_spec& s, const spec_param& p) {
  static constexpr std::pair<std::string_view, std::uint64_t> units[] = {
      {"TiB", 1ULL << 40}, {"GiB", 1ULL << 30}, {"MiB", 1ULL << 20}, {"KiB", 1ULL << 10}, {"B", 1}};
  std::string_view text = p.value;
  std::uint64_t scale = 1;
  for (const auto& [suffix, k] : units)
    if (text.size() > suffix.size() && text.substr(text.size() - suffix.size()) == suffix) {
      text.remove_suffix(suffix.size());
      scale = k;
      break;
    }
  double v = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  constexpr std::string_view expected = "a size such as 4GiB, 512MiB, 64KiB or a number of bytes";
  if (text.empty() || r.ec != std::errc{} || r.ptr != text.data() + text.size() || !std::isfinite(v) || v < 0)
    bad_value(s, p, expected);
  const double b = v * static_cast<double>(scale);
  if (b >= 1.8e19) bad_value(s, p, expected);
  return bytes{static_cast<std::uint64_t>(b)};
}

// A key of a policy's options: its name and how its value is read into the options.
template <class Options>
struct key_def {
  std::string_view key;
  void (*read)(Options&, const parsed_spec&, const spec_param&);
};

template <class Options, std::size_t N>
Options read_options(parsed_spec& s, const key_def<Options> (&keys)[N]) {
  Options o{};
  for (auto& p : s.params) {
    bool known = false;
    for (const auto& k : keys)
      if (k.key == p.key) {
        k.read(o, s, p);
        known = true;
      }
    if (!known) {
      std::vector<std::string> valid;
      for (const auto& k : keys) valid.emplace_back(k.key);
      throw config_error(s.where() + ": unknown key '" + p.key + "' (valid keys: " + join(valid) + ")");
    }
  }
  return o;
}

inline void no_options(const parsed_spec& s) {
  if (!s.params.empty())
    throw config_error(s.where() + ": unknown key '" + s.params.front().key + "' (valid keys: none)");
}

// Range checks live in each policy's options::validate(); its message is prefixed with the spec.
template <class Policy, class Options>
Policy build(const parsed_spec& s, const Options& o) {
  try {
    return Policy{o};
  } catch (const config_error& e) {
    throw config_error(s.where() + ": " + e.what());
  }
}

}  // namespace detail

// The KVM host's baselines (nova_isolate, nova_share, numad) come last: docs/kvm.md.
[[nodiscard]] inline std::vector<std::string> placement_names() {
  return {"closer", "xen_default", "pinned_node0", "nova_isolate", "nova_share", "numad"};
}

[[nodiscard]] inline std::vector<std::string> sizing_names() {
  return {"closer_dynamic", "static_xen_default", "static_xenserver", "static_fixed", "nova_isolate", "nova_share", "numad"};
}

[[nodiscard]] inline any_placement_policy make_placement(std::string_view spec) {
  using namespace detail;
  parsed_spec s = parse_spec(spec, "placement");
  if (s.name == "closer") {
    using O = placement::closer::options;
    static constexpr key_def<O> keys[] = {
        {"target_utilisation", [](O& o, const parsed_spec& ps, const spec_param& p) { o.target_utilisation = parse_number(ps, p); }},
        {"device_weight", [](O& o, const parsed_spec& ps, const spec_param& p) { o.device_weight = parse_number(ps, p); }},
        {"hysteresis", [](O& o, const parsed_spec& ps, const spec_param& p) { o.hysteresis = parse_number(ps, p); }},
        {"migration_budget", [](O& o, const parsed_spec& ps, const spec_param& p) { o.migration_budget = parse_count(ps, p); }},
        {"full_utilisation", [](O& o, const parsed_spec& ps, const spec_param& p) { o.full_utilisation = parse_number(ps, p); }},
        {"saturation", [](O& o, const parsed_spec& ps, const spec_param& p) { o.saturation = parse_number(ps, p); }},
    };
    return build<placement::closer>(s, read_options(s, keys));
  }
  if (s.name == "xen_default") {
    no_options(s);
    return placement::xen_default{};
  }
  if (s.name == "pinned_node0") {
    no_options(s);
    return placement::pinned_node0{};
  }
  if (s.name == "nova_isolate") {
    no_options(s);
    return placement::nova_isolate{};
  }
  if (s.name == "nova_share") {
    no_options(s);
    return placement::nova_share{};
  }
  if (s.name == "numad") {
    no_options(s);
    return placement::numad{};
  }
  throw config_error("unknown placement policy '" + s.name + "' (valid: " + join(placement_names()) + ")");
}

[[nodiscard]] inline any_sizing_policy make_sizing(std::string_view spec) {
  using namespace detail;
  parsed_spec s = parse_spec(spec, "sizing");
  if (s.name == "closer_dynamic") {
    using O = sizing::closer_dynamic::options;
    static constexpr key_def<O> keys[] = {
        {"target_utilisation", [](O& o, const parsed_spec& ps, const spec_param& p) { o.target_utilisation = parse_number(ps, p); }},
        {"scale_down_periods", [](O& o, const parsed_spec& ps, const spec_param& p) { o.scale_down_periods = parse_count(ps, p); }},
        {"capped_scale_down_periods", [](O& o, const parsed_spec& ps, const spec_param& p) { o.capped_scale_down_periods = parse_count(ps, p); }},
        {"min_vcpus_per_node", [](O& o, const parsed_spec& ps, const spec_param& p) { o.min_vcpus_per_node = parse_count(ps, p); }},
        {"max_vcpus_per_node", [](O& o, const parsed_spec& ps, const spec_param& p) { o.max_vcpus_per_node = parse_count(ps, p); }},
        {"base_memory", [](O& o, const parsed_spec& ps, const spec_param& p) { o.base_memory = parse_size(ps, p); }},
        {"node_memory", [](O& o, const parsed_spec& ps, const spec_param& p) { o.node_memory = parse_size(ps, p); }},
        {"guest_memory", [](O& o, const parsed_spec& ps, const spec_param& p) { o.guest_memory = parse_size(ps, p); }},
        {"memory_per_core", [](O& o, const parsed_spec& ps, const spec_param& p) { o.memory_per_core = parse_size(ps, p); }},
        {"memory_granularity", [](O& o, const parsed_spec& ps, const spec_param& p) { o.memory_granularity = parse_size(ps, p); }},
        {"cap_utilisation", [](O& o, const parsed_spec& ps, const spec_param& p) { o.cap_utilisation = parse_number(ps, p); }},
        {"cap_binding", [](O& o, const parsed_spec& ps, const spec_param& p) { o.cap_binding = parse_number(ps, p); }},
        {"full_utilisation", [](O& o, const parsed_spec& ps, const spec_param& p) { o.full_utilisation = parse_number(ps, p); }},
        {"saturation", [](O& o, const parsed_spec& ps, const spec_param& p) { o.saturation = parse_number(ps, p); }},
        {"cap_floor_percent", [](O& o, const parsed_spec& ps, const spec_param& p) { o.cap_floor_percent = parse_count(ps, p); }},
    };
    return build<sizing::closer_dynamic>(s, read_options(s, keys));
  }
  if (s.name == "static_xen_default") {
    no_options(s);
    return sizing::static_xen_default{};
  }
  if (s.name == "static_xenserver") {
    no_options(s);
    return sizing::static_xenserver{};
  }
  if (s.name == "static_fixed") {
    using O = sizing::static_fixed::options;
    static constexpr key_def<O> keys[] = {
        {"vcpus", [](O& o, const parsed_spec& ps, const spec_param& p) { o.vcpus = parse_count(ps, p); }},
        {"memory", [](O& o, const parsed_spec& ps, const spec_param& p) { o.memory = parse_size(ps, p); }},
    };
    return build<sizing::static_fixed>(s, read_options(s, keys));
  }
  if (s.name == "nova_isolate") {
    no_options(s);
    return sizing::nova_isolate{};
  }
  if (s.name == "nova_share") {
    using O = sizing::nova_share::options;
    static constexpr key_def<O> keys[] = {
        {"cpus", [](O& o, const parsed_spec& ps, const spec_param& p) { o.cpus = parse_count(ps, p); }},
    };
    return build<sizing::nova_share>(s, read_options(s, keys));
  }
  if (s.name == "numad") {
    no_options(s);
    return sizing::numad{};
  }
  throw config_error("unknown sizing policy '" + s.name + "' (valid: " + join(sizing_names()) + ")");
}

}  // namespace pvmkit::runtime
