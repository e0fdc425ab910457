// What the static sizing baselines share: bring the pVM to a fixed vCPU count and memory target,
// emitting only what differs from the view, so a settled host gets an empty plan.
#pragma once

#include <pvmkit/core/json_writer.hpp>
#include <pvmkit/core/units.hpp>
#include <pvmkit/model/host_view.hpp>
#include <pvmkit/model/decision.hpp>
#include <pvmkit/model/plan.hpp>

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

namespace pvmkit::sizing {

// The lowest `vcpus` vCPU ids online and the others offline (boot-time sizing onlines vCPUs 0..n-1);
// onlining comes first so the pVM never drops to zero online vCPUs in between. Node affinity: all
// nodes (a statically sized pVM takes memory wherever the allocator finds it).
[[nodiscard]] inline plan static_size(const host_view& view, std::size_t vcpus, bytes memory, std::string_view who,
                                      decision_log& log) {
  plan p;
  const auto& pvm = view.pvm;
  const std::size_t online = std::clamp<std::size_t>(vcpus, 1, std::max<std::size_t>(pvm.vcpus.size(), 1));
  const std::string reason = std::string{who} + ": static size";
  for (std::size_t i = 0; i < pvm.vcpus.size() && i < online; ++i)
    if (!pvm.vcpus[i].online) p.add(set_vcpu_online{pvm.id, pvm.vcpus[i].id, true}, reason);
  for (std::size_t i = online; i < pvm.vcpus.size(); ++i)
    if (pvm.vcpus[i].online) p.add(set_vcpu_online{pvm.id, pvm.vcpus[i].id, false}, reason);
  bytes target = memory;
  if (pvm.max_memory.count() > 0) target = std::min(target, pvm.max_memory);
  if (target != pvm.memory_target) p.add(set_memory_target{pvm.id, target}, reason);
  nodeset all;
  for (const auto& n : view.topo->nodes()) all.insert(n.id);
  if (pvm.node_affinity != all) p.add(set_node_affinity{pvm.id, all}, reason);
  if (log.enabled())
    log.add({std::string{who},
             "pVM size",
             {{"vcpus_available", std::to_string(pvm.vcpus.size())},
              {"host_cpus", std::to_string(view.topo->cpu_count())},
              {"host_memory_mib", to_shortest_string(view.topo->total_memory().mib())}},
             {},
             std::to_string(online) + " vCPUs, " + to_shortest_string(target.mib()) + " MiB",
             online < vcpus ? "fixed size, capped by the vCPUs the pVM has" : "fixed size"});
  return p;
}

}  // namespace pvmkit::sizing
