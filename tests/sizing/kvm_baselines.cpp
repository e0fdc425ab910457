// The KVM operators' sizing baselines and what they share (reserve_cpus): the CPUs a KVM host
// reserves for pVM work under Nova's isolate and share emulator-thread policies and numad, on the
// mock's KVM pVM (vCPU v is CPU v, online = reserved) and on a Xen-style pVM whose vCPUs float.
#include "../placement/hosts.hpp"

#include <pvmkit/controller.hpp>
#include <pvmkit/sizing/nova_isolate.hpp>
#include <pvmkit/sizing/nova_share.hpp>
#include <pvmkit/sizing/numad.hpp>
#include <pvmkit/sizing/reserve_cpus.hpp>

#include <doctest/doctest.h>

#include <variant>
#include <vector>

using namespace pvmkit;
using namespace pvmkit::literals;
using namespace pvmkit::test;

namespace {

cpuset online_cpus(const host_view& v) {
  cpuset out;
  for (const auto& vc : v.pvm.vcpus)
    if (vc.online) out |= vc.hard_affinity;
  return out;
}

}  // namespace

TEST_CASE("reserve_cpus on a KVM host: exactly the wanted CPUs, reserving before releasing") {
  mock_host host{make_uniform_topology(2, 4, 4_GiB), {.host_cpus = true}};
  decision_log log{true};
  const host_view before = host.state();
  const plan p = sizing::reserve_cpus(before, cpuset{cpu_id{1}, cpu_id{5}}, "test", log);
  REQUIRE(p.size() == 3);
  CHECK(std::get<set_vcpu_online>(p.steps()[0].what).online);
  CHECK(std::get<set_vcpu_online>(p.steps()[1].what).online);
  CHECK(std::get<set_vcpu_online>(p.steps()[2].what).vcpu == vcpu_id{0});  // the boot CPU goes last
  REQUIRE(apply_plan(host, before, p).ok());
  CHECK(online_cpus(host.state()) == cpuset{cpu_id{1}, cpu_id{5}});
  CHECK(sizing::reserve_cpus(host.state(), cpuset{cpu_id{1}, cpu_id{5}}, "test", log).empty());
  CHECK(log.records().back().choice == "1,5");
}

TEST_CASE("reserve_cpus on a pVM whose vCPUs float: vCPUs are pinned one to a CPU, the rest go offline") {
  mock_host host{make_uniform_topology(2, 4, 4_GiB), {.vcpus = 3}};
  decision_log log{true};
  const host_view before = host.state();
  const plan p = sizing::reserve_cpus(before, cpuset{cpu_id{2}, cpu_id{6}}, "test", log);
  REQUIRE(apply_plan(host, before, p).ok());
  const host_view v = host.state();
  CHECK(v.pvm.vcpus[0].hard_affinity == cpuset{cpu_id{2}});
  CHECK(v.pvm.vcpus[1].hard_affinity == cpuset{cpu_id{6}});
  CHECK_FALSE(v.pvm.vcpus[2].online);
  CHECK(online_cpus(v) == cpuset{cpu_id{2}, cpu_id{6}});
  // More CPUs than vCPUs: as many as there are vCPUs, and the record says so.
  (void)sizing::reserve_cpus(v, cpuset::range(0, 5), "test", log);
  CHECK(log.records().back().reason == "fewer: the pVM has no vCPU left for the rest");
  CHECK(log.records().back().choice == "0-2");
}

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
    CHECK(online_cpus(host.state()) == cpuset{cpu_id{0}, cpu_id{1}, cpu_id{4}});
  }
  SUBCASE("4 nodes, no guest on two of them; no guest at all keeps the first CPU") {
    mock_host host{ring4(), {.host_cpus = true}};
    guest_with_task(host, "a", node_id{1}, 0.1);
    guest_with_task(host, "b", node_id{3}, 0.1);
    sizing::nova_isolate size;
    apply_round(host, size);
    CHECK(online_cpus(host.state()) == cpuset{cpu_id{4}, cpu_id{12}});
    mock_host empty{ring4(), {.host_cpus = true}};
    CHECK(apply_round(empty, size).empty());
    CHECK(online_cpus(empty.state()) == cpuset{cpu_id{0}});
  }
}

TEST_CASE("nova_share sizing: the first N CPUs, whatever the guests; N of 0 is refused") {
  mock_host host{ring4(), {.host_cpus = true}};
  guest_with_task(host, "a", node_id{3}, 2.0);
  sizing::nova_share size{{.cpus = 3}};
  apply_round(host, size);
  CHECK(online_cpus(host.state()) == cpuset::range(0, 3));
  CHECK_THROWS_WITH_AS(sizing::nova_share({.cpus = 0}), "nova_share: cpus must be at least 1 (cpu_shared_set cannot be empty)",
                       config_error);
}

TEST_CASE("numad sizing: no reservation beyond the host's first CPU") {
  mock_host host{make_uniform_topology(2, 4, 4_GiB), {.host_cpus = true}};
  guest_with_task(host, "a", node_id{1}, 3.0);
  REQUIRE(host.set_vcpu_online(pvm_domain, vcpu_id{6}, true));
  sizing::numad size;
  apply_round(host, size);
  CHECK(online_cpus(host.state()) == cpuset{cpu_id{0}});
}
