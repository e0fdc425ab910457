// Nova's isolate emulator-thread sizing on the mock's KVM pVM (vCPU v is CPU v, online = reserved).
#include "../placement/hosts.hpp"

#include <pvmkit/sizing/nova_isolate.hpp>

#include <doctest/doctest.h>

#include <vector>

using namespace pvmkit;
using namespace pvmkit::literals;
using namespace pvmkit::test;

TEST_CASE("nova_isolate sizing: one CPU per guest on its node, at most the CPUs its guests leave, at least one") {
  SUBCASE("2 nodes") {
    mock_host host{make_uniform_topology(2, 4, 4_GiB), {.host_cpus = true}};
    for (const char* n : {"a", "b", "c"}) guest_with_task(host, n, node_id{0}, 0.1);
    guest_with_task(host, "d", node_id{1}, 0.1);
    CHECK(sizing::nova_isolate::per_node(host.state()) == std::vector<std::size_t>{3, 1});
    host.set_cpu_load(domain_id{4}, 3.5);  // d's vCPUs keep 3.5 of node 1's CPUs busy
    host.set_cpu_load(domain_id{1}, 2.0);  // a's: 2 of node 0's
    CHECK(sizing::nova_isolate::per_node(host.state()) == std::vector<std::size_t>{2, 1});
    sizing::nova_isolate size;
    apply_round(host, size);
    CHECK(reserved_cpus(host.state()) == cpuset{cpu_id{0}, cpu_id{1}, cpu_id{4}});
  }
  SUBCASE("4 nodes, no guest on two of them; no guest at all keeps the first CPU") {
    mock_host host{ring4(), {.host_cpus = true}};
    guest_with_task(host, "a", node_id{1}, 0.1);
    guest_with_task(host, "b", node_id{3}, 0.1);
    sizing::nova_isolate size;
    apply_round(host, size);
    CHECK(reserved_cpus(host.state()) == cpuset{cpu_id{4}, cpu_id{12}});
    mock_host empty{ring4(), {.host_cpus = true}};
    CHECK(apply_round(empty, size).empty());
    CHECK(reserved_cpus(empty.state()) == cpuset{cpu_id{0}});
  }
}
