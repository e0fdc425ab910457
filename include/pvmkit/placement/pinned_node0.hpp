// Baseline: the whole pVM on node 0 (the common dom0_nodes= / cpupool-numa-split practice). Every
// online pVM vCPU and every backend task is pinned to node 0's CPUs, buffers come from node 0.
#pragma once

#include <pvmkit/model/host_view.hpp>
#include <pvmkit/model/decision.hpp>
#include <pvmkit/placement/concepts.hpp>
#include <pvmkit/model/plan.hpp>

#include <string>
#include <string_view>

namespace pvmkit::placement {

struct pinned_node0 {
  using family = placement_family;
  struct options {};

  pinned_node0() = default;
  explicit pinned_node0(options) {}

  [[nodiscard]] std::string_view name() const noexcept { return "pinned_node0"; }

  [[nodiscard]] plan decide(const host_view& view, decision_log& log) const {
    plan p;
    const node_id node0{0};
    const cpuset& cpus = view.topo->node(node0).cpus;
    for (const auto& v : view.pvm.vcpus)
      if (v.online && v.hard_affinity != cpus) p.add(set_vcpu_affinity{view.pvm.id, v.id, cpus}, "pVM on node 0");
    for (const auto& t : view.tasks) {
      if (t.affinity != cpus) p.add(set_task_affinity{t.id, cpus}, "pVM on node 0");
      if (t.memory_node != node0) p.add(set_task_memory_node{t.id, node0}, "pVM on node 0");
    }
    if (log.enabled())
      log.add({std::string{name()}, "pVM", {{"tasks", std::to_string(view.tasks.size())}}, {},
               "node 0", std::to_string(p.size()) + " actions to move vCPUs and tasks to node 0"});
    return p;
  }
};

static_assert(PlacementPolicy<pinned_node0>);

}  // namespace pvmkit::placement
