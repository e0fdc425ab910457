// The placement family: policies that decide where the pVM's work runs (which pVM vCPU / node a
// backend task is pinned to, and which node its buffers come from).
#pragma once

#include <pvmkit/model/host_view.hpp>
#include <pvmkit/core/ids.hpp>
#include <pvmkit/model/decision.hpp>
#include <pvmkit/model/plan.hpp>
#include <pvmkit/model/policy.hpp>

#include <concepts>
#include <string_view>

namespace pvmkit::placement {

// A Policy that says it belongs to this family, so an any_placement_policy cannot be built from a
// sizing policy by mistake.
template <class P>
concept PlacementPolicy = Policy<P> && std::same_as<typename P::family, placement_family>;

// Optional: re-decides only one guest's tasks against the accounting kept from the last decide().
template <class P>
concept IncrementalPlacement = PlacementPolicy<P> && requires(P& p, const host_view& v, domain_id d, decision_log& log) {
  { p.replan(v, d, log) } -> std::same_as<plan>;
};

}  // namespace pvmkit::placement
