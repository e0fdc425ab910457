#include "config_errors.hpp"

#include <pvmkit/runtime/registry.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace pvmkit;
using namespace pvmkit::literals;
using namespace pvmkit::runtime;

namespace {

using pvmkit::test::error_of;

bool contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("registry: every listed name builds a policy of that name") {
  CHECK(placement_names() == std::vector<std::string>{"closer", "xen_default", "pinned_node0", "nova_isolate", "nova_share", "numad"});
  CHECK(sizing_names() == std::vector<std::string>{"closer_dynamic", "static_xen_default", "static_xenserver", "static_fixed",
                                                   "nova_isolate", "nova_share", "numad"});
  for (const auto& n : placement_names()) CHECK(make_placement(n).name() == n);
  for (const auto& n : sizing_names()) CHECK(make_sizing(n).name() == n);
  CHECK(make_placement("closer").incremental());
  CHECK_FALSE(make_placement("xen_default").incremental());
}

TEST_CASE("registry: parameters reach the options") {
  auto c = make_placement("closer:hysteresis=0.2,migration_budget=5,device_weight=0.25,target_utilisation=0.7");
  const auto* cl = c.target<placement::closer>();
  REQUIRE(cl);
  CHECK(cl->config().hysteresis == doctest::Approx(0.2));
  CHECK(cl->config().migration_budget == 5);
  CHECK(cl->config().device_weight == doctest::Approx(0.25));
  CHECK(cl->config().target_utilisation == doctest::Approx(0.7));
  CHECK(make_placement("closer").target<placement::closer>()->config().hysteresis == doctest::Approx(0.15));
  CHECK(c.target<placement::xen_default>() == nullptr);

  auto f = make_sizing("static_fixed:vcpus=4,memory=4GiB");
  REQUIRE(f.target<sizing::static_fixed>());
  CHECK(f.target<sizing::static_fixed>()->opts.vcpus == 4);
  CHECK(f.target<sizing::static_fixed>()->opts.memory == 4_GiB);
  CHECK(make_sizing("static_fixed:memory=1.5GiB").target<sizing::static_fixed>()->opts.memory == bytes{3ULL << 29});
  CHECK(make_sizing("static_fixed:memory=512MiB").target<sizing::static_fixed>()->opts.memory == 512_MiB);
  CHECK(make_sizing("static_fixed:memory=67108864").target<sizing::static_fixed>()->opts.memory == 64_MiB);

  auto share = make_sizing("nova_share:cpus=4");
  REQUIRE(share.target<sizing::nova_share>());
  CHECK(share.target<sizing::nova_share>()->opts.cpus == 4);
  CHECK(make_sizing("nova_share").target<sizing::nova_share>()->opts.cpus == 2);

  auto d = make_sizing("closer_dynamic:scale_down_periods=5,base_memory=1GiB,max_vcpus_per_node=6,guest_memory=16MiB");
  const auto* cd = d.target<sizing::closer_dynamic>();
  REQUIRE(cd);
  CHECK(cd->config().scale_down_periods == 5);
  CHECK(cd->config().base_memory == 1_GiB);
  CHECK(cd->config().max_vcpus_per_node == 6);
  CHECK(cd->config().guest_memory == 16_MiB);
  auto capped = make_sizing("closer_dynamic:cap_utilisation=0.75,cap_binding=0.9,cap_floor_percent=25");
  REQUIRE(capped.target<sizing::closer_dynamic>());
  CHECK(capped.target<sizing::closer_dynamic>()->config().cap_utilisation == doctest::Approx(0.75));
  CHECK(capped.target<sizing::closer_dynamic>()->config().cap_binding == doctest::Approx(0.9));
  CHECK(capped.target<sizing::closer_dynamic>()->config().cap_floor_percent == 25);
}

TEST_CASE("registry: unknown names list the valid ones") {
  const auto e = error_of([] { (void)make_placement("closest"); });
  CHECK(contains(e, "unknown placement policy 'closest'"));
  CHECK(contains(e, "closer, xen_default, pinned_node0"));
  const auto s = error_of([] { (void)make_sizing("dynamic"); });
  CHECK(contains(s, "unknown sizing policy 'dynamic'"));
  CHECK(contains(s, "closer_dynamic, static_xen_default, static_xenserver, static_fixed"));
  CHECK(contains(error_of([] { (void)make_sizing(""); }), "empty name"));
  CHECK(contains(error_of([] { (void)make_placement(":hysteresis=1"); }), "empty name"));
}

TEST_CASE("registry: unknown keys list the valid keys") {
  const auto e = error_of([] { (void)make_placement("closer:hysterisis=0.2"); });
  CHECK(contains(e, "placement policy 'closer'"));
  CHECK(contains(e, "unknown key 'hysterisis'"));
  CHECK(contains(e, "target_utilisation, device_weight, hysteresis, migration_budget"));
  CHECK(contains(error_of([] { (void)make_placement("xen_default:x=1"); }), "unknown key 'x' (valid keys: none)"));
  CHECK(contains(error_of([] { (void)make_sizing("static_xenserver:vcpus=4"); }), "unknown key 'vcpus'"));
  CHECK(contains(error_of([] { (void)make_sizing("static_fixed:cpus=4"); }), "valid keys: vcpus, memory"));
  CHECK(contains(error_of([] { (void)make_sizing("nova_share:vcpus=4"); }), "valid keys: cpus"));
  CHECK(contains(error_of([] { (void)make_placement("numad:interval=15"); }), "unknown key 'interval' (valid keys: none)"));
}

TEST_CASE("registry: malformed parameters and bad values name what is wrong") {
  CHECK(contains(error_of([] { (void)make_placement("closer:"); }), "nothing after ':'"));
  CHECK(contains(error_of([] { (void)make_placement("closer:hysteresis"); }), "'hysteresis' is not key=value"));
  CHECK(contains(error_of([] { (void)make_placement("closer:=0.2"); }), "'=0.2' is not key=value"));
  CHECK(contains(error_of([] { (void)make_placement("closer:hysteresis=0.1,"); }), "'' is not key=value"));
  CHECK(contains(error_of([] { (void)make_placement("closer:hysteresis=0.1,hysteresis=0.2"); }), "key 'hysteresis' given twice"));
  CHECK(contains(error_of([] { (void)make_placement("closer:hysteresis=abc"); }),
                 "bad value 'abc' for 'hysteresis': expected a number"));
  CHECK(contains(error_of([] { (void)make_placement("closer:hysteresis="); }), "bad value '' for 'hysteresis'"));
  CHECK(contains(error_of([] { (void)make_placement("closer:hysteresis=0.2x"); }), "bad value '0.2x'"));
  CHECK(contains(error_of([] { (void)make_placement("closer:migration_budget=-1"); }),
                 "bad value '-1' for 'migration_budget': expected a whole number"));
  CHECK(contains(error_of([] { (void)make_placement("closer:migration_budget=2.5"); }), "bad value '2.5'"));
  CHECK(contains(error_of([] { (void)make_sizing("static_fixed:memory=4XB"); }), "bad value '4XB' for 'memory'"));
  CHECK(contains(error_of([] { (void)make_sizing("static_fixed:memory=GiB"); }), "bad value 'GiB' for 'memory'"));
  CHECK(contains(error_of([] { (void)make_sizing("static_fixed:memory=-1GiB"); }), "bad value '-1GiB'"));
}

TEST_CASE("registry: out-of-range values are rejected by the policy's own checks") {
  const auto e = error_of([] { (void)make_placement("closer:hysteresis=1.5"); });
  CHECK(contains(e, "placement policy 'closer'"));
  CHECK(contains(e, "hysteresis must be in [0, 1)"));
  CHECK(contains(error_of([] { (void)make_placement("closer:target_utilisation=0"); }), "target_utilisation must be in (0, 1]"));
  CHECK(contains(error_of([] { (void)make_sizing("static_fixed:vcpus=0"); }), "vcpus must be at least 1"));
  CHECK(contains(error_of([] { (void)make_sizing("nova_share:cpus=0"); }), "sizing policy 'nova_share': nova_share: cpus must be at least 1"));
  CHECK(contains(error_of([] { (void)make_sizing("closer_dynamic:min_vcpus_per_node=0"); }), "min_vcpus_per_node"));
  CHECK(contains(error_of([] { (void)make_sizing("closer_dynamic:memory_granularity=1B"); }), "memory_granularity"));
  CHECK(contains(error_of([] { (void)make_sizing("closer_dynamic:cap_utilisation=1.5"); }),
                 "cap_utilisation must be 0 (no cap) or in (0, 1]"));
  CHECK(contains(error_of([] { (void)make_sizing("closer_dynamic:cap_floor_percent=0"); }), "cap_floor_percent"));
}
