// Baseline: numad-style whole-guest placement. numad monitors NUMA topology and the processes'
// use of CPUs and memory, binds a process to the nodes it picks and moves its memory there
// (numad(8); libvirt asks it where to put a guest with placement='auto'). Here a guest's pVM work
// follows the guest as one process: each task of a guest is pinned to all the CPUs of the guest's
// home node and its buffers taken there. There is no pVM capacity: the work shares the node's CPUs
// with the guests (sizing::numad reserves nothing more), so it gets whatever they leave and never
// leaves the node, however busy. Tasks of no guest are left alone.
#pragma once

#include <pvmkit/model/host_view.hpp>
#include <pvmkit/model/decision.hpp>
#include <pvmkit/placement/concepts.hpp>
#include <pvmkit/model/locality.hpp>
#include <pvmkit/model/plan.hpp>
#include <pvmkit/topology/topology.hpp>

#include <string>
#include <string_view>

namespace pvmkit::placement {

struct numad {
  using family = placement_family;
  struct options {};

  numad() = default;
  explicit numad(options) {}

  [[nodiscard]] std::string_view name() const noexcept { return "numad"; }

  [[nodiscard]] plan decide(const host_view& view, decision_log& log) const {
    plan p;
    const topology& topo = *view.topo;
    for (const auto& t : view.tasks) {
      const domain_state* g = t.guest.valid() ? view.find_domain(t.guest) : nullptr;
      if (!g || g == &view.pvm) continue;
      const node_id home = topo.nearest_cpu_node(guest_home(topo, *g));
      const cpuset& cpus = topo.node(home).cpus;
      if (t.affinity != cpus) p.add(set_task_affinity{t.id, cpus}, "the guest's node");
      if (t.memory_node != home) p.add(set_task_memory_node{t.id, home}, "the guest's node");
    }
    if (log.enabled())
      log.add({std::string{name()}, "pVM tasks", {{"tasks", std::to_string(view.tasks.size())}}, {}, "each guest's node",
               std::to_string(p.size()) + " actions"});
    return p;
  }
};

static_assert(PlacementPolicy<numad>);

}  // namespace pvmkit::placement
