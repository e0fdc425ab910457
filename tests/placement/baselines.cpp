#include "hosts.hpp"

#include <pvmkit/placement/pinned_node0.hpp>
#include <pvmkit/placement/xen_default.hpp>

#include <doctest/doctest.h>

using namespace pvmkit;
using namespace pvmkit::literals;
using namespace pvmkit::test;

TEST_CASE("xen_default: pVM vCPUs and tasks float over every pCPU, buffers from any node") {
  mock_host host = host_with_pvm(make_uniform_topology(2, 4, 4_GiB), {2, 2});
  const task_id t = guest_with_task(host, "g", node_id{1}, 0.5);
  REQUIRE(host.set_task_affinity(t, cpuset::range(4, 8)));
  REQUIRE(host.set_task_memory_node(t, node_id{1}));
  placement::xen_default policy;
  decision_log log{true};
  const host_view before = host.state();
  const plan p = policy.decide(before, log);
  CHECK(count_actions<set_vcpu_affinity>(p) == 4);  // every online pVM vCPU unpinned
  REQUIRE(apply_plan(host, before, p).ok());
  const host_view v = host.state();
  for (const auto& vc : v.pvm.vcpus) CHECK(vc.hard_affinity == v.topo->cpus());
  CHECK(v.find_task(t)->affinity == v.topo->cpus());
  CHECK_FALSE(v.find_task(t)->memory_node.valid());
  CHECK(log.records().size() == 1);
  CHECK(policy.decide(v, log).empty());  // only differences are emitted
}

TEST_CASE("pinned_node0: the whole pVM on node 0") {
  mock_host host = host_with_pvm(make_uniform_topology(4, 4, 4_GiB), {1, 1, 1, 1}, {0, 0, 0, 1});
  const task_id t1 = guest_with_task(host, "far", node_id{3}, 0.5);
  const task_id t2 = guest_with_task(host, "near", node_id{0}, 0.5);
  placement::pinned_node0 policy;
  decision_log log;
  const host_view before = host.state();
  const plan p = policy.decide(before, log);
  REQUIRE(apply_plan(host, before, p).ok());
  const host_view v = host.state();
  for (const auto& vc : v.pvm.vcpus) {
    if (vc.online) CHECK(vc.hard_affinity == v.topo->node(node_id{0}).cpus);
    else CHECK(vc.hard_affinity == v.topo->node(node_id{3}).cpus);  // offline vCPUs are left alone
  }
  for (task_id t : {t1, t2}) {
    CHECK(task_node(v, t) == node_id{0});
    CHECK(v.find_task(t)->memory_node == node_id{0});
  }
  CHECK(policy.decide(v, log).empty());
}
