// host_view: one consistent snapshot of the host that every policy decides on.
#pragma once

#include <pvmkit/core/clock.hpp>
#include <pvmkit/core/id_set.hpp>
#include <pvmkit/core/ids.hpp>
#include <pvmkit/core/units.hpp>
#include <pvmkit/topology/topology.hpp>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pvmkit {

struct vcpu_state {
  vcpu_id id;
  bool online = true;
  cpuset hard_affinity;
  cpuset soft_affinity;
};

// Measured I/O a guest asks of the pVM, per second, and the pVM CPU time it cost (cores).
struct io_load {
  double net_packets = 0;
  double block_requests = 0;
  double pvm_cores = 0;
};

struct domain_state {
  domain_id id;
  std::string name;
  std::vector<vcpu_state> vcpus;
  std::vector<bytes> memory_per_node;  // indexed by node; empty when the backend cannot tell
  bytes memory_target;
  bytes max_memory;
  nodeset node_affinity;
  node_id home_node;  // where the guest's memory and vCPUs mostly are; invalid for the pVM
  // CPU time the domain may use in all, in percent of one pCPU (Xen's scheduler cap; 0 = no cap).
  // Empty when the backend cannot cap, so policies know not to ask for one.
  std::optional<unsigned> cpu_cap;
  io_load io;
  // Cores the domain's own vCPUs used over the last period (a guest's compute competes with the
  // pVM for its node's CPUs); 0 when the backend cannot tell.
  double cpu_load = 0;

  [[nodiscard]] bytes memory() const noexcept {
    bytes t;
    for (bytes b : memory_per_node) t += b;
    return t;
  }
  [[nodiscard]] std::size_t online_vcpus() const noexcept {
    return static_cast<std::size_t>(std::count_if(vcpus.begin(), vcpus.end(), [](const vcpu_state& v) { return v.online; }));
  }
  [[nodiscard]] const vcpu_state* find_vcpu(vcpu_id v) const noexcept {
    return v.index() < vcpus.size() && vcpus[v.index()].id == v ? &vcpus[v.index()] : nullptr;
  }
};

enum class task_kind { net_backend, block_backend, device_model, toolstack, irq, other };

[[nodiscard]] constexpr std::string_view to_string(task_kind k) noexcept {
  switch (k) {
    case task_kind::net_backend: return "net_backend";
    case task_kind::block_backend: return "block_backend";
    case task_kind::device_model: return "device_model";
    case task_kind::toolstack: return "toolstack";
    case task_kind::irq: return "irq";
    case task_kind::other: return "other";
  }
  return "other";
}

// A piece of pVM work: a backend thread, a device-model process, an event-channel IRQ.
struct pvm_task {
  task_id id;
  std::string name;
  task_kind kind = task_kind::other;
  domain_id guest;      // the guest it serves; invalid for pVM-wide work
  std::string device;   // the host device it drives ("eth0"), empty if none
  cpuset affinity;      // pCPUs it may run on (through the pVM vCPUs pinned there)
  node_id memory_node;  // where its buffers come from; invalid = wherever the allocator likes
  double cpu_load = 0;  // cores it used over the last period
};

struct host_view {
  std::shared_ptr<const topology> topo;
  domain_state pvm;
  std::vector<domain_state> guests;
  std::vector<pvm_task> tasks;
  time_point taken_at{};

  // Both look where ids numbered in order would be first (the mock and the simulator number them
  // so, and a plan over thousands of tasks would otherwise make applying it quadratic), then search.
  [[nodiscard]] const domain_state* find_domain(domain_id d) const noexcept {
    if (d == pvm.id) return &pvm;
    if (d.valid() && d.index() >= 1 && d.index() - 1 < guests.size() && guests[d.index() - 1].id == d) return &guests[d.index() - 1];
    for (const auto& g : guests)
      if (g.id == d) return &g;
    return nullptr;
  }
  [[nodiscard]] domain_state* find_domain(domain_id d) noexcept {
    return const_cast<domain_state*>(std::as_const(*this).find_domain(d));
  }
  [[nodiscard]] const pvm_task* find_task(task_id t) const noexcept {
    if (t.valid() && t.index() < tasks.size() && tasks[t.index()].id == t) return &tasks[t.index()];
    for (const auto& k : tasks)
      if (k.id == t) return &k;
    return nullptr;
  }
  [[nodiscard]] pvm_task* find_task(task_id t) noexcept {
    return const_cast<pvm_task*>(std::as_const(*this).find_task(t));
  }
};

// The node a set of pCPUs lies in, if it lies in exactly one; a vCPU or task pinned this way is
// "on" that node.
[[nodiscard]] inline node_id node_of(const topology& topo, const cpuset& cpus) noexcept {
  node_id found = node_id::invalid();
  for (cpu_id c : cpus) {
    const node_id n = topo.node_of(c);
    if (!n.valid() || (found.valid() && n != found)) return node_id::invalid();
    found = n;
  }
  return found;
}

// The node with the most of a domain's memory; ties go to the lower node id.
[[nodiscard]] inline node_id majority_node(const std::vector<bytes>& memory_per_node) noexcept {
  node_id best = node_id::invalid();
  bytes most;
  for (std::size_t i = 0; i < memory_per_node.size(); ++i)
    if (!best.valid() || memory_per_node[i] > most) {
      best = node_id{static_cast<node_id::rep>(i)};
      most = memory_per_node[i];
    }
  return best;
}

}  // namespace pvmkit
