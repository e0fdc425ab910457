#include "../placement/hosts.hpp"

#include <pvmkit/controller.hpp>
#include <pvmkit/sizing/static_xenserver.hpp>

#include <doctest/doctest.h>

using namespace pvmkit;
using namespace pvmkit::literals;
using namespace pvmkit::test;

TEST_CASE("static_xenserver: min(1 GiB + 5 % of RAM, 8 GiB), at most 16 vCPUs") {
  SUBCASE("64 GiB, 32 CPUs") {
    mock_host host{make_uniform_topology(2, 16, 32_GiB)};
    sizing::static_xenserver policy;
    const host_view v = host.state();
    const plan p = decide_on(policy, v);
    CHECK(memory_action(p) == bytes{(1ULL << 30) + (64ULL << 30) / 20});  // 4.2 GiB
    const host_view after = project(v, p);
    CHECK(after.pvm.online_vcpus() == 16);
    for (std::size_t i = 0; i < 16; ++i) CHECK(after.pvm.vcpus[i].online);  // vCPUs 0-15 stay
    CHECK(decide_on(policy, after).empty());
  }
  SUBCASE("512 GiB: the 8 GiB cap") {
    mock_host host{make_uniform_topology(2, 4, 256_GiB)};
    sizing::static_xenserver policy;
    const plan p = decide_on(policy, host.state());
    CHECK(memory_action(p) == 8_GiB);
    CHECK(project(host.state(), p).pvm.online_vcpus() == 8);  // fewer CPUs than 16: all of them
  }
}
