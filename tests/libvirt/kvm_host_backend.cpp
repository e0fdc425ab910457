// Closer on a KVM host: the libvirt backend with the host's Linux layer on a fake /proc, against
// libvirt's test driver. The backend conformance suite, and rounds read back through libvirt.
#include "backend_conformance.hpp"
#include "fake_proc.hpp"
#include "test_host.hpp"

#include <pvmkit/controller.hpp>
#include <pvmkit/libvirt/kvm_host_backend.hpp>
#include <pvmkit/placement/closer.hpp>
#include <pvmkit/sizing/closer_dynamic.hpp>

#include <doctest/doctest.h>

#include <variant>

using namespace pvmkit;
using pvmkit::test::hostdev;
using pvmkit::test::node1_cpus;
using pvmkit::test::test_guest;
using pvmkit::test::test_host;

namespace {

struct kvm_host_fixture {
  fake_proc proc;
  kvm_host_backend b = make_kvm_host_backend(test_host(), proc.root());
  test_guest g{b.inner().native_handle()};
  kvm_host_backend& backend() { return b; }
  domain_id guest() const { return g.id(); }
};

}  // namespace

TEST_CASE_TEMPLATE_INVOKE(pvmkit_backend_conformance, kvm_host_fixture);

TEST_CASE("Closer and closer_dynamic rounds on the test host, read back through libvirt") {
  fake_proc proc;
  proc.interrupts("           CPU0       CPU1\n"
                  " 40:          7          0  IR-PCI-MSIX-0000:06:12.5    0-edge      vfio-msix[0](0000:06:12.5)\n");
  proc.irq(40, "0-15");
  kvm_host_backend b = make_kvm_host_backend(test_host(), proc.root());
  test_guest g{b.inner().native_handle(), hostdev};
  // One round as the agent runs it: sizing, then placement on the projected view; the controller
  // drops the steps that ask for a task's memory node (libvirt places memory per guest).
  controller ctl{b, sizing::closer_dynamic{}, placement::closer{}};
  auto round = [&] {
    auto r = ctl.step();
    REQUIRE(r.has_value());
    CHECK_MESSAGE(r->applied.ok(), "step " << r->applied.failed_step.value_or(0) << ": " << r->applied.error.message());
    for (const auto& s : r->planned.steps()) CHECK_FALSE(std::holds_alternative<set_task_memory_node>(s.what));
    return r->planned;
  };

  const plan first = round();
  // closer_dynamic: node 1 homes a guest and had no pVM CPU: its lowest CPU (8) is reserved.
  auto v = b.snapshot();
  REQUIRE(v.has_value());
  CHECK(v->pvm.vcpus[8].online);
  const cpuset reserved1{cpu_id{8}};
  // closer: the guest's emulator and I/O threads on its node's pVM CPU, read back from libvirt.
  CHECK(g.emulator_pin() == reserved1);
  CHECK(g.iothread_pin(1) == reserved1);
  CHECK(g.iothread_pin(2) == reserved1);
  // Its device's IRQ through the Linux layer, on the same CPU.
  CHECK(proc.read("irq/40/smp_affinity_list") == "8");
  const pvm_task* irq = v->find_task(task_id{40U | linux_pvm::irq_task_bit});
  REQUIRE(irq);
  CHECK(irq->guest == g.id());
  CHECK(irq->device == "0000:06:12.5");
  // The guest's vCPUs are kept off the reservation.
  for (unsigned c = 0; c < 4; ++c) CHECK(g.vcpu_pin(c) == node1_cpus - reserved1);

  // A settled host: the next round moves nothing.
  const plan second = round();
  for (const auto& s : second.steps()) {
    CHECK_FALSE(std::holds_alternative<set_task_affinity>(s.what));
    CHECK_FALSE(std::holds_alternative<set_vcpu_online>(s.what));
  }
  CHECK(g.emulator_pin() == reserved1);
  // Give the host back what the rounds took, for the tests after this one.
  auto last = b.snapshot();
  REQUIRE(last.has_value());
  for (const auto& vc : last->pvm.vcpus)
    if (vc.online && vc.id != vcpu_id{0}) (void)b.set_vcpu_online(pvm_domain, vc.id, false);
  CHECK_FALSE(first.empty());
}
