#include "hosts.hpp"

#include <pvmkit/placement/libxl_like.hpp>

#include <doctest/doctest.h>

#include <memory>

using namespace pvmkit;
using namespace pvmkit::literals;
using namespace pvmkit::test;
using placement::guest_request;
using placement::libxl_like;

namespace {

// 4 nodes x 4 CPUs with the given free memory, and guests with the given vCPUs per node.
host_view host(std::vector<bytes> free, std::vector<std::size_t> vcpus_on_node) {
  std::vector<numa_node> nodes;
  for (std::size_t i = 0; i < free.size(); ++i)
    nodes.push_back({node_id{static_cast<node_id::rep>(i)}, cpuset::range(i * 4, i * 4 + 4), 16_GiB, free[i]});
  std::vector<std::uint32_t> d(free.size() * free.size(), 21);
  for (std::size_t i = 0; i < free.size(); ++i) d[i * free.size() + i] = 10;
  host_view v;
  v.topo = std::make_shared<const topology>(std::move(nodes), std::move(d));
  for (std::size_t n = 0; n < vcpus_on_node.size(); ++n) {
    domain_state g;
    g.id = domain_id{static_cast<domain_id::rep>(n + 1)};
    const cpuset cpus = v.topo->nodes()[n].cpus;
    for (std::size_t k = 0; k < vcpus_on_node[n]; ++k) g.vcpus.push_back({vcpu_id{static_cast<vcpu_id::rep>(k)}, true, cpus, cpus});
    v.guests.push_back(std::move(g));
  }
  return v;
}

}  // namespace

TEST_CASE("libxl_like: one node that fits, the fewest vCPUs per CPU") {
  const host_view v = host({8_GiB, 8_GiB, 8_GiB, 8_GiB}, {6, 2, 4, 2});
  CHECK(placement::choose_nodes(v, {2, 4_GiB}) == nodeset{node_id{1}});  // nodes 1 and 3 tie on vCPUs: lower id
}

TEST_CASE("libxl_like: ties on vCPUs per CPU go to the most free memory") {
  const host_view v = host({8_GiB, 6_GiB, 8_GiB, 7_GiB}, {4, 2, 4, 2});
  CHECK(placement::choose_nodes(v, {2, 4_GiB}) == nodeset{node_id{3}});
}

TEST_CASE("libxl_like: fewest nodes first, even when a larger set is emptier") {
  const host_view v = host({5_GiB, 3_GiB, 3_GiB, 1_GiB}, {8, 0, 0, 0});
  // Only node 0 alone has 5 GiB; it is busy, but one node beats two.
  CHECK(placement::choose_nodes(v, {2, 5_GiB}) == nodeset{node_id{0}});
  // 6 GiB needs two nodes: {0,1} and {0,2} fit (8 GiB); both carry 8 + 2 vCPUs on 8 CPUs; {1,2}
  // has only 6 GiB and fits with 2 vCPUs on 8 CPUs: the best.
  CHECK(placement::choose_nodes(v, {2, 6_GiB}) == nodeset{node_id{1}, node_id{2}});
}

TEST_CASE("libxl_like: a guest with more vCPUs than a node has CPUs needs two nodes") {
  const host_view v = host({8_GiB, 8_GiB, 8_GiB, 8_GiB}, {0, 0, 0, 0});
  CHECK(placement::choose_nodes(v, {6, 1_GiB}).size() == 2);
}

TEST_CASE("libxl_like: nothing fits, and the record lists every candidate") {
  const host_view v = host({1_GiB, 1_GiB, 1_GiB, 1_GiB}, {0, 0, 0, 0});
  decision_log log{true};
  CHECK(libxl_like{}.choose_nodes(v, {1, 5_GiB}, log).empty());
  REQUIRE(log.records().size() == 1);
  CHECK(log.records()[0].choice == "none");
  CHECK(log.records()[0].candidates.size() == 15);  // every non-empty subset of 4 nodes was tried

  decision_log log2{true};
  CHECK(libxl_like{}.choose_nodes(v, {1, 1_GiB}, log2) == nodeset{node_id{0}});
  CHECK(log2.records()[0].candidates.size() == 4);  // single nodes fit: larger sets never scored
  CHECK(log2.records()[0].choice == "nodes 0");
}
