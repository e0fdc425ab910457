#include <pvmkit/model/locality.hpp>
#include <pvmkit/topology/topology.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <utility>
#include <vector>

using namespace pvmkit;
using namespace pvmkit::literals;

namespace {

// 3 nodes x 4 CPUs: node n has CPUs 4n..4n+3.
const topology three = make_uniform_topology(3, 4, 4_GiB);

vcpu_state pinned(std::uint32_t id, cpuset hard, cpuset soft = {}, bool online = true) {
  return {vcpu_id{id}, online, std::move(hard), std::move(soft)};
}

}  // namespace

TEST_CASE("node_of: the one node a CPU set lies in, else invalid") {
  CHECK(node_of(three, cpuset::range(4, 8)) == node_id{1});  // the whole node
  CHECK(node_of(three, cpuset{cpu_id{9}}) == node_id{2});    // one CPU
  CHECK(node_of(three, cpuset{cpu_id{8}, cpu_id{11}}) == node_id{2});
  CHECK_FALSE(node_of(three, cpuset{}).valid());
  CHECK_FALSE(node_of(three, cpuset::range(3, 5)).valid());                // spans nodes 0 and 1
  CHECK_FALSE(node_of(three, cpuset{cpu_id{0}, cpu_id{5}, cpu_id{3}}).valid());  // first and last on node 0, middle not
  CHECK_FALSE(node_of(three, cpuset{cpu_id{40}}).valid());                 // no such CPU
  CHECK_FALSE(node_of(three, cpuset{cpu_id{1}, cpu_id{40}}).valid());
}

TEST_CASE("majority_node: most memory wins, ties go to the lower node") {
  CHECK(majority_node({1_GiB, 3_GiB, 2_GiB}) == node_id{1});
  CHECK(majority_node({2_GiB, 1_GiB, 2_GiB}) == node_id{0});
  CHECK(majority_node({0_GiB, 0_GiB}) == node_id{0});
  CHECK_FALSE(majority_node({}).valid());
}

TEST_CASE("declared_home: node affinity, then hard pinning, then soft pinning") {
  domain_state d;
  d.vcpus = {pinned(0, cpuset::range(4, 8), cpuset::range(8, 12)), pinned(1, cpuset{cpu_id{5}}, cpuset{cpu_id{9}})};
  CHECK(declared_home(three, d) == node_id{1});  // both vCPUs hard-pinned inside node 1
  d.node_affinity = nodeset{node_id{2}};
  CHECK(declared_home(three, d) == node_id{2});  // one-node affinity says where memory goes
  d.node_affinity = nodeset{node_id{0}, node_id{2}};
  CHECK(declared_home(three, d) == node_id{1});  // a wider affinity says nothing
  d.vcpus[1].hard_affinity = cpuset{cpu_id{0}};
  CHECK(declared_home(three, d) == node_id{2});  // hard pinning spans nodes: the soft one decides
  d.vcpus[1].soft_affinity = cpuset{cpu_id{1}};
  CHECK_FALSE(declared_home(three, d).valid());  // neither says one node
}

TEST_CASE("guest_home: the backend's word, then memory, then pinning, then node 0") {
  domain_state g;
  g.vcpus = {pinned(0, cpuset::range(8, 12))};
  CHECK(guest_home(three, g) == node_id{2});
  g.memory_per_node = {0_GiB, 2_GiB, 1_GiB};
  CHECK(guest_home(three, g) == node_id{1});
  g.home_node = node_id{0};
  CHECK(guest_home(three, g) == node_id{0});
  g.home_node = node_id{7};  // not a node of this host: ignored
  CHECK(guest_home(three, g) == node_id{1});
  g.memory_per_node.clear();
  g.vcpus = {pinned(0, cpuset::range(0, 12))};
  CHECK(guest_home(three, g) == node_id{0});  // nothing says: node 0
}

TEST_CASE("pvm_vcpu_layout: online vCPUs per node, their CPUs, the floating ones") {
  domain_state pvm;
  pvm.vcpus = {pinned(0, cpuset::range(0, 4)), pinned(1, cpuset::range(0, 4)), pinned(2, cpuset{cpu_id{6}}),
               pinned(3, cpuset::range(0, 12)), pinned(4, cpuset::range(8, 12), {}, false)};
  pvm_vcpu_layout l;
  l.build(three, pvm);
  CHECK(l.online == std::vector<std::size_t>{2, 1, 0});  // vCPU 4 is offline
  CHECK(l.cpus[0] == cpuset::range(0, 4));
  CHECK(l.cpus[1] == cpuset{cpu_id{6}});
  CHECK(l.cpus[2].empty());
  CHECK(l.floating == std::vector<vcpu_id>{vcpu_id{3}});
  l.build(three, domain_state{});  // rebuilt from scratch
  CHECK(l.online == std::vector<std::size_t>{0, 0, 0});
  CHECK(l.floating.empty());
}

TEST_CASE("free_cpus_by_node: CPUs less the guests' own compute on their home, never below 0") {
  std::vector<domain_state> guests(3);
  guests[0].home_node = node_id{0};
  guests[0].cpu_load = 1.5;
  guests[1].home_node = node_id{2};
  guests[1].cpu_load = 9;  // more than the node has
  guests[2].home_node = node_id{0};
  guests[2].cpu_load = 0.5;
  std::vector<double> free{42};
  free_cpus_by_node(three, guests, free);
  CHECK(free == std::vector<double>{2.0, 4.0, 0.0});
}

TEST_CASE("node_label") {
  CHECK(node_label(node_id{3}) == "node 3");
  CHECK(node_label(node_id::invalid()) == "none");
}
