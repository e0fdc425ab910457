// The pure model: every rule the constructor enforces, and the queries policies rely on.
#include "error_text.hpp"

#include <pvmkit/topology/topology.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

using namespace pvmkit;
using namespace pvmkit::literals;
using pvmkit::test::contains;
using pvmkit::test::topology_error_text;

namespace {

numa_node make_node(unsigned id, std::size_t first_cpu, std::size_t last_cpu, bytes mem = 4_GiB) {
  return numa_node{node_id{id}, cpuset::range(first_cpu, last_cpu), mem, mem};
}

std::vector<numa_node> two_nodes() { return {make_node(0, 0, 4), make_node(1, 4, 8)}; }

}  // namespace

TEST_CASE("a consistent two-node host is accepted and answers queries") {
  const topology t{two_nodes(), {10, 21, 21, 10}, {device{"eth0", device_kind::network, node_id{1}}}};
  CHECK(t.node_count() == 2);
  CHECK(t.cpu_count() == 8);
  CHECK(t.cpus() == cpuset::range(0, 8));
  CHECK(t.distance(node_id{0}, node_id{1}) == 21);
  CHECK(t.distance(node_id{1}, node_id{1}) == 10);
  CHECK(t.total_memory() == 8_GiB);
  CHECK(t.node_of(cpu_id{3}) == node_id{0});
  CHECK(t.node_of(cpu_id{4}) == node_id{1});
  CHECK_FALSE(t.node_of(cpu_id{8}).valid());
  CHECK(t.has_cpu(cpu_id{7}));
  CHECK_FALSE(t.has_cpu(cpu_id{8}));
  CHECK(t.has_node(node_id{1}));
  CHECK_FALSE(t.has_node(node_id{2}));
  REQUIRE(t.find_device("eth0") != nullptr);
  CHECK(t.find_device("eth0")->node == node_id{1});
  CHECK(t.find_device("eth9") == nullptr);
}

TEST_CASE("CPU numbering with holes: node_of and cpu_count skip the missing CPUs") {
  // CPUs 0-1 on node 0 and 8-9 on node 1, as on a host with CPUs offlined in between.
  const topology t{{numa_node{node_id{0}, cpuset{cpu_id{0}, cpu_id{1}}, 1_GiB, 1_GiB},
                    numa_node{node_id{1}, cpuset{cpu_id{8}, cpu_id{9}}, 1_GiB, 1_GiB}},
                   {10, 20, 20, 10}};
  CHECK(t.cpu_count() == 4);
  CHECK(t.node_of(cpu_id{9}) == node_id{1});
  CHECK_FALSE(t.node_of(cpu_id{5}).valid());
}

TEST_CASE("nearest_nodes orders by distance, itself first, ties by node id") {
  // A ring of four nodes: 0-1-2-3-0 adjacent at 20, opposite corners at 30.
  std::vector<numa_node> ns;
  for (unsigned i = 0; i < 4; ++i) ns.push_back(make_node(i, i * 2, i * 2 + 2));
  const std::vector<std::uint32_t> d{10, 20, 30, 20,  //
                                     20, 10, 20, 30,  //
                                     30, 20, 10, 20,  //
                                     20, 30, 20, 10};
  const topology t{ns, d};
  CHECK(t.nearest_nodes(node_id{0}) == std::vector<node_id>{node_id{0}, node_id{1}, node_id{3}, node_id{2}});
  CHECK(t.nearest_nodes(node_id{2}) == std::vector<node_id>{node_id{2}, node_id{1}, node_id{3}, node_id{0}});
  CHECK(t.nearest_nodes(node_id{3}) == std::vector<node_id>{node_id{3}, node_id{0}, node_id{2}, node_id{1}});
}

TEST_CASE("make_uniform_topology numbers CPUs node by node with one remote distance") {
  const auto t = make_uniform_topology(4, 6, 16_GiB, 26, {device{"sda", device_kind::block, node_id{3}}});
  CHECK(t.node_count() == 4);
  CHECK(t.cpu_count() == 24);
  CHECK(t.node(node_id{2}).cpus == cpuset::range(12, 18));
  CHECK(t.node(node_id{2}).free_memory == 16_GiB);
  CHECK(t.node_of(cpu_id{23}) == node_id{3});
  for (unsigned i = 0; i < 4; ++i)
    for (unsigned j = 0; j < 4; ++j) CHECK(t.distance(node_id{i}, node_id{j}) == (i == j ? 10U : 26U));
  CHECK(t.find_device("sda")->node == node_id{3});
  CHECK(make_uniform_topology(2, 1, 1_GiB).distance(node_id{0}, node_id{1}) == 21);  // default remote distance
}

TEST_CASE("the constructor rejects every inconsistency with a message naming it") {
  SUBCASE("no nodes") {
    CHECK(contains(topology_error_text([] { return topology{{}, {}}; }), "no NUMA nodes"));
  }
  SUBCASE("distance matrix of the wrong size") {
    const auto msg = topology_error_text([] { return topology{two_nodes(), {10, 21, 10}}; });
    CHECK(contains(msg, "3 entries, expected 2x2 = 4"));
  }
  SUBCASE("ids not dense and in order") {
    const auto msg = topology_error_text([] { return topology{{make_node(0, 0, 2), make_node(2, 2, 4)}, {10, 20, 20, 10}}; });
    CHECK(contains(msg, "node at position 1 has id 2"));
  }
  SUBCASE("no node with CPUs") {
    const auto msg = topology_error_text([] {
      return topology{{numa_node{node_id{0}, {}, 1_GiB, 1_GiB}, numa_node{node_id{1}, {}, 1_GiB, 1_GiB}}, {10, 20, 20, 10}};
    });
    CHECK(contains(msg, "no node has CPUs"));
  }
  SUBCASE("a CPU number beyond what an id set takes") {
    const auto msg = topology_error_text([] {
      return topology{{numa_node{node_id{0}, cpuset{cpu_id{0}, cpu_id{max_cpu_index + 1}}, 1_GiB, 1_GiB}}, {10}};
    });
    CHECK(contains(msg, "node 0 has CPU 1048577: CPU numbers above 1048576 are not supported"));
  }
  SUBCASE("more nodes than any host has") {
    const auto msg = topology_error_text([] {
      std::vector<numa_node> ns;
      for (unsigned i = 0; i <= max_nodes; ++i) ns.push_back(make_node(i, i, i + 1));
      return topology{ns, std::vector<std::uint32_t>(ns.size() * ns.size(), 20)};
    });
    CHECK(contains(msg, "1025 NUMA nodes: pvmkit supports at most 1024"));
  }
  SUBCASE("two nodes sharing CPUs") {
    const auto msg = topology_error_text([] { return topology{{make_node(0, 0, 4), make_node(1, 3, 6)}, {10, 20, 20, 10}}; });
    CHECK(contains(msg, "node 1 shares CPUs 3 with another node"));
  }
  SUBCASE("more free memory than memory") {
    const auto msg = topology_error_text(
        [] { return topology{{numa_node{node_id{0}, cpuset::range(0, 2), 1_GiB, 2_GiB}}, {10}}; });
    CHECK(contains(msg, "node 0 has more free memory than memory"));
  }
  SUBCASE("zero distance") {
    const auto msg = topology_error_text([] { return topology{two_nodes(), {10, 0, 0, 10}}; });
    CHECK(contains(msg, "distance[0][1] = 0: distances must be positive"));
  }
  SUBCASE("diagonal not 10") {
    const auto msg = topology_error_text([] { return topology{two_nodes(), {10, 21, 21, 11}}; });
    CHECK(contains(msg, "distance[1][1] = 11: a node's distance to itself must be 10"));
  }
  SUBCASE("remote not farther than local") {
    const auto msg = topology_error_text([] { return topology{two_nodes(), {10, 10, 10, 10}}; });
    CHECK(contains(msg, "distance[0][1] = 10: a remote node must be farther than 10"));
  }
  SUBCASE("a device on a node that does not exist") {
    const auto msg = topology_error_text(
        [] { return topology{two_nodes(), {10, 21, 21, 10}, {device{"eth0", device_kind::network, node_id{2}}}}; });
    CHECK(contains(msg, "device 'eth0' is on node 2, which does not exist"));
  }
}

TEST_CASE("a device with no known node is allowed") {
  const topology t{two_nodes(), {10, 21, 21, 10}, {device{"eth0", device_kind::network, node_id::invalid()}}};
  CHECK_FALSE(t.find_device("eth0")->node.valid());
}

TEST_CASE("a host of max_nodes nodes and CPU number max_cpu_index is accepted") {
  std::vector<numa_node> ns;
  for (unsigned i = 0; i < max_nodes; ++i) ns.push_back(make_node(i, i, i + 1));
  ns.back().cpus.insert(cpu_id{max_cpu_index});
  std::vector<std::uint32_t> d(max_nodes * max_nodes, 20);
  for (std::size_t i = 0; i < max_nodes; ++i) d[i * max_nodes + i] = 10;
  const topology t{std::move(ns), std::move(d)};
  CHECK(t.node_count() == max_nodes);
  CHECK(t.node_of(cpu_id{max_cpu_index}) == node_id{max_nodes - 1});
  CHECK(t.cpu_count() == max_nodes + 1);
}

TEST_CASE("memory-only nodes: no CPUs, memory counted, work goes to the nearest node with CPUs") {
  // KNL in SNC-2 hybrid mode: DDR nodes 0 and 2 with the cores, MCDRAM nodes 1 and 3 beside them.
  const std::vector<std::uint32_t> d{10, 21, 31, 41,  //
                                     21, 10, 41, 31,  //
                                     31, 41, 10, 21,  //
                                     41, 31, 21, 10};
  const topology t{{make_node(0, 0, 4, 8_GiB), numa_node{node_id{1}, {}, 2_GiB, 2_GiB}, make_node(2, 4, 8, 8_GiB),
                    numa_node{node_id{3}, {}, 2_GiB, 1_GiB}},
                   d};
  CHECK(t.node_count() == 4);
  CHECK(t.cpu_count() == 8);
  CHECK(t.total_memory() == 20_GiB);
  CHECK(t.node(node_id{0}).has_cpus());
  CHECK_FALSE(t.node(node_id{1}).has_cpus());
  CHECK(t.node(node_id{3}).free_memory == 1_GiB);
  CHECK(t.cpu_nodes() == std::vector<node_id>{node_id{0}, node_id{2}});
  CHECK(t.nearest_cpu_node(node_id{0}) == node_id{0});
  CHECK(t.nearest_cpu_node(node_id{1}) == node_id{0});
  CHECK(t.nearest_cpu_node(node_id{3}) == node_id{2});
  CHECK(t.nearest_nodes(node_id{1}) == std::vector<node_id>{node_id{1}, node_id{0}, node_id{3}, node_id{2}});
  for (cpu_id c : t.cpus()) CHECK(t.node(t.node_of(c)).has_cpus());
}

TEST_CASE("asymmetric distances are kept as given; orderings use the row of the node asked about") {
  // From node 0, node 2 is nearer than node 1; from node 1, node 0 is nearest; the reverse entries differ.
  const std::vector<std::uint32_t> d{10, 30, 20,  //
                                     15, 10, 40,  //
                                     25, 35, 10};
  const topology t{{make_node(0, 0, 1), make_node(1, 1, 2), numa_node{node_id{2}, {}, 1_GiB, 1_GiB}}, d};
  CHECK(t.distance(node_id{0}, node_id{1}) == 30);
  CHECK(t.distance(node_id{1}, node_id{0}) == 15);
  CHECK(t.distances() == d);
  CHECK(t.nearest_nodes(node_id{0}) == std::vector<node_id>{node_id{0}, node_id{2}, node_id{1}});
  CHECK(t.nearest_nodes(node_id{1}) == std::vector<node_id>{node_id{1}, node_id{0}, node_id{2}});
  CHECK(t.nearest_nodes(node_id{2}) == std::vector<node_id>{node_id{2}, node_id{0}, node_id{1}});
  CHECK(t.nearest_cpu_node(node_id{2}) == node_id{0});
}
