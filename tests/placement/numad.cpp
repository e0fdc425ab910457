// numad-style whole-guest placement on a KVM host's pVM (the mock with host_cpus), after the sizing
// it runs with.
#include "hosts.hpp"

#include <pvmkit/placement/numad.hpp>
#include <pvmkit/sizing/numad.hpp>

#include <doctest/doctest.h>

using namespace pvmkit;
using namespace pvmkit::literals;
using namespace pvmkit::test;

TEST_CASE("numad on 2- and 4-node hosts: a guest's work on all its node's CPUs, its buffers there, nothing reserved") {
  for (const topology& topo : {make_uniform_topology(2, 4, 4_GiB), ring4()}) {
    mock_host host = kvm_host(topo);
    const node_id last{static_cast<node_id::rep>(topo.node_count() - 1)};
    const task_id a = guest_with_task(host, "a", node_id{0}, 0.5);
    const task_id b = guest_with_task(host, "b", last, 0.5);
    REQUIRE(host.set_vcpu_online(pvm_domain, vcpu_id{5}, true));  // a reservation numad does not keep
    sizing::numad size;
    placement::numad place;
    sizing_then_placement(host, size, place);
    const host_view v = host.state();
    CHECK(reserved_cpus(v) == cpuset{cpu_id{0}});  // the host's first CPU only
    CHECK(v.find_task(a)->affinity == topo.node(node_id{0}).cpus);
    CHECK(v.find_task(b)->affinity == topo.node(last).cpus);  // no CPU of it reserved: shared with the guests
    CHECK(v.find_task(b)->memory_node == last);
    decision_log log;
    CHECK(place.decide(v, log).empty());
  }
}
