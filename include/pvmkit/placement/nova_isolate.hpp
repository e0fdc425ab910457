// Baseline: OpenStack Nova's hw:emulator_threads_policy=isolate, as a placement. Each instance's
// emulator threads run on one host CPU of their own, on the instance's NUMA cell (Nova's CPU
// topologies guide); here the guest's I/O and vhost work goes with them. The CPU is one of the
// pVM's online vCPUs' CPUs on the guest's home node (sizing::nova_isolate reserves one per guest):
// the i-th guest homed on a node (by domain id) takes the node's i-th CPU, round-robin when the
// node has fewer than guests. A guest whose node has none uses the nearest node that has. Buffers
// are first-touch where the work runs (Nova sets no per-thread memory policy). Tasks of no guest
// are left alone.
#pragma once

#include <pvmkit/model/host_view.hpp>
#include <pvmkit/model/decision.hpp>
#include <pvmkit/placement/concepts.hpp>
#include <pvmkit/model/locality.hpp>
#include <pvmkit/model/plan.hpp>
#include <pvmkit/topology/topology.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pvmkit::placement {

struct nova_isolate {
  using family = placement_family;
  struct options {};

  nova_isolate() = default;
  explicit nova_isolate(options) {}

  [[nodiscard]] std::string_view name() const noexcept { return "nova_isolate"; }

  // The CPU each guest's work is pinned to (guests with nowhere to go are absent).
  [[nodiscard]] static std::unordered_map<domain_id::rep, cpu_id> guest_cpus(const host_view& view) {
    const topology& topo = *view.topo;
    pvm_vcpu_layout layout;
    layout.build(topo, view.pvm);
    std::vector<std::vector<cpu_id>> cpus(topo.node_count());
    for (std::size_t n = 0; n < cpus.size(); ++n)
      for (cpu_id c : layout.cpus[n]) cpus[n].push_back(c);
    std::vector<std::size_t> taken(topo.node_count(), 0);
    std::unordered_map<domain_id::rep, cpu_id> out;
    for (const auto& g : view.guests) {
      const node_id home = topo.nearest_cpu_node(guest_home(topo, g));
      for (node_id n : topo.nearest_to(home)) {
        const auto& here = cpus[n.index()];
        if (here.empty()) continue;
        out.emplace(g.id.value(), here[taken[n.index()]++ % here.size()]);
        break;
      }
    }
    return out;
  }

  [[nodiscard]] plan decide(const host_view& view, decision_log& log) const {
    plan p;
    const auto cpu_of = guest_cpus(view);
    for (const auto& t : view.tasks) {
      const auto it = t.guest.valid() ? cpu_of.find(t.guest.value()) : cpu_of.end();
      if (it == cpu_of.end()) continue;
      const cpuset one{it->second};
      if (t.affinity != one) p.add(set_task_affinity{t.id, one}, "the guest's isolated CPU");
      if (t.memory_node.valid()) p.add(set_task_memory_node{t.id, node_id::invalid()}, "first touch");
    }
    if (log.enabled())
      log.add({std::string{name()}, "pVM tasks", {{"guests", std::to_string(view.guests.size())}}, {},
               std::to_string(cpu_of.size()) + " guests on a CPU each", std::to_string(p.size()) + " actions"});
    return p;
  }
};

static_assert(PlacementPolicy<nova_isolate>);

}  // namespace pvmkit::placement
