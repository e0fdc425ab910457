// The names pvmkit reads from /proc (linux/pvm_tasks.hpp, linux/kvm_tasks.hpp): thread comms,
// command lines, /proc/interrupts lines and their action names. Each parser answers nullopt for
// what it does not recognise and throws nothing. What it recognises names a real guest (a Xen
// domid, never the invalid id), and an interrupt keeps a task id of its own, apart from every
// thread's. The input is tried as each kind of text, and each of its lines as an interrupts line.
#include "fuzz_support.hpp"

#include <pvmkit/core/ids.hpp>
#include <pvmkit/linux/kvm_tasks.hpp>
#include <pvmkit/linux/pvm_tasks.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

namespace lp = pvmkit::linux_pvm;
using pvmkit::fuzz::expect;

void check_name(const lp::name_match& m) {
  expect(m.guest.valid(), "a recognised name names a valid guest");
  expect(!m.device.empty(), "a recognised name names its device");
}

void check_interrupts_line(std::string_view line) {
  const auto parsed = lp::parse_interrupts_line(line);
  if (!parsed) return;
  for (const auto& tok : parsed->tokens) {
    expect(!tok.empty() && tok.back() != ',', "an action token is not empty and has no trailing comma");
    expect(tok.find_first_of(" \t\n") == std::string::npos, "an action token holds no blank");
  }
  const lp::found_task irq{lp::task_source::irq, parsed->irq, "", {}, false};
  const lp::found_task thread{lp::task_source::thread, parsed->irq, "", {}, false};
  expect(irq.id().valid() && irq.id() != thread.id(), "an IRQ's task id is valid and not the thread's of that number");
  expect(irq.id().value() - lp::irq_task_bit == parsed->irq, "an IRQ's task id keeps its number");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = pvmkit::fuzz::as_text(data, size);
  // parse_backend_thread reads a comm, which the kernel cuts to comm_length; longer text too.
  if (const auto m = lp::parse_backend_thread(text)) {
    expect(m->kind == pvmkit::task_kind::net_backend || m->kind == pvmkit::task_kind::block_backend, "a backend thread");
    check_name(*m);
  }
  if (const auto dom = lp::parse_device_model_cmdline(text)) expect(dom->valid(), "a device model names a valid domain");
  if (const auto m = lp::parse_irq_action(text)) {
    if (text == "blkif-backend") expect(m->kind == pvmkit::task_kind::block_backend && !m->guest.valid(), "blkif-backend is unattributed");
    else {
      expect(m->kind == pvmkit::task_kind::net_backend, "a vif IRQ is netback's");
      check_name(*m);
    }
  }
  for (std::size_t start = 0; start <= text.size();) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    check_interrupts_line(text.substr(start, end - start));
    start = end + 1;
  }
  if (const auto name = lp::parse_qemu_guest_name(text)) expect(!name->empty(), "a QEMU guest name is not empty");
  if (const auto pid = lp::parse_vhost_thread(text)) {
    expect(*pid != 0, "a vhost worker names a QEMU pid");
    expect(lp::parse_vhost_thread("vhost-" + std::to_string(*pid)) == pid, "a vhost name round-trips");
  }
  if (const auto addr = lp::parse_vfio_irq(text)) expect(addr->size() == 12, "a PCI address dddd:bb:ss.f");
  return 0;
}
