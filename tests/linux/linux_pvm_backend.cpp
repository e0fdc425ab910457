// linux_pvm_backend over the mock host and a fake /proc: discovered tasks in the snapshot, pCPU
// to pVM-vCPU translation, pinning and read-back, transactional plans, and the conformance suite.
#include "backend_conformance.hpp"
#include "fake_proc.hpp"
#include "parked_thread.hpp"

#include <pvmkit/backend/mock.hpp>
#include <pvmkit/controller.hpp>
#include <pvmkit/linux/linux_pvm_backend.hpp>

#include <doctest/doctest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include <sys/syscall.h>
#include <unistd.h>

using namespace pvmkit;
using namespace pvmkit::literals;

namespace {

constexpr std::uint64_t irq(std::uint32_t n) { return n | linux_pvm::irq_task_bit; }

// Two nodes of two pCPUs (0-1, 2-3); guest 1 homed on node 0, guest 2 on node 1; a pVM of four
// vCPUs. Its fake dom0 has netback and blkback threads and the guests' IRQs.
struct dom0_host {
  fake_proc proc;
  linux_pvm_backend<mock_host> b{mock_host{make_uniform_topology(2, 2, 4_GiB), {4, 1_GiB}}, proc.root()};
  domain_id g1 = b.inner().add_guest({"g1", 1, node_id{0}, 256_MiB, {}, false});
  domain_id g2 = b.inner().add_guest({"g2", 1, node_id{1}, 256_MiB, {}, false});

  dom0_host() {
    proc.thread(4'900'310, "vif1.0-q0-guest", "0-3");
    proc.thread(4'900'320, "1.xvda-0", "0-3");
    proc.thread(4'900'410, "vif2.0-q0-guest", "0-3");
    proc.interrupts(" 50:  1  0  0  0  xen-dyn  -event  vif1.0-q0-tx\n"
                    " 53:  1  0  0  0  xen-dyn  -event  vif2.0-q0-tx\n");
    proc.irq(50, "0-3");
    proc.irq(53, "0-3");
  }
  // Closer's dom0 layout: vCPUs 0-1 on node 0, 2-3 on node 1.
  void pin_pvm_per_node() {
    for (std::uint32_t v = 0; v < 4; ++v)
      REQUIRE(b.set_vcpu_affinity(pvm_domain, vcpu_id{v}, v < 2 ? cpuset::range(0, 2) : cpuset::range(2, 4)).has_value());
  }
  const pvm_task& task(const host_view& v, std::uint64_t id) {
    const pvm_task* t = v.find_task(task_id{id});
    REQUIRE(t);
    return *t;
  }
};

}  // namespace

static_assert(TaskPlacement<linux_pvm_backend<mock_host>>);

TEST_CASE("the snapshot lists the pVM's backend work with its guest and pCPU affinity") {
  dom0_host h;
  auto v = h.b.snapshot();
  REQUIRE(v.has_value());
  CHECK(v->tasks.size() == 5);
  const auto& rx1 = h.task(*v, 4'900'310);
  CHECK(rx1.kind == task_kind::net_backend);
  CHECK(rx1.guest == h.g1);
  CHECK(rx1.device == "vif1.0");
  CHECK(rx1.affinity == cpuset::range(0, 4));  // floating pVM vCPUs reach every pCPU
  const auto& i53 = h.task(*v, irq(53));
  CHECK(i53.kind == task_kind::irq);
  CHECK(i53.guest == h.g2);
  CHECK(h.task(*v, 4'900'320).kind == task_kind::block_backend);
  // The inner backend's view is untouched.
  CHECK(v->guests.size() == 2);
  CHECK(v->pvm.vcpus.size() == 4);
}

TEST_CASE("task affinity: pCPUs become the pVM vCPUs pinned there, and read back as pCPUs") {
  dom0_host h;
  h.pin_pvm_per_node();
  REQUIRE(h.b.snapshot().has_value());

  REQUIRE(h.b.set_task_affinity(task_id{irq(53)}, cpuset::range(2, 4)).has_value());
  CHECK(h.proc.read("irq/53/smp_affinity_list") == "2-3");  // dom0 vCPUs 2 and 3
  REQUIRE(h.b.set_task_affinity(task_id{irq(50)}, cpuset::range(0, 2)).has_value());
  CHECK(h.proc.read("irq/50/smp_affinity_list") == "0-1");
  auto v = h.b.snapshot();
  REQUIRE(v.has_value());
  CHECK(h.task(*v, irq(53)).affinity == cpuset::range(2, 4));
  CHECK(h.task(*v, irq(50)).affinity == cpuset::range(0, 2));

  SUBCASE("dom0 vCPU numbers need not match pCPU numbers") {
    // vCPU 0 on pCPU 3, vCPU 3 on pCPU 0: node 1's work goes to dom0 vCPU 0.
    REQUIRE(h.b.set_vcpu_affinity(pvm_domain, vcpu_id{0}, cpuset{cpu_id{3}}).has_value());
    REQUIRE(h.b.set_vcpu_affinity(pvm_domain, vcpu_id{2}, cpuset{cpu_id{0}}).has_value());
    REQUIRE(h.b.set_vcpu_affinity(pvm_domain, vcpu_id{3}, cpuset{cpu_id{0}}).has_value());
    REQUIRE(h.b.set_task_affinity(task_id{irq(53)}, cpuset::range(2, 4)).has_value());
    CHECK(h.proc.read("irq/53/smp_affinity_list") == "0");
    auto after = h.b.snapshot();
    REQUIRE(after.has_value());
    CHECK(h.task(*after, irq(53)).affinity == cpuset{cpu_id{3}});
  }
  SUBCASE("offline pVM vCPUs are not used") {
    REQUIRE(h.b.set_vcpu_online(pvm_domain, vcpu_id{3}, false).has_value());
    REQUIRE(h.b.set_task_affinity(task_id{irq(53)}, cpuset::range(2, 4)).has_value());
    CHECK(h.proc.read("irq/53/smp_affinity_list") == "2");
  }
  SUBCASE("pCPUs no pVM vCPU is pinned inside cannot be honoured") {
    CHECK(h.b.set_task_affinity(task_id{irq(53)}, cpuset{cpu_id{2}}).error() == errc::invalid_state);
    CHECK(h.proc.read("irq/53/smp_affinity_list") == "2-3");
  }
  SUBCASE("bad requests") {
    CHECK(h.b.set_task_affinity(task_id{irq(99)}, cpuset::range(0, 2)).error() == errc::unknown_task);
    CHECK(h.b.set_task_affinity(task_id{irq(53)}, cpuset{cpu_id{9}}).error() == errc::unknown_cpu);
    CHECK(h.b.set_task_affinity(task_id{irq(53)}, cpuset{}).error() == errc::invalid_argument);
    CHECK(h.proc.read("irq/53/smp_affinity_list") == "2-3");
  }
}

TEST_CASE("a real thread is pinned with sched_setaffinity through the translation") {
  cpuset allowed;
  {
    auto mine = linux_pvm::thread_affinity(static_cast<std::uint32_t>(::syscall(SYS_gettid)));
    REQUIRE(mine.has_value());
    allowed = *mine;
  }
  if (!allowed.contains(cpu_id{0}) || !allowed.contains(cpu_id{1})) {
    MESSAGE("needs CPUs 0 and 1; this process may only use " << allowed.to_string());
    return;
  }
  parked_thread parked;
  const std::uint32_t tid = parked.tid();
  fake_proc proc;
  proc.thread(tid, "vif2.0-q0-guest");  // the fake tree names it; the kernel pins it
  // A pVM of two online vCPUs: vCPU 0 on node 0 (pCPUs 0-1), vCPU 1 on node 1 (pCPUs 2-3).
  linux_pvm_backend<mock_host> b{mock_host{make_uniform_topology(2, 2, 4_GiB), {2, 1_GiB}}, proc.root()};
  (void)b.inner().add_guest({"g1", 1, node_id{0}, 256_MiB, {}, false});
  (void)b.inner().add_guest({"g2", 1, node_id{1}, 256_MiB, {}, false});
  REQUIRE(b.set_vcpu_affinity(pvm_domain, vcpu_id{0}, cpuset::range(0, 2)).has_value());
  REQUIRE(b.set_vcpu_affinity(pvm_domain, vcpu_id{1}, cpuset::range(2, 4)).has_value());
  REQUIRE(b.snapshot().has_value());

  REQUIRE(b.set_task_affinity(task_id{tid}, cpuset::range(2, 4)).has_value());
  CHECK(linux_pvm::thread_affinity(tid).value() == cpuset{cpu_id{1}});
  auto v = b.snapshot();
  REQUIRE(v.has_value());
  const pvm_task* t = v->find_task(task_id{tid});
  REQUIRE(t);
  CHECK(t->guest == domain_id{2});
  CHECK(t->affinity == cpuset::range(2, 4));

  REQUIRE(b.set_task_affinity(task_id{tid}, cpuset::range(0, 2)).has_value());
  CHECK(linux_pvm::thread_affinity(tid).value() == cpuset{cpu_id{0}});
}

TEST_CASE("task memory: a PV dom0 cannot choose the node, and says so") {
  dom0_host h;
  REQUIRE(h.b.snapshot().has_value());
  CHECK(h.b.set_task_memory_node(task_id{irq(53)}, node_id{1}).error() == errc::not_supported);
  CHECK(h.b.set_task_memory_node(task_id{irq(53)}, node_id::invalid()).has_value());
  CHECK(h.b.set_task_memory_node(task_id{irq(98)}, node_id::invalid()).error() == errc::unknown_task);
  static_assert(!backend_traits<linux_pvm_backend<mock_host>>::places_task_memory);
}

TEST_CASE("a plan over inner and task actions is applied as a transaction") {
  dom0_host h;
  auto before = h.b.snapshot();
  REQUIRE(before.has_value());
  plan p;
  for (std::uint32_t v = 0; v < 4; ++v)
    p.add(set_vcpu_affinity{pvm_domain, vcpu_id{v}, v < 2 ? cpuset::range(0, 2) : cpuset::range(2, 4)}, "per node");
  p.add(set_task_affinity{task_id{irq(53)}, cpuset::range(2, 4)}, "guest 2's node");
  p.add(set_task_affinity{task_id{irq(50)}, cpuset::range(0, 2)}, "guest 1's node");

  SUBCASE("all steps succeed") {
    const auto r = apply_plan(h.b, *before, p);
    CHECK(r.ok());
    CHECK(r.applied == 6);
    CHECK(h.proc.read("irq/53/smp_affinity_list") == "2-3");
    CHECK(h.proc.read("irq/50/smp_affinity_list") == "0-1");
  }
  SUBCASE("a failing last step rolls the IRQs and the vCPUs back") {
    p.add(set_task_affinity{task_id{irq(77)}, cpuset::range(0, 2)}, "an IRQ that does not exist");
    const auto r = apply_plan(h.b, *before, p);
    CHECK_FALSE(r.ok());
    CHECK(r.error == errc::invalid_argument);  // not in the snapshot: refused before anything runs
    CHECK(h.proc.read("irq/53/smp_affinity_list") == "0-3");
  }
  SUBCASE("a step the OS refuses mid-way rolls back what was applied") {
    // The IRQ vanishes between the snapshot and the apply (the guest was destroyed).
    std::filesystem::remove_all(h.proc.root() / "irq" / "50");
    const auto r = apply_plan(h.b, *before, p);
    CHECK_FALSE(r.ok());
    CHECK(r.failed_step == std::optional<std::size_t>{5});
    CHECK(r.error == errc::unknown_task);
    CHECK(r.rolled_back);
    auto after = h.b.snapshot();
    REQUIRE(after.has_value());
    CHECK(h.task(*after, irq(53)).affinity == cpuset::range(0, 4));
    for (const auto& v : after->pvm.vcpus) CHECK(v.hard_affinity == cpuset::range(0, 4));
  }
}

TEST_CASE("CPU load of a task from its stat ticks, summed per guest") {
  dom0_host h;
  REQUIRE(h.b.snapshot().has_value());
  h.proc.thread(4'900'310, "vif1.0-q0-guest", "0-3", 50);
  h.proc.thread(4'900'320, "1.xvda-0", "0-3", 20);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto v = h.b.snapshot();
  REQUIRE(v.has_value());
  const double rx = h.task(*v, 4'900'310).cpu_load, blk = h.task(*v, 4'900'320).cpu_load;
  CHECK(rx > 0);
  CHECK(blk > 0);
  CHECK(rx > blk);
  CHECK(h.task(*v, 4'900'410).cpu_load == 0);
  const domain_state* g1 = v->find_domain(h.g1);
  REQUIRE(g1);
  CHECK(g1->io.pvm_cores == doctest::Approx(rx + blk));
}

namespace {
// The wrapper must leave the Backend contract intact.
struct linux_pvm_mock_fixture {
  fake_proc proc;
  linux_pvm_backend<mock_host> b{mock_host{make_uniform_topology(2, 4, 8_GiB)}, proc.root()};
  domain_id g = b.inner().add_guest({"g1", 2, node_id{1}, 1_GiB, {}, false});
  linux_pvm_backend<mock_host>& backend() { return b; }
  domain_id guest() const { return g; }
};
}  // namespace

TEST_CASE_TEMPLATE_INVOKE(pvmkit_backend_conformance, linux_pvm_mock_fixture);
