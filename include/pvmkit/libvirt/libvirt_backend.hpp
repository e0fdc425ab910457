// libvirt_backend: the Backend concept over the libvirt C API (Debian's libvirt-dev), for any URI
// libvirt accepts (qemu:///system, test:///default, ...). Component pvmkit::libvirt; link -lvirt.
//
// Guests are libvirt's running domains: vCPU pinning (virDomainGetVcpuPinInfo /
// virDomainPinVcpuFlags), online vCPUs, memory (virDomainSetMemoryFlags) and numatune
// (virDomainSetNumaParameters). Each guest's emulator threads and I/O threads are pVM tasks placed
// through libvirt (virDomainPinEmulator, virDomainPinIOThread): TaskPlacement.
//
// The pVM (domain 0) is the host itself (docs/kvm.md): its vCPU v is host CPU v, online when that
// CPU is reserved for pVM work. Growing the reservation takes the CPU away from guests' vCPUs that
// could run elsewhere; shrinking it gives the CPU back to those that float over the CPUs the
// reservation left them. The reservation, the pVM's memory target and node affinity live in a
// state file (host_reservation.hpp), so an agent that runs once per round finds them again.
//
// Errors: arguments are checked against a fresh view of the host before libvirt is called, so an
// unknown domain, vCPU, CPU, node or task and an over-large memory target come back as pvmkit
// errc values. What libvirt refuses comes back with libvirt's code, domain and message
// (libvirt_error.hpp).
#pragma once

#include <pvmkit/backend/concepts.hpp>
#include <pvmkit/model/host_view.hpp>
#include <pvmkit/model/locality.hpp>
#include <pvmkit/core/clock.hpp>
#include <pvmkit/core/error.hpp>
#include <pvmkit/core/id_set.hpp>
#include <pvmkit/core/ids.hpp>
#include <pvmkit/core/result.hpp>
#include <pvmkit/core/units.hpp>
#include <pvmkit/libvirt/host_reservation.hpp>
#include <pvmkit/libvirt/libvirt_error.hpp>
#include <pvmkit/libvirt/libvirt_xml.hpp>
#include <pvmkit/linux/kvm_tasks.hpp>
#include <pvmkit/topology/topology.hpp>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

extern "C" {
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
}

namespace pvmkit {

// pvm_task ids (64 bits) of the work libvirt places: this bit, the domain id in bits 8-39, and 0
// for the emulator threads or the I/O thread's id (1-255). TIDs are 32-bit numbers and IRQs carry
// bit 32 (linux/pvm_tasks.hpp), so the three never collide. I/O threads from 256 up are not
// listed as tasks.
inline constexpr std::uint64_t libvirt_task_bit = std::uint64_t{1} << 48;
inline constexpr std::uint64_t libvirt_max_task_domain = 0xfffffffeU;

[[nodiscard]] constexpr task_id libvirt_emulator_task(domain_id d) noexcept {
  return task_id{libvirt_task_bit | (std::uint64_t{d.value()} << 8)};
}
[[nodiscard]] constexpr task_id libvirt_iothread_task(domain_id d, std::uint32_t iothread) noexcept {
  return task_id{libvirt_task_bit | (std::uint64_t{d.value()} << 8) | iothread};
}

// Thrown by the throwing constructor when libvirt cannot be reached at the URI.
class libvirt_unavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct libvirt_options {
  std::string uri;                   // empty: libvirt's default (LIBVIRT_DEFAULT_URI, then its own choice)
  std::filesystem::path state_file;  // the pVM's reservation; empty: kept in this object only
  // libvirt prints every error to stderr unless an error handler is set; pvmkit returns them
  // instead. This sets the process-wide handler (virSetErrorFunc) to a silent one.
  bool quiet = true;
};

class libvirt_backend {
 public:
  // Connects. Throws libvirt_unavailable with libvirt's message when the URI cannot be opened.
  explicit libvirt_backend(libvirt_options opts = {}) : opts_(std::move(opts)) {
    if (auto r = connect(); !r) throw libvirt_unavailable("cannot open libvirt at '" + display_uri() + "': " + r.error().message());
  }

  // The non-throwing way in: the error is virConnectOpen's, with libvirt's code and message.
  static result<libvirt_backend> open(libvirt_options opts = {}) {
    libvirt_backend b{no_connect{}, std::move(opts)};
    if (auto r = b.connect(); !r) return unexpected{r.error()};
    return b;
  }

  libvirt_backend(libvirt_backend&&) noexcept = default;
  libvirt_backend& operator=(libvirt_backend&&) noexcept = default;
  libvirt_backend(const libvirt_backend&) = delete;
  libvirt_backend& operator=(const libvirt_backend&) = delete;
  ~libvirt_backend() = default;

  // ---- Backend --------------------------------------------------------------------------------

  result<std::shared_ptr<const pvmkit::topology>> topology() {
    char* caps = virConnectGetCapabilities(conn());
    if (!caps) return unexpected{last_libvirt_error("virConnectGetCapabilities")};
    const std::string doc{caps};
    std::free(caps);
    auto cells = libvirt_xml::parse_host_cells(doc);
    if (!cells) return unexpected{cells.error()};
    if (cells->empty()) {
      // No NUMA information (some drivers): one node with every CPU libvirt counts.
      virNodeInfo info;
      if (virNodeGetInfo(conn(), &info) < 0) return unexpected{last_libvirt_error("virNodeGetInfo")};
      libvirt_xml::host_cell c;
      c.cpus = cpuset::range(0, info.cpus);
      c.memory = bytes{std::uint64_t{info.memory} * 1024};
      cells->push_back(std::move(c));
    }
    std::vector<unsigned long long> free(cells->size(), 0);
    std::vector<bytes> free_bytes;
    // Cells are asked for one by one: their ids may have gaps.
    for (const auto& c : *cells) {
      unsigned long long f = 0;
      if (virNodeGetCellsFreeMemory(conn(), &f, static_cast<int>(c.id), 1) != 1) {
        virResetLastError();
        f = 0;  // unknown: pvmkit reports no free memory rather than failing the topology
      }
      free_bytes.push_back(bytes{f});
    }
    auto topo = libvirt_xml::to_topology(*cells, free_bytes);
    if (!topo) return unexpected{topo.error()};
    cell_ids_.clear();
    for (const auto& c : *cells) cell_ids_.push_back(c.id);
    topo_ = *topo;
    return topo_;
  }

  result<host_view> snapshot() {
    auto topo = topology();
    if (!topo) return unexpected{topo.error()};
    host_view view;
    view.topo = *topo;
    auto res = reservation();
    if (!res) return unexpected{res.error()};
    view.pvm = pvm_state(**topo, *res);
    auto doms = running_domains();
    if (!doms) return unexpected{doms.error()};
    for (auto& dom : *doms) {
      auto d = read_domain(dom.get(), **topo);
      if (!d) {
        // A guest that stopped between listing and reading it is not an error of the snapshot.
        if (d.error() == make_error_code(errc::unknown_domain)) continue;
        return unexpected{d.error()};
      }
      if (d->id == pvm_domain) continue;  // Xen's Domain-0 through libvirt: not modelled here
      auto tasks = read_tasks(dom.get(), *d, **topo);
      if (!tasks) {
        if (tasks.error() == make_error_code(errc::unknown_domain)) continue;
        return unexpected{tasks.error()};
      }
      for (auto& t : *tasks) view.tasks.push_back(std::move(t));
      view.guests.push_back(std::move(*d));
    }
    view.taken_at = steady_clock{}.now();
    return view;
  }

  result<void> set_vcpu_affinity(domain_id d, vcpu_id v, const cpuset& cpus) {
    if (d == pvm_domain) {
      auto topo = current_topology();
      if (!topo) return unexpected{topo.error()};
      if (v.index() >= (*topo)->cpus().extent()) return unexpected{errc::unknown_vcpu};
      if (cpus.empty()) return unexpected{errc::invalid_argument};
      if (!cpus.is_subset_of((*topo)->cpus())) return unexpected{errc::unknown_cpu};
      // A pVM vCPU is its host CPU: a set that contains it is satisfied as it is; no other can be.
      if (!cpus.contains(cpu_id{v.value()})) return unexpected{errc::not_supported};
      return {};
    }
    auto dom = lookup(d);
    if (!dom) return unexpected{dom.error()};
    auto max = max_vcpus(dom->get());
    if (!max) return unexpected{max.error()};
    if (v.index() >= *max) return unexpected{errc::unknown_vcpu};
    if (cpus.empty()) return unexpected{errc::invalid_argument};
    if (auto r = check_cpus(cpus); !r) return r;
    auto map = cpu_map(cpus);
    if (virDomainPinVcpuFlags(dom->get(), v.value(), map.data(), static_cast<int>(map.size()), VIR_DOMAIN_AFFECT_CURRENT) < 0)
      return unexpected{domain_error("virDomainPinVcpuFlags")};
    return {};
  }

  result<void> set_vcpu_online(domain_id d, vcpu_id v, bool online) {
    if (d == pvm_domain) return set_reserved(v, online);
    auto dom = lookup(d);
    if (!dom) return unexpected{dom.error()};
    auto max = max_vcpus(dom->get());
    if (!max) return unexpected{max.error()};
    if (v.index() >= *max) return unexpected{errc::unknown_vcpu};
    auto on = online_vcpus(dom->get(), *max);
    if (!on) return unexpected{on.error()};
    if (on->contains(cpu_id{v.value()}) == online) return {};
    if (!online && on->size() == 1) return unexpected{errc::invalid_state};  // a guest keeps one vCPU
    // vCPUs 0..k-1 online and the change keeps that shape: the count alone says it, and every
    // driver can set a count. Anything else needs individual vCPU hot(un)plug.
    const std::size_t k = on->size();
    const bool prefix = *on == cpuset::range(0, k);
    if (prefix && ((online && v.index() == k) || (!online && v.index() + 1 == k))) {
      const auto count = static_cast<unsigned>(online ? k + 1 : k - 1);
      if (virDomainSetVcpusFlags(dom->get(), count, VIR_DOMAIN_AFFECT_LIVE) < 0)
        return unexpected{domain_error("virDomainSetVcpusFlags")};
      return {};
    }
    const std::string which = std::to_string(v.value());
    if (virDomainSetVcpu(dom->get(), which.c_str(), online ? 1 : 0, VIR_DOMAIN_AFFECT_LIVE) < 0)
      return unexpected{domain_error("virDomainSetVcpu")};
    return {};
  }

  result<void> set_memory_target(domain_id d, bytes target) {
    if (d == pvm_domain) {
      auto topo = current_topology();
      if (!topo) return unexpected{topo.error()};
      auto res = reservation();
      if (!res) return unexpected{res.error()};
      if (target.count() < 1024) return unexpected{errc::invalid_argument};
      if (target > (*topo)->total_memory()) return unexpected{errc::over_capacity};
      host_reservation next = *res;
      next.memory_target = target;
      return store(std::move(next));
    }
    auto dom = lookup(d);
    if (!dom) return unexpected{dom.error()};
    virDomainInfo info;
    if (virDomainGetInfo(dom->get(), &info) < 0) return unexpected{domain_error("virDomainGetInfo")};
    if (target.count() < 1024) return unexpected{errc::invalid_argument};
    if (target > bytes{std::uint64_t{info.maxMem} * 1024}) return unexpected{errc::over_capacity};
    if (virDomainSetMemoryFlags(dom->get(), static_cast<unsigned long>(target.count() / 1024), VIR_DOMAIN_AFFECT_CURRENT) < 0)
      return unexpected{domain_error("virDomainSetMemoryFlags")};
    return {};
  }

  result<void> set_node_affinity(domain_id d, const nodeset& nodes) {
    if (d == pvm_domain) {
      if (auto r = check_nodes(nodes); !r) return r;
      auto res = reservation();
      if (!res) return unexpected{res.error()};
      host_reservation next = *res;
      next.nodes = nodes;
      return store(std::move(next));
    }
    auto dom = lookup(d);
    if (!dom) return unexpected{dom.error()};
    if (auto r = check_nodes(nodes); !r) return r;
    std::string cells;
    for (node_id n : nodes) cells += (cells.empty() ? "" : ",") + std::to_string(cell_ids_[n.index()]);
    virTypedParameterPtr params = nullptr;
    int n = 0, max = 0;
    if (virTypedParamsAddString(&params, &n, &max, VIR_DOMAIN_NUMA_NODESET, cells.c_str()) < 0)
      return unexpected{last_libvirt_error("virTypedParamsAddString")};
    const int rc = virDomainSetNumaParameters(dom->get(), params, n, VIR_DOMAIN_AFFECT_CURRENT);
    virTypedParamsFree(params, n);
    if (rc < 0) return unexpected{domain_error("virDomainSetNumaParameters")};
    return {};
  }

  // ---- TaskPlacement: a guest's emulator and I/O threads, through libvirt -----------------------

  result<void> set_task_affinity(task_id t, const cpuset& cpus) {
    auto which = decode(t);
    if (!which) return unexpected{errc::unknown_task};
    auto dom = lookup(which->first);
    if (!dom) return unexpected{dom.error() == make_error_code(errc::unknown_domain) ? make_error_code(errc::unknown_task) : dom.error()};
    if (cpus.empty()) return unexpected{errc::invalid_argument};
    if (auto r = check_cpus(cpus); !r) return r;
    auto map = cpu_map(cpus);
    const int len = static_cast<int>(map.size());
    if (which->second == 0) {
      if (virDomainPinEmulator(dom->get(), map.data(), len, VIR_DOMAIN_AFFECT_CURRENT) < 0)
        return unexpected{domain_error("virDomainPinEmulator")};
      return {};
    }
    auto ids = iothread_ids(dom->get());
    if (!ids) return unexpected{ids.error()};
    bool known = false;
    for (auto id : *ids) known = known || id == which->second;
    if (!known) return unexpected{errc::unknown_task};
    if (virDomainPinIOThread(dom->get(), which->second, map.data(), len, VIR_DOMAIN_AFFECT_CURRENT) < 0)
      return unexpected{domain_error("virDomainPinIOThread")};
    return {};
  }

  // libvirt places a guest's memory per guest (numatune), not per thread: clearing the request is
  // accepted, asking for a node is not supported.
  result<void> set_task_memory_node(task_id t, node_id n) {
    auto which = decode(t);
    if (!which) return unexpected{errc::unknown_task};
    if (auto dom = lookup(which->first); !dom) return unexpected{errc::unknown_task};
    if (!n.valid()) return {};
    return unexpected{errc::not_supported};
  }

  // ---- extras ---------------------------------------------------------------------------------

  // The live vCPUs of one domain; for the pVM, one per host CPU (online = reserved).
  result<std::vector<vcpu_state>> list_vcpus(domain_id d) {
    auto topo = current_topology();
    if (!topo) return unexpected{topo.error()};
    if (d == pvm_domain) {
      auto res = reservation();
      if (!res) return unexpected{res.error()};
      return pvm_state(**topo, *res).vcpus;
    }
    auto dom = lookup(d);
    if (!dom) return unexpected{dom.error()};
    return read_vcpus(dom->get(), **topo);
  }

  // Running guests by name and passed-through PCI devices, for the Linux layer (KvmGuestSource).
  result<std::vector<linux_pvm::kvm_guest>> kvm_guests() {
    auto doms = running_domains();
    if (!doms) return unexpected{doms.error()};
    std::vector<linux_pvm::kvm_guest> out;
    for (auto& dom : *doms) {
      const unsigned id = virDomainGetID(dom.get());
      const char* name = virDomainGetName(dom.get());
      if (id == static_cast<unsigned>(-1) || id == 0 || !name) continue;
      char* xml = virDomainGetXMLDesc(dom.get(), 0);
      if (!xml) {
        virResetLastError();
        continue;  // stopped meanwhile
      }
      auto devices = libvirt_xml::parse_pci_hostdevs(xml);
      std::free(xml);
      if (!devices) return unexpected{devices.error()};
      linux_pvm::kvm_guest g{domain_id{id}, name, std::move(*devices), task_id::invalid(), {}};
      if (id <= libvirt_max_task_domain) {
        g.emulator = libvirt_emulator_task(g.id);
        auto ios = iothread_ids(dom.get());
        if (ios) {
          for (auto io : *ios)
            if (io >= 1 && io <= 255) g.iothreads.emplace_back(io, libvirt_iothread_task(g.id, io));
        } else if (ios.error() == make_error_code(errc::unknown_domain)) {
          continue;
        }  // a driver without I/O threads: the emulator only
      }
      out.push_back(std::move(g));
    }
    return out;
  }

  // Moves every running guest's vCPUs off the reserved CPUs where they can run elsewhere (a guest
  // started since the reservation last changed has libvirt's pinning, often every CPU). The agent
  // calls it before each round's snapshot; it returns how many vCPUs it re-pinned. All or nothing.
  result<std::size_t> enforce_reservation() {
    auto res = reservation();
    if (!res) return unexpected{res.error()};
    auto moved = repin_guests(res->cpus, std::nullopt);
    if (!moved) return moved;
    // Written on every round, so the reservation guests were kept off survives this process.
    if (auto r = store(*res); !r) {
      rollback_pins();
      return unexpected{r.error()};
    }
    undo_.clear();
    return moved;
  }

  // The pVM's reservation as it stands (from the state file on first use).
  result<host_reservation> reservation() {
    if (res_) return *res_;
    auto topo = current_topology();
    if (!topo) return unexpected{topo.error()};
    if (!opts_.state_file.empty()) {
      auto loaded = load_host_reservation(opts_.state_file);
      if (!loaded) return unexpected{loaded.error()};
      if (*loaded) {
        // A file from another host (or before a CPU went offline) is not this host's reservation.
        if (!(*loaded)->cpus.is_subset_of((*topo)->cpus()) || !(*loaded)->nodes.is_subset_of(nodeset::range(0, (*topo)->node_count())))
          return unexpected{errc::corrupt_data};
        res_ = **loaded;
        return *res_;
      }
    }
    // A host pvmkit has not sized yet: its own work runs on its first CPU (the housekeeping CPU of
    // isolcpus setups), it may use all of its memory, on every node.
    host_reservation r;
    r.cpus.insert(*(*topo)->cpus().first());
    r.memory_target = (*topo)->total_memory();
    r.nodes = nodeset::range(0, (*topo)->node_count());
    res_ = r;
    return *res_;
  }

  [[nodiscard]] const std::string& uri() const noexcept { return opts_.uri; }
  [[nodiscard]] virConnectPtr native_handle() const noexcept { return conn_.get(); }

 private:
  struct no_connect {};
  libvirt_backend(no_connect, libvirt_options opts) : opts_(std::move(opts)) {}

  struct conn_close {
    void operator()(virConnectPtr c) const noexcept { virConnectClose(c); }
  };
  struct dom_free {
    void operator()(virDomainPtr d) const noexcept { virDomainFree(d); }
  };
  using domain_ptr = std::unique_ptr<virDomain, dom_free>;

  static void silent(void*, virErrorPtr) noexcept {}

  [[nodiscard]] std::string display_uri() const { return opts_.uri.empty() ? std::string{"(default URI)"} : opts_.uri; }

  result<void> connect() {
    if (opts_.quiet) virSetErrorFunc(nullptr, &libvirt_backend::silent);
    virConnectPtr c = virConnectOpen(opts_.uri.empty() ? nullptr : opts_.uri.c_str());
    if (!c) return unexpected{last_libvirt_error("virConnectOpen")};
    conn_.reset(c);
    return {};
  }

  [[nodiscard]] virConnectPtr conn() const noexcept { return conn_.get(); }

  result<std::shared_ptr<const pvmkit::topology>> current_topology() {
    if (topo_) return topo_;
    return topology();
  }

  // libvirt's error for a call on a domain; a domain that went away meanwhile is unknown_domain.
  static std::error_code domain_error(std::string_view call) {
    if (virErrorPtr e = virGetLastError(); e && e->code == VIR_ERR_NO_DOMAIN) {
      virResetLastError();
      return make_error_code(errc::unknown_domain);
    }
    return last_libvirt_error(call);
  }

  result<domain_ptr> lookup(domain_id d) {
    if (!d.valid() || d == pvm_domain || d.value() > static_cast<std::uint32_t>(INT_MAX)) return unexpected{errc::unknown_domain};
    virDomainPtr p = virDomainLookupByID(conn(), static_cast<int>(d.value()));
    if (!p) return unexpected{domain_error("virDomainLookupByID")};
    return domain_ptr{p};
  }

  result<std::vector<domain_ptr>> running_domains() {
    virDomainPtr* list = nullptr;
    const int n = virConnectListAllDomains(conn(), &list, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
    if (n < 0) return unexpected{last_libvirt_error("virConnectListAllDomains")};
    std::vector<domain_ptr> out;
    for (int i = 0; i < n; ++i) out.emplace_back(list[i]);
    std::free(list);
    return out;
  }

  result<void> check_cpus(const cpuset& cpus) {
    auto topo = current_topology();
    if (!topo) return unexpected{topo.error()};
    if (!cpus.is_subset_of((*topo)->cpus())) return unexpected{errc::unknown_cpu};
    return {};
  }

  result<void> check_nodes(const nodeset& nodes) {
    if (nodes.empty()) return unexpected{errc::invalid_argument};
    auto topo = current_topology();
    if (!topo) return unexpected{topo.error()};
    for (node_id n : nodes)
      if (!(*topo)->has_node(n)) return unexpected{errc::unknown_node};
    return {};
  }

  // libvirt's CPU maps: one bit per host CPU, CPU c in byte c / 8, bit c % 8.
  static std::vector<unsigned char> cpu_map(const cpuset& cpus) {
    std::vector<unsigned char> map((std::max<std::size_t>(cpus.extent(), 1) + 7) / 8, 0);
    for (cpu_id c : cpus) map[c.index() / 8] = static_cast<unsigned char>(map[c.index() / 8] | (1U << (c.index() % 8)));
    return map;
  }
  static cpuset from_map(const unsigned char* map, std::size_t len, const cpuset& valid) {
    cpuset s;
    for (std::size_t i = 0; i < len * 8; ++i)
      if (map[i / 8] & (1U << (i % 8))) s.insert(cpu_id{static_cast<cpu_id::rep>(i)});
    return s & valid;
  }
  [[nodiscard]] static std::size_t map_len(const pvmkit::topology& topo) {
    return (std::max<std::size_t>(topo.cpus().extent(), 1) + 7) / 8;
  }

  static result<std::size_t> max_vcpus(virDomainPtr dom) {
    // (the flags are two C enums: combined as unsigned, which C++20 requires)
    const unsigned flags = static_cast<unsigned>(VIR_DOMAIN_AFFECT_LIVE) | static_cast<unsigned>(VIR_DOMAIN_VCPU_MAXIMUM);
    const int n = virDomainGetVcpusFlags(dom, flags);
    if (n < 0) return unexpected{domain_error("virDomainGetVcpusFlags")};
    return static_cast<std::size_t>(n);
  }

  // The online vCPUs' numbers, as a set (vCPU v = element v).
  static result<cpuset> online_vcpus(virDomainPtr dom, std::size_t max) {
    std::vector<virVcpuInfo> info(std::max<std::size_t>(max, 1));
    const int n = virDomainGetVcpus(dom, info.data(), static_cast<int>(info.size()), nullptr, 0);
    if (n < 0) return unexpected{domain_error("virDomainGetVcpus")};
    cpuset on;
    for (int i = 0; i < n; ++i) on.insert(cpu_id{info[static_cast<std::size_t>(i)].number});
    return on;
  }

  result<std::vector<vcpu_state>> read_vcpus(virDomainPtr dom, const pvmkit::topology& topo) {
    auto max = max_vcpus(dom);
    if (!max) return unexpected{max.error()};
    auto on = online_vcpus(dom, *max);
    if (!on) return unexpected{on.error()};
    const std::size_t len = map_len(topo);
    std::vector<unsigned char> maps(*max * len, 0);
    const int n = virDomainGetVcpuPinInfo(dom, static_cast<int>(*max), maps.data(), static_cast<int>(len), VIR_DOMAIN_AFFECT_LIVE);
    if (n < 0) return unexpected{domain_error("virDomainGetVcpuPinInfo")};
    std::vector<vcpu_state> out;
    for (std::size_t v = 0; v < *max; ++v) {
      vcpu_state s;
      s.id = vcpu_id{static_cast<vcpu_id::rep>(v)};
      s.online = on->contains(cpu_id{static_cast<cpu_id::rep>(v)});
      // A vCPU libvirt has no pinning for may run anywhere.
      s.hard_affinity = v < static_cast<std::size_t>(n) ? from_map(maps.data() + v * len, len, topo.cpus()) : topo.cpus();
      out.push_back(std::move(s));
    }
    return out;
  }

  result<nodeset> read_numatune(virDomainPtr dom, const pvmkit::topology& topo) {
    int n = 0;
    if (virDomainGetNumaParameters(dom, nullptr, &n, VIR_DOMAIN_AFFECT_LIVE) < 0)
      return unexpected{domain_error("virDomainGetNumaParameters")};
    std::vector<virTypedParameter> params(static_cast<std::size_t>(std::max(n, 1)));
    if (n > 0 && virDomainGetNumaParameters(dom, params.data(), &n, VIR_DOMAIN_AFFECT_LIVE) < 0)
      return unexpected{domain_error("virDomainGetNumaParameters")};
    const nodeset all = nodeset::range(0, topo.node_count());
    nodeset nodes;
    bool set = false;
    for (int i = 0; i < n; ++i) {
      const auto& p = params[static_cast<std::size_t>(i)];
      if (p.type != VIR_TYPED_PARAM_STRING || std::string_view{p.field} != VIR_DOMAIN_NUMA_NODESET || !p.value.s) continue;
      auto cells = nodeset::parse(p.value.s);
      if (cells && !cells->empty()) {
        set = true;
        for (node_id c : *cells)
          for (std::size_t k = 0; k < cell_ids_.size(); ++k)
            if (cell_ids_[k] == c.value()) nodes.insert(node_id{static_cast<node_id::rep>(k)});
      }
    }
    virTypedParamsClear(params.data(), n);
    // No numatune: the guest's memory may come from any node.
    return set ? nodes & all : all;
  }

  result<domain_state> read_domain(virDomainPtr dom, const pvmkit::topology& topo) {
    domain_state d;
    const unsigned id = virDomainGetID(dom);
    if (id == static_cast<unsigned>(-1)) return unexpected{errc::unknown_domain};
    d.id = domain_id{id};
    if (const char* name = virDomainGetName(dom)) d.name = name;
    virDomainInfo info;
    if (virDomainGetInfo(dom, &info) < 0) return unexpected{domain_error("virDomainGetInfo")};
    d.memory_target = bytes{std::uint64_t{info.memory} * 1024};
    d.max_memory = bytes{std::uint64_t{info.maxMem} * 1024};
    if (id == 0) return d;
    auto vcpus = read_vcpus(dom, topo);
    if (!vcpus) return unexpected{vcpus.error()};
    d.vcpus = std::move(*vcpus);
    auto nodes = read_numatune(dom, topo);
    if (!nodes) return unexpected{nodes.error()};
    d.node_affinity = *nodes;
    d.home_node = declared_home(topo, d);
    return d;
  }

  result<std::vector<std::uint32_t>> iothread_ids(virDomainPtr dom) {
    virDomainIOThreadInfoPtr* info = nullptr;
    const int n = virDomainGetIOThreadInfo(dom, &info, VIR_DOMAIN_AFFECT_LIVE);
    if (n < 0) return unexpected{domain_error("virDomainGetIOThreadInfo")};
    std::vector<std::uint32_t> ids;
    for (int i = 0; i < n; ++i) {
      ids.push_back(info[i]->iothread_id);
      virDomainIOThreadInfoFree(info[i]);
    }
    std::free(info);
    return ids;
  }

  // The guest's emulator threads and I/O threads, with their pinning as libvirt reports it.
  result<std::vector<pvm_task>> read_tasks(virDomainPtr dom, const domain_state& d, const pvmkit::topology& topo) {
    std::vector<pvm_task> out;
    if (d.id.value() > libvirt_max_task_domain) return out;
    const std::size_t len = map_len(topo);
    std::vector<unsigned char> map(len, 0);
    if (virDomainGetEmulatorPinInfo(dom, map.data(), static_cast<int>(len), VIR_DOMAIN_AFFECT_LIVE) < 0)
      return unexpected{domain_error("virDomainGetEmulatorPinInfo")};
    pvm_task emu;
    emu.id = libvirt_emulator_task(d.id);
    emu.name = d.name + " emulator";
    emu.kind = task_kind::device_model;
    emu.guest = d.id;
    emu.affinity = from_map(map.data(), len, topo.cpus());
    out.push_back(std::move(emu));
    virDomainIOThreadInfoPtr* info = nullptr;
    const int n = virDomainGetIOThreadInfo(dom, &info, VIR_DOMAIN_AFFECT_LIVE);
    if (n < 0) {
      // A driver without I/O threads: the emulator is all libvirt places for this guest.
      if (virErrorPtr e = virGetLastError(); e && (e->code == VIR_ERR_NO_SUPPORT || e->code == VIR_ERR_OPERATION_UNSUPPORTED)) {
        virResetLastError();
        return out;
      }
      return unexpected{domain_error("virDomainGetIOThreadInfo")};
    }
    for (int i = 0; i < n; ++i) {
      const auto* io = info[i];
      if (io->iothread_id >= 1 && io->iothread_id <= 255) {
        pvm_task t;
        t.id = libvirt_iothread_task(d.id, io->iothread_id);
        t.name = d.name + " iothread " + std::to_string(io->iothread_id);
        t.kind = task_kind::block_backend;  // I/O threads serve virtio disks (and SCSI controllers)
        t.guest = d.id;
        t.affinity = from_map(io->cpumap, static_cast<std::size_t>(std::max(io->cpumaplen, 0)), topo.cpus());
        out.push_back(std::move(t));
      }
      virDomainIOThreadInfoFree(info[i]);
    }
    std::free(info);
    return out;
  }

  // (domain, 0 = emulator or the I/O thread id) of a task id this backend issued.
  static std::optional<std::pair<domain_id, std::uint32_t>> decode(task_id t) {
    const std::uint64_t v = t.value();
    if (!t.valid() || (v & libvirt_task_bit) == 0 || (v >> 40) != (libvirt_task_bit >> 40)) return std::nullopt;
    const domain_id d{static_cast<domain_id::rep>((v >> 8) & 0xffffffffU)};
    if (d == pvm_domain) return std::nullopt;
    return std::pair{d, static_cast<std::uint32_t>(v & 0xffU)};
  }

  // ---- the pVM: the reservation ---------------------------------------------------------------

  static domain_state pvm_state(const pvmkit::topology& topo, const host_reservation& r) {
    domain_state d;
    d.id = pvm_domain;
    d.name = "host";
    for (std::size_t c = 0; c < topo.cpus().extent(); ++c) {
      const cpu_id cpu{static_cast<cpu_id::rep>(c)};
      vcpu_state v;
      v.id = vcpu_id{cpu.value()};
      v.online = r.cpus.contains(cpu);
      // A CPU the host does not have (a gap in its numbering) is a vCPU that can never run.
      if (topo.has_cpu(cpu)) v.hard_affinity.insert(cpu);
      d.vcpus.push_back(std::move(v));
    }
    d.memory_target = r.memory_target;
    d.max_memory = topo.total_memory();
    d.node_affinity = r.nodes;
    return d;
  }

  result<void> store(host_reservation next) {
    if (!opts_.state_file.empty())
      if (auto r = save_host_reservation(opts_.state_file, next); !r) return r;
    res_ = std::move(next);
    return {};
  }

  // Reserves host CPU v for pVM work (or releases it), and moves guests' vCPUs off it (or back).
  // All or nothing: a guest that refuses its new pinning undoes the ones already changed.
  result<void> set_reserved(vcpu_id v, bool on) {
    auto topo = current_topology();
    if (!topo) return unexpected{topo.error()};
    if (v.index() >= (*topo)->cpus().extent()) return unexpected{errc::unknown_vcpu};
    const cpu_id cpu{v.value()};
    if (!(*topo)->has_cpu(cpu)) return unexpected{errc::unknown_cpu};
    auto res = reservation();
    if (!res) return unexpected{res.error()};
    if (res->cpus.contains(cpu) == on) return {};
    host_reservation next = *res;
    if (on) {
      next.cpus.insert(cpu);
    } else {
      if (next.cpus.size() == 1) return unexpected{errc::invalid_state};  // the host's own work needs a CPU
      next.cpus.erase(cpu);
    }
    auto moved = repin_guests(next.cpus, on ? std::nullopt : std::optional<cpu_id>{cpu});
    if (!moved) return unexpected{moved.error()};
    if (auto r = store(std::move(next)); !r) {
      rollback_pins();
      return r;
    }
    undo_.clear();
    return {};
  }

  // Re-pins running guests' vCPUs for the reservation `reserved`: off every reserved CPU where a
  // vCPU can run elsewhere; and when `released` left the reservation, back onto it for the vCPUs
  // that float over all the CPUs left free (on the host, or on that CPU's node). Undoes its own
  // pins when one fails; the pins stay recorded in undo_ until the caller commits.
  result<std::size_t> repin_guests(const cpuset& reserved, std::optional<cpu_id> released) {
    undo_.clear();
    auto topo = current_topology();
    if (!topo) return unexpected{topo.error()};
    auto doms = running_domains();
    if (!doms) return unexpected{doms.error()};
    const cpuset free_all = (*topo)->cpus() - reserved;
    cpuset others_all, others_node;
    if (released) {
      others_all = free_all - cpuset{*released};
      others_node = (*topo)->node((*topo)->node_of(*released)).cpus - reserved - cpuset{*released};
    }
    std::size_t moved = 0;
    for (auto& dom : *doms) {
      const unsigned id = virDomainGetID(dom.get());
      if (id == 0 || id == static_cast<unsigned>(-1)) continue;
      auto vcpus = read_vcpus(dom.get(), **topo);
      if (!vcpus) {
        if (vcpus.error() == make_error_code(errc::unknown_domain)) continue;
        rollback_pins();
        return unexpected{vcpus.error()};
      }
      for (const auto& s : *vcpus) {
        cpuset want = s.hard_affinity;
        if (!released) {
          // A vCPU pinned to reserved CPUs only keeps them: it has nowhere else to go.
          if ((want - reserved).empty()) continue;
          want = want - reserved;
        } else {
          const bool floats = (!others_all.empty() && others_all.is_subset_of(want)) ||
                              (!others_node.empty() && others_node.is_subset_of(want));
          if (!floats) continue;
          want.insert(*released);
        }
        if (want == s.hard_affinity) continue;
        auto map = cpu_map(want);
        if (virDomainPinVcpuFlags(dom.get(), s.id.value(), map.data(), static_cast<int>(map.size()), VIR_DOMAIN_AFFECT_CURRENT) < 0) {
          if (virErrorPtr e = virGetLastError(); e && e->code == VIR_ERR_NO_DOMAIN) {
            virResetLastError();  // stopped meanwhile: nothing of it to keep off the reservation
            break;
          }
          const auto err = last_libvirt_error("virDomainPinVcpuFlags");
          rollback_pins();
          return unexpected{err};
        }
        virDomainRef(dom.get());  // the undo list holds its own reference
        undo_.push_back({domain_ptr{dom.get()}, s.id.value(), s.hard_affinity});
        ++moved;
      }
    }
    return moved;
  }

  void rollback_pins() {
    for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) {
      auto map = cpu_map(it->was);
      (void)virDomainPinVcpuFlags(it->dom.get(), it->vcpu, map.data(), static_cast<int>(map.size()), VIR_DOMAIN_AFFECT_CURRENT);
    }
    virResetLastError();
    undo_.clear();
  }

  struct undo_pin {
    domain_ptr dom;
    unsigned vcpu = 0;
    cpuset was;
  };

  libvirt_options opts_;
  std::unique_ptr<virConnect, conn_close> conn_;
  std::shared_ptr<const pvmkit::topology> topo_;
  std::vector<std::uint32_t> cell_ids_;  // libvirt's id of node i's cell
  std::optional<host_reservation> res_;
  std::vector<undo_pin> undo_;  // guest vCPU pins of the reservation change in progress
};

template <>
struct backend_traits<libvirt_backend> {
  static constexpr std::string_view name = "libvirt";
  static constexpr bool reports_memory_per_node = false;
  // libvirt places a guest's memory per guest (numatune), not per host thread.
  static constexpr bool places_task_memory = false;
};

static_assert(Backend<libvirt_backend>);
static_assert(TaskPlacement<libvirt_backend>);
static_assert(linux_pvm::KvmGuestSource<libvirt_backend>);

}  // namespace pvmkit
