#include "../placement/hosts.hpp"

#include <pvmkit/controller.hpp>
#include <pvmkit/model/locality.hpp>
#include <pvmkit/runtime/registry.hpp>

#include <doctest/doctest.h>

using namespace pvmkit;
using namespace pvmkit::literals;
using namespace pvmkit::test;
using namespace pvmkit::runtime;

TEST_CASE("controller with policies chosen by name: tasks end on their guest's node") {
  // An unconfigured host: 8 pVM vCPUs floating over 2 nodes, backends unbound.
  mock_host host{make_uniform_topology(2, 4, 4_GiB)};
  const task_id a = guest_with_task(host, "a", node_id{0}, 0.5);
  const task_id b = guest_with_task(host, "b", node_id{1}, 1.2);
  const domain_id b_guest = host.state().find_task(b)->guest;
  const task_id b_irq = host.add_task({"b-irq", task_kind::irq, b_guest, {}, 0.05});

  controller<mock_host, any_sizing_policy, any_placement_policy> ctl{host, make_sizing("closer_dynamic"),
                                                                     make_placement("closer")};
  ctl.record_decisions(true);
  for (int r = 0; r < 4; ++r) {
    auto round = ctl.step();
    REQUIRE(round);
    CAPTURE(r);
    CHECK(round->applied.ok());
    CHECK_FALSE(round->decisions.empty());
    // Settled after the first round; only the memory target waits out its scale-down delay.
    if (r > 0)
      for (const auto& s : round->planned.steps()) CHECK(std::holds_alternative<set_memory_target>(s.what));
  }
  const host_view v = host.state();
  CHECK(task_node(v, a) == node_id{0});
  CHECK(v.find_task(a)->memory_node == node_id{0});
  CHECK(task_node(v, b) == node_id{1});
  CHECK(task_node(v, b_irq) == node_id{1});
  CHECK(v.find_task(b)->memory_node == node_id{1});
  // ceil(0.5 / 0.8) = 1 on node 0, ceil(1.25 / 0.8) = 2 on node 1; the other five went offline.
  pvm_vcpu_layout layout;
  layout.build(*v.topo, v.pvm);
  CHECK(layout.online == std::vector<std::size_t>{1, 2});
  CHECK(layout.floating.empty());
  CHECK(v.pvm.online_vcpus() == 3);
}
