#include <pvmkit/backend/mock.hpp>
#include <pvmkit/model/plan.hpp>

#include <doctest/doctest.h>

#include <optional>
#include <string>

using namespace pvmkit;
using namespace pvmkit::literals;

TEST_CASE("projection applies actions to a snapshot; inverse undoes them") {
  mock_host host{make_uniform_topology(2, 2, 2_GiB), {.vcpus = 2, .memory = 512_MiB}};
  const auto g = host.add_guest({.name = "g", .vcpus = 2, .home = node_id{1}, .memory = 256_MiB});
  const auto t = host.add_task({.name = "qemu-dm-1", .kind = task_kind::device_model, .guest = g});
  const host_view before = host.state();

  const action steps[] = {set_vcpu_affinity{pvm_domain, vcpu_id{1}, cpuset::range(2, 4)},
                          set_vcpu_online{g, vcpu_id{1}, false},
                          set_memory_target{pvm_domain, 1_GiB},
                          set_node_affinity{g, nodeset{node_id{0}, node_id{1}}},
                          set_task_affinity{t, cpuset{cpu_id{3}}},
                          set_task_memory_node{t, node_id{1}},
                          set_cpu_cap{pvm_domain, 250}};
  host_view v = before;
  for (const auto& a : steps) {
    auto undo = inverse(v, a);
    REQUIRE(undo.has_value());
    host_view changed = v;
    REQUIRE(project(changed, a));
    host_view back = changed;
    REQUIRE(project(back, *undo));
    CHECK(to_json(plan{}) == "[]");
    // Undoing restores the projected fields exactly.
    CHECK(inverse(back, a) == undo);
    v = changed;
  }
  CHECK(v.pvm.vcpus[1].hard_affinity == cpuset::range(2, 4));
  CHECK_FALSE(v.guests[0].vcpus[1].online);
  CHECK(v.pvm.memory_target == 1_GiB);
  CHECK(v.guests[0].node_affinity.size() == 2);
  CHECK(v.tasks[0].affinity == cpuset{cpu_id{3}});
  CHECK(v.tasks[0].memory_node == node_id{1});
  CHECK(v.pvm.cpu_cap == std::optional<unsigned>{250});
  CHECK(before.pvm.cpu_cap == std::optional<unsigned>{0});  // the mock can cap, and starts uncapped

  // A view whose backend cannot cap has no value to return to: the cap cannot be undone.
  host_view no_caps = before;
  no_caps.pvm.cpu_cap.reset();
  CHECK_FALSE(inverse(no_caps, set_cpu_cap{pvm_domain, 100}).has_value());

  host_view untouched = before;
  CHECK_FALSE(project(untouched, set_task_affinity{task_id{9}, cpuset{cpu_id{0}}}));
  CHECK_FALSE(project(untouched, set_vcpu_online{domain_id{9}, vcpu_id{0}, true}));
  CHECK_FALSE(project(untouched, set_vcpu_online{g, vcpu_id{5}, true}));
  CHECK_FALSE(inverse(before, set_memory_target{domain_id{9}, 1_GiB}).has_value());
}

TEST_CASE("plans print as JSON with their reasons") {
  plan p;
  p.add(set_vcpu_affinity{pvm_domain, vcpu_id{2}, cpuset::range(0, 4)}, "pin to node 0");
  p.add(set_task_memory_node{task_id{7}, node_id{1}}, "buffers on the guest's node");
  p.add(set_cpu_cap{pvm_domain, 350}, "3.5 cores of demand");
  CHECK(p.size() == 3);
  CHECK(to_json(p) ==
        R"([{"do":{"action":"set_vcpu_affinity","domain":0,"vcpu":2,"cpus":"0-3"},"reason":"pin to node 0"},)"
        R"({"do":{"action":"set_task_memory_node","task":7,"node":1},"reason":"buffers on the guest's node"},)"
        R"({"do":{"action":"set_cpu_cap","domain":0,"percent":350},"reason":"3.5 cores of demand"}])");
  plan q;
  q.append(p);
  q.append(p);
  CHECK(q.size() == 6);
  CHECK(q.steps()[3] == p.steps()[0]);
}
