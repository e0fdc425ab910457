#include "../placement/hosts.hpp"

#include <pvmkit/controller.hpp>
#include <pvmkit/sizing/static_fixed.hpp>
#include <pvmkit/sizing/static_xen_default.hpp>
#include <pvmkit/sizing/static_xenserver.hpp>

#include <doctest/doctest.h>

#include <variant>

using namespace pvmkit;
using namespace pvmkit::literals;

namespace {

template <class P>
plan decide_on(P& policy, const host_view& v) {
  decision_log log;
  return policy.decide(v, log);
}

std::optional<bytes> memory_action(const plan& p) {
  for (const auto& s : p.steps())
    if (const auto* m = std::get_if<set_memory_target>(&s.what)) return m->target;
  return std::nullopt;
}

}  // namespace

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

TEST_CASE("static_fixed: the given vCPUs and memory, onlining before offlining") {
  mock_host host{make_uniform_topology(2, 4, 8_GiB)};  // 8 vCPUs online
  REQUIRE(host.set_vcpu_online(pvm_domain, vcpu_id{2}, false));
  sizing::static_fixed policy{{4, 2_GiB}};
  const host_view v = host.state();
  const plan p = decide_on(policy, v);
  REQUIRE(p.size() == 6);
  CHECK(p.steps()[0].what == action{set_vcpu_online{pvm_domain, vcpu_id{2}, true}});
  for (std::size_t i = 1; i <= 4; ++i)
    CHECK(p.steps()[i].what == action{set_vcpu_online{pvm_domain, vcpu_id{static_cast<vcpu_id::rep>(i + 3)}, false}});
  CHECK(p.steps()[5].what == action{set_memory_target{pvm_domain, 2_GiB}});
  CHECK(decide_on(policy, project(v, p)).empty());
  CHECK_THROWS_AS(sizing::static_fixed({0, 2_GiB}), config_error);
  CHECK_THROWS_AS(sizing::static_fixed({2, 1_MiB}), config_error);
}
