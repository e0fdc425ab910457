// What the KVM operators' sizing baselines share (nova_isolate, nova_share, numad): reserve exactly
// a given set of host CPUs for pVM work. On a KVM host pVM vCPU v is host CPU v and online means
// reserved (docs/kvm.md), so reserving CPU c brings online the vCPU pinned to {c}, and every other
// online vCPU goes offline. On a pVM whose vCPUs are not pinned one to a CPU (a Xen dom0), the
// lowest-id vCPUs left are pinned one to each wanted CPU that has none. Onlining comes first, so the
// pVM never drops to zero online vCPUs in between; an empty plan once the reservation is in place.
#pragma once

#include <pvmkit/model/host_view.hpp>
#include <pvmkit/core/id_set.hpp>
#include <pvmkit/model/decision.hpp>
#include <pvmkit/model/plan.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace pvmkit::sizing {

// `wanted`: the CPUs to reserve (at least one: the host keeps one); CPUs beyond the pVM's vCPUs
// stay unreserved, and the decision record says so.
[[nodiscard]] inline plan reserve_cpus(const host_view& view, const cpuset& wanted, std::string_view who, decision_log& log) {
  plan p;
  const auto& vcpus = view.pvm.vcpus;
  const domain_id pvm = view.pvm.id;
  const std::string reason = std::string{who} + ": reserved CPUs";
  std::vector<bool> keep(vcpus.size(), false);
  cpuset covered;
  for (std::size_t i = 0; i < vcpus.size(); ++i) {
    const cpuset& a = vcpus[i].hard_affinity;
    if (a.size() == 1 && wanted.contains(*a.first()) && !covered.contains(*a.first())) {
      keep[i] = true;
      covered.insert(*a.first());
    }
  }
  std::size_t next = 0;
  for (cpu_id c : wanted - covered) {
    while (next < vcpus.size() && keep[next]) ++next;
    if (next == vcpus.size()) break;  // no vCPU left to pin: the record says how many are reserved
    keep[next] = true;
    covered.insert(c);
    p.add(set_vcpu_affinity{pvm, vcpus[next].id, cpuset{c}}, reason);
  }
  for (std::size_t i = 0; i < vcpus.size(); ++i)
    if (keep[i] && !vcpus[i].online) p.add(set_vcpu_online{pvm, vcpus[i].id, true}, reason);
  for (std::size_t i = 0; i < vcpus.size(); ++i)
    if (!keep[i] && vcpus[i].online && !covered.empty()) p.add(set_vcpu_online{pvm, vcpus[i].id, false}, reason);
  if (log.enabled())
    log.add({std::string{who},
             "pVM reserved CPUs",
             {{"wanted", wanted.to_string()}, {"vcpus", std::to_string(vcpus.size())}},
             {},
             covered.to_string(),
             covered == wanted ? "reserved as wanted" : "fewer: the pVM has no vCPU left for the rest"});
  return p;
}

}  // namespace pvmkit::sizing
