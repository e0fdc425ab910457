// The libvirt backend in process, against libvirt's test driver (test:///default: two NUMA cells of
// eight CPUs, 0-7 and 8-15, and one running domain "test" floating over all of them). Every
// connection in this process shares that host, so each fixture starts its own guest and destroys
// it, and reads what it checks back through libvirt itself.
#include "backend_conformance.hpp"
#include "fake_proc.hpp"
#include "test_host.hpp"

#include <pvmkit/libvirt/libvirt_backend.hpp>

#include <doctest/doctest.h>

#include <fstream>
#include <string>

using namespace pvmkit;
using pvmkit::test::node0_cpus;
using pvmkit::test::node1_cpus;
using pvmkit::test::test_guest;
using pvmkit::test::test_host;

namespace {

struct libvirt_fixture {
  libvirt_backend b{test_host()};
  test_guest g{b.native_handle()};
  libvirt_backend& backend() { return b; }
  domain_id guest() const { return g.id(); }
};

std::string error_text(const result<void>& r) { return r ? std::string{"ok"} : r.error().message(); }

}  // namespace

TEST_CASE_TEMPLATE_INVOKE(pvmkit_backend_conformance, libvirt_fixture);

TEST_CASE("topology from libvirt's capabilities: two cells, their CPUs, memory and free memory") {
  libvirt_backend b{test_host()};
  auto t = b.topology();
  REQUIRE(t.has_value());
  REQUIRE((*t)->node_count() == 2);
  CHECK((*t)->node(node_id{0}).cpus == node0_cpus);
  CHECK((*t)->node(node_id{1}).cpus == node1_cpus);
  // The test driver's cells: 2 GiB and 4 GiB; it prints no distances (10/20 then).
  CHECK((*t)->node(node_id{0}).memory == bytes{2ULL << 30});
  CHECK((*t)->node(node_id{1}).memory == bytes{4ULL << 30});
  CHECK((*t)->distance(node_id{0}, node_id{1}) == 20);
  CHECK((*t)->distance(node_id{1}, node_id{1}) == 10);
  for (const auto& n : (*t)->nodes()) {
    CHECK(n.free_memory.count() > 0);
    CHECK(n.free_memory <= n.memory);
  }
}

TEST_CASE("the snapshot: guests with their vCPUs, numatune, memory, emulator and I/O threads") {
  libvirt_backend b{test_host()};
  test_guest g{b.native_handle()};
  auto v = b.snapshot();
  REQUIRE(v.has_value());
  const domain_state* d = v->find_domain(g.id());
  REQUIRE(d);
  CHECK(d->name == g.name());
  REQUIRE(d->vcpus.size() == 4);
  for (const auto& vc : d->vcpus) {
    CHECK(vc.online);
    CHECK(vc.hard_affinity == node1_cpus);
  }
  CHECK(d->node_affinity == nodeset{node_id{1}});
  CHECK(d->home_node == node_id{1});
  CHECK(d->memory_target == bytes{512ULL << 20});
  CHECK(d->max_memory == bytes{1ULL << 30});
  CHECK_FALSE(d->cpu_cap.has_value());  // no CpuCapControl: closer_dynamic asks for none

  const pvm_task* emu = v->find_task(libvirt_emulator_task(g.id()));
  REQUIRE(emu);
  CHECK(emu->kind == task_kind::device_model);
  CHECK(emu->guest == g.id());
  CHECK(emu->affinity == node1_cpus);
  for (unsigned io : {1U, 2U}) {
    const pvm_task* t = v->find_task(libvirt_iothread_task(g.id(), io));
    REQUIRE(t);
    CHECK(t->kind == task_kind::block_backend);
    CHECK(t->name == g.name() + " iothread " + std::to_string(io));
  }
  // The pVM is the host: one vCPU per host CPU, the first CPU reserved before any sizing.
  REQUIRE(v->pvm.vcpus.size() == 16);
  CHECK(v->pvm.online_vcpus() == 1);
  CHECK(v->pvm.vcpus[0].online);
  CHECK(v->pvm.vcpus[9].hard_affinity == cpuset{cpu_id{9}});
  CHECK(v->pvm.max_memory == bytes{6ULL << 30});
}

TEST_CASE("bad requests come back as pvmkit errors with clear messages, and change nothing") {
  libvirt_backend b{test_host()};
  test_guest g{b.native_handle()};
  auto before = b.snapshot();
  REQUIRE(before.has_value());
  const domain_id ghost{31000};

  SUBCASE("an unknown domain") {
    CHECK(error_text(b.set_vcpu_affinity(ghost, vcpu_id{0}, node0_cpus)) == "unknown domain");
    CHECK(error_text(b.set_memory_target(ghost, bytes{1ULL << 30})) == "unknown domain");
    CHECK(error_text(b.set_node_affinity(ghost, nodeset{node_id{0}})) == "unknown domain");
    CHECK(error_text(b.set_vcpu_online(ghost, vcpu_id{0}, false)) == "unknown domain");
    CHECK_FALSE(is_libvirt_error(b.set_vcpu_affinity(ghost, vcpu_id{0}, node0_cpus).error()));
  }
  SUBCASE("a CPU that does not exist (the test driver itself would accept CPU 16)") {
    cpuset cpus = node1_cpus;
    cpus.insert(cpu_id{16});
    CHECK(error_text(b.set_vcpu_affinity(g.id(), vcpu_id{0}, cpus)) == "unknown CPU");
    CHECK(error_text(b.set_task_affinity(libvirt_emulator_task(g.id()), cpus)) == "unknown CPU");
    CHECK(error_text(b.set_vcpu_online(pvm_domain, vcpu_id{40}, true)) == "unknown vCPU");
  }
  SUBCASE("a vCPU that does not exist") {
    CHECK(error_text(b.set_vcpu_affinity(g.id(), vcpu_id{4}, node1_cpus)) == "unknown vCPU");
  }
  SUBCASE("a cell that does not exist") {
    CHECK(error_text(b.set_node_affinity(g.id(), nodeset{node_id{2}})) == "unknown NUMA node");
    CHECK(error_text(b.set_node_affinity(pvm_domain, nodeset{node_id{5}})) == "unknown NUMA node");
  }
  SUBCASE("a memory target over the maximum") {
    CHECK(error_text(b.set_memory_target(g.id(), bytes{(1ULL << 30) + 4096})) == "request exceeds host capacity");
    CHECK(error_text(b.set_memory_target(pvm_domain, bytes{7ULL << 30})) == "request exceeds host capacity");
  }
  SUBCASE("tasks that do not exist") {
    CHECK(error_text(b.set_task_affinity(libvirt_iothread_task(g.id(), 9), node1_cpus)) == "unknown pVM task");
    CHECK(error_text(b.set_task_affinity(libvirt_emulator_task(ghost), node1_cpus)) == "unknown pVM task");
    CHECK(error_text(b.set_task_affinity(task_id{1234}, node1_cpus)) == "unknown pVM task");
    CHECK(error_text(b.set_task_memory_node(libvirt_emulator_task(g.id()), node_id{1})) == "not supported");
  }
  SUBCASE("what libvirt refuses carries libvirt's code, domain and message") {
    // vCPU 1 alone offline is not a count: it needs virDomainSetVcpu, which the test driver lacks.
    const auto r = b.set_vcpu_online(g.id(), vcpu_id{1}, false);
    REQUIRE_FALSE(r.has_value());
    REQUIRE(is_libvirt_error(r.error()));
    const auto info = libvirt_error_of(r.error());
    REQUIRE(info.has_value());
    CHECK(info->call == "virDomainSetVcpu");
    CHECK(info->code == VIR_ERR_NO_SUPPORT);
    CHECK(r.error().value() == VIR_ERR_NO_SUPPORT);
    CHECK(info->domain == VIR_FROM_DOMAIN);
    CHECK(info->message == "this function is not supported by the connection driver: virDomainSetVcpu");
    CHECK(std::string{r.error().category().name()} == "virDomainSetVcpu");
    CHECK(r.error().message() ==
          "virDomainSetVcpu failed: libvirt error 3 (domain 20): this function is not supported by the connection driver: virDomainSetVcpu");
  }
  auto after = b.snapshot();
  REQUIRE(after.has_value());
  CHECK(conformance::affinity_digest(*after, g.id()) == conformance::affinity_digest(*before, g.id()));
  CHECK(conformance::affinity_digest(*after, pvm_domain) == conformance::affinity_digest(*before, pvm_domain));
}

TEST_CASE("opening a URI libvirt cannot serve is an error naming it") {
  SUBCASE("open() returns virConnectOpen's error") {
    auto r = libvirt_backend::open({"test:///no/such/host.xml", {}, true});
    REQUIRE_FALSE(r.has_value());
    const auto info = libvirt_error_of(r.error());
    REQUIRE(info.has_value());
    CHECK(info->call == "virConnectOpen");
    CHECK(info->code == VIR_ERR_XML_ERROR);
    CHECK(info->domain == VIR_FROM_TEST);
    CHECK(r.error().message() == "virConnectOpen failed: libvirt error 27 (domain 12): XML error: failed to parse xml document '/no/such/host.xml'");
  }
  SUBCASE("the constructor throws libvirt_unavailable with the URI and libvirt's reason") {
    try {
      libvirt_backend b{{"test:///no/such/host.xml", {}, true}};
      FAIL("opened a test host file that does not exist");
    } catch (const libvirt_unavailable& e) {
      const std::string msg = e.what();
      CHECK(msg.find("cannot open libvirt at 'test:///no/such/host.xml': virConnectOpen failed") == 0);
      CHECK(msg.find("/no/such/host.xml") != std::string::npos);
    }
  }
}

TEST_CASE("vCPU online state of a guest: counts through virDomainSetVcpusFlags") {
  libvirt_backend b{test_host()};
  test_guest g{b.native_handle()};
  REQUIRE(b.set_vcpu_online(g.id(), vcpu_id{3}, false).has_value());
  auto v = b.list_vcpus(g.id());
  REQUIRE(v.has_value());
  CHECK_FALSE((*v)[3].online);
  CHECK((*v)[2].online);
  CHECK(virDomainGetVcpusFlags(g.handle(), VIR_DOMAIN_AFFECT_LIVE) == 3);
  REQUIRE(b.set_vcpu_online(g.id(), vcpu_id{3}, true).has_value());
  CHECK(virDomainGetVcpusFlags(g.handle(), VIR_DOMAIN_AFFECT_LIVE) == 4);
  CHECK(b.set_vcpu_online(g.id(), vcpu_id{3}, true).has_value());  // already so: nothing to do
}

TEST_CASE("emulator and I/O threads are placed through libvirt and read back from it") {
  libvirt_backend b{test_host()};
  test_guest g{b.native_handle()};
  REQUIRE(b.set_task_affinity(libvirt_emulator_task(g.id()), cpuset{cpu_id{9}}).has_value());
  REQUIRE(b.set_task_affinity(libvirt_iothread_task(g.id(), 2), cpuset::range(10, 12)).has_value());
  CHECK(g.emulator_pin() == cpuset{cpu_id{9}});
  CHECK(g.iothread_pin(2) == cpuset::range(10, 12));
  CHECK(g.iothread_pin(1) == node1_cpus);
  auto v = b.snapshot();
  REQUIRE(v.has_value());
  CHECK(v->find_task(libvirt_emulator_task(g.id()))->affinity == cpuset{cpu_id{9}});
  CHECK(v->find_task(libvirt_iothread_task(g.id(), 2))->affinity == cpuset::range(10, 12));
  CHECK(b.set_task_memory_node(libvirt_emulator_task(g.id()), node_id::invalid()).has_value());
}

TEST_CASE("the pVM's CPU reservation keeps guests' vCPUs off it, and gives the CPU back") {
  libvirt_backend b{test_host()};
  test_guest g{b.native_handle()};
  REQUIRE(b.set_vcpu_online(pvm_domain, vcpu_id{9}, true).has_value());
  for (unsigned v = 0; v < 4; ++v) CHECK(g.vcpu_pin(v) == node1_cpus - cpuset{cpu_id{9}});
  auto view = b.snapshot();
  REQUIRE(view.has_value());
  CHECK(view->pvm.vcpus[9].online);
  CHECK(view->pvm.online_vcpus() == 2);

  SUBCASE("a vCPU pinned only to reserved CPUs keeps its pinning") {
    REQUIRE(b.set_vcpu_affinity(g.id(), vcpu_id{1}, cpuset{cpu_id{10}}).has_value());
    REQUIRE(b.set_vcpu_online(pvm_domain, vcpu_id{10}, true).has_value());
    CHECK(g.vcpu_pin(1) == cpuset{cpu_id{10}});
    CHECK(g.vcpu_pin(0) == node1_cpus - cpuset{cpu_id{9}, cpu_id{10}});
  }
  SUBCASE("releasing the CPU gives it back to the vCPUs that float over the node's free CPUs") {
    REQUIRE(b.set_vcpu_affinity(g.id(), vcpu_id{2}, cpuset::range(12, 14)).has_value());
    REQUIRE(b.set_vcpu_online(pvm_domain, vcpu_id{9}, false).has_value());
    CHECK(g.vcpu_pin(0) == node1_cpus);
    CHECK(g.vcpu_pin(2) == cpuset::range(12, 14));  // pinned elsewhere: left alone
  }
  SUBCASE("the host keeps one CPU") {
    REQUIRE(b.set_vcpu_online(pvm_domain, vcpu_id{9}, false).has_value());
    CHECK(error_text(b.set_vcpu_online(pvm_domain, vcpu_id{0}, false)) == "invalid state");
  }
  SUBCASE("a pVM vCPU is its CPU") {
    CHECK(b.set_vcpu_affinity(pvm_domain, vcpu_id{9}, node1_cpus).has_value());
    CHECK(error_text(b.set_vcpu_affinity(pvm_domain, vcpu_id{9}, node0_cpus)) == "not supported");
  }
  (void)b.set_vcpu_online(pvm_domain, vcpu_id{10}, false);
  (void)b.set_vcpu_online(pvm_domain, vcpu_id{9}, false);
}

TEST_CASE("the reservation outlives the backend in its state file") {
  fake_proc dir;  // a scratch directory
  const auto file = dir.root() / "state" / "pvm.state";
  {
    libvirt_backend b{{"test:///default", file, true}};
    REQUIRE(b.set_vcpu_online(pvm_domain, vcpu_id{3}, true).has_value());
    REQUIRE(b.set_memory_target(pvm_domain, bytes{1ULL << 30}).has_value());
    REQUIRE(b.set_node_affinity(pvm_domain, nodeset{node_id{0}}).has_value());
  }
  std::ifstream in(file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(text.find("cpus 0,3\nmemory_target 1073741824\nnodes 0\n") != std::string::npos);
  {
    libvirt_backend b{{"test:///default", file, true}};
    auto v = b.snapshot();
    REQUIRE(v.has_value());
    CHECK(v->pvm.online_vcpus() == 2);
    CHECK(v->pvm.vcpus[3].online);
    CHECK(v->pvm.memory_target == bytes{1ULL << 30});
    CHECK(v->pvm.node_affinity == nodeset{node_id{0}});
    REQUIRE(b.set_vcpu_online(pvm_domain, vcpu_id{3}, false).has_value());  // gives CPU 3 back
  }
  SUBCASE("a corrupt file is an error, not a guess") {
    std::ofstream(file) << "cpus 0-3\nmemory_target lots\nnodes 0\n";
    libvirt_backend b{{"test:///default", file, true}};
    CHECK(b.snapshot().error() == errc::corrupt_data);
  }
  SUBCASE("a file naming CPUs this host lacks is not this host's") {
    std::ofstream(file) << "cpus 0,40\nmemory_target 4096\nnodes 0\n";
    libvirt_backend b{{"test:///default", file, true}};
    CHECK(b.snapshot().error() == errc::corrupt_data);
  }
}
