// Hosts for the placement and sizing tests: topologies where the right answer is known, and a mock
// host whose pVM vCPUs are already spread over the nodes, and the helpers their tests share.
#pragma once

#include <pvmkit/backend/mock.hpp>
#include <pvmkit/controller.hpp>
#include <pvmkit/model/decision.hpp>
#include <pvmkit/model/locality.hpp>
#include <pvmkit/model/plan.hpp>
#include <pvmkit/topology/topology.hpp>

#include <doctest/doctest.h>

#include <cstddef>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace pvmkit::test {

using namespace pvmkit::literals;

// A 4-node ring with uneven links: node 0's nearest is node 1 (16), then node 3 (20), then the
// opposite node 2 (26). Four CPUs and 4 GiB per node.
inline topology ring4(std::vector<device> devices = {}) {
  std::vector<numa_node> nodes;
  for (std::size_t i = 0; i < 4; ++i)
    nodes.push_back({node_id{static_cast<node_id::rep>(i)}, cpuset::range(i * 4, i * 4 + 4), 4_GiB, 4_GiB});
  // clang-format off
  std::vector<std::uint32_t> d = {10, 16, 26, 20,
                                  16, 10, 16, 26,
                                  26, 16, 10, 16,
                                  20, 26, 16, 10};
  // clang-format on
  return topology{std::move(nodes), std::move(d), std::move(devices)};
}

// A mock host whose pVM has vcpus_per_node[n] vCPUs pinned to node n, all online; offline[n] more
// pinned there but offline.
inline mock_host host_with_pvm(topology topo, const std::vector<std::size_t>& vcpus_per_node,
                               const std::vector<std::size_t>& offline = {}) {
  std::size_t total = 0;
  for (std::size_t n = 0; n < vcpus_per_node.size(); ++n) total += vcpus_per_node[n] + (n < offline.size() ? offline[n] : 0);
  const std::vector<numa_node> nodes = topo.nodes();
  mock_host host{std::move(topo), mock_pvm_spec{total, 1_GiB}};
  std::size_t v = 0;
  for (std::size_t n = 0; n < vcpus_per_node.size(); ++n) {
    for (std::size_t k = 0; k < vcpus_per_node[n]; ++k, ++v)
      (void)host.set_vcpu_affinity(pvm_domain, vcpu_id{static_cast<vcpu_id::rep>(v)}, nodes[n].cpus);
  }
  for (std::size_t n = 0; n < offline.size(); ++n)
    for (std::size_t k = 0; k < offline[n]; ++k, ++v) {
      (void)host.set_vcpu_affinity(pvm_domain, vcpu_id{static_cast<vcpu_id::rep>(v)}, nodes[n].cpus);
      (void)host.set_vcpu_online(pvm_domain, vcpu_id{static_cast<vcpu_id::rep>(v)}, false);
    }
  host.clear_calls();
  return host;
}

// A guest on `home` with one net backend task of the given load (and device); returns the task.
inline task_id guest_with_task(mock_host& host, const std::string& name, node_id home, double load,
                               std::string dev = {}, task_kind kind = task_kind::net_backend) {
  const domain_id g = host.add_guest({name, 1, home, 256_MiB, {}, false});
  return host.add_task({name + "-backend", kind, g, std::move(dev), load});
}

// One control round: `policy` decides on the host's state, the plan is applied to the mock (which
// validates every action, so the round must apply) and returned.
template <class Policy>
plan apply_round(mock_host& host, Policy& policy, decision_log& log) {
  const host_view before = host.state();
  plan p = policy.decide(before, log);
  const auto report = apply_plan(host, before, p);
  REQUIRE(report.ok());
  return p;
}
template <class Policy>
plan apply_round(mock_host& host, Policy& policy) {
  decision_log off;
  return apply_round(host, policy, off);
}

inline node_id task_node(const host_view& v, task_id t) {
  const pvm_task* task = v.find_task(t);
  return task ? node_of(*v.topo, task->affinity) : node_id::invalid();
}

// Steps of one kind of action, matched by type: count_actions<set_task_affinity>(p).
template <class Action>
std::size_t count_actions(const plan& p) {
  std::size_t n = 0;
  for (const auto& s : p.steps()) n += std::holds_alternative<Action>(s.what) ? 1U : 0U;
  return n;
}

// A KVM host's pVM on the mock: vCPU v is host CPU v, online = reserved for pVM work.
inline mock_host kvm_host(topology topo) { return mock_host{std::move(topo), {.host_cpus = true}}; }

// The host CPUs the pVM's online vCPUs may run on (on a KVM host: the CPUs reserved for it).
inline cpuset reserved_cpus(const host_view& v) {
  cpuset out;
  for (const auto& vc : v.pvm.vcpus)
    if (vc.online) out |= vc.hard_affinity;
  return out;
}

// Sizing then placement, each applied to the mock (which must accept every step).
template <class Sizing, class Placement>
void sizing_then_placement(mock_host& host, Sizing& sizing, Placement& placement) {
  apply_round(host, sizing);
  apply_round(host, placement);
}

// The plan `policy` decides on `v`, its decision records discarded.
template <class P>
plan decide_on(P& policy, const host_view& v) {
  decision_log log;
  return policy.decide(v, log);
}

// The memory target a plan sets, if it sets one.
inline std::optional<bytes> memory_action(const plan& p) {
  for (const auto& s : p.steps())
    if (const auto* m = std::get_if<set_memory_target>(&s.what)) return m->target;
  return std::nullopt;
}

}  // namespace pvmkit::test
