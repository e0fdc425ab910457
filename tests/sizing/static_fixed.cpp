#include "../placement/hosts.hpp"

#include <pvmkit/controller.hpp>
#include <pvmkit/sizing/static_fixed.hpp>

#include <doctest/doctest.h>

using namespace pvmkit;
using namespace pvmkit::literals;
using namespace pvmkit::test;

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
