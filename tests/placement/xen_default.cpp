#include "hosts.hpp"

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
