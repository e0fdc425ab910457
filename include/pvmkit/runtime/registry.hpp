// The registry of placement and sizing policies: one row per policy (runtime/policy_spec.hpp says
// how a spec reads), for the CLI and scenario files.
#pragma once

#include <pvmkit/model/policy.hpp>
#include <pvmkit/placement/closer.hpp>
#include <pvmkit/placement/nova_isolate.hpp>
#include <pvmkit/placement/nova_share.hpp>
#include <pvmkit/placement/numad.hpp>
#include <pvmkit/placement/pinned_node0.hpp>
#include <pvmkit/placement/xen_default.hpp>
#include <pvmkit/runtime/any_policy.hpp>
#include <pvmkit/runtime/policy_spec.hpp>
#include <pvmkit/sizing/closer_dynamic.hpp>
#include <pvmkit/sizing/nova_isolate.hpp>
#include <pvmkit/sizing/nova_share.hpp>
#include <pvmkit/sizing/numad.hpp>
#include <pvmkit/sizing/static_fixed.hpp>
#include <pvmkit/sizing/static_xen_default.hpp>
#include <pvmkit/sizing/static_xenserver.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace pvmkit::runtime {

namespace detail {

inline any_placement_policy make_closer(parsed_spec& s) {
  using O = placement::closer::options;
  static constexpr key_def<O> keys[] = {
      {"target_utilisation", &O::target_utilisation},
      {"device_weight", &O::device_weight},
      {"hysteresis", &O::hysteresis},
      {"migration_budget", &O::migration_budget},
      {"full_utilisation", &O::full_utilisation},
      {"saturation", &O::saturation},
  };
  return build<placement::closer>(s, read_options(s, keys));
}

inline any_sizing_policy make_closer_dynamic(parsed_spec& s) {
  using O = sizing::closer_dynamic::options;
  static constexpr key_def<O> keys[] = {
      {"target_utilisation", &O::target_utilisation},
      {"scale_down_periods", &O::scale_down_periods},
      {"capped_scale_down_periods", &O::capped_scale_down_periods},
      {"min_vcpus_per_node", &O::min_vcpus_per_node},
      {"max_vcpus_per_node", &O::max_vcpus_per_node},
      {"base_memory", &O::base_memory},
      {"node_memory", &O::node_memory},
      {"guest_memory", &O::guest_memory},
      {"memory_per_core", &O::memory_per_core},
      {"memory_granularity", &O::memory_granularity},
      {"cap_utilisation", &O::cap_utilisation},
      {"cap_binding", &O::cap_binding},
      {"full_utilisation", &O::full_utilisation},
      {"saturation", &O::saturation},
      {"cap_floor_percent", &O::cap_floor_percent},
  };
  return build<sizing::closer_dynamic>(s, read_options(s, keys));
}

inline any_sizing_policy make_static_fixed(parsed_spec& s) {
  using O = sizing::static_fixed::options;
  static constexpr key_def<O> keys[] = {
      {"vcpus", &O::vcpus},
      {"memory", &O::memory},
  };
  return build<sizing::static_fixed>(s, read_options(s, keys));
}

inline any_sizing_policy make_nova_share(parsed_spec& s) {
  using O = sizing::nova_share::options;
  static constexpr key_def<O> keys[] = {
      {"cpus", &O::cpus},
  };
  return build<sizing::nova_share>(s, read_options(s, keys));
}

}  // namespace detail

// The KVM host's baselines (nova_isolate, nova_share, numad) come last: docs/kvm.md.
inline constexpr registry_row<any_placement_policy> placement_rows[] = {
    {"closer", &detail::make_closer},
    {"xen_default", &detail::plain<any_placement_policy, placement::xen_default>},
    {"pinned_node0", &detail::plain<any_placement_policy, placement::pinned_node0>},
    {"nova_isolate", &detail::plain<any_placement_policy, placement::nova_isolate>},
    {"nova_share", &detail::plain<any_placement_policy, placement::nova_share>},
    {"numad", &detail::plain<any_placement_policy, placement::numad>},
};

inline constexpr registry_row<any_sizing_policy> sizing_rows[] = {
    {"closer_dynamic", &detail::make_closer_dynamic},
    {"static_xen_default", &detail::plain<any_sizing_policy, sizing::static_xen_default>},
    {"static_xenserver", &detail::plain<any_sizing_policy, sizing::static_xenserver>},
    {"static_fixed", &detail::make_static_fixed},
    {"nova_isolate", &detail::plain<any_sizing_policy, sizing::nova_isolate>},
    {"nova_share", &detail::make_nova_share},
    {"numad", &detail::plain<any_sizing_policy, sizing::numad>},
};

[[nodiscard]] inline std::vector<std::string> placement_names() { return detail::names_of(placement_rows); }
[[nodiscard]] inline std::vector<std::string> sizing_names() { return detail::names_of(sizing_rows); }

[[nodiscard]] inline any_placement_policy make_placement(std::string_view spec) {
  return detail::make_from(placement_rows, spec, placement_family::name);
}
[[nodiscard]] inline any_sizing_policy make_sizing(std::string_view spec) {
  return detail::make_from(sizing_rows, spec, sizing_family::name);
}

}  // namespace pvmkit::runtime
