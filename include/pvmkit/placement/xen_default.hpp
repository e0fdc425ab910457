// Baseline: what an unconfigured Xen host does. The pVM's vCPUs are not pinned (dom0_vcpus_pin
// off), backend threads are unbound, and buffers come from wherever the allocator finds pages.
#pragma once

#include <pvmkit/model/host_view.hpp>
#include <pvmkit/model/decision.hpp>
#include <pvmkit/placement/concepts.hpp>
#include <pvmkit/model/plan.hpp>

#include <string>
#include <string_view>

namespace pvmkit::placement {

struct xen_default {
  using family = placement_family;
  struct options {};  // nothing to tune: the baseline is the absence of a policy

  xen_default() = default;
  explicit xen_default(options) {}

  [[nodiscard]] std::string_view name() const noexcept { return "xen_default"; }

  // Undoes any pinning so that the host looks unconfigured; emits only what differs.
  [[nodiscard]] plan decide(const host_view& view, decision_log& log) const {
    plan p;
    const cpuset& all = view.topo->cpus();
    for (const auto& v : view.pvm.vcpus)
      if (v.online && v.hard_affinity != all) p.add(set_vcpu_affinity{view.pvm.id, v.id, all}, "float over all pCPUs");
    for (const auto& t : view.tasks) {
      if (t.affinity != all) p.add(set_task_affinity{t.id, all}, "unbound");
      if (t.memory_node.valid()) p.add(set_task_memory_node{t.id, node_id::invalid()}, "any node");
    }
    if (log.enabled())
      log.add({std::string{name()}, "pVM", {{"tasks", std::to_string(view.tasks.size())}}, {},
               "all pCPUs", std::to_string(p.size()) + " actions to unpin vCPUs and tasks"});
    return p;
  }
};

static_assert(PlacementPolicy<xen_default>);

}  // namespace pvmkit::placement
