// Baseline: OpenStack Nova's hw:emulator_threads_policy=isolate, as a pVM size on a KVM host. Nova
// gives each instance one more dedicated host CPU, distinct from its vCPUs' and taken from the
// host NUMA cell the instance is fitted on, and pins its emulator threads there (Nova's CPU
// topologies guide; nova/virt/hardware.py, cpuset_reserved). Here that CPU also runs the guest's
// I/O and vhost work: the reservation is one CPU per guest on its home node, whatever the guest's
// demand, fixed for its life. Nova would not start more instances than a cell has CPUs for; the
// scenario's guests are given, so a node reserves at most the CPUs its guests' own vCPUs leave
// (at least one while it homes a guest), and its guests share those round-robin
// (placement::nova_isolate). The lowest-numbered CPUs of each node are reserved.
#pragma once

#include <pvmkit/model/host_view.hpp>
#include <pvmkit/model/decision.hpp>
#include <pvmkit/model/locality.hpp>
#include <pvmkit/model/plan.hpp>
#include <pvmkit/sizing/concepts.hpp>
#include <pvmkit/sizing/reserve_cpus.hpp>
#include <pvmkit/topology/topology.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string_view>
#include <vector>

namespace pvmkit::sizing {

struct nova_isolate {
  using family = sizing_family;
  struct options {};

  nova_isolate() = default;
  explicit nova_isolate(options) {}

  [[nodiscard]] std::string_view name() const noexcept { return "nova_isolate"; }

  // CPUs reserved on each node: one per guest homed there, at most the whole CPUs its guests leave,
  // at least one while it homes a guest.
  [[nodiscard]] static std::vector<std::size_t> per_node(const host_view& view) {
    const topology& topo = *view.topo;
    std::vector<double> free;
    free_cpus_by_node(topo, view.guests, free);
    std::vector<std::size_t> guests(topo.node_count(), 0), want(topo.node_count(), 0);
    for (const auto& g : view.guests) ++guests[topo.nearest_cpu_node(guest_home(topo, g)).index()];
    for (std::size_t n = 0; n < want.size(); ++n)
      if (guests[n] > 0) {
        const auto whole = static_cast<std::size_t>(std::floor(free[n] + 1e-9));
        want[n] = std::min({guests[n], std::max<std::size_t>(1, whole), topo.nodes()[n].cpus.size()});
      }
    return want;
  }

  [[nodiscard]] plan decide(const host_view& view, decision_log& log) const {
    const topology& topo = *view.topo;
    const std::vector<std::size_t> want = per_node(view);
    cpuset wanted;
    for (std::size_t n = 0; n < want.size(); ++n) {
      std::size_t k = 0;
      for (cpu_id c : topo.nodes()[n].cpus) {
        if (k++ == want[n]) break;
        wanted.insert(c);
      }
    }
    if (wanted.empty() && !topo.cpus().empty()) wanted.insert(*topo.cpus().first());  // no guest: the host keeps one
    return reserve_cpus(view, wanted, name(), log);
  }
};

static_assert(SizingPolicy<nova_isolate>);

}  // namespace pvmkit::sizing
