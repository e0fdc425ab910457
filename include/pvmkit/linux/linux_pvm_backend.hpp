// linux_pvm_backend<Inner>: a hypervisor backend (Xen's, or the mock) plus placement of the pVM's
// own work inside its Linux: together they model TaskPlacement. This is Closer on stock Xen: the
// inner backend pins dom0 vCPUs to pCPUs, this layer puts each guest's backend threads and IRQs
// on the dom0 vCPUs that sit on the guest's node.
//
// Task affinity in pvmkit is in pCPUs. Inside the pVM a task can only be bound to pVM vCPUs, so a
// pCPU set is translated to the online pVM vCPUs whose hard affinity lies inside it, and read back
// as the union of those vCPUs' hard affinities. A pCPU set no online pVM vCPU is pinned inside
// cannot be honoured (errc::invalid_state): pin the pVM's vCPUs first, as closer does.
//
// On a KVM host (an inner backend that models KvmGuestSource, e.g. the libvirt one) the pVM's vCPU
// v is host CPU v, so the translation is the identity on the CPUs reserved for pVM work; the layer
// then also finds each guest's vhost threads and passed-through devices' IRQs. Tasks the inner
// backend reports itself (libvirt's emulator and I/O threads) are placed by the inner backend.
#pragma once

#include <pvmkit/backend/concepts.hpp>
#include <pvmkit/model/host_view.hpp>
#include <pvmkit/core/clock.hpp>
#include <pvmkit/core/error.hpp>
#include <pvmkit/core/id_set.hpp>
#include <pvmkit/core/ids.hpp>
#include <pvmkit/core/result.hpp>
#include <pvmkit/linux/kvm_tasks.hpp>
#include <pvmkit/linux/pvm_tasks.hpp>
#include <pvmkit/linux/task_affinity.hpp>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <unistd.h>

namespace pvmkit::linux_pvm {

// pVM CPUs (dom0 vCPU numbers = Linux CPU numbers in a PV dom0) pinned inside `pcpus`.
[[nodiscard]] inline cpuset pvm_cpus_inside(const std::vector<vcpu_state>& pvm_vcpus, const cpuset& pcpus) {
  cpuset out;
  for (const auto& v : pvm_vcpus)
    if (v.online && !v.hard_affinity.empty() && v.hard_affinity.is_subset_of(pcpus))
      out.insert(cpu_id{v.id.value()});
  return out;
}

// The pCPUs a task bound to these pVM CPUs can reach.
[[nodiscard]] inline cpuset pcpus_of(const std::vector<vcpu_state>& pvm_vcpus, const cpuset& pvm_cpus) {
  cpuset out;
  for (cpu_id c : pvm_cpus)
    if (c.index() < pvm_vcpus.size()) out |= pvm_vcpus[c.index()].hard_affinity;
  return out;
}

}  // namespace pvmkit::linux_pvm

namespace pvmkit {

template <Backend Inner>
class linux_pvm_backend {
 public:
  explicit linux_pvm_backend(Inner inner, std::filesystem::path proc_root = "/proc")
      : inner_(std::move(inner)), root_(std::move(proc_root)) {}

  [[nodiscard]] Inner& inner() noexcept { return inner_; }
  [[nodiscard]] const std::filesystem::path& proc_root() const noexcept { return root_; }

  // ---- Backend: the inner backend's, with the pVM's tasks added to the snapshot ---------------

  result<std::shared_ptr<const pvmkit::topology>> topology() { return inner_.topology(); }

  result<host_view> snapshot() {
    auto view = inner_.snapshot();
    if (!view) return view;
    const auto now = std::chrono::steady_clock::now();
    const double seconds = last_sample_ ? std::chrono::duration<double>(now - *last_sample_).count() : 0.0;
    const double ticks_per_second = static_cast<double>(::sysconf(_SC_CLK_TCK));
    std::unordered_map<std::uint64_t, std::uint64_t> ticks;
    // Cores used since the last snapshot, from a task's utime + stime; 0 on the first one.
    auto load = [&](std::uint64_t key, std::uint64_t now_ticks) {
      ticks[key] = now_ticks;
      auto before = ticks_.find(key);
      if (seconds > 0 && before != ticks_.end() && now_ticks >= before->second)
        return static_cast<double>(now_ticks - before->second) / ticks_per_second / seconds;
      return 0.0;
    };
    auto found = discover();
    if (!found) return unexpected{found.error()};
    found_.clear();
    for (auto& f : *found) {
      pvm_task t;
      t.id = f.id();
      t.name = f.name;
      t.kind = f.source == linux_pvm::task_source::irq ? task_kind::irq : f.what.kind;
      t.guest = f.what.guest;
      t.device = f.what.device;
      auto linux_cpus = read_affinity(f);
      t.affinity = linux_cpus ? linux_pvm::pcpus_of(view->pvm.vcpus, *linux_cpus) : cpuset{};
      if (f.source != linux_pvm::task_source::irq) t.cpu_load = load(f.number, linux_pvm::task_cpu_ticks(root_, f.number));
      if (domain_state* g = view->find_domain(t.guest); g && g->id != pvm_domain) g->io.pvm_cores += t.cpu_load;
      view->tasks.push_back(std::move(t));
      found_.emplace(f.id(), std::move(f));
    }
    if constexpr (linux_pvm::KvmGuestSource<Inner>) {
      // The inner backend's emulator and I/O-thread tasks, measured on QEMU's threads. Their ids
      // are the inner backend's, never a TID or an IRQ, so they share the tick table.
      for (const auto& [id, now_ticks] : linux_pvm::kvm_thread_task_ticks(root_, kvm_guests_, qemu_)) {
        pvm_task* t = view->find_task(id);
        if (!t) continue;
        t->cpu_load = load(id.value(), now_ticks);
        if (domain_state* g = view->find_domain(t->guest); g && g->id != pvm_domain) g->io.pvm_cores += t->cpu_load;
      }
    }
    ticks_ = std::move(ticks);
    last_sample_ = now;
    return view;
  }

  result<void> set_vcpu_affinity(domain_id d, vcpu_id v, const cpuset& cpus) { return inner_.set_vcpu_affinity(d, v, cpus); }
  result<void> set_vcpu_online(domain_id d, vcpu_id v, bool on) { return inner_.set_vcpu_online(d, v, on); }
  result<void> set_memory_target(domain_id d, bytes target) { return inner_.set_memory_target(d, target); }
  result<void> set_node_affinity(domain_id d, const nodeset& nodes) { return inner_.set_node_affinity(d, nodes); }
  result<void> set_cpu_cap(domain_id d, unsigned percent)
    requires CpuCapControl<Inner>
  {
    return inner_.set_cpu_cap(d, percent);
  }

  // ---- TaskPlacement ----------------------------------------------------------------------------

  result<void> set_task_affinity(task_id t, const cpuset& pcpus) {
    const auto* f = find(t);
    if (!f) {
      if constexpr (TaskPlacement<Inner>) return inner_.set_task_affinity(t, pcpus);
      else return unexpected{errc::unknown_task};
    }
    if (pcpus.empty()) return unexpected{errc::invalid_argument};
    auto topo = inner_.topology();
    if (!topo) return unexpected{topo.error()};
    if (!pcpus.is_subset_of((*topo)->cpus())) return unexpected{errc::unknown_cpu};
    auto vcpus = pvm_vcpus();
    if (!vcpus) return unexpected{vcpus.error()};
    const cpuset linux_cpus = linux_pvm::pvm_cpus_inside(*vcpus, pcpus);
    if (linux_cpus.empty()) return unexpected{errc::invalid_state};
    switch (f->source) {
      case linux_pvm::task_source::irq: return linux_pvm::set_irq_affinity(root_, f->number, linux_cpus);
      case linux_pvm::task_source::thread: return linux_pvm::set_thread_affinity(f->number, linux_cpus);
      case linux_pvm::task_source::process: return set_process_affinity(f->number, linux_cpus);
    }
    return unexpected{errc::invalid_argument};
  }

  // A PV dom0's Linux sees no NUMA: it cannot choose the node its buffers come from. Clearing the
  // request (invalid node) is accepted; asking for a node is not supported.
  result<void> set_task_memory_node(task_id t, node_id n) {
    if (!find(t)) {
      if constexpr (TaskPlacement<Inner>) return inner_.set_task_memory_node(t, n);
      else return unexpected{errc::unknown_task};
    }
    if (!n.valid()) return {};
    return unexpected{errc::not_supported};
  }

  // The tasks the last snapshot found, as discovered (TIDs, IRQ numbers, names).
  [[nodiscard]] std::vector<linux_pvm::found_task> found_tasks() const {
    std::vector<linux_pvm::found_task> out;
    for (const auto& [id, f] : found_) out.push_back(f);
    return out;
  }

 private:
  // Xen's backend threads and IRQs, and on a KVM host the guests' vhost threads and device IRQs.
  result<std::vector<linux_pvm::found_task>> discover() {
    auto out = linux_pvm::discover_pvm_tasks(root_);
    if constexpr (linux_pvm::KvmGuestSource<Inner>) {
      auto guests = inner_.kvm_guests();
      if (!guests) return unexpected{guests.error()};
      kvm_guests_ = std::move(*guests);
      auto kvm = linux_pvm::discover_kvm_tasks(root_, kvm_guests_, &qemu_);
      out.insert(out.end(), std::make_move_iterator(kvm.begin()), std::make_move_iterator(kvm.end()));
      std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id() < b.id(); });
    }
    return out;
  }

  const linux_pvm::found_task* find(task_id t) {
    if (found_.empty()) {
      if (auto found = discover())
        for (auto& f : *found) found_.emplace(f.id(), std::move(f));
    }
    auto it = found_.find(t);
    return it == found_.end() ? nullptr : &it->second;
  }

  result<cpuset> read_affinity(const linux_pvm::found_task& f) const {
    if (f.source == linux_pvm::task_source::irq) return linux_pvm::irq_affinity(root_, f.number);
    return linux_pvm::read_thread_affinity(root_, f.number);
  }

  // A device model is a process: every one of its threads moves.
  result<void> set_process_affinity(std::uint32_t pid, const cpuset& linux_cpus) {
    bool any = false;
    result<void> r;
    linux_pvm::detail::for_each_numbered(root_ / std::to_string(pid) / "task", [&](std::uint32_t tid, const std::filesystem::path&) {
      if (r) r = linux_pvm::set_thread_affinity(tid, linux_cpus);
      any = true;
    });
    if (!any) return linux_pvm::set_thread_affinity(pid, linux_cpus);
    return r;
  }

  result<std::vector<vcpu_state>> pvm_vcpus() {
    if constexpr (requires { inner_.list_vcpus(pvm_domain); }) {
      return inner_.list_vcpus(pvm_domain);
    } else {
      auto view = inner_.snapshot();
      if (!view) return unexpected{view.error()};
      return std::move(view->pvm.vcpus);
    }
  }

  Inner inner_;
  std::filesystem::path root_;
  std::map<task_id, linux_pvm::found_task> found_;
  std::unordered_map<std::uint64_t, std::uint64_t> ticks_;
  std::vector<linux_pvm::kvm_guest> kvm_guests_;  // a KVM host's guests, as of the last discovery
  std::map<domain_id, std::uint32_t> qemu_;       // and their QEMU pids
  std::optional<std::chrono::steady_clock::time_point> last_sample_;
};

template <class Inner>
struct backend_traits<linux_pvm_backend<Inner>> {
  static constexpr std::string_view name = "linux_pvm";
  static constexpr bool reports_memory_per_node = backend_traits<Inner>::reports_memory_per_node;
  // set_task_memory_node can only clear a request (see there): a PV dom0 sees no NUMA.
  static constexpr bool places_task_memory = false;
};

}  // namespace pvmkit
