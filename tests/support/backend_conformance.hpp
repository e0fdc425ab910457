// The backend conformance suite: what every Backend must do, whatever hypervisor is behind it.
// A backend's test file defines a fixture and invokes the suite:
//
//   struct my_fixture {
//     my_backend& backend();      // a live backend
//     pvmkit::domain_id guest();  // a guest the suite may change (it restores what it changes)
//   };
//   TEST_CASE_TEMPLATE_INVOKE(pvmkit_backend_conformance, my_fixture);
#pragma once

#include <pvmkit/backend/concepts.hpp>
#include <pvmkit/controller.hpp>
#include <pvmkit/model/plan.hpp>

#include <doctest/doctest.h>

#include <optional>
#include <string>

namespace pvmkit::conformance {

// What a snapshot says about one domain that the suite compares before and after a call.
inline std::string affinity_digest(const host_view& v, domain_id d) {
  const domain_state* dom = v.find_domain(d);
  if (!dom) return "<no domain>";
  std::string out;
  for (const auto& vc : dom->vcpus)
    out += std::to_string(vc.id.value()) + (vc.online ? "+" : "-") + vc.hard_affinity.to_string() + ";";
  out += "nodes=" + dom->node_affinity.to_string() + ";target=" + std::to_string(dom->memory_target.count());
  out += ";cap=" + (dom->cpu_cap ? std::to_string(*dom->cpu_cap) : std::string{"none"});
  return out;
}

inline domain_id unused_domain(const host_view& v) {
  domain_id::rep id = 0x7ff0;
  while (v.find_domain(domain_id{id})) ++id;
  return domain_id{id};
}

inline cpu_id missing_cpu(const topology& t) { return cpu_id{static_cast<cpu_id::rep>(t.cpus().extent() + 7)}; }

}  // namespace pvmkit::conformance

TEST_CASE_TEMPLATE_DEFINE("backend conformance", F, pvmkit_backend_conformance) {
  using namespace pvmkit;
  using namespace pvmkit::conformance;
  F fixture;
  auto& b = fixture.backend();
  using B = std::remove_cvref_t<decltype(b)>;
  static_assert(Backend<B>, "the fixture's backend must model pvmkit::Backend");
  const domain_id guest = fixture.guest();

  auto topo = b.topology();
  REQUIRE(topo.has_value());
  REQUIRE(*topo);
  const topology& t = **topo;
  REQUIRE(t.node_count() >= 1);

  auto snap = b.snapshot();
  REQUIRE(snap.has_value());
  const host_view before = *snap;

  SUBCASE("snapshot is consistent with the topology") {
    CHECK(before.topo);
    CHECK(*before.topo == t);
    CHECK(before.pvm.id == pvm_domain);
    CHECK(before.pvm.online_vcpus() >= 1);
    for (const auto& v : before.pvm.vcpus) CHECK(v.hard_affinity.is_subset_of(t.cpus()));
    REQUIRE(before.find_domain(guest) != nullptr);
    if constexpr (backend_traits<B>::reports_memory_per_node) {
      CHECK(before.pvm.memory_per_node.size() == t.node_count());
      CHECK(before.find_domain(guest)->memory_per_node.size() == t.node_count());
    }
  }

  SUBCASE("vCPU affinity: set, read back, restore") {
    const auto* dom = before.find_domain(guest);
    REQUIRE(dom);
    REQUIRE(!dom->vcpus.empty());
    const cpuset target = t.nodes().back().cpus;
    REQUIRE(b.set_vcpu_affinity(guest, vcpu_id{0}, target).has_value());
    auto after = b.snapshot();
    REQUIRE(after.has_value());
    CHECK(after->find_domain(guest)->vcpus[0].hard_affinity == target);
    REQUIRE(b.set_vcpu_affinity(guest, vcpu_id{0}, dom->vcpus[0].hard_affinity).has_value());
    auto restored = b.snapshot();
    REQUIRE(restored.has_value());
    CHECK(affinity_digest(*restored, guest) == affinity_digest(before, guest));
  }

  SUBCASE("node affinity: set, read back, restore") {
    const auto* dom = before.find_domain(guest);
    REQUIRE(dom);
    const nodeset one{t.nodes().front().id};
    REQUIRE(b.set_node_affinity(guest, one).has_value());
    auto after = b.snapshot();
    REQUIRE(after.has_value());
    CHECK(after->find_domain(guest)->node_affinity == one);
    REQUIRE(b.set_node_affinity(guest, dom->node_affinity).has_value());
  }

  if constexpr (CpuCapControl<B>) {
    SUBCASE("CPU cap: set, read back, refused when impossible, restored") {
      const auto* dom = before.find_domain(guest);
      REQUIRE(dom);
      REQUIRE_MESSAGE(dom->cpu_cap.has_value(), "a backend that can cap must report the cap in its snapshot");
      const unsigned old = *dom->cpu_cap;
      const unsigned want = old == 50 ? 60 : 50;
      REQUIRE(b.set_cpu_cap(guest, want).has_value());
      auto capped = b.snapshot();
      REQUIRE(capped.has_value());
      CHECK(capped->find_domain(guest)->cpu_cap == std::optional<unsigned>{want});
      CHECK(b.set_cpu_cap(unused_domain(before), 50).error() == errc::unknown_domain);
      const auto too_much = static_cast<unsigned>(100 * dom->vcpus.size() + 100);
      CHECK(b.set_cpu_cap(guest, too_much).error() == errc::invalid_argument);
      auto still = b.snapshot();
      REQUIRE(still.has_value());
      CHECK(still->find_domain(guest)->cpu_cap == std::optional<unsigned>{want});
      REQUIRE(b.set_cpu_cap(guest, old).has_value());
      auto restored = b.snapshot();
      REQUIRE(restored.has_value());
      CHECK(affinity_digest(*restored, guest) == affinity_digest(before, guest));
    }
  }

  SUBCASE("requests a hypervisor would refuse are refused, and change nothing") {
    const domain_id ghost = unused_domain(before);
    CHECK(b.set_vcpu_affinity(ghost, vcpu_id{0}, t.cpus()).error() == errc::unknown_domain);
    CHECK(b.set_vcpu_online(ghost, vcpu_id{0}, true).error() == errc::unknown_domain);
    CHECK(b.set_memory_target(ghost, bytes{1ULL << 30}).error() == errc::unknown_domain);
    CHECK(b.set_node_affinity(ghost, nodeset{node_id{0}}).error() == errc::unknown_domain);

    cpuset bad = t.cpus();
    bad.insert(missing_cpu(t));
    CHECK(b.set_vcpu_affinity(guest, vcpu_id{0}, bad).error() == errc::unknown_cpu);
    const auto* dom = before.find_domain(guest);
    REQUIRE(dom);
    const vcpu_id no_such_vcpu{static_cast<vcpu_id::rep>(dom->vcpus.size() + 64)};
    CHECK(b.set_vcpu_affinity(guest, no_such_vcpu, t.cpus()).error() == errc::unknown_vcpu);
    CHECK(b.set_vcpu_online(guest, no_such_vcpu, true).error() == errc::unknown_vcpu);
    CHECK(b.set_memory_target(guest, dom->max_memory + bytes{1ULL << 40}).error() == errc::over_capacity);
    CHECK(b.set_node_affinity(guest, nodeset{node_id{static_cast<node_id::rep>(t.node_count() + 3)}}).error() ==
          errc::unknown_node);

    auto after = b.snapshot();
    REQUIRE(after.has_value());
    CHECK(affinity_digest(*after, guest) == affinity_digest(before, guest));
  }

  SUBCASE("a plan that fails half-way is rolled back") {
    const auto* dom = before.find_domain(guest);
    REQUIRE(dom);
    plan p;
    p.add(set_vcpu_affinity{guest, vcpu_id{0}, t.nodes().front().cpus}, "conformance: a valid step");
    p.add(set_node_affinity{guest, nodeset{t.nodes().front().id}}, "conformance: a valid step");
    if constexpr (CpuCapControl<B>) p.add(set_cpu_cap{guest, dom->cpu_cap == 70U ? 80U : 70U}, "conformance: a valid step");
    cpuset bad;
    bad.insert(missing_cpu(t));
    p.add(set_vcpu_affinity{guest, vcpu_id{0}, bad}, "conformance: a step the backend must refuse");
    const auto report = apply_plan(b, before, p);
    CHECK_FALSE(report.ok());
    CHECK(report.failed_step == std::optional<std::size_t>{p.size() - 1});
    CHECK(report.rolled_back);
    CHECK(report.applied == 0);
    auto after = b.snapshot();
    REQUIRE(after.has_value());
    CHECK(affinity_digest(*after, guest) == affinity_digest(before, guest));
  }
}
