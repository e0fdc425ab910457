#include "hosts.hpp"

#include <pvmkit/placement/pinned_node0.hpp>

#include <doctest/doctest.h>

using namespace pvmkit;
using namespace pvmkit::literals;
using namespace pvmkit::test;

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
