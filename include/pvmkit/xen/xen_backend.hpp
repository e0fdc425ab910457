// xen_backend: the Backend concept over libxl (Xen's toolstack library, Debian's libxen-dev).
// Component pvmkit::xen; link -lxenlight -lxenctrl -lxentoollog.
//
// Errors: arguments are checked against a fresh view of the host before libxl is called, so an
// unknown domain, vCPU, CPU or node and an over-large memory target come back as pvmkit errc
// values. What libxl itself refuses comes back as an error_code in the category of the libxl call
// that failed (see libxl_category): the value is libxl's own error code (ERROR_FAIL = -3, ...),
// the category's name is the call ("libxl_set_vcpuaffinity") and its message names both.
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
#include <pvmkit/topology/topology.hpp>
#include <pvmkit/xen/libxl_error.hpp>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

// The Xen headers have no extern "C" guards of their own. <xenctrl.h> is deliberately not
// included: libxl covers every call this adapter makes, and xenctrl.h does not compile under
// -std=c++20 -Wpedantic without the __STRICT_ANSI__ trick.
extern "C" {
#include <xentoollog.h>
#include <libxl.h>
#include <libxl_utils.h>
}

namespace pvmkit {

// Thrown by the throwing constructor when there is no hypervisor to talk to.
class xen_unavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct xen_options {
  // What libxl logs to stderr. XTL_ERROR shows why a call failed; a logger is always installed
  // because libxl's error paths crash on a NULL one.
  xentoollog_level log_level = XTL_ERROR;
};

class xen_backend {
 public:
  // Opens libxl. Throws xen_unavailable ("no Xen hypervisor: libxl_ctx_alloc failed ...") when
  // there is no Xen underneath (bare Linux, a KVM guest, missing privcmd/xenfs).
  explicit xen_backend(xen_options opts = {}) {
    auto r = connect(opts);
    if (!r) throw xen_unavailable(open_failure_);
  }

  // The non-throwing way in: errc-free, the error is libxl_ctx_alloc's code in its category.
  static result<xen_backend> open(xen_options opts = {}) {
    xen_backend b{no_connect{}};
    if (auto r = b.connect(opts); !r) return unexpected{r.error()};
    return b;
  }

  xen_backend(xen_backend&&) noexcept = default;
  xen_backend& operator=(xen_backend&&) noexcept = default;
  xen_backend(const xen_backend&) = delete;
  xen_backend& operator=(const xen_backend&) = delete;
  ~xen_backend() = default;

  // ---- Backend --------------------------------------------------------------------------------

  result<std::shared_ptr<const pvmkit::topology>> topology() {
    int nr_nodes = 0;
    libxl_numainfo* ni = libxl_get_numainfo(ctx(), &nr_nodes);
    if (!ni || nr_nodes <= 0) return unexpected{make_libxl_error(libxl_call::get_numainfo, ERROR_FAIL)};
    const std::unique_ptr<libxl_numainfo, numainfo_free> ni_guard{ni, numainfo_free{nr_nodes}};
    int nr_cpus = 0;
    libxl_cputopology* ct = libxl_get_cpu_topology(ctx(), &nr_cpus);
    if (!ct || nr_cpus <= 0) return unexpected{make_libxl_error(libxl_call::get_cpu_topology, ERROR_FAIL)};
    const std::unique_ptr<libxl_cputopology, cputopology_free> ct_guard{ct, cputopology_free{nr_cpus}};

    const auto n = static_cast<std::size_t>(nr_nodes);
    std::vector<numa_node> nodes(n);
    for (std::size_t i = 0; i < n; ++i) {
      nodes[i].id = node_id{static_cast<node_id::rep>(i)};
      // A node Xen lists but cannot size (no memory) reports INVALID_ENTRY: treat as empty.
      const bool sized = ni[i].size != LIBXL_NUMAINFO_INVALID_ENTRY;
      nodes[i].memory = bytes{sized ? ni[i].size : 0};
      nodes[i].free_memory = bytes{sized && ni[i].free != LIBXL_NUMAINFO_INVALID_ENTRY ? ni[i].free : 0};
    }
    for (int c = 0; c < nr_cpus; ++c) {
      const std::uint32_t node = ct[c].node;
      // Offline or absent pCPUs have no node: they are not part of the host's usable topology.
      if (node == LIBXL_CPUTOPOLOGY_INVALID_ENTRY || node >= n) continue;
      nodes[node].cpus.insert(cpu_id{static_cast<cpu_id::rep>(c)});
    }
    std::vector<std::uint32_t> dist(n * n, 0);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        const bool have = ni[i].dists && static_cast<std::size_t>(ni[i].num_dists) > j &&
                          ni[i].dists[j] != LIBXL_NUMAINFO_INVALID_ENTRY;
        // Xen fills 10/20 itself when firmware has no SLIT; the fallback keeps that convention.
        dist[i * n + j] = have ? ni[i].dists[j] : (i == j ? local_distance : 2 * local_distance);
      }
    try {
      topo_ = std::make_shared<const pvmkit::topology>(std::move(nodes), std::move(dist));
    } catch (const topology_error&) {
      // e.g. a memory-only node: pvmkit's model needs CPUs on every node.
      return unexpected{errc::not_supported};
    }
    return topo_;
  }

  result<host_view> snapshot() {
    auto topo = topology();
    if (!topo) return unexpected{topo.error()};
    host_view view;
    view.topo = *topo;
    int nr = 0;
    libxl_dominfo* di = libxl_list_domain(ctx(), &nr);
    if (!di) return unexpected{make_libxl_error(libxl_call::list_domain, ERROR_FAIL)};
    const std::unique_ptr<libxl_dominfo, dominfo_free> guard{di, dominfo_free{nr}};
    for (int i = 0; i < nr; ++i) {
      if (di[i].dying) continue;  // half torn down: nothing to place
      auto d = read_domain(di[i], **topo);
      if (!d) {
        // A guest that disappeared between listing and reading it is not an error of the snapshot.
        if (d.error() == make_error_code(errc::unknown_domain)) continue;
        return unexpected{d.error()};
      }
      if (d->id == pvm_domain) view.pvm = std::move(*d);
      else view.guests.push_back(std::move(*d));
    }
    if (!view.pvm.id.valid()) return unexpected{errc::unknown_domain};  // no dom0 listed: not a dom0
    view.taken_at = steady_clock{}.now();
    return view;
  }

  result<void> set_vcpu_affinity(domain_id d, vcpu_id v, const cpuset& cpus) {
    auto dom = check_vcpu(d, v);
    if (!dom) return unexpected{dom.error()};
    if (cpus.empty()) return unexpected{errc::invalid_argument};
    if (auto r = check_cpus(cpus); !r) return r;
    auto map = cpu_bitmap(cpus);
    if (!map) return unexpected{map.error()};
    const int rc = libxl_set_vcpuaffinity(ctx(), d.value(), v.value(), &(*map)->b, nullptr);
    if (rc) return unexpected{make_libxl_error(libxl_call::set_vcpuaffinity, rc)};
    return {};
  }

  // libxl asks the guest kernel to take vCPUs up or down (xenstore cpu/N/availability), and the
  // kernel does it later. Each request names every vCPU, so it is built from what this backend
  // last asked of a vCPU until Xen shows it done: from Xen's state alone, a second request made
  // before the kernel acted on the first would ask for the first vCPU back.
  result<void> set_vcpu_online(domain_id d, vcpu_id v, bool online) {
    auto vcpus = list_vcpus(d);
    if (!vcpus) return unexpected{vcpus.error()};
    if (v.index() >= vcpus->size()) return unexpected{errc::unknown_vcpu};
    auto& pending = pending_online_[d.value()];
    pending.resize(vcpus->size(), no_request);
    std::vector<bool> want(vcpus->size());
    std::size_t count = 0;
    for (const auto& s : *vcpus) {
      auto& p = pending[s.id.index()];
      if (p != no_request && (p == 1) == s.online) p = no_request;  // done
      want[s.id.index()] = p == no_request ? s.online : p == 1;
      count += want[s.id.index()] ? 1U : 0U;
    }
    // Xen and the guest kernel insist on one running vCPU.
    if (!online && want[v.index()] && count == 1) return unexpected{errc::invalid_state};
    want[v.index()] = online;
    bitmap map;
    // libxl sizes the request by the bitmap; it must not exceed the domain's vCPU count.
    if (int rc = libxl_cpu_bitmap_alloc(ctx(), &map.b, static_cast<int>(vcpus->size())))
      return unexpected{make_libxl_error(libxl_call::bitmap_alloc, rc)};
    for (std::size_t i = 0; i < want.size(); ++i)
      if (want[i]) libxl_bitmap_set(&map.b, static_cast<int>(i));
    const int rc = libxl_set_vcpuonline(ctx(), d.value(), &map.b, nullptr);
    if (rc) return unexpected{make_libxl_error(libxl_call::set_vcpuonline, rc)};
    pending[v.index()] = online ? 1 : 0;
    return {};
  }

  // Sets the balloon target without lowering the domain's maximum (libxl's enforce = 0): the
  // maximum stays the ceiling every later request is checked against, so a shrink can be undone.
  result<void> set_memory_target(domain_id d, bytes target) {
    auto info = domain_info(d);
    if (!info) return unexpected{info.error()};
    if (target.count() < 1024) return unexpected{errc::invalid_argument};
    if (target > max_memory(*info)) return unexpected{errc::over_capacity};
    const int rc = libxl_set_memory_target(ctx(), d.value(), static_cast<std::int64_t>(target.count() / 1024), 0, 0);
    if (rc) return unexpected{make_libxl_error(libxl_call::set_memory_target, rc)};
    return {};
  }

  result<void> set_node_affinity(domain_id d, const nodeset& nodes) {
    auto info = domain_info(d);
    if (!info) return unexpected{info.error()};
    if (nodes.empty()) return unexpected{errc::invalid_argument};
    const auto topo = current_topology();
    if (!topo) return unexpected{topo.error()};
    for (node_id n : nodes)
      if (!(*topo)->has_node(n)) return unexpected{errc::unknown_node};
    bitmap map;
    if (int rc = libxl_node_bitmap_alloc(ctx(), &map.b, static_cast<int>((*topo)->node_count())))
      return unexpected{make_libxl_error(libxl_call::bitmap_alloc, rc)};
    for (node_id n : nodes) libxl_bitmap_set(&map.b, static_cast<int>(n.value()));
    const int rc = libxl_domain_set_nodeaffinity(ctx(), d.value(), &map.b);
    if (rc) return unexpected{make_libxl_error(libxl_call::set_nodeaffinity, rc)};
    return {};
  }

  // ---- CpuCapControl ----------------------------------------------------------------------------

  // The scheduler's cap on the domain's CPU time (credit and credit2; xl sched-credit2 -c). Only
  // the cap is passed: libxl leaves every parameter at its _DEFAULT value untouched.
  result<void> set_cpu_cap(domain_id d, unsigned percent) {
    auto vcpus = list_vcpus(d);
    if (!vcpus) return unexpected{vcpus.error()};
    // Both schedulers refuse a cap above 100 % per vCPU; say so before asking.
    if (percent > 100 * vcpus->size()) return unexpected{errc::invalid_argument};
    libxl_domain_sched_params params;
    libxl_domain_sched_params_init(&params);
    params.cap = static_cast<int>(percent);
    const int rc = libxl_domain_sched_params_set(ctx(), d.value(), &params);
    libxl_domain_sched_params_dispose(&params);
    if (rc) return unexpected{make_libxl_error(libxl_call::sched_params_set, rc)};
    return {};
  }

  // ---- extras ---------------------------------------------------------------------------------

  // The live vCPU states of one domain (libxl_list_vcpu: the hypervisor's, not the stored config).
  result<std::vector<vcpu_state>> list_vcpus(domain_id d) {
    if (auto info = domain_info(d); !info) return unexpected{info.error()};
    const auto topo = current_topology();
    if (!topo) return unexpected{topo.error()};
    int nr = 0, nr_cpus = 0;
    libxl_vcpuinfo* vi = libxl_list_vcpu(ctx(), d.value(), &nr, &nr_cpus);
    if (!vi) return unexpected{make_libxl_error(libxl_call::list_vcpu, ERROR_FAIL)};
    const std::unique_ptr<libxl_vcpuinfo, vcpuinfo_free> guard{vi, vcpuinfo_free{nr}};
    std::vector<vcpu_state> out;
    out.reserve(static_cast<std::size_t>(nr));
    for (int i = 0; i < nr; ++i)
      out.push_back({vcpu_id{vi[i].vcpuid}, vi[i].online, to_cpuset(vi[i].cpumap, (*topo)->cpus()),
                     to_cpuset(vi[i].cpumap_soft, (*topo)->cpus())});
    return out;
  }

  [[nodiscard]] libxl_ctx* native_handle() const noexcept { return ctx_.get(); }

 private:
  struct no_connect {};
  explicit xen_backend(no_connect) {}

  struct ctx_free {
    void operator()(libxl_ctx* c) const noexcept { libxl_ctx_free(c); }
  };
  struct logger_free {
    void operator()(xentoollog_logger_stdiostream* l) const noexcept {
      xtl_logger_destroy(reinterpret_cast<xentoollog_logger*>(l));
    }
  };
  struct numainfo_free {
    int n;
    void operator()(libxl_numainfo* p) const noexcept { libxl_numainfo_list_free(p, n); }
  };
  struct cputopology_free {
    int n;
    void operator()(libxl_cputopology* p) const noexcept { libxl_cputopology_list_free(p, n); }
  };
  struct dominfo_free {
    int n;
    void operator()(libxl_dominfo* p) const noexcept { libxl_dominfo_list_free(p, n); }
  };
  struct vcpuinfo_free {
    int n;
    void operator()(libxl_vcpuinfo* p) const noexcept { libxl_vcpuinfo_list_free(p, n); }
  };
  struct bitmap {
    libxl_bitmap b;
    bitmap() noexcept { libxl_bitmap_init(&b); }
    ~bitmap() { libxl_bitmap_dispose(&b); }
    bitmap(const bitmap&) = delete;
    bitmap& operator=(const bitmap&) = delete;
  };
  struct dominfo {
    libxl_dominfo i;
    dominfo() noexcept { libxl_dominfo_init(&i); }
    ~dominfo() { libxl_dominfo_dispose(&i); }
    dominfo(const dominfo&) = delete;
    dominfo& operator=(const dominfo&) = delete;
    dominfo(dominfo&& o) noexcept : i(o.i) { libxl_dominfo_init(&o.i); }
  };

  result<void> connect(const xen_options& opts) {
    logger_.reset(xtl_createlogger_stdiostream(stderr, opts.log_level, 0));
    if (!logger_) {
      open_failure_ = "no Xen hypervisor: could not create the libxl logger";
      return unexpected{make_libxl_error(libxl_call::ctx_alloc, ERROR_NOMEM)};
    }
    libxl_ctx* c = nullptr;
    errno = 0;
    const int rc = libxl_ctx_alloc(&c, LIBXL_VERSION, 0, reinterpret_cast<xentoollog_logger*>(logger_.get()));
    const int err = errno;
    if (rc || !c) {
      open_failure_ = "no Xen hypervisor: libxl_ctx_alloc failed with libxl error " + std::to_string(rc) + " (" +
                      (libxl_error_to_string(static_cast<libxl_error>(rc)) ? libxl_error_to_string(static_cast<libxl_error>(rc)) : "?") +
                      "), errno " + std::to_string(err) + " (" + std::strerror(err) +
                      "); is this a Xen dom0 with xenfs/privcmd loaded?";
      return unexpected{make_libxl_error(libxl_call::ctx_alloc, rc ? rc : ERROR_FAIL)};
    }
    ctx_.reset(c);
    // libxl_ctx_alloc succeeds on some non-Xen hosts that merely have the device nodes; asking
    // the hypervisor for its physinfo is the real test.
    libxl_physinfo pi;
    libxl_physinfo_init(&pi);
    const int prc = libxl_get_physinfo(ctx(), &pi);
    libxl_physinfo_dispose(&pi);
    if (prc) {
      ctx_.reset();
      open_failure_ = "no Xen hypervisor: libxl_get_physinfo failed with libxl error " + std::to_string(prc);
      return unexpected{make_libxl_error(libxl_call::ctx_alloc, prc)};
    }
    return {};
  }

  [[nodiscard]] libxl_ctx* ctx() const noexcept { return ctx_.get(); }

  result<std::shared_ptr<const pvmkit::topology>> current_topology() {
    if (topo_) return topo_;
    return topology();
  }

  result<dominfo> domain_info(domain_id d) {
    // Ids from DOMID_FIRST_RESERVED (0x7FF0) up are aliases (DOMID_SELF, ...), never a guest.
    if (!d.valid() || d.value() >= 0x7FF0U) return unexpected{errc::unknown_domain};
    dominfo info;
    const int rc = libxl_domain_info(ctx(), &info.i, d.value());
    if (rc == ERROR_DOMAIN_NOTFOUND) return unexpected{errc::unknown_domain};
    if (rc) return unexpected{make_libxl_error(libxl_call::domain_info, rc)};
    if (info.i.dying) return unexpected{errc::unknown_domain};
    return result<dominfo>{std::move(info)};
  }

  result<void> check_vcpu(domain_id d, vcpu_id v) {
    auto info = domain_info(d);
    if (!info) return unexpected{info.error()};
    if (v.index() > info->i.vcpu_max_id) return unexpected{errc::unknown_vcpu};
    return {};
  }

  result<void> check_cpus(const cpuset& cpus) {
    const auto topo = current_topology();
    if (!topo) return unexpected{topo.error()};
    if (!cpus.is_subset_of((*topo)->cpus())) return unexpected{errc::unknown_cpu};
    return {};
  }

  result<std::unique_ptr<bitmap>> cpu_bitmap(const cpuset& cpus) {
    auto map = std::make_unique<bitmap>();
    if (int rc = libxl_cpu_bitmap_alloc(ctx(), &map->b, 0))  // 0 = the host's maximum pCPU count
      return unexpected{make_libxl_error(libxl_call::bitmap_alloc, rc)};
    for (cpu_id c : cpus) {
      if (c.index() >= std::size_t{map->b.size} * 8) return unexpected{errc::unknown_cpu};
      libxl_bitmap_set(&map->b, static_cast<int>(c.value()));
    }
    return map;
  }

  // libxl reports "any" as every bit of the map set, beyond the CPUs that exist: clip to the host.
  static cpuset to_cpuset(const libxl_bitmap& b, const cpuset& valid) {
    cpuset s;
    for (std::size_t i = 0; i < std::size_t{b.size} * 8; ++i)
      if (libxl_bitmap_test(&b, static_cast<int>(i))) s.insert(cpu_id{static_cast<cpu_id::rep>(i)});
    return s & valid;
  }

  // The hypervisor's cap (max_pages); "unlimited" for a dom0 booted without dom0_mem=max: is
  // bounded by the host's memory.
  bytes max_memory(const dominfo& info) const {
    const std::uint64_t kb = info.i.max_memkb;
    const bytes host = topo_ ? topo_->total_memory() : bytes{};
    if (kb == LIBXL_MEMKB_DEFAULT || kb >= (std::uint64_t{1} << 50)) return host;
    const bytes b{kb * 1024};
    return host.count() && b > host ? host : b;
  }

  result<domain_state> read_domain(const libxl_dominfo& di, const pvmkit::topology& topo) {
    domain_state d;
    d.id = domain_id{di.domid};
    if (char* name = libxl_domid_to_name(ctx(), di.domid)) {
      d.name = name;
      std::free(name);
    }
    auto vcpus = list_vcpus(d.id);
    if (!vcpus) return unexpected{vcpus.error()};
    d.vcpus = std::move(*vcpus);
    std::uint64_t target_kb = 0;
    if (int rc = libxl_get_memory_target(ctx(), di.domid, &target_kb)) {
      if (rc == ERROR_DOMAIN_NOTFOUND) return unexpected{errc::unknown_domain};
      // A domain whose xenstore entries are not written yet: its current allocation stands in.
      target_kb = di.current_memkb;
    }
    d.memory_target = bytes{target_kb * 1024};
    {
      dominfo copy;
      copy.i.max_memkb = di.max_memkb;
      d.max_memory = max_memory(copy);
    }
    bitmap nodes;
    if (int rc = libxl_node_bitmap_alloc(ctx(), &nodes.b, 0))
      return unexpected{make_libxl_error(libxl_call::bitmap_alloc, rc)};
    if (int rc = libxl_domain_get_nodeaffinity(ctx(), di.domid, &nodes.b))
      return unexpected{make_libxl_error(libxl_call::get_nodeaffinity, rc)};
    nodeset all_nodes = nodeset::range(0, topo.node_count());
    for (std::size_t i = 0; i < std::size_t{nodes.b.size} * 8 && i < topo.node_count(); ++i)
      if (libxl_bitmap_test(&nodes.b, static_cast<int>(i))) d.node_affinity.insert(node_id{static_cast<node_id::rep>(i)});
    d.node_affinity &= all_nodes;
    {
      libxl_domain_sched_params params;
      libxl_domain_sched_params_init(&params);
      const int rc = libxl_domain_sched_params_get(ctx(), di.domid, &params);
      const int cap = params.cap;
      libxl_domain_sched_params_dispose(&params);
      if (rc == ERROR_DOMAIN_NOTFOUND) return unexpected{errc::unknown_domain};
      // A scheduler without caps leaves the field at its default (RTDS, null) or has no parameters
      // libxl can read (ARINC 653): no cap to report, which is not a reason to fail the snapshot.
      if (rc == 0 && cap >= 0) d.cpu_cap = static_cast<unsigned>(cap);
    }
    // libxl exposes no per-node page counts for a domain (only `xl debug-keys u` prints them to
    // the console ring), so memory_per_node stays empty: backend_traits says so.
    if (d.id != pvm_domain) d.home_node = declared_home(topo, d);
    return d;
  }


  static constexpr signed char no_request = -1;
  // Per domain and vCPU: 1 / 0 = asked online / offline and not yet seen done; no_request = none.
  std::map<domain_id::rep, std::vector<signed char>> pending_online_;
  std::unique_ptr<xentoollog_logger_stdiostream, logger_free> logger_;
  std::unique_ptr<libxl_ctx, ctx_free> ctx_;
  std::shared_ptr<const pvmkit::topology> topo_;
  std::string open_failure_;
};

template <>
struct backend_traits<xen_backend> {
  static constexpr std::string_view name = "xen";
  static constexpr bool reports_memory_per_node = false;
  static constexpr bool places_task_memory = false;  // not a TaskPlacement backend
};

static_assert(Backend<xen_backend>);
static_assert(CpuCapControl<xen_backend>);

}  // namespace pvmkit
