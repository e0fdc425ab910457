// The backend conformance suite against the live Xen backend, and the Xen backend's error
// behaviour on a real hypervisor. Runs inside dom0 (the harness copies it there); it needs a guest
// it may change and restore: PVMKIT_XEN_GUEST=<domid>, else the first guest libxl lists.
#include "backend_conformance.hpp"

#include <pvmkit/xen/xen_backend.hpp>
#include <pvmkit/xen/xen_pvm_backend.hpp>

#include <doctest/doctest.h>

#include <charconv>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

template <class B>
pvmkit::domain_id pick_guest(B& b) {
  auto snap = b.snapshot();
  REQUIRE_MESSAGE(snap.has_value(), "snapshot failed: " << snap.error().message());
  if (const char* env = std::getenv("PVMKIT_XEN_GUEST")) {
    // The harness reads the domid from xl; an empty or garbled value is its bug, named as such.
    const std::string_view text{env};
    pvmkit::domain_id::rep id{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    REQUIRE_MESSAGE((ec == std::errc{} && end == text.data() + text.size() && !text.empty()),
                    "PVMKIT_XEN_GUEST='" << text << "' is not a domain id");
    REQUIRE_MESSAGE(snap->find_domain(pvmkit::domain_id{id}) != nullptr,
                    "PVMKIT_XEN_GUEST=" << text << " names no running domain");
    return pvmkit::domain_id{id};
  }
  REQUIRE_MESSAGE(!snap->guests.empty(), "the conformance suite needs a running guest");
  return snap->guests.front().id;
}

struct xen_fixture {
  pvmkit::xen_backend b;
  pvmkit::domain_id g = pick_guest(b);
  pvmkit::xen_backend& backend() { return b; }
  pvmkit::domain_id guest() const { return g; }
};

// The same suite through the dom0 task-placement layer: it must not change what Backend does.
struct xen_pvm_fixture {
  pvmkit::xen_pvm_backend b = pvmkit::make_xen_pvm_backend();
  pvmkit::domain_id g = pick_guest(b);
  pvmkit::xen_pvm_backend& backend() { return b; }
  pvmkit::domain_id guest() const { return g; }
};

}  // namespace

TEST_CASE_TEMPLATE_INVOKE(pvmkit_backend_conformance, xen_fixture, xen_pvm_fixture);

TEST_CASE("xen backend on a real hypervisor: bad requests come back as clear errors") {
  using namespace pvmkit;
  xen_fixture f;
  auto& b = f.backend();
  auto snap = b.snapshot();
  REQUIRE(snap.has_value());
  const topology& t = *snap->topo;
  const domain_state* g = snap->find_domain(f.guest());
  REQUIRE(g);

  SUBCASE("an unknown domain") {
    const domain_id ghost{31000};
    REQUIRE(snap->find_domain(ghost) == nullptr);
    const auto r = b.set_vcpu_affinity(ghost, vcpu_id{0}, t.cpus());
    CHECK(r.error() == errc::unknown_domain);
    CHECK(r.error().message() == "unknown domain");
    CHECK_FALSE(is_libxl_error(r.error()));
  }
  SUBCASE("a CPU that does not exist") {
    cpuset cpus = t.cpus();
    cpus.insert(cpu_id{static_cast<cpu_id::rep>(t.cpus().extent() + 100)});
    const auto r = b.set_vcpu_affinity(f.guest(), vcpu_id{0}, cpus);
    CHECK(r.error() == errc::unknown_cpu);
    CHECK(r.error().message() == "unknown CPU");
  }
  SUBCASE("a memory target over the maximum") {
    const auto r = b.set_memory_target(f.guest(), g->max_memory + bytes{1ULL << 20});
    CHECK(r.error() == errc::over_capacity);
    CHECK(r.error().message() == "request exceeds host capacity");
  }
  SUBCASE("a node that does not exist") {
    const auto r = b.set_node_affinity(f.guest(), nodeset{node_id{static_cast<node_id::rep>(t.node_count())}});
    CHECK(r.error() == errc::unknown_node);
  }
  SUBCASE("offlining the last online vCPU") {
    if (g->online_vcpus() == 1) {
      for (const auto& v : g->vcpus)
        if (v.online) CHECK(b.set_vcpu_online(f.guest(), v.id, false).error() == errc::invalid_state);
    }
  }
  // Nothing above changed the guest.
  auto after = b.snapshot();
  REQUIRE(after.has_value());
  CHECK(conformance::affinity_digest(*after, f.guest()) == conformance::affinity_digest(*snap, f.guest()));
}

TEST_CASE("xen backend on a real hypervisor: the topology is the emulated 2-node machine") {
  pvmkit::xen_backend b;
  auto t = b.topology();
  REQUIRE(t.has_value());
  CHECK((*t)->node_count() == 2);
  CHECK((*t)->distance(pvmkit::node_id{0}, pvmkit::node_id{1}) > pvmkit::local_distance);
  for (const auto& n : (*t)->nodes()) {
    CHECK(!n.cpus.empty());
    CHECK(n.memory.count() > 0);
    CHECK(n.free_memory <= n.memory);
  }
}
