// Where things live: the one place that answers "which node is this set of CPUs, this guest, this
// pVM vCPU on". Policies and backends ask here (the simulator through its policies), so they cannot
// disagree.
#pragma once

#include <pvmkit/core/id_set.hpp>
#include <pvmkit/core/ids.hpp>
#include <pvmkit/core/units.hpp>
#include <pvmkit/model/host_view.hpp>
#include <pvmkit/topology/topology.hpp>

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

namespace pvmkit {

// The node a set of CPUs lies in, or invalid when it spans nodes or is empty; a vCPU or task
// pinned this way is "on" that node. Checks the first and last CPUs' nodes, then inclusion, so a
// set that matches a node (the common case on a placed host) costs no allocation.
[[nodiscard]] inline node_id node_of(const topology& topo, const cpuset& cpus) {
  const auto first = cpus.first();
  if (!first) return node_id::invalid();
  const node_id n = topo.node_of(*first);
  if (!n.valid()) return node_id::invalid();
  if (topo.node_of(cpu_id{static_cast<cpu_id::rep>(cpus.extent() - 1)}) != n) return node_id::invalid();
  const cpuset& node_cpus = topo.node(n).cpus;
  if (cpus == node_cpus || cpus.is_subset_of(node_cpus)) return n;
  return node_id::invalid();
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

// The home a hypervisor's configuration declares (what a backend reports as home_node): the node
// affinity when it is one node (Xen and libvirt's numatune allocate memory there), else the one
// node all its vCPUs are hard-pinned to, else soft-pinned to; invalid when nothing says.
[[nodiscard]] inline node_id declared_home(const topology& topo, const domain_state& d) {
  if (d.node_affinity.size() == 1) return *d.node_affinity.first();
  cpuset hard, soft;
  for (const auto& v : d.vcpus) {
    hard |= v.hard_affinity;
    soft |= v.soft_affinity;
  }
  if (const node_id n = node_of(topo, hard); n.valid()) return n;
  return node_of(topo, soft);
}

namespace detail {
// guest_home() when the backend reports no home: memory, then pinning, then node 0.
[[nodiscard]] inline node_id guest_home_from_placement(const topology& topo, const domain_state& g) {
  if (g.memory().count() > 0) {
    const node_id m = majority_node(g.memory_per_node);
    if (m.valid() && topo.has_node(m)) return m;
  }
  for (const auto& v : g.vcpus) {
    const node_id n = node_of(topo, v.hard_affinity);
    if (n.valid()) return n;
  }
  return node_id{0};
}
}  // namespace detail

// A guest's home as policies use it: the backend's home_node when it reports one, else the node
// with most of its memory (a guest whose memory is split is served where most of it is), else the
// node its vCPUs are pinned to, else node 0. The first case, the common one, is small enough to
// inline where policies loop over thousands of guests.
// `node_count` is topo.node_count(), passed by loops that keep it at hand. An invalid id's index
// is the largest there is, so one comparison tells a reported home.
[[nodiscard]] inline node_id guest_home(const topology& topo, const domain_state& g, std::size_t node_count) {
  return g.home_node.index() < node_count ? g.home_node : detail::guest_home_from_placement(topo, g);
}
[[nodiscard]] inline node_id guest_home(const topology& topo, const domain_state& g) {
  return guest_home(topo, g, topo.node_count());
}

// The pVM's vCPUs as seen by node: how many are online on each node (hard affinity inside that
// node), the CPUs they may run on, and the online vCPUs that float over several nodes.
struct pvm_vcpu_layout {
  std::vector<std::size_t> online;  // per node
  std::vector<cpuset> cpus;         // per node: union of the hard affinity of its online vCPUs
  std::vector<vcpu_id> floating;    // online, affinity spans nodes

  void build(const topology& topo, const domain_state& pvm) {
    const std::size_t n = topo.node_count();
    online.assign(n, 0);
    cpus.assign(n, cpuset{});
    floating.clear();
    // vCPUs pinned per node usually come in runs pinned to the same whole node: a set equal to
    // the previous vCPU's node's CPUs lies in that node without asking node_of().
    node_id last = node_id::invalid();
    for (const auto& v : pvm.vcpus) {
      if (!v.online) continue;
      const bool same = last.valid() && v.hard_affinity == topo.node(last).cpus && !v.hard_affinity.empty();
      const node_id node = same ? last : node_of(topo, v.hard_affinity);
      last = node;
      if (!node.valid()) {
        floating.push_back(v.id);
        continue;
      }
      ++online[node.index()];
      cpus[node.index()] |= v.hard_affinity;
    }
  }
};

// CPUs of each node the guests' own vCPUs leave to the pVM: the node's CPUs less the cores its
// guests' vCPUs used (each guest's compute counted on its home node), never below zero. A pVM
// vCPU beyond these only contends with the guests for the same CPUs.
inline void free_cpus_by_node(const topology& topo, const std::vector<domain_state>& guests, std::vector<double>& out) {
  out.assign(topo.node_count(), 0.0);
  for (const auto& g : guests)
    if (g.cpu_load > 0) out[guest_home(topo, g).index()] += g.cpu_load;
  for (std::size_t n = 0; n < out.size(); ++n)
    out[n] = std::max(0.0, static_cast<double>(topo.nodes()[n].cpus.size()) - out[n]);
}

[[nodiscard]] inline std::string node_label(node_id n) {
  return n.valid() ? "node " + std::to_string(n.value()) : std::string{"none"};
}

}  // namespace pvmkit
