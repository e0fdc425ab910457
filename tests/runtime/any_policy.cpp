#include "../placement/hosts.hpp"

#include <pvmkit/runtime/registry.hpp>

#include <doctest/doctest.h>

using namespace pvmkit;
using namespace pvmkit::literals;
using namespace pvmkit::test;
using namespace pvmkit::runtime;

TEST_CASE("any_placement_policy: decides like the policy inside, copies clone the state") {
  mock_host host = host_with_pvm(make_uniform_topology(2, 4, 4_GiB), {1, 1});
  guest_with_task(host, "a", node_id{0}, 0.5);
  guest_with_task(host, "b", node_id{1}, 0.3);
  const host_view v = host.state();
  decision_log log;
  placement::closer direct;
  any_placement_policy erased = placement::closer{};
  CHECK(erased.decide(v, log) == direct.decide(v, log));

  any_placement_policy copy = erased;  // carries the accounting of the decide above
  REQUIRE(copy.target<placement::closer>());
  CHECK(copy.target<placement::closer>()->node_load(node_id{0}) == doctest::Approx(0.5));
  CHECK(copy.target<placement::closer>() != erased.target<placement::closer>());
  copy = make_placement("pinned_node0");
  CHECK(copy.name() == "pinned_node0");
  CHECK(erased.name() == "closer");

  // A policy without an incremental re-plan answers replan() with a full decide.
  any_placement_policy base = placement::xen_default{};
  CHECK(base.replan(v, domain_id{1}, log) == placement::xen_default{}.decide(v, log));
}

TEST_CASE("any_sizing_policy: decides like the policy inside, copies are independent") {
  mock_host host = host_with_pvm(make_uniform_topology(2, 8, 4_GiB), {1, 1}, {7, 7});
  guest_with_task(host, "a", node_id{0}, 2.0);
  const host_view v = host.state();
  decision_log log;
  any_sizing_policy erased = sizing::closer_dynamic{};
  sizing::closer_dynamic direct;
  CHECK(erased.decide(v, log) == direct.decide(v, log));
  any_sizing_policy copy = erased;
  (void)copy.decide(v, log);  // advances the copy's clocks only
  CHECK(copy.target<sizing::closer_dynamic>()->low_periods(node_id{1}) == 2);
  CHECK(erased.target<sizing::closer_dynamic>()->low_periods(node_id{1}) == 1);
}
