// Small policies for the simulator's tests, with behaviour simple enough that the right figures
// are known by hand. Not the library's placement and sizing policies.
#pragma once

#include <pvmkit/model/host_view.hpp>
#include <pvmkit/model/decision.hpp>
#include <pvmkit/model/plan.hpp>
#include <pvmkit/model/policy.hpp>

#include <cstddef>
#include <string_view>

namespace pvmkit::sim::test {

// Keeps `per_node` pVM vCPUs online on each node, vCPU i pinned to node i % nodes; the rest offline.
struct fixed_per_node_sizing {
  std::size_t per_node = 1;
  [[nodiscard]] std::string_view name() const { return "fixed_per_node"; }
  plan decide(const host_view& v, decision_log&) const {
    plan p;
    const auto& topo = *v.topo;
    const std::size_t nodes = topo.node_count();
    for (const auto& vc : v.pvm.vcpus) {
      const std::size_t i = vc.id.index();
      const bool want = i < per_node * nodes;
      const cpuset cpus = topo.node(node_id{static_cast<node_id::rep>(i % nodes)}).cpus;
      if (want && vc.hard_affinity != cpus) p.add(set_vcpu_affinity{pvm_domain, vc.id, cpus}, "pin");
      if (vc.online != want && want) p.add(set_vcpu_online{pvm_domain, vc.id, true}, "online");
    }
    for (const auto& vc : v.pvm.vcpus)
      if (vc.online && vc.id.index() >= per_node * nodes) p.add(set_vcpu_online{pvm_domain, vc.id, false}, "offline");
    return p;
  }
};

// fixed_per_node_sizing plus a CPU cap of `percent` on the pVM.
struct fixed_capped_sizing {
  std::size_t per_node = 1;
  unsigned percent = 100;
  [[nodiscard]] std::string_view name() const { return "fixed_capped"; }
  plan decide(const host_view& v, decision_log& log) const {
    plan p = fixed_per_node_sizing{per_node}.decide(v, log);
    if (v.pvm.cpu_cap != percent) p.add(set_cpu_cap{pvm_domain, percent}, "cap");
    return p;
  }
};

// Every task on its guest's home node, buffers there too (or on `buffer_node` when set).
struct home_placement {
  node_id buffer_node = node_id::invalid();
  [[nodiscard]] std::string_view name() const { return "home"; }
  plan decide(const host_view& v, decision_log&) const {
    plan p;
    for (const auto& t : v.tasks) {
      const domain_state* g = v.find_domain(t.guest);
      if (!g) continue;
      const cpuset cpus = v.topo->node(g->home_node).cpus;
      if (t.affinity != cpus) p.add(set_task_affinity{t.id, cpus}, "home");
      const node_id mem = buffer_node.valid() ? buffer_node : g->home_node;
      if (t.memory_node != mem) p.add(set_task_memory_node{t.id, mem}, "home");
    }
    return p;
  }
};

// Every task on node `cpu`, its buffers on node `memory`.
struct pinned_placement {
  node_id cpu{0};
  node_id memory{0};
  [[nodiscard]] std::string_view name() const { return "pinned"; }
  plan decide(const host_view& v, decision_log&) const {
    plan p;
    const cpuset cpus = v.topo->node(cpu).cpus;
    for (const auto& t : v.tasks) {
      if (t.affinity != cpus) p.add(set_task_affinity{t.id, cpus}, "pinned");
      if (t.memory_node != memory) p.add(set_task_memory_node{t.id, memory}, "pinned");
    }
    return p;
  }
};

// Moves every task to the other node each round (2-node hosts): churn with a known count.
struct alternating_placement {
  std::size_t round = 0;
  [[nodiscard]] std::string_view name() const { return "alternating"; }
  plan decide(const host_view& v, decision_log&) {
    plan p;
    const cpuset cpus = v.topo->node(node_id{static_cast<node_id::rep>(round++ % 2)}).cpus;
    for (const auto& t : v.tasks) p.add(set_task_affinity{t.id, cpus}, "alternate");
    return p;
  }
};

// Decides nothing: what the host booted with stays.
struct no_op_policy {
  [[nodiscard]] std::string_view name() const { return "no_op"; }
  plan decide(const host_view&, decision_log&) const { return {}; }
};

static_assert(Policy<fixed_per_node_sizing>);
static_assert(Policy<home_placement>);
static_assert(Policy<pinned_placement>);
static_assert(Policy<alternating_placement>);
static_assert(Policy<no_op_policy>);

}  // namespace pvmkit::sim::test
