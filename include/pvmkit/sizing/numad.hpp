// Baseline: a KVM host run by numad, as a pVM size. numad has no notion of pVM capacity: it binds
// whole processes to the NUMA nodes it picks and reserves nothing for the host's own work (its
// -R option only keeps CPUs out of its bindings; numad(8)). The pVM keeps the one CPU a host always
// has (the first: the housekeeping CPU of a host pvmkit has not sized, docs/kvm.md); its work
// shares the guests' CPUs (placement::numad).
#pragma once

#include <pvmkit/model/host_view.hpp>
#include <pvmkit/model/decision.hpp>
#include <pvmkit/model/plan.hpp>
#include <pvmkit/sizing/concepts.hpp>
#include <pvmkit/sizing/reserve_cpus.hpp>

#include <string_view>

namespace pvmkit::sizing {

struct numad {
  using family = sizing_family;
  struct options {};

  numad() = default;
  explicit numad(options) {}

  [[nodiscard]] std::string_view name() const noexcept { return "numad"; }

  [[nodiscard]] plan decide(const host_view& view, decision_log& log) const {
    cpuset first;
    if (const auto c = view.topo->cpus().first()) first.insert(*c);
    return reserve_cpus(view, first, name(), log);
  }
};

static_assert(SizingPolicy<numad>);

}  // namespace pvmkit::sizing
