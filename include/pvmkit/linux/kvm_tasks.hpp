// Finding the host work that serves each guest on a KVM host, in a /proc-style tree: its QEMU
// process, the vhost worker threads of its virtio devices and the interrupts of the PCI devices
// passed through to it. (Its emulator and I/O threads are placed through libvirt, which knows
// them by role; see libvirt/libvirt_backend.hpp.)
//
// Names recognised:
//   QEMU         a process whose command line has "-name guest=<name>[,...]" (libvirt's form) or
//                "-name <name>"; QEMU escapes a comma in the name as ",,"
//   vhost        "vhost-<QEMU pid>": a kernel thread (Linux up to 6.3, a child of kthreadd, listed
//                at the top of /proc) or a thread of the QEMU process itself (6.4 on, vhost_task:
//                /proc/<pid>/task/<tid>)
//   device IRQs  /proc/interrupts actions "vfio-msix[N](<pci address>)", "vfio-msi[N](...)",
//                "vfio-intx(...)": vfio-pci's names for a passed-through device's vectors
#pragma once

#include <pvmkit/model/host_view.hpp>
#include <pvmkit/core/ids.hpp>
#include <pvmkit/core/result.hpp>
#include <pvmkit/linux/pvm_tasks.hpp>
#include <pvmkit/linux/task_affinity.hpp>

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace pvmkit::linux_pvm {

// A running guest as the hypervisor's toolstack names it, and the tasks the toolstack places
// itself (emulator, I/O threads), whose CPU time only QEMU's threads in /proc can tell.
struct kvm_guest {
  domain_id id;
  std::string name;                      // the name QEMU was started with (-name guest=...)
  std::vector<std::string> pci_devices;  // passed-through devices, "0000:06:12.5"
  task_id emulator = task_id::invalid();                     // QEMU's threads but vCPUs, I/O and vhost
  std::vector<std::pair<std::uint32_t, task_id>> iothreads;  // I/O thread N runs as "IO iothread<N>"
};

// A backend that lists its running KVM guests: linux_pvm_backend then also finds their vhost
// threads and device IRQs.
template <class B>
concept KvmGuestSource = requires(B& b) {
  { b.kvm_guests() } -> std::same_as<result<std::vector<kvm_guest>>>;
};

// The guest name in a QEMU command line (NUL-separated, as in /proc/PID/cmdline).
[[nodiscard]] inline std::optional<std::string> parse_qemu_guest_name(std::string_view cmdline) {
  const auto args = detail::split_cmdline(cmdline);
  for (std::size_t k = 0; k + 1 < args.size(); ++k) {
    if (args[k] != "-name") continue;
    std::string_view v = args[k + 1];
    const bool keyed = detail::starts_with(v, "guest=");
    if (keyed) v.remove_prefix(6);
    // QEMU's option syntax: ",," is a comma in the value, a single ',' starts the next key.
    std::string name;
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (v[i] == ',') {
        if (i + 1 < v.size() && v[i + 1] == ',') {
          name += ',';
          ++i;
          continue;
        }
        break;
      }
      name += v[i];
    }
    if (!keyed && name.find('=') != std::string::npos) return std::nullopt;  // "-name process=x" alone
    if (name.empty()) return std::nullopt;
    return name;
  }
  return std::nullopt;
}

// The QEMU pid in a vhost worker's comm ("vhost-4242").
[[nodiscard]] inline std::optional<std::uint32_t> parse_vhost_thread(std::string_view comm) {
  if (!detail::starts_with(comm, "vhost-")) return std::nullopt;
  std::size_t i = 6;
  std::uint32_t pid = 0;
  if (!detail::read_number(comm, i, pid) || i != comm.size() || pid == 0) return std::nullopt;
  return pid;
}

// The PCI address in a vfio-pci interrupt's action name.
[[nodiscard]] inline std::optional<std::string> parse_vfio_irq(std::string_view action) {
  if (!detail::starts_with(action, "vfio-")) return std::nullopt;
  const auto open = action.find('(');
  if (open == std::string_view::npos || action.back() != ')') return std::nullopt;
  const std::string_view kind = action.substr(5, open - 5);
  const bool vector = (detail::starts_with(kind, "msix[") || detail::starts_with(kind, "msi[")) && kind.back() == ']';
  if (!vector && kind != "intx") return std::nullopt;
  const std::string_view addr = action.substr(open + 1, action.size() - open - 2);
  if (addr.size() != 12 || addr[4] != ':' || addr[7] != ':' || addr[10] != '.') return std::nullopt;
  return std::string{addr};
}

// Scans <root>/<pid>/{cmdline,comm,task/<tid>/comm} and <root>/interrupts for the work of the
// given guests. A guest whose QEMU is not found (not started yet, or another host's) has none.
// Each found guest's QEMU pid goes to *qemu_out when given.
[[nodiscard]] inline std::vector<found_task> discover_kvm_tasks(const std::filesystem::path& root,
                                                                const std::vector<kvm_guest>& guests,
                                                                std::map<domain_id, std::uint32_t>* qemu_out = nullptr) {
  std::map<std::string, domain_id, std::less<>> by_name;
  std::map<std::string, const kvm_guest*, std::less<>> by_device;
  for (const auto& g : guests) {
    by_name.emplace(g.name, g.id);
    for (const auto& d : g.pci_devices) by_device.emplace(d, &g);
  }
  std::map<std::uint32_t, domain_id> qemu;  // QEMU pid -> guest
  std::map<std::uint32_t, std::uint32_t> vhost;  // vhost TID -> QEMU pid
  std::map<std::uint32_t, std::string> vhost_comm;
  detail::for_each_numbered(root, [&](std::uint32_t number, const std::filesystem::path& entry) {
    const std::string cmdline = detail::read_file(entry / "cmdline");
    if (cmdline.empty()) {
      const std::string comm = detail::trim(detail::read_file(entry / "comm"));
      if (auto owner = parse_vhost_thread(comm)) {
        vhost[number] = *owner;
        vhost_comm[number] = comm;
      }
      return;
    }
    if (auto name = parse_qemu_guest_name(cmdline)) {
      auto g = by_name.find(*name);
      if (g != by_name.end()) qemu.emplace(number, g->second);
    }
  });
  for (const auto& [pid, guest] : qemu) {
    const std::uint32_t owner_pid = pid;
    detail::for_each_numbered(root / std::to_string(pid) / "task", [&](std::uint32_t number, const std::filesystem::path& entry) {
      const std::string comm = detail::trim(detail::read_file(entry / "comm"));
      if (auto owner = parse_vhost_thread(comm); owner && *owner == owner_pid) {
        vhost[number] = owner_pid;
        vhost_comm[number] = comm;
      }
    });
  }
  std::vector<found_task> out;
  for (const auto& [tid, pid] : vhost) {
    auto q = qemu.find(pid);
    if (q == qemu.end()) continue;  // a vhost worker of a process that is not a listed guest's
    out.push_back({task_source::thread, tid, vhost_comm[tid], {task_kind::net_backend, q->second, vhost_comm[tid]}, false});
  }
  for_each_irq_action(root, [&](std::uint32_t irq, const std::string& action) {
    auto addr = parse_vfio_irq(action);
    auto g = addr ? by_device.find(*addr) : by_device.end();
    if (g == by_device.end()) return false;
    out.push_back({task_source::irq, irq, action, {task_kind::other, g->second->id, *addr}, false});
    return true;
  });
  std::sort(out.begin(), out.end(), [](const found_task& a, const found_task& b) { return a.id() < b.id(); });
  if (qemu_out) {
    qemu_out->clear();
    for (const auto& [pid, guest] : qemu) qemu_out->emplace(guest, pid);
  }
  return out;
}

// CPU ticks (utime + stime) of the tasks the toolstack places, summed over QEMU's threads: an I/O
// thread is QEMU's "IO iothread<N>"; the emulator is every other thread but the vCPUs ("CPU
// <n>/KVM", "CPU <n>/TCG") and vhost workers, which are pVM tasks of their own or guest time.
[[nodiscard]] inline std::vector<std::pair<task_id, std::uint64_t>> kvm_thread_task_ticks(
    const std::filesystem::path& root, const std::vector<kvm_guest>& guests, const std::map<domain_id, std::uint32_t>& qemu) {
  std::vector<std::pair<task_id, std::uint64_t>> out;
  for (const auto& g : guests) {
    auto q = qemu.find(g.id);
    if (q == qemu.end()) continue;
    std::uint64_t emulator = 0;
    std::vector<std::uint64_t> io(g.iothreads.size(), 0);
    detail::for_each_numbered(root / std::to_string(q->second) / "task", [&](std::uint32_t number, const std::filesystem::path& entry) {
      const std::string comm = detail::trim(detail::read_file(entry / "comm"));
      if ((detail::starts_with(comm, "CPU ") && comm.find('/') != std::string::npos) || parse_vhost_thread(comm)) return;
      const std::uint64_t ticks = task_cpu_ticks(root, number);
      for (std::size_t k = 0; k < g.iothreads.size(); ++k)
        if (comm == "IO iothread" + std::to_string(g.iothreads[k].first)) {
          io[k] += ticks;
          return;
        }
      emulator += ticks;
    });
    if (g.emulator.valid()) out.emplace_back(g.emulator, emulator);
    for (std::size_t k = 0; k < g.iothreads.size(); ++k) out.emplace_back(g.iothreads[k].second, io[k]);
  }
  return out;
}

}  // namespace pvmkit::linux_pvm
