// numad-style sizing on the mock's KVM pVM (vCPU v is CPU v, online = reserved).
#include "../placement/hosts.hpp"

#include <pvmkit/sizing/numad.hpp>

#include <doctest/doctest.h>

using namespace pvmkit;
using namespace pvmkit::literals;
using namespace pvmkit::test;

TEST_CASE("numad sizing: no reservation beyond the host's first CPU") {
  mock_host host{make_uniform_topology(2, 4, 4_GiB), {.host_cpus = true}};
  guest_with_task(host, "a", node_id{1}, 3.0);
  REQUIRE(host.set_vcpu_online(pvm_domain, vcpu_id{6}, true));
  sizing::numad size;
  apply_round(host, size);
  CHECK(reserved_cpus(host.state()) == cpuset{cpu_id{0}});
}
