// Memory-only NUMA nodes (KNL's MCDRAM, a CXL expander) through the policies: tasks and vCPUs never
// go there, the work of guests whose memory lives there is placed and sized on the nearest node with
// CPUs, and buffers may live there.
#include "hosts.hpp"

#include <pvmkit/backend/mock.hpp>
#include <pvmkit/flipping/numa_local.hpp>
#include <pvmkit/flipping/page_pool.hpp>
#include <pvmkit/placement/closer.hpp>
#include <pvmkit/model/locality.hpp>
#include <pvmkit/sizing/closer_dynamic.hpp>

#include <doctest/doctest.h>

#include <variant>
#include <vector>

using namespace pvmkit;
using namespace pvmkit::literals;
using namespace pvmkit::test;

namespace {

// KNL in SNC-2 hybrid mode: DDR nodes 0 and 2 with four CPUs each, MCDRAM nodes 1 and 3 beside
// them with memory only.
topology knl() {
  return topology{{numa_node{node_id{0}, cpuset::range(0, 4), 8_GiB, 8_GiB}, numa_node{node_id{1}, {}, 2_GiB, 2_GiB},
                   numa_node{node_id{2}, cpuset::range(4, 8), 8_GiB, 8_GiB}, numa_node{node_id{3}, {}, 2_GiB, 2_GiB}},
                  {10, 21, 31, 41,  //
                   21, 10, 41, 31,  //
                   31, 41, 10, 21,  //
                   41, 31, 21, 10}};
}

std::size_t online_on(const host_view& v, node_id n) {
  pvm_vcpu_layout l;
  l.build(*v.topo, v.pvm);
  return l.online[n.index()];
}

// Nothing in the plan asks for a CPU-less node's CPUs or pins anything to nothing.
void check_plan(const topology& t, const plan& p) {
  for (const auto& s : p.steps()) {
    const cpuset* cpus = nullptr;
    if (const auto* a = std::get_if<set_vcpu_affinity>(&s.what)) cpus = &a->cpus;
    if (const auto* a = std::get_if<set_task_affinity>(&s.what)) cpus = &a->cpus;
    if (cpus == nullptr) continue;
    const node_id n = node_of(t, *cpus);
    REQUIRE_MESSAGE(n.valid(), "pinned to no single node: '" << cpus->to_string() << "'");
    CHECK(t.node(n).has_cpus());
  }
}

// Every placed task runs on a node with CPUs.
void check_tasks(const host_view& v) {
  for (const auto& task : v.tasks) {
    const node_id n = node_of(*v.topo, task.affinity);
    if (n.valid()) CHECK(v.topo->node(n).has_cpus());
  }
}

}  // namespace

TEST_CASE("closer: floating pVM vCPUs are pinned to nodes with CPUs, tasks of MCDRAM guests run beside it") {
  // The pVM boots with four vCPUs floating over all CPUs; most demand comes from a guest whose
  // memory is on MCDRAM node 1.
  mock_host host{knl(), mock_pvm_spec{4, 1_GiB}};
  const task_id on_mcdram = guest_with_task(host, "mcdram", node_id{1}, 1.5);
  const task_id on_ddr = guest_with_task(host, "ddr", node_id{2}, 0.3);
  const task_id far_mcdram = guest_with_task(host, "mcdram3", node_id{3}, 0.4);
  placement::closer policy;
  for (int round = 0; round < 3; ++round) {
    decision_log log{true};
    const plan p = apply_round(host, policy, log);
    check_plan(*host.state().topo, p);
    check_tasks(host.state());
  }
  const host_view v = host.state();
  CHECK(online_on(v, node_id{1}) == 0);
  CHECK(online_on(v, node_id{3}) == 0);
  CHECK(online_on(v, node_id{0}) + online_on(v, node_id{2}) == 4);
  CHECK(task_node(v, on_mcdram) == node_id{0});  // node 1's nearest node with CPUs
  CHECK(task_node(v, far_mcdram) == node_id{2});
  CHECK(task_node(v, on_ddr) == node_id{2});
  // Buffers come from where the task runs.
  CHECK(v.find_task(on_mcdram)->memory_node == node_id{0});
}

TEST_CASE("closer + closer_dynamic: demand homed on a memory-only node is sized on its nearest node with CPUs") {
  // One vCPU online and seven offline pinned to each DDR node; none can be on an MCDRAM node.
  mock_host host = host_with_pvm(knl(), {1, 0, 1, 0}, {7, 0, 7, 0});
  const task_id busy = guest_with_task(host, "mcdram", node_id{1}, 2.5);
  guest_with_task(host, "ddr", node_id{2}, 0.2);
  sizing::closer_dynamic sizer;
  placement::closer placer;
  for (int round = 0; round < 3; ++round) {
    decision_log log{true};
    check_plan(*host.state().topo, apply_round(host, sizer, log));
    check_plan(*host.state().topo, apply_round(host, placer, log));
    check_tasks(host.state());
  }
  const host_view v = host.state();
  CHECK(online_on(v, node_id{0}) == 4);  // ceil(2.5 / 0.8): the MCDRAM guest's demand, next door
  CHECK(online_on(v, node_id{2}) == 1);
  CHECK(online_on(v, node_id{1}) == 0);
  CHECK(online_on(v, node_id{3}) == 0);
  CHECK(task_node(v, busy) == node_id{0});
  // The pVM's memory follows its vCPUs: node affinity only where they are.
  CHECK(v.pvm.node_affinity == nodeset{node_id{0}, node_id{2}});
}

TEST_CASE("flip pools: a memory-only node has a pool, refilled and flipped from like any other") {
  mock_host host{knl(), mock_pvm_spec{2, 1_GiB}};
  flipping::page_pools pools(host.state().topo->node_count(),
                             flipping::pool_config{.low_watermark = 0, .high_watermark = 64, .refill_batch = 16, .max_batch = 8});
  const auto added = pools.refill(host, node_id{1}, 32);
  REQUIRE(added.has_value());
  CHECK(*added == 32);
  CHECK(pools.size(node_id{1}) == 32);
  // A guest whose receive buffers are on MCDRAM gets MCDRAM pages back.
  std::vector<page_frame> replaced(8, page_frame{0, node_id{1}});
  std::vector<flipping::flip_choice> out(8);
  const auto flips = flipping::numa_local{}.select(flipping::flip_request{domain_id{1}, false}, replaced, pools, out);
  REQUIRE(flips.has_value());
  CHECK(*flips == 8);
  for (const auto& c : out) CHECK(c.page.node == node_id{1});
}
