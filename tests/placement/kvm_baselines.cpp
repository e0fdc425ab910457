// The KVM operators' placement baselines on a KVM host's pVM (the mock with host_cpus: vCPU v is CPU
// v, online = reserved), paired with their sizing as they run: Nova's isolate and share
// emulator-thread policies and numad-style whole-guest placement, on 2- and 4-node hosts.
#include "hosts.hpp"

#include <pvmkit/placement/nova_isolate.hpp>
#include <pvmkit/placement/nova_share.hpp>
#include <pvmkit/placement/numad.hpp>
#include <pvmkit/sizing/nova_isolate.hpp>
#include <pvmkit/sizing/nova_share.hpp>
#include <pvmkit/sizing/numad.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace pvmkit;
using namespace pvmkit::literals;
using namespace pvmkit::test;

namespace {

mock_host kvm_host(topology topo) { return mock_host{std::move(topo), {.host_cpus = true}}; }

cpuset reserved(const host_view& v) {
  cpuset out;
  for (const auto& vc : v.pvm.vcpus)
    if (vc.online) out |= vc.hard_affinity;
  return out;
}

// Sizing then placement, each applied to the mock (which must accept every step).
template <class Sizing, class Placement>
void rounds(mock_host& host, Sizing& sizing, Placement& placement) {
  apply_round(host, sizing);
  apply_round(host, placement);
}

}  // namespace

TEST_CASE("nova_isolate on a 4-node host: each guest's work on a CPU of its own on its node") {
  mock_host host = kvm_host(ring4());
  const task_id a = guest_with_task(host, "a", node_id{0}, 0.5);
  const task_id b = guest_with_task(host, "b", node_id{0}, 0.1);
  const task_id c = guest_with_task(host, "c", node_id{0}, 0.1);
  const task_id d = guest_with_task(host, "d", node_id{2}, 0.9);
  sizing::nova_isolate size;
  placement::nova_isolate place;
  rounds(host, size, place);
  const host_view v = host.state();
  CHECK(reserved(v) == cpuset{cpu_id{0}, cpu_id{1}, cpu_id{2}, cpu_id{8}});
  CHECK(v.find_task(a)->affinity == cpuset{cpu_id{0}});
  CHECK(v.find_task(b)->affinity == cpuset{cpu_id{1}});
  CHECK(v.find_task(c)->affinity == cpuset{cpu_id{2}});
  CHECK(v.find_task(d)->affinity == cpuset{cpu_id{8}});
  decision_log log;
  CHECK(size.decide(v, log).empty());  // settled: nothing more to do
  CHECK(place.decide(v, log).empty());
}

TEST_CASE("nova_isolate on a 2-node host: a node whose guests leave one CPU shares it; a node with none borrows the nearest") {
  mock_host host = kvm_host(make_uniform_topology(2, 4, 4_GiB));
  std::vector<task_id> on0;
  for (const char* n : {"a", "b", "c"}) on0.push_back(guest_with_task(host, n, node_id{0}, 0.2));
  host.set_cpu_load(domain_id{1}, 2.5);  // guest a's vCPUs keep 2.5 of node 0's CPUs busy: 1.5 left
  const task_id far = guest_with_task(host, "d", node_id{1}, 0.2);
  sizing::nova_isolate size;
  placement::nova_isolate place;
  rounds(host, size, place);
  const host_view v = host.state();
  CHECK(reserved(v) == cpuset{cpu_id{0}, cpu_id{4}});
  for (task_id t : on0) CHECK(v.find_task(t)->affinity == cpuset{cpu_id{0}});  // round-robin over one CPU
  CHECK(v.find_task(far)->affinity == cpuset{cpu_id{4}});

  // Without node 1's CPU (a sizing that reserved node 0 only), d's work goes to node 0.
  mock_host other = kvm_host(make_uniform_topology(2, 4, 4_GiB));
  const task_id lone = guest_with_task(other, "d", node_id{1}, 0.2);
  apply_round(other, place);
  CHECK(other.state().find_task(lone)->affinity == cpuset{cpu_id{0}});
}

TEST_CASE("nova_share on 2- and 4-node hosts: every guest's work on the first CPUs of the host") {
  SUBCASE("2 nodes, the default two CPUs") {
    mock_host host = kvm_host(make_uniform_topology(2, 4, 4_GiB));
    const task_id a = guest_with_task(host, "a", node_id{0}, 0.5);
    const task_id b = guest_with_task(host, "b", node_id{1}, 0.5);
    sizing::nova_share size;
    placement::nova_share place;
    rounds(host, size, place);
    const host_view v = host.state();
    CHECK(reserved(v) == cpuset::range(0, 2));
    CHECK(v.find_task(a)->affinity == cpuset::range(0, 2));
    CHECK(v.find_task(b)->affinity == cpuset::range(0, 2));  // wherever the guest lives
    CHECK_FALSE(v.find_task(b)->memory_node.valid());
  }
  SUBCASE("4 nodes, six CPUs: the set runs over into node 1") {
    mock_host host = kvm_host(ring4());
    const task_id a = guest_with_task(host, "a", node_id{3}, 0.5);
    sizing::nova_share size{{.cpus = 6}};
    placement::nova_share place;
    rounds(host, size, place);
    const host_view v = host.state();
    CHECK(reserved(v) == cpuset::range(0, 6));
    CHECK(v.find_task(a)->affinity == cpuset::range(0, 6));
  }
}

TEST_CASE("numad on 2- and 4-node hosts: a guest's work on all its node's CPUs, its buffers there, nothing reserved") {
  for (const topology& topo : {make_uniform_topology(2, 4, 4_GiB), ring4()}) {
    mock_host host = kvm_host(topo);
    const node_id last{static_cast<node_id::rep>(topo.node_count() - 1)};
    const task_id a = guest_with_task(host, "a", node_id{0}, 0.5);
    const task_id b = guest_with_task(host, "b", last, 0.5);
    REQUIRE(host.set_vcpu_online(pvm_domain, vcpu_id{5}, true));  // a reservation numad does not keep
    sizing::numad size;
    placement::numad place;
    rounds(host, size, place);
    const host_view v = host.state();
    CHECK(reserved(v) == cpuset{cpu_id{0}});  // the host's first CPU only
    CHECK(v.find_task(a)->affinity == topo.node(node_id{0}).cpus);
    CHECK(v.find_task(b)->affinity == topo.node(last).cpus);  // no CPU of it reserved: shared with the guests
    CHECK(v.find_task(b)->memory_node == last);
    decision_log log;
    CHECK(place.decide(v, log).empty());
  }
}
