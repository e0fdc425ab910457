// pvmkit agent: the control loop of a pVM. Every round: snapshot the host, let the sizing policy
// and then the placement policy decide, apply the plan as a transaction, and log each decision
// record and the round's outcome as JSON lines on stdout (diagnostics go to stderr).
//
//   --backend xen   libxl + dom0's /proc (only when built with the Xen component); run in dom0
//   --backend libvirt [--uri URI]   a KVM host: libvirt + the host's /proc (only when built with
//                   the libvirt component); the pVM is the host's CPU reservation (docs/kvm.md)
//   --backend mock  a built-in 2-node mock host with two guests and their backend tasks
//
// Exit codes: 0 every round applied; 1 a snapshot or an apply failed, or no hypervisor; 2 bad usage.
#include "command.hpp"

#include <pvmkit/backend/concepts.hpp>
#include <pvmkit/backend/mock.hpp>
#include <pvmkit/controller.hpp>
#include <pvmkit/core/error.hpp>
#include <pvmkit/core/json_writer.hpp>
#include <pvmkit/model/decision.hpp>
#include <pvmkit/model/plan.hpp>
#include <pvmkit/runtime/registry.hpp>
#include <pvmkit/topology/topology.hpp>
#ifdef PVMKIT_HAVE_XEN
#include <pvmkit/xen/xen_pvm_backend.hpp>
#endif
#ifdef PVMKIT_HAVE_LIBVIRT
#include <pvmkit/libvirt/kvm_host_backend.hpp>
#endif

#include <CLI/CLI.hpp>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

namespace {

struct options {
  std::string backend = "mock";
  std::string placement = "closer";
  std::string sizing = "closer_dynamic";
  bool dry_run = false;
  bool once = false;
  double interval = 5.0;
  std::size_t rounds = 0;
  std::string proc_root = "/proc";
  std::string uri;         // libvirt only; empty = libvirt's default
  std::string state_file;  // libvirt only; empty = the default for the URI
};

// Where the KVM host's pVM reservation is kept between runs: one file per URI under /run (gone at
// reboot, when guests' pinning is gone too). test:/// hosts live in the process: nothing to keep.
std::string default_state_file(const std::string& uri) {
  if (uri.rfind("test:", 0) == 0) return {};
  std::string name = uri.empty() ? std::string{"default"} : uri;
  for (char& c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) c = '_';
  return "/run/pvmkit/libvirt-" + name + ".state";
}

volatile std::sig_atomic_t stop_requested = 0;
extern "C" void on_stop(int) { stop_requested = 1; }

std::string round_line(std::size_t round, std::string_view backend, bool dry_run, const pvmkit::plan& p,
                       const pvmkit::apply_report* report) {
  pvmkit::json_writer w;
  w.begin_object().field("type", "round").field("round", std::uint64_t{round}).field("backend", backend);
  w.field("dry_run", dry_run).field("steps", std::uint64_t{p.size()});
  w.key("plan");
  std::string out = w.take();
  out += pvmkit::to_json(p);
  pvmkit::json_writer t;
  t.begin_object();
  if (report) {
    t.field("applied", std::uint64_t{report->applied}).field("ok", report->ok()).field("rolled_back", report->rolled_back);
    if (report->failed_step) t.field("failed_step", std::uint64_t{*report->failed_step}).field("error", report->error.message());
  }
  t.end_object();
  std::string tail = t.take();  // "{...}": splice its fields after the plan
  if (tail.size() > 2) out += "," + tail.substr(1);
  else out += "}";
  return out;
}

std::string snapshot_line(std::size_t round, const pvmkit::host_view& v) {
  pvmkit::json_writer w;
  w.begin_object().field("type", "snapshot").field("round", std::uint64_t{round});
  auto domain = [&](const pvmkit::domain_state& d) {
    w.begin_object().field("id", std::uint64_t{d.id.value()}).field("name", d.name);
    w.field("home", d.home_node.valid() ? static_cast<std::int64_t>(d.home_node.value()) : std::int64_t{-1});
    w.field("online_vcpus", std::uint64_t{d.online_vcpus()}).field("memory_target", d.memory_target.count());
    w.field("node_affinity", d.node_affinity.to_string());
    w.key("vcpus").begin_array();
    for (const auto& c : d.vcpus) w.value(std::to_string(c.id.value()) + (c.online ? ":" : ":off:") + c.hard_affinity.to_string());
    w.end_array().end_object();
  };
  w.key("pvm");
  domain(v.pvm);
  w.key("guests").begin_array();
  for (const auto& g : v.guests) domain(g);
  w.end_array();
  w.key("tasks").begin_array();
  for (const auto& t : v.tasks) {
    w.begin_object().field("id", std::uint64_t{t.id.value()}).field("name", t.name).field("kind", pvmkit::to_string(t.kind));
    w.field("guest", t.guest.valid() ? static_cast<std::int64_t>(t.guest.value()) : std::int64_t{-1});
    w.field("device", t.device).field("affinity", t.affinity.to_string()).field("cpu_load", t.cpu_load).end_object();
  }
  w.end_array().end_object();
  return w.take();
}

// A KVM host's agent keeps guests' vCPUs off the pVM's CPUs before each round (guests started
// since the last round have libvirt's pinning): how many vCPUs it moved, or nullopt elsewhere.
template <class B>
pvmkit::result<std::optional<std::size_t>> keep_guests_off_pvm(B& backend) {
  if constexpr (requires { backend.inner().enforce_reservation(); }) {
    auto moved = backend.inner().enforce_reservation();
    if (!moved) return pvmkit::unexpected{moved.error()};
    return std::optional<std::size_t>{*moved};
  } else {
    return std::optional<std::size_t>{};
  }
}

// One line per guest that was in the last round's snapshot and is gone from this one (destroyed,
// shut down, or its QEMU killed): the agent saw it go.
void report_gone(std::size_t round, const pvmkit::host_view& now, std::map<pvmkit::domain_id, std::string>& last) {
  std::map<pvmkit::domain_id, std::string> seen;
  for (const auto& g : now.guests) seen.emplace(g.id, g.name);
  for (const auto& [id, name] : last)
    if (!seen.count(id)) {
      pvmkit::json_writer w;
      w.begin_object().field("type", "guest_gone").field("round", std::uint64_t{round}).field("id", std::uint64_t{id.value()});
      w.field("name", name).end_object();
      std::cout << w.take() << '\n';
    }
  last = std::move(seen);
}

template <pvmkit::Backend B>
int run_agent(B& backend, const options& o) {
  // Sizing first: placement then sees the vCPUs sizing brings online or takes away. Steps this
  // backend cannot carry out are dropped by the controller (backend_traits), with a record.
  pvmkit::controller<B, pvmkit::runtime::any_sizing_policy, pvmkit::runtime::any_placement_policy> ctl{
      backend, pvmkit::runtime::make_sizing(o.sizing), pvmkit::runtime::make_placement(o.placement)};
  std::size_t round = 0;
  ctl.on_decision([&](const pvmkit::decision_record& r) {
    const std::string line = pvmkit::to_json_line(r);
    std::cout << R"({"type":"decision","round":)" << round << ',' << line.substr(1) << '\n';
  });
  const std::string_view name = pvmkit::backend_traits<B>::name;
  std::signal(SIGINT, on_stop);
  std::signal(SIGTERM, on_stop);
  int status = 0;
  std::map<pvmkit::domain_id, std::string> guests;
  while (!stop_requested) {
    ++round;
    if (o.dry_run) {
      auto snap = backend.snapshot();
      if (!snap) {
        std::cerr << "pvmkit agent: snapshot failed: " << snap.error().message() << '\n';
        return 1;
      }
      report_gone(round, *snap, guests);
      std::cout << snapshot_line(round, *snap) << '\n';
      const pvmkit::plan p = ctl.decide(*snap);
      std::cout << round_line(round, name, true, p, nullptr) << std::endl;
    } else {
      auto kept_off = keep_guests_off_pvm(backend);
      if (!kept_off) {
        std::cerr << "pvmkit agent: round " << round << ": keeping guests' vCPUs off the pVM's CPUs failed: "
                  << kept_off.error().message() << '\n';
        status = 1;
      } else if (*kept_off) {
        std::cout << R"({"type":"reservation","round":)" << round << R"(,"guest_vcpus_moved":)" << **kept_off << "}\n";
      }
      auto r = ctl.step();
      if (!r) {
        std::cerr << "pvmkit agent: snapshot failed: " << r.error().message() << '\n';
        return 1;
      }
      report_gone(round, r->before, guests);
      std::cout << snapshot_line(round, r->before) << '\n';
      std::cout << round_line(round, name, false, r->planned, &r->applied) << std::endl;
      if (!r->applied.ok()) {
        std::cerr << "pvmkit agent: round " << round << ": step " << r->applied.failed_step.value_or(0) << " failed: "
                  << r->applied.error.message() << (r->applied.rolled_back ? " (rolled back)" : " (not all undone)") << '\n';
        status = 1;
      }
    }
    if (o.once || (o.rounds && round >= o.rounds)) break;
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(o.interval);
    while (!stop_requested && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return status;
}

// Two nodes of four CPUs, SLIT 10/21; a guest homed on each, each with a netback queue (two
// threads and an IRQ) and a blkback ring; the pVM starts with one vCPU per CPU, all floating.
pvmkit::mock_host make_mock_host() {
  using namespace pvmkit::literals;
  pvmkit::mock_host h{pvmkit::make_uniform_topology(2, 4, 4_GiB, 21)};
  for (std::uint32_t n = 0; n < 2; ++n) {
    const std::string name = "guest" + std::to_string(n);
    const auto g = h.add_guest({name, 2, pvmkit::node_id{n}, 1_GiB, {}, false});
    const std::string d = std::to_string(g.value());
    h.add_task({"vif" + d + ".0-q0-guest-rx", pvmkit::task_kind::net_backend, g, "vif" + d + ".0", 0.4});
    h.add_task({"vif" + d + ".0-q0-dealloc", pvmkit::task_kind::net_backend, g, "vif" + d + ".0", 0.05});
    h.add_task({d + ".xvda-0", pvmkit::task_kind::block_backend, g, "xvda", 0.2});
    h.add_task({"vif" + d + ".0-q0-tx", pvmkit::task_kind::irq, g, "vif" + d + ".0", 0.0});
    h.set_io_load(g, {20000, 500, 0.65});
  }
  return h;
}

pvmkit::cli::register_command reg{"agent", [](CLI::App& app) {
  auto o = std::make_shared<options>();
  auto* cmd = app.add_subcommand("agent", "Run the pVM control loop: snapshot, decide, apply, log (JSON lines)");
  cmd->add_option("--backend", o->backend,
                  "xen (libxl + this dom0's /proc), libvirt (a KVM host: libvirt + its /proc) or mock (built-in 2-node host)")
      ->check(CLI::IsMember({"xen", "libvirt", "mock"}))
      ->capture_default_str();
  cmd->add_option("--placement", o->placement, "placement policy spec, e.g. closer or closer:hysteresis=0.2")->capture_default_str();
  cmd->add_option("--sizing", o->sizing, "sizing policy spec, e.g. closer_dynamic or static_fixed:vcpus=2")->capture_default_str();
  cmd->add_flag("--dry-run", o->dry_run, "print the plan of each round, apply nothing");
  cmd->add_flag("--once", o->once, "run one round and exit");
  cmd->add_option("--interval", o->interval, "seconds between rounds")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--rounds", o->rounds, "stop after this many rounds (0 = until SIGINT/SIGTERM)")->capture_default_str();
  cmd->add_option("--proc-root", o->proc_root, "where dom0's (or the KVM host's) /proc is (tests point it at a fake tree)")->capture_default_str();
  auto* uri = cmd->add_option("--uri", o->uri, "libvirt connection URI, e.g. qemu:///system or test:///default (--backend libvirt)");
  auto* state = cmd->add_option("--state-file", o->state_file,
                                "where the KVM host's pVM CPU reservation is kept between runs (--backend libvirt; "
                                "default /run/pvmkit/libvirt-<URI>.state, none for test:///)");
  return pvmkit::cli::command{cmd, [o, uri, state]() -> int {
    // Policies are built first so a bad spec is a usage error (exit 2) before anything is opened.
    (void)pvmkit::runtime::make_sizing(o->sizing);
    (void)pvmkit::runtime::make_placement(o->placement);
    if ((uri->count() > 0 || state->count() > 0) && o->backend != "libvirt")
      throw pvmkit::config_error("--uri and --state-file apply to --backend libvirt only");
    if (o->backend == "mock") {
      auto host = make_mock_host();
      return run_agent(host, *o);
    }
    if (o->backend == "libvirt") {
#ifdef PVMKIT_HAVE_LIBVIRT
      try {
        pvmkit::libvirt_options lo;
        lo.uri = o->uri;
        lo.state_file = state->count() > 0 ? o->state_file : default_state_file(o->uri);
        auto backend = pvmkit::make_kvm_host_backend(std::move(lo), o->proc_root);
        return run_agent(backend, *o);
      } catch (const pvmkit::libvirt_unavailable& e) {
        std::cerr << "pvmkit agent: " << e.what() << '\n';
        return 1;
      }
#else
      std::cerr << "pvmkit agent: this pvmkit was built without the libvirt component (libvirt-dev not found)\n";
      return 1;
#endif
    }
#ifdef PVMKIT_HAVE_XEN
    try {
      auto backend = pvmkit::make_xen_pvm_backend(o->proc_root);
      return run_agent(backend, *o);
    } catch (const pvmkit::xen_unavailable& e) {
      std::cerr << "pvmkit agent: " << e.what() << '\n';
      return 1;
    }
#else
    std::cerr << "pvmkit agent: this pvmkit was built without the Xen component (libxen-dev not found)\n";
    return 1;
#endif
  }};
}};

}  // namespace
