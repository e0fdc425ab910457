// Nova's share emulator-thread sizing on the mock's KVM pVM (vCPU v is CPU v, online = reserved).
#include "../placement/hosts.hpp"

#include <pvmkit/sizing/nova_share.hpp>

#include <doctest/doctest.h>

using namespace pvmkit;
using namespace pvmkit::literals;
using namespace pvmkit::test;

TEST_CASE("nova_share sizing: the first N CPUs, whatever the guests; N of 0 is refused") {
  mock_host host{ring4(), {.host_cpus = true}};
  guest_with_task(host, "a", node_id{3}, 2.0);
  sizing::nova_share size{{.cpus = 3}};
  apply_round(host, size);
  CHECK(reserved_cpus(host.state()) == cpuset::range(0, 3));
  CHECK_THROWS_WITH_AS(sizing::nova_share({.cpus = 0}), "nova_share: cpus must be at least 1 (cpu_shared_set cannot be empty)",
                       config_error);
}
