// A KVM host's per-guest work in a fake /proc tree: QEMU processes found by their -name, vhost
// threads in both of the kernel's forms, vfio device IRQs, and their placement through
// linux_pvm_backend (these machines have no vhost-net and no passed-through device).
#include "fake_proc.hpp"
#include "parked_thread.hpp"

#include <pvmkit/backend/mock.hpp>
#include <pvmkit/linux/kvm_tasks.hpp>
#include <pvmkit/linux/linux_pvm_backend.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>

#include <sys/syscall.h>
#include <unistd.h>

using namespace pvmkit;
using namespace pvmkit::literals;
using namespace std::string_literals;

namespace {

constexpr std::uint64_t irq(std::uint32_t n) { return n | linux_pvm::irq_task_bit; }

// The mock host plus the guest listing a KVM host's toolstack gives the Linux layer.
struct kvm_mock : mock_host {
  using mock_host::mock_host;
  std::vector<linux_pvm::kvm_guest> guests;
  result<std::vector<linux_pvm::kvm_guest>> kvm_guests() { return guests; }
};
static_assert(linux_pvm::KvmGuestSource<kvm_mock>);

// QEMU 4'900'100 runs g1 (domain 1) with an old-style vhost kernel thread; QEMU 4'900'200 runs g2
// (domain 2) with a vhost_task thread inside it and a passed-through NIC whose MSI-X vectors are
// IRQs 60 and 61. Noise: a vhost thread of some other process, another device's IRQ, a process
// that is not QEMU, a QEMU for a guest libvirt does not list.
void lay_out_host(fake_proc& p) {
  p.process(4'900'100, "qemu-system-x86", "/usr/bin/qemu-system-x86_64\0-name\0guest=g1,debug-threads=on\0-S\0"s);
  p.thread(4'900'150, "vhost-4900100");
  p.process(4'900'200, "qemu-system-x86", "qemu-system-x86_64\0-name\0guest=g2,debug-threads=on\0"s);
  p.task(4'900'200, 4'900'200, "qemu-system-x86");
  p.task(4'900'200, 4'900'201, "CPU 0/KVM");
  p.task(4'900'200, 4'900'260, "vhost-4900200");
  p.thread(4'900'300, "vhost-4900999");
  p.process(4'900'400, "bash", "bash\0-c\0echo -name guest=g1\0"s);
  p.process(4'900'500, "qemu-system-x86", "qemu-system-x86_64\0-name\0guest=stranger\0"s);
  p.interrupts("            CPU0       CPU1       CPU2       CPU3\n"
               "  60:          1          0          0          0  IR-PCI-MSIX-0000:06:12.5    0-edge      vfio-msix[0](0000:06:12.5)\n"
               "  61:          1          0          0          0  IR-PCI-MSIX-0000:06:12.5    1-edge      vfio-msix[1](0000:06:12.5)\n"
               "  62:          1          0          0          0  IR-PCI-MSIX-0000:07:00.0    0-edge      vfio-msix[0](0000:07:00.0)\n"
               "  63:          9          0          0          0  IR-PCI-MSI-524288-edge      eth0\n");
  for (std::uint32_t n : {60U, 61U, 62U, 63U}) p.irq(n, "0-3");
}

std::vector<linux_pvm::kvm_guest> two_guests() {
  return {{domain_id{1}, "g1", {}}, {domain_id{2}, "g2", {"0000:06:12.5"}}};
}

}  // namespace

TEST_CASE("QEMU's guest name, vhost owners and vfio addresses from their names") {
  using linux_pvm::parse_qemu_guest_name;
  CHECK(parse_qemu_guest_name("qemu\0-name\0guest=web-1,debug-threads=on\0"s) == std::optional<std::string>{"web-1"});
  CHECK(parse_qemu_guest_name("qemu\0-name\0guest=a,,b,debug-threads=on\0"s) == std::optional<std::string>{"a,b"});
  CHECK(parse_qemu_guest_name("qemu\0-name\0plain\0"s) == std::optional<std::string>{"plain"});
  CHECK_FALSE(parse_qemu_guest_name("qemu\0-name\0process=x\0"s).has_value());
  CHECK_FALSE(parse_qemu_guest_name("qemu\0-m\0512\0"s).has_value());
  CHECK_FALSE(parse_qemu_guest_name("qemu\0-name\0"s).has_value());

  using linux_pvm::parse_vhost_thread;
  CHECK(parse_vhost_thread("vhost-4242") == std::optional<std::uint32_t>{4242});
  CHECK_FALSE(parse_vhost_thread("vhost-").has_value());
  CHECK_FALSE(parse_vhost_thread("vhost-12x").has_value());
  CHECK_FALSE(parse_vhost_thread("vhost_net").has_value());

  using linux_pvm::parse_vfio_irq;
  CHECK(parse_vfio_irq("vfio-msix[3](0000:06:12.5)") == std::optional<std::string>{"0000:06:12.5"});
  CHECK(parse_vfio_irq("vfio-msi[0](0000:81:00.1)") == std::optional<std::string>{"0000:81:00.1"});
  CHECK(parse_vfio_irq("vfio-intx(0000:00:1f.3)") == std::optional<std::string>{"0000:00:1f.3"});
  CHECK_FALSE(parse_vfio_irq("vfio-err(0000:06:12.5)").has_value());
  CHECK_FALSE(parse_vfio_irq("vfio-msix[0](06:12.5)").has_value());
  CHECK_FALSE(parse_vfio_irq("vif1.0-q0-tx").has_value());
}

TEST_CASE("discovery: each guest's vhost threads (both kernel forms) and device IRQs, nothing else") {
  fake_proc p;
  lay_out_host(p);
  const auto found = linux_pvm::discover_kvm_tasks(p.root(), two_guests());
  REQUIRE(found.size() == 4);
  CHECK(found[0].number == 4'900'150);
  CHECK(found[0].what.guest == domain_id{1});
  CHECK(found[0].what.kind == task_kind::net_backend);
  CHECK(found[0].name == "vhost-4900100");
  CHECK(found[1].number == 4'900'260);
  CHECK(found[1].what.guest == domain_id{2});
  CHECK(found[1].source == linux_pvm::task_source::thread);
  CHECK(found[2].id() == task_id{irq(60)});
  CHECK(found[2].what.guest == domain_id{2});
  CHECK(found[2].what.device == "0000:06:12.5");
  CHECK(found[3].id() == task_id{irq(61)});
  // No guests listed: nothing is anyone's.
  CHECK(linux_pvm::discover_kvm_tasks(p.root(), {}).empty());
}

TEST_CASE("linux_pvm_backend on a KVM host: vhost threads and device IRQs in the snapshot, pinned per node") {
  fake_proc p;
  lay_out_host(p);
  // Two nodes of two CPUs; the pVM's vCPU v is host CPU v (a KVM host), CPUs 1 and 3 reserved.
  linux_pvm_backend<kvm_mock> b{kvm_mock{make_uniform_topology(2, 2, 4_GiB), {4, 1_GiB}}, p.root()};
  b.inner().guests = two_guests();
  for (std::uint32_t v = 0; v < 4; ++v) {
    REQUIRE(b.set_vcpu_affinity(pvm_domain, vcpu_id{v}, cpuset{cpu_id{v}}).has_value());
    if (v % 2 == 0) REQUIRE(b.set_vcpu_online(pvm_domain, vcpu_id{v}, false).has_value());
  }
  auto v = b.snapshot();
  REQUIRE(v.has_value());
  const pvm_task* vhost2 = v->find_task(task_id{4'900'260});
  REQUIRE(vhost2);
  CHECK(vhost2->guest == domain_id{2});
  CHECK(vhost2->affinity == cpuset::range(0, 4));  // from the tree's status file
  const pvm_task* dev = v->find_task(task_id{irq(61)});
  REQUIRE(dev);
  CHECK(dev->kind == task_kind::irq);
  CHECK(dev->guest == domain_id{2});
  CHECK(v->find_task(task_id{irq(62)}) == nullptr);  // nobody's device
  CHECK(v->find_task(task_id{4'900'300}) == nullptr);

  // Node 1 = CPUs 2-3, of which CPU 3 is reserved: the IRQ goes there.
  REQUIRE(b.set_task_affinity(task_id{irq(61)}, cpuset::range(2, 4)).has_value());
  CHECK(p.read("irq/61/smp_affinity_list") == "3");
  auto after = b.snapshot();
  REQUIRE(after.has_value());
  CHECK(after->find_task(task_id{irq(61)})->affinity == cpuset{cpu_id{3}});
  CHECK(p.read("irq/60/smp_affinity_list") == "0-3");
  // A node without a reserved CPU cannot take it.
  CHECK(b.set_task_affinity(task_id{irq(60)}, cpuset{cpu_id{2}}).error() == errc::invalid_state);
}

TEST_CASE("a real vhost-named thread is pinned with sched_setaffinity to its guest's reserved CPU") {
  cpuset allowed = linux_pvm::thread_affinity(static_cast<std::uint32_t>(::syscall(SYS_gettid))).value();
  if (!allowed.contains(cpu_id{0}) || !allowed.contains(cpu_id{1})) {
    MESSAGE("needs CPUs 0 and 1; this process may only use " << allowed.to_string());
    return;
  }
  parked_thread parked;
  const std::uint32_t tid = parked.tid();
  fake_proc p;
  p.process(4'900'700, "qemu-system-x86", "qemu\0-name\0guest=g7\0"s);
  p.thread(tid, "vhost-4900700");  // the tree names it a vhost worker of g7's QEMU; the kernel pins it
  // One CPU per node (0 and 1), both reserved: pVM vCPU v = CPU v.
  linux_pvm_backend<kvm_mock> b{kvm_mock{make_uniform_topology(2, 1, 2_GiB), {2, 1_GiB}}, p.root()};
  b.inner().guests = {{domain_id{7}, "g7", {}}};
  REQUIRE(b.set_vcpu_affinity(pvm_domain, vcpu_id{0}, cpuset{cpu_id{0}}).has_value());
  REQUIRE(b.set_vcpu_affinity(pvm_domain, vcpu_id{1}, cpuset{cpu_id{1}}).has_value());
  auto v = b.snapshot();
  REQUIRE(v.has_value());
  REQUIRE(v->find_task(task_id{tid}));
  CHECK(v->find_task(task_id{tid})->guest == domain_id{7});
  REQUIRE(b.set_task_affinity(task_id{tid}, cpuset{cpu_id{1}}).has_value());
  CHECK(linux_pvm::thread_affinity(tid).value() == cpuset{cpu_id{1}});
  REQUIRE(b.set_task_affinity(task_id{tid}, cpuset{cpu_id{0}}).has_value());
  CHECK(linux_pvm::thread_affinity(tid).value() == cpuset{cpu_id{0}});
}

TEST_CASE("CPU load of the toolstack's emulator and I/O-thread tasks, from QEMU's threads") {
  fake_proc p;
  p.process(4'900'800, "qemu-system-x86", "qemu\0-name\0guest=g1\0"s);
  p.task(4'900'800, 4'900'800, "qemu-system-x86", "0-3", 100);
  p.task(4'900'800, 4'900'801, "call_rcu", "0-3", 10);
  p.task(4'900'800, 4'900'802, "CPU 0/KVM", "0-3", 5000);
  p.task(4'900'800, 4'900'803, "IO iothread1", "0-3", 40);
  p.task(4'900'800, 4'900'804, "IO iothread12", "0-3", 7);
  p.task(4'900'800, 4'900'805, "vhost-4900800", "0-3", 900);
  linux_pvm_backend<kvm_mock> b{kvm_mock{make_uniform_topology(2, 2, 4_GiB), {4, 1_GiB}}, p.root()};
  const auto g = b.inner().add_guest({"g1", 1, node_id{0}, 256_MiB, {}, false});
  const task_id emu = b.inner().add_task({"g1 emulator", task_kind::device_model, g, "", 0.0});
  const task_id io1 = b.inner().add_task({"g1 iothread 1", task_kind::block_backend, g, "", 0.0});
  b.inner().guests = {{g, "g1", {}, emu, {{1U, io1}}}};
  std::map<domain_id, std::uint32_t> qemu;
  (void)linux_pvm::discover_kvm_tasks(p.root(), b.inner().guests, &qemu);
  CHECK(qemu == std::map<domain_id, std::uint32_t>{{g, 4'900'800}});
  // Main thread, call_rcu and the I/O thread the toolstack does not know (12) are emulator time.
  const auto ticks = linux_pvm::kvm_thread_task_ticks(p.root(), b.inner().guests, qemu);
  CHECK(ticks == std::vector<std::pair<task_id, std::uint64_t>>{{emu, 117}, {io1, 40}});

  REQUIRE(b.snapshot().has_value());
  p.task(4'900'800, 4'900'800, "qemu-system-x86", "0-3", 150);
  p.task(4'900'800, 4'900'803, "IO iothread1", "0-3", 90);
  p.task(4'900'800, 4'900'805, "vhost-4900800", "0-3", 1000);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto v = b.snapshot();
  REQUIRE(v.has_value());
  const double e = v->find_task(emu)->cpu_load, io = v->find_task(io1)->cpu_load, vh = v->find_task(task_id{4'900'805})->cpu_load;
  CHECK(e > 0);
  CHECK(io == doctest::Approx(e));  // both rose by 50 ticks
  CHECK(vh == doctest::Approx(2 * e));
  CHECK(v->find_domain(g)->io.pvm_cores == doctest::Approx(e + io + vh));
}

TEST_CASE("tasks the inner backend reports are placed by it, not by the Linux layer") {
  // mock_host has TaskPlacement: its tasks go through it even when /proc knows nothing of them.
  fake_proc p;
  linux_pvm_backend<kvm_mock> b{kvm_mock{make_uniform_topology(2, 2, 4_GiB), {4, 1_GiB}}, p.root()};
  const auto g = b.inner().add_guest({"g1", 1, node_id{1}, 256_MiB, {}, false});
  const task_id t = b.inner().add_task({"g1 emulator", task_kind::device_model, g, "", 0.1});
  REQUIRE(b.snapshot().has_value());
  REQUIRE(b.set_task_affinity(t, cpuset::range(2, 4)).has_value());
  auto v = b.snapshot();
  REQUIRE(v.has_value());
  CHECK(v->find_task(t)->affinity == cpuset::range(2, 4));
  CHECK(b.set_task_affinity(task_id{777}, cpuset::range(2, 4)).error() == errc::unknown_task);
}
