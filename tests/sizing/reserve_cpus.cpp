// The CPUs a KVM host reserves for pVM work, on the mock's KVM pVM and on a Xen-style pVM whose
// vCPUs float.
#include "../placement/hosts.hpp"

#include <pvmkit/controller.hpp>
#include <pvmkit/sizing/reserve_cpus.hpp>

#include <doctest/doctest.h>

#include <variant>

using namespace pvmkit;
using namespace pvmkit::literals;
using namespace pvmkit::test;

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
  CHECK(reserved_cpus(host.state()) == cpuset{cpu_id{1}, cpu_id{5}});
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
  CHECK(reserved_cpus(v) == cpuset{cpu_id{2}, cpu_id{6}});
  // More CPUs than vCPUs: as many as there are vCPUs, and the record says so.
  (void)sizing::reserve_cpus(v, cpuset::range(0, 5), "test", log);
  CHECK(log.records().back().reason == "fewer: the pVM has no vCPU left for the rest");
  CHECK(log.records().back().choice == "0-2");
}
