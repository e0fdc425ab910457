// Baseline: OpenStack Nova's hw:emulator_threads_policy=share with [compute] cpu_shared_set, as a
// placement. Every instance's emulator threads are pinned to the CPUs of cpu_shared_set (Nova's
// CPU topologies guide); here every guest's I/O and vhost work goes with them: each task of a
// guest is pinned to the CPUs of all the pVM's online vCPUs (the shared set sizing::nova_share
// reserves), wherever the guest lives. Buffers are first-touch where the work runs. Tasks of no
// guest are left alone.
#pragma once

#include <pvmkit/model/host_view.hpp>
#include <pvmkit/model/decision.hpp>
#include <pvmkit/placement/concepts.hpp>
#include <pvmkit/model/plan.hpp>

#include <string>
#include <string_view>

namespace pvmkit::placement {

struct nova_share {
  using family = placement_family;
  struct options {};

  nova_share() = default;
  explicit nova_share(options) {}

  [[nodiscard]] std::string_view name() const noexcept { return "nova_share"; }

  [[nodiscard]] plan decide(const host_view& view, decision_log& log) const {
    plan p;
    cpuset shared;
    for (const auto& v : view.pvm.vcpus)
      if (v.online) shared |= v.hard_affinity;
    if (!shared.empty())
      for (const auto& t : view.tasks) {
        if (!t.guest.valid() || t.guest == view.pvm.id) continue;
        if (t.affinity != shared) p.add(set_task_affinity{t.id, shared}, "the shared set");
        if (t.memory_node.valid()) p.add(set_task_memory_node{t.id, node_id::invalid()}, "first touch");
      }
    if (log.enabled())
      log.add({std::string{name()}, "pVM tasks", {{"tasks", std::to_string(view.tasks.size())}}, {}, shared.to_string(),
               std::to_string(p.size()) + " actions"});
    return p;
  }
};

static_assert(PlacementPolicy<nova_share>);

}  // namespace pvmkit::placement
