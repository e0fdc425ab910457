// Nova's share emulator-thread policy on a KVM host's pVM (the mock with host_cpus), after the
// sizing it runs with.
#include "hosts.hpp"

#include <pvmkit/placement/nova_share.hpp>
#include <pvmkit/sizing/nova_share.hpp>

#include <doctest/doctest.h>

using namespace pvmkit;
using namespace pvmkit::literals;
using namespace pvmkit::test;

TEST_CASE("nova_share on 2- and 4-node hosts: every guest's work on the first CPUs of the host") {
  SUBCASE("2 nodes, the default two CPUs") {
    mock_host host = kvm_host(make_uniform_topology(2, 4, 4_GiB));
    const task_id a = guest_with_task(host, "a", node_id{0}, 0.5);
    const task_id b = guest_with_task(host, "b", node_id{1}, 0.5);
    sizing::nova_share size;
    placement::nova_share place;
    sizing_then_placement(host, size, place);
    const host_view v = host.state();
    CHECK(reserved_cpus(v) == cpuset::range(0, 2));
    CHECK(v.find_task(a)->affinity == cpuset::range(0, 2));
    CHECK(v.find_task(b)->affinity == cpuset::range(0, 2));  // wherever the guest lives
    CHECK_FALSE(v.find_task(b)->memory_node.valid());
  }
  SUBCASE("4 nodes, six CPUs: the set runs over into node 1") {
    mock_host host = kvm_host(ring4());
    const task_id a = guest_with_task(host, "a", node_id{3}, 0.5);
    sizing::nova_share size{{.cpus = 6}};
    placement::nova_share place;
    sizing_then_placement(host, size, place);
    const host_view v = host.state();
    CHECK(reserved_cpus(v) == cpuset::range(0, 6));
    CHECK(v.find_task(a)->affinity == cpuset::range(0, 6));
  }
}
