#include "../placement/hosts.hpp"

#include <pvmkit/controller.hpp>
#include <pvmkit/sizing/static_xen_default.hpp>

#include <doctest/doctest.h>

using namespace pvmkit;
using namespace pvmkit::literals;
using namespace pvmkit::test;

TEST_CASE("static_xen_default: every pCPU, all memory less min(1/16, 128 MiB)") {
  SUBCASE("16 GiB host: the 128 MiB cap applies") {
    mock_host host{make_uniform_topology(2, 8, 8_GiB)};
    sizing::static_xen_default policy;
    const host_view v = host.state();
    const plan p = decide_on(policy, v);
    CHECK(memory_action(p) == bytes{(16ULL << 30) - (128ULL << 20)});
    CHECK(p.size() == 1);  // 16 vCPUs already online, node affinity already all nodes
    CHECK(decide_on(policy, project(v, p)).empty());
  }
  SUBCASE("1 GiB host: 1/16 is smaller") {
    mock_host host{make_uniform_topology(2, 2, 512_MiB), mock_pvm_spec{0, 256_MiB}};
    sizing::static_xen_default policy;
    CHECK(memory_action(decide_on(policy, host.state())) == 960_MiB);
  }
  SUBCASE("with guests running, dom0 holds what they leave (xl's autoballoon)") {
    mock_host host{make_uniform_topology(2, 8, 8_GiB)};
    host.add_guest({.name = "a", .home = node_id{0}, .memory = 3_GiB});
    host.add_guest({.name = "b", .home = node_id{1}, .memory = 5_GiB});
    sizing::static_xen_default policy;
    const plan p = decide_on(policy, host.state());
    CHECK(memory_action(p) == bytes{(8ULL << 30) - (128ULL << 20)});
    // The plan applies: the target is what the host really has free for the pVM.
    CHECK(apply_plan(host, host.state(), p).ok());
  }
  SUBCASE("offline vCPUs come back online") {
    mock_host host{make_uniform_topology(2, 4, 8_GiB)};
    REQUIRE(host.set_vcpu_online(pvm_domain, vcpu_id{5}, false));
    sizing::static_xen_default policy;
    const plan p = decide_on(policy, host.state());
    REQUIRE(p.size() == 2);
    CHECK(p.steps()[0].what == action{set_vcpu_online{pvm_domain, vcpu_id{5}, true}});
  }
}
