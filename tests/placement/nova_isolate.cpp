// Nova's isolate emulator-thread policy on a KVM host's pVM (the mock with host_cpus: vCPU v is CPU v,
// online = reserved), after the sizing it runs with.
#include "hosts.hpp"

#include <pvmkit/placement/nova_isolate.hpp>
#include <pvmkit/sizing/nova_isolate.hpp>

#include <doctest/doctest.h>

#include <vector>

using namespace pvmkit;
using namespace pvmkit::literals;
using namespace pvmkit::test;

TEST_CASE("nova_isolate on a 4-node host: each guest's work on a CPU of its own on its node") {
  mock_host host = kvm_host(ring4());
  const task_id a = guest_with_task(host, "a", node_id{0}, 0.5);
  const task_id b = guest_with_task(host, "b", node_id{0}, 0.1);
  const task_id c = guest_with_task(host, "c", node_id{0}, 0.1);
  const task_id d = guest_with_task(host, "d", node_id{2}, 0.9);
  sizing::nova_isolate size;
  placement::nova_isolate place;
  sizing_then_placement(host, size, place);
  const host_view v = host.state();
  CHECK(reserved_cpus(v) == cpuset{cpu_id{0}, cpu_id{1}, cpu_id{2}, cpu_id{8}});
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
  sizing_then_placement(host, size, place);
  const host_view v = host.state();
  CHECK(reserved_cpus(v) == cpuset{cpu_id{0}, cpu_id{4}});
  for (task_id t : on0) CHECK(v.find_task(t)->affinity == cpuset{cpu_id{0}});  // round-robin over one CPU
  CHECK(v.find_task(far)->affinity == cpuset{cpu_id{4}});

  // Without node 1's CPU (a sizing that reserved node 0 only), d's work goes to node 0.
  mock_host other = kvm_host(make_uniform_topology(2, 4, 4_GiB));
  const task_id lone = guest_with_task(other, "d", node_id{1}, 0.2);
  apply_round(other, place);
  CHECK(other.state().find_task(lone)->affinity == cpuset{cpu_id{0}});
}
