#include <pvmkit/model/host_view.hpp>

#include <doctest/doctest.h>

#include <set>
#include <string_view>

using namespace pvmkit;
using namespace pvmkit::literals;

namespace {

domain_state guest(std::uint32_t id) {
  domain_state d;
  d.id = domain_id{id};
  d.name = "g" + std::to_string(id);
  return d;
}

pvm_task task(std::uint64_t id) {
  pvm_task t;
  t.id = task_id{id};
  return t;
}

}  // namespace

TEST_CASE("domain_state: memory sums the nodes, online_vcpus counts, find_vcpu checks the id it lands on") {
  domain_state d = guest(1);
  CHECK(d.memory() == bytes{0});  // the backend could not tell
  d.memory_per_node = {1_GiB, 0_GiB, 3_GiB};
  CHECK(d.memory() == 4_GiB);
  d.vcpus = {{vcpu_id{0}, true, {}, {}}, {vcpu_id{1}, false, {}, {}}, {vcpu_id{2}, true, {}, {}}};
  CHECK(d.online_vcpus() == 2);
  REQUIRE(d.find_vcpu(vcpu_id{1}) != nullptr);
  CHECK_FALSE(d.find_vcpu(vcpu_id{1})->online);
  CHECK(d.find_vcpu(vcpu_id{3}) == nullptr);  // past the end
  d.vcpus[2].id = vcpu_id{7};                 // a hole in the numbering: slot 2 is not vCPU 2
  CHECK(d.find_vcpu(vcpu_id{2}) == nullptr);
}

TEST_CASE("every task_kind has its own name") {
  std::set<std::string_view> names;
  for (auto k : {task_kind::net_backend, task_kind::block_backend, task_kind::device_model, task_kind::toolstack, task_kind::irq,
                 task_kind::other})
    CHECK(names.insert(to_string(k)).second);
  CHECK(to_string(task_kind::device_model) == "device_model");
}

TEST_CASE("find_domain: the pVM, guests numbered in order, guests out of order, and none") {
  host_view v;
  v.pvm.id = domain_id{0};
  v.guests = {guest(1), guest(2), guest(9), guest(4)};
  CHECK(v.find_domain(domain_id{0}) == &v.pvm);
  CHECK(v.find_domain(domain_id{2}) == &v.guests[1]);  // where in-order numbering puts it
  CHECK(v.find_domain(domain_id{9}) == &v.guests[2]);  // past the in-order slot: searched
  CHECK(v.find_domain(domain_id{4}) == &v.guests[3]);  // slot 3 holds guest 9: searched
  CHECK(v.find_domain(domain_id{3}) == nullptr);
  CHECK(v.find_domain(domain_id{}) == nullptr);
  v.find_domain(domain_id{4})->name = "renamed";  // the mutable overload finds the same guest
  CHECK(v.guests[3].name == "renamed");
}

TEST_CASE("find_task: by index when tasks are numbered in order, else by search, else none") {
  host_view v;
  v.tasks = {task(0), task(1), task(40), task(3)};
  CHECK(v.find_task(task_id{1}) == &v.tasks[1]);
  CHECK(v.find_task(task_id{40}) == &v.tasks[2]);
  CHECK(v.find_task(task_id{3}) == &v.tasks[3]);
  CHECK(v.find_task(task_id{2}) == nullptr);
  CHECK(v.find_task(task_id{}) == nullptr);
  v.find_task(task_id{40})->cpu_load = 0.5;
  CHECK(v.tasks[2].cpu_load == 0.5);
}
