// static_size, what the static baselines share: a fixed vCPU count and memory target, only the
// differences emitted, onlining before offlining, never fewer than one vCPU online.
#include "../placement/hosts.hpp"

#include <pvmkit/controller.hpp>
#include <pvmkit/sizing/static_size.hpp>

#include <doctest/doctest.h>

#include <cstddef>
#include <variant>

using namespace pvmkit;
using namespace pvmkit::literals;
using namespace pvmkit::test;

namespace {

std::size_t onlined(const plan& p, bool online) {
  std::size_t n = 0;
  for (const auto& s : p.steps())
    if (const auto* a = std::get_if<set_vcpu_online>(&s.what)) n += a->online == online ? 1U : 0U;
  return n;
}

}  // namespace

TEST_CASE("static_size: the lowest vCPU ids online, onlining first, and a settled pVM gets an empty plan") {
  mock_host host{make_uniform_topology(2, 4, 4_GiB), mock_pvm_spec{6, 1_GiB}};
  REQUIRE(host.set_vcpu_online(pvm_domain, vcpu_id{1}, false));
  decision_log log{true};
  const host_view v = host.state();
  const plan p = sizing::static_size(v, 3, 2_GiB, "test", log);
  REQUIRE(p.size() == 5);  // vCPU 1 on; 3, 4, 5 off; the memory target
  CHECK(p.steps()[0].what == action{set_vcpu_online{pvm_domain, vcpu_id{1}, true}});
  for (std::size_t i = 1; i <= 3; ++i)
    CHECK(p.steps()[i].what == action{set_vcpu_online{pvm_domain, vcpu_id{static_cast<vcpu_id::rep>(i + 2)}, false}});
  CHECK(memory_action(p) == 2_GiB);
  CHECK(p.steps()[0].reason == "test: static size");
  REQUIRE(log.records().size() == 1);
  CHECK(log.records()[0].choice == "3 vCPUs, 2048 MiB");  // the number as it is, not "2048.000000"
  REQUIRE(log.records()[0].inputs.size() == 3);
  CHECK(log.records()[0].inputs[2].second == "8192");  // host_memory_mib: 2 nodes x 4 GiB
  CHECK(log.records()[0].reason == "fixed size");
  REQUIRE(apply_plan(host, v, p).ok());
  CHECK(sizing::static_size(host.state(), 3, 2_GiB, "test", log).empty());
}

TEST_CASE("static_size: zero vCPUs still leaves one online; more than the pVM has onlines them all") {
  mock_host host{make_uniform_topology(2, 2, 4_GiB), mock_pvm_spec{4, 1_GiB}};
  decision_log log{true};
  const host_view v = host.state();
  const plan none = sizing::static_size(v, 0, v.pvm.memory_target, "test", log);
  CHECK(onlined(none, false) == 3);  // vCPU 0 stays
  CHECK(project(v, none).pvm.online_vcpus() == 1);

  REQUIRE(host.set_vcpu_online(pvm_domain, vcpu_id{3}, false));
  const plan many = sizing::static_size(host.state(), 64, host.state().pvm.memory_target, "test", log);
  CHECK(onlined(many, true) == 1);
  CHECK(onlined(many, false) == 0);
  CHECK(log.records().back().choice.starts_with("4 vCPUs"));
  CHECK(log.records().back().reason == "fixed size, capped by the vCPUs the pVM has");
}

TEST_CASE("static_size: the memory target is capped by the pVM's maximum, and memory may come from every node") {
  mock_host host{make_uniform_topology(2, 2, 4_GiB), mock_pvm_spec{2, 1_GiB}};
  host_view v = host.state();
  REQUIRE(v.pvm.max_memory == 8_GiB);
  decision_log log;
  CHECK(memory_action(sizing::static_size(v, 2, 64_GiB, "test", log)) == 8_GiB);

  v.pvm.node_affinity = nodeset{node_id{0}};  // a pVM held to node 0
  const plan p = sizing::static_size(v, 2, v.pvm.memory_target, "test", log);
  REQUIRE(p.size() == 1);
  CHECK(p.steps()[0].what == action{set_node_affinity{pvm_domain, nodeset{node_id{0}, node_id{1}}}});
}
