// Closer on real machines' topologies (hwloc XML exports in ../shared/topologies/, see its
// README): their quirks — CPUs interleaved between nodes, every NIC behind one node, equal remote
// distances where only the device can break the tie — with answers known from the exports.
#include "hosts.hpp"
#include "pvmkit_test_paths.hpp"

#include <pvmkit/placement/closer.hpp>
#include <pvmkit/topology/hwloc.hpp>

#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

using namespace pvmkit;
using namespace pvmkit::literals;
using pvmkit::placement::closer;
using namespace pvmkit::test;

namespace {

topology load(const char* file) { return hwloc::load_xml_file(std::filesystem::path{PVMKIT_TOPOLOGIES_DIR} / file); }

node_id memory_node(const host_view& v, task_id t) { return v.find_task(t)->memory_node; }

}  // namespace

TEST_CASE("closer on a 2-socket Intel host (CPUs interleaved between nodes, every NIC on node 0)") {
  const topology topo = load("24em64t-2n6c2t-pci.xml");
  REQUIRE(topo.node_count() == 2);
  REQUIRE(topo.find_device("eth0"));
  REQUIRE(topo.find_device("eth0")->node == node_id{0});
  // Node 1's CPUs are the odd ones: a task placed there must get exactly that set.
  REQUIRE(topo.node(node_id{1}).cpus.first() == cpu_id{1});
  // Two pVM vCPUs per node: 1.6 cores of room each at target_utilisation 0.8.
  mock_host host = host_with_pvm(topo, {2, 2});
  const task_id near = guest_with_task(host, "web-on-0", node_id{0}, 0.5, "eth0");
  const task_id far = guest_with_task(host, "web-on-1", node_id{1}, 1.0, "eth1");
  const task_id disk = guest_with_task(host, "db-on-1", node_id{1}, 0.4, "sda", task_kind::block_backend);

  closer policy;
  apply_round(host, policy);
  const host_view v = host.state();
  // The NIC is on node 0, but node 1 has room: a guest's backend runs, and takes its buffers, on
  // the guest's node.
  CHECK(task_node(v, near) == node_id{0});
  CHECK(task_node(v, far) == node_id{1});
  CHECK(task_node(v, disk) == node_id{1});
  CHECK(v.find_task(far)->affinity == topo.node(node_id{1}).cpus);
  CHECK(memory_node(v, far) == node_id{1});
  CHECK(memory_node(v, disk) == node_id{1});

  SUBCASE("node 1 full: the next backend of a node-1 guest runs on node 0, next to its NIC") {
    const task_id extra = guest_with_task(host, "cache-on-1", node_id{1}, 0.5, "eth2");  // 1.4 + 0.5 > 1.6
    apply_round(host, policy);
    const host_view w = host.state();
    CHECK(task_node(w, extra) == node_id{0});
    CHECK(memory_node(w, extra) == node_id{0});
    CHECK(task_node(w, far) == node_id{1});  // the tasks already there stay
    CHECK(task_node(w, disk) == node_id{1});
    CHECK(policy.node_load(node_id{1}) <= policy.node_capacity(node_id{1}) + 1e-9);
  }
}

TEST_CASE("closer on a 4-node Intel host (distances 10/26): the device's node breaks the tie") {
  const topology topo = load("96em64t-4n4d3ca2co-pci.xml");
  REQUIRE(topo.node_count() == 4);
  REQUIRE(topo.distance(node_id{2}, node_id{0}) == topo.distance(node_id{2}, node_id{3}));
  const device* eth6 = topo.find_device("eth6");
  REQUIRE(eth6);
  REQUIRE(eth6->node == node_id{3});
  // One pVM vCPU per node: 0.8 cores of room each.
  mock_host host = host_with_pvm(topo, {1, 1, 1, 1});
  const task_id resident = guest_with_task(host, "db-on-2", node_id{2}, 0.6, "sdb", task_kind::block_backend);
  const task_id spill = guest_with_task(host, "web-on-2", node_id{2}, 0.5, "eth6");
  const task_id plain = guest_with_task(host, "batch-on-2", node_id{2}, 0.1);  // fits beside resident
  decision_log log{true};
  closer policy;
  apply_round(host, policy, log);
  const host_view v = host.state();
  CHECK(task_node(v, resident) == node_id{2});
  CHECK(task_node(v, plain) == node_id{2});
  // Nodes 0, 1 and 3 are all at 26 from the guest; the NIC it drives is on node 3.
  CHECK(task_node(v, spill) == node_id{3});
  CHECK(memory_node(v, spill) == node_id{3});
  bool explained = false;
  for (const auto& r : log.records())
    if (r.subject.find("web-on-2") != std::string::npos) {
      explained = true;
      CHECK(r.choice == "node 3");
      CHECK(r.reason == "home node lacks spare pVM capacity: nearest node with room");
    }
  CHECK(explained);
}

TEST_CASE("closer on an 8-socket AMD host (2 CPUs per node, no devices): home nodes, then stable") {
  const topology topo = load("16amd64-4distances.xml");
  REQUIRE(topo.node_count() == 8);
  // Two pVM vCPUs per node (one per CPU): 1.6 cores of room each.
  mock_host host = host_with_pvm(topo, std::vector<std::size_t>(8, 2));
  std::vector<task_id> tasks;
  for (std::size_t n = 0; n < 8; ++n)
    tasks.push_back(guest_with_task(host, "g" + std::to_string(n), node_id{static_cast<node_id::rep>(7 - n)}, 0.5));
  closer policy;
  apply_round(host, policy);
  for (std::size_t n = 0; n < 8; ++n) {
    CAPTURE(n);
    CHECK(task_node(host.state(), tasks[n]) == node_id{static_cast<node_id::rep>(7 - n)});
  }
  // Load wobbling by ±10 % around 0.5 moves nothing.
  for (int r = 0; r < 10; ++r) {
    for (std::size_t n = 0; n < 8; ++n) host.set_task_load(tasks[n], (r + static_cast<int>(n)) % 2 ? 0.55 : 0.45);
    CHECK(apply_round(host, policy).empty());
  }
  // Node 5 fills up (guest g2 lives there): a new guest's backend there runs on another node, at
  // distance 20, that has room; the resident stays. The node cannot grow (2 vCPUs on 2 CPUs), so its
  // own guests may fill 95 % of it: 1.0 + 1.0 > 1.9.
  host.set_task_load(tasks[2], 1.0);
  CHECK(apply_round(host, policy).empty());
  const task_id extra = guest_with_task(host, "g5-new", node_id{5}, 1.0);
  apply_round(host, policy);
  const node_id spilled = task_node(host.state(), extra);
  REQUIRE(spilled.valid());
  CHECK(spilled != node_id{5});
  CHECK(topo.distance(node_id{5}, spilled) == 20);
  CHECK(task_node(host.state(), tasks[2]) == node_id{5});
  CHECK(policy.node_load(spilled) <= policy.node_capacity(spilled) + 1e-9);
}
