// Discovery of the pVM's backend work: name parsing edge cases and scans of fake /proc trees.
#include "fake_proc.hpp"

#include <pvmkit/linux/pvm_tasks.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>

using namespace pvmkit;
using namespace std::string_literals;
using namespace pvmkit::linux_pvm;

TEST_CASE("netback thread names, whole and cut to 15 characters") {
  SUBCASE("whole names") {
    auto rx = parse_backend_thread("vif3.0-q0-dealloc");  // 17: as Linux never shows it, still parsed
    REQUIRE(rx);
    CHECK(rx->kind == task_kind::net_backend);
    CHECK(rx->guest == domain_id{3});
    CHECK(rx->device == "vif3.0");
  }
  SUBCASE("cut names keep domain and device") {
    // "vif3.0-q0-guest-rx" as comm shows it
    auto a = parse_backend_thread("vif3.0-q0-guest");
    REQUIRE(a);
    CHECK(a->guest == domain_id{3});
    CHECK(a->device == "vif3.0");
    auto b = parse_backend_thread("vif12.1-q3-deal");
    REQUIRE(b);
    CHECK(b->guest == domain_id{12});
    CHECK(b->device == "vif12.1");
    // cut inside the queue number and right after it
    auto c = parse_backend_thread("vif1234.10-q123");
    REQUIRE(c);
    CHECK(c->guest == domain_id{1234});
    CHECK(c->device == "vif1234.10");
    auto d = parse_backend_thread("vif32767.0-q11-");
    REQUIRE(d);
    CHECK(d->guest == domain_id{32767});
  }
  SUBCASE("short names must be whole") {
    CHECK_FALSE(parse_backend_thread("vif3.0-q0-guest"s.substr(0, 12)));  // "vif3.0-q0-gu": not cut, not whole
    CHECK_FALSE(parse_backend_thread("vif3.0"));                           // the interface, not a thread
    CHECK_FALSE(parse_backend_thread("vif3.0-q0-tx"));                     // an IRQ name, not a thread
  }
  SUBCASE("look-alikes are ignored") {
    CHECK_FALSE(parse_backend_thread("vifx.0-q0-guest"));
    CHECK_FALSE(parse_backend_thread("vif3-q0-guest-rx"));
    CHECK_FALSE(parse_backend_thread("vif3.-q0-guest-r"));
    CHECK_FALSE(parse_backend_thread("vif3.0-x0-guest-"));
    CHECK_FALSE(parse_backend_thread("vif3.0-q0-guestX"));  // 15, but not a prefix of either suffix
    CHECK_FALSE(parse_backend_thread("kworker/0:1"));
    CHECK_FALSE(parse_backend_thread(""));
  }
}

TEST_CASE("blkback thread names on 6.1 and older kernels") {
  auto a = parse_backend_thread("5.xvda-0");
  REQUIRE(a);
  CHECK(a->kind == task_kind::block_backend);
  CHECK(a->guest == domain_id{5});
  CHECK(a->device == "xvda");
  auto b = parse_backend_thread("blkback.7.xvdb");
  REQUIRE(b);
  CHECK(b->guest == domain_id{7});
  CHECK(b->device == "xvdb");
  auto c = parse_backend_thread("blkback.123.xvd");  // cut at 15
  REQUIRE(c);
  CHECK(c->guest == domain_id{123});
  auto d = parse_backend_thread("12345.xvdaa-12");
  REQUIRE(d);
  CHECK(d->device == "xvdaa");
  auto e = parse_backend_thread("12345.xvdab-123");  // exactly 15: the ring may be cut
  REQUIRE(e);
  CHECK(e->guest == domain_id{12345});
  CHECK_FALSE(parse_backend_thread("5.xvda"));        // 6.1 always appends the ring
  CHECK_FALSE(parse_backend_thread("5.xvda-x"));
  CHECK_FALSE(parse_backend_thread("5.Xvda-0"));
  CHECK_FALSE(parse_backend_thread("5.-0"));
  CHECK_FALSE(parse_backend_thread("blkback.x.xvda"));
  CHECK_FALSE(parse_backend_thread("blkback.7.xvda-0"));
  CHECK_FALSE(parse_backend_thread("1.5"));
}

TEST_CASE("device model command lines") {
  using namespace std::string_literals;
  CHECK(parse_device_model_cmdline("/usr/bin/qemu-system-i386\0-xen-domid\0004\0-nographic\0"s) == domain_id{4});
  CHECK(parse_device_model_cmdline("qemu\0-machine\0xenpv\0-xen-domid\0" "17"s) == domain_id{17});
  CHECK_FALSE(parse_device_model_cmdline("qemu\0-xen-domid\0"s));           // no value
  CHECK_FALSE(parse_device_model_cmdline("qemu\0-xen-domid\0x4\0"s));       // not a number
  CHECK_FALSE(parse_device_model_cmdline("qemu\0-xen-domid=4\0"s));
  CHECK_FALSE(parse_device_model_cmdline("/bin/sh\0-c\0echo -xen-domid 4\0"s));
  CHECK_FALSE(parse_device_model_cmdline(""));
}

TEST_CASE("/proc/interrupts lines and IRQ action names") {
  auto l = parse_interrupts_line(" 57:        123          0          4          0  xen-dyn    -event     vif3.0-q0-tx");
  REQUIRE(l);
  CHECK(l->irq == 57);
  REQUIRE(!l->tokens.empty());
  CHECK(l->tokens.back() == "vif3.0-q0-tx");
  auto m = parse_irq_action(l->tokens.back());
  REQUIRE(m);
  CHECK(m->guest == domain_id{3});
  CHECK(m->device == "vif3.0");
  CHECK(parse_irq_action("vif3.0-q1-rx"));
  CHECK(parse_irq_action("vif3.0-q1"));  // one event channel for both directions
  CHECK(parse_irq_action("vif3.0"));
  auto blk = parse_irq_action("blkif-backend");
  REQUIRE(blk);
  CHECK(blk->kind == task_kind::block_backend);
  CHECK_FALSE(blk->guest.valid());
  CHECK_FALSE(parse_irq_action("vif3.0-q1-xx"));
  CHECK_FALSE(parse_irq_action("xen-dyn"));
  CHECK_FALSE(parse_irq_action("-event"));
  CHECK_FALSE(parse_interrupts_line("           CPU0       CPU1"));
  CHECK_FALSE(parse_interrupts_line("NMI:          0          0   Non-maskable interrupts"));
  CHECK_FALSE(parse_interrupts_line(" 57 123 xen-dyn vif3.0-q0-tx"));  // no colon
  CHECK_FALSE(parse_interrupts_line(""));
  auto shared = parse_interrupts_line("  9:  0  0  IO-APIC   9-fasteoi   acpi, vif2.0-q0-rx");
  REQUIRE(shared);
  CHECK(std::find(shared->tokens.begin(), shared->tokens.end(), "acpi") != shared->tokens.end());
  CHECK(std::find(shared->tokens.begin(), shared->tokens.end(), "vif2.0-q0-rx") != shared->tokens.end());
}

TEST_CASE("discovering a dom0's backend work in a fake /proc") {
  fake_proc proc;
  proc.thread(2, "kthreadd");
  proc.thread(310, "vif1.0-q0-guest");
  proc.thread(311, "vif1.0-q0-deall");
  proc.thread(320, "1.xvda-0");
  proc.thread(410, "vif2.0-q0-guest");
  proc.thread(411, "vif2.0-q0-deall");
  proc.thread(420, "2.xvda-0");
  proc.thread(500, "vif9.0-q0-guestX");  // 16 characters: no comm is that long
  proc.process(501, "vif9.0-q0-guest", "/usr/bin/impostor\0"s);  // has a command line: not a kernel thread
  proc.process(600, "qemu-system-i38", "/usr/bin/qemu-system-i386\0-xen-domid\0" "2\0-nographic\0"s);
  proc.process(601, "qemu-system-i38", "/usr/bin/qemu-system-i386\0-xen-domid\0" "0\0"s);  // dom0's qdisk
  proc.process(700, "bash", "/bin/bash\0"s);
  proc.interrupts("           CPU0       CPU1       CPU2       CPU3\n"
                  " 50:        10          0          0          0  xen-dyn    -event     vif1.0-q0-tx\n"
                  " 51:         3          0          0          0  xen-dyn    -event     vif1.0-q0-rx\n"
                  " 52:        70          0          0          0  xen-dyn    -event     blkif-backend\n"
                  " 53:        11          0          0          0  xen-dyn    -event     vif2.0-q0-tx\n"
                  " 54:         2          0          0          0  xen-dyn    -event     vif2.0-q0-rx\n"
                  " 55:        90          0          0          0  xen-dyn    -event     blkif-backend\n"
                  " 56:       garbage line\n"
                  "this is not an interrupt line\n"
                  "NMI:          0          0          0          0   Non-maskable interrupts\n");
  const auto found = discover_pvm_tasks(proc.root());
  auto by_id = [&](task_id id) -> const found_task* {
    for (const auto& f : found)
      if (f.id() == id) return &f;
    return nullptr;
  };
  CHECK(found.size() == 6 + 2 + 6);
  for (std::uint32_t tid : {310U, 311U, 320U, 410U, 411U, 420U}) REQUIRE(by_id(task_id{tid}));
  CHECK(by_id(task_id{310})->what.guest == domain_id{1});
  CHECK(by_id(task_id{420})->what.kind == task_kind::block_backend);
  CHECK(by_id(task_id{420})->what.guest == domain_id{2});
  CHECK_FALSE(by_id(task_id{2}));
  CHECK_FALSE(by_id(task_id{500}));
  CHECK_FALSE(by_id(task_id{501}));
  CHECK_FALSE(by_id(task_id{700}));

  const auto* dm = by_id(task_id{600});
  REQUIRE(dm);
  CHECK(dm->source == task_source::process);
  CHECK(dm->what.kind == task_kind::device_model);
  CHECK(dm->what.guest == domain_id{2});
  const auto* qdisk = by_id(task_id{601});
  REQUIRE(qdisk);
  CHECK_FALSE(qdisk->what.guest.valid());  // serves every guest

  const auto* irq50 = by_id(task_id{50U | irq_task_bit});
  REQUIRE(irq50);
  CHECK(irq50->source == task_source::irq);
  CHECK(irq50->what.guest == domain_id{1});
  CHECK_FALSE(irq50->guest_inferred);
  // blkif-backend IRQs: paired with blkback rings by order (52 -> thread 320 -> guest 1).
  const auto* irq52 = by_id(task_id{52U | irq_task_bit});
  const auto* irq55 = by_id(task_id{55U | irq_task_bit});
  REQUIRE(irq52);
  REQUIRE(irq55);
  CHECK(irq52->what.guest == domain_id{1});
  CHECK(irq55->what.guest == domain_id{2});
  CHECK(irq52->guest_inferred);
  CHECK(irq55->what.device == "xvda");
}

TEST_CASE("task ids never collide: IRQs at the top of the 32-bit range, TIDs beyond 2^31, the invalid id") {
  fake_proc proc;
  proc.thread(310, "vif1.0-q0-guest");
  proc.thread(4194303, "vif1.0-q0-deall");  // PID_MAX_LIMIT - 1
  proc.thread(2147483698U, "vif2.0-q0-guest");  // no kernel gives such a TID; a fake /proc may
  proc.interrupts(" 50:  1  xen-dyn  -event  vif1.0-q0-tx\n"
                  " 2147483698:  1  xen-dyn  -event  vif2.0-q0-tx\n"  // 2^31 + 50
                  " 2147483647:  1  xen-dyn  -event  vif3.0-q0-tx\n"  // 2^31 - 1
                  " 4294967295:  1  xen-dyn  -event  vif4.0-q0-tx\n"  // 2^32 - 1
                  " 4294967296:  1  xen-dyn  -event  vif5.0-q0-tx\n");  // does not fit: not a line
  const auto found = discover_pvm_tasks(proc.root());
  REQUIRE(found.size() == 3 + 4);
  std::set<task_id> ids;
  for (const auto& f : found) {
    CAPTURE(f.name);
    CHECK(f.id().valid());
    ids.insert(f.id());
  }
  CHECK(ids.size() == found.size());
  auto irq = [&](std::uint32_t n) -> const found_task* {
    for (const auto& f : found)
      if (f.source == task_source::irq && f.number == n) return &f;
    return nullptr;
  };
  for (std::uint32_t n : {50U, 2147483698U, 2147483647U, 4294967295U}) {
    CAPTURE(n);
    REQUIRE(irq(n));
    CHECK(irq(n)->id() == task_id{irq_task_bit | n});
  }
  CHECK(irq(2147483698U)->what.guest == domain_id{2});
  CHECK(irq(50)->id() != irq(2147483698U)->id());
  // A thread's id is its TID, whatever its size, and never an IRQ's.
  for (const auto& f : found)
    if (f.source == task_source::thread) CHECK(f.id() == task_id{f.number});
}

TEST_CASE("blkif-backend IRQs stay unattributed when they cannot be paired one to one") {
  fake_proc proc;
  proc.thread(320, "1.xvda-0");
  proc.thread(420, "2.xvda-0");
  proc.interrupts(" 52:  1  xen-dyn  -event  blkif-backend\n");
  const auto found = discover_pvm_tasks(proc.root());
  REQUIRE(found.size() == 3);
  for (const auto& f : found)
    if (f.source == task_source::irq) {
      CHECK_FALSE(f.what.guest.valid());
      CHECK_FALSE(f.guest_inferred);
    }
}

TEST_CASE("an empty or missing tree finds nothing") {
  fake_proc proc;
  CHECK(discover_pvm_tasks(proc.root()).empty());
  CHECK(discover_pvm_tasks(proc.root() / "does-not-exist").empty());
}
