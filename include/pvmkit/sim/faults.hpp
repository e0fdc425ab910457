// Fault scenarios for a disaggregated pVM: a component fails at a time; for each recovery strategy
// the model says what every guest loses (control-plane downtime, data-path downtime, lost store
// state, whether the guest itself was restarted). All figures are *modelled*: the equations and
// every parameter, with its source, are in docs/recovery.md. The detection, restart, fail-over and
// replay times default to figures *measured* on real processes by pvmkit-recovery-measure.
#pragma once

#include <pvmkit/core/error.hpp>
#include <pvmkit/core/json_writer.hpp>
#include <pvmkit/recovery/component.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace pvmkit::sim {

enum class recovery_strategy : std::uint8_t {
  stock_xen,      // xenstored not restartable with state; a backend crash takes dom0 and the host down
  plain_restart,  // every component restarted on failure, without its state, frontends not told
  specialised,    // each component's own technique: restart, warm spare, snapshot+log, reconnect
};

[[nodiscard]] constexpr std::string_view to_string(recovery_strategy s) noexcept {
  switch (s) {
    case recovery_strategy::stock_xen: return "stock_xen";
    case recovery_strategy::plain_restart: return "plain_restart";
    case recovery_strategy::specialised: return "specialised";
  }
  return "?";
}

enum class fault_kind : std::uint8_t { crash, hang };

[[nodiscard]] constexpr std::string_view to_string(fault_kind k) noexcept {
  switch (k) {
    case fault_kind::crash: return "crash";
    case fault_kind::hang: return "hang";
  }
  return "?";
}

struct fault_component {
  std::string name;
  recovery::component_kind kind = recovery::component_kind::custom;
  recovery::technique technique = recovery::technique::restart;  // used by `specialised`
  std::size_t state_entries = 0;  // keys a store holds (lost without snapshot + log)
  bool control_plane = false;     // guests cannot be managed while it is down (xenstore, toolstack)
  bool data_path = false;         // guests' I/O stops while it is down (netback, blkback, device model)

  friend bool operator==(const fault_component&, const fault_component&) = default;
};

struct fault {
  std::string component;
  double at_s = 0;
  fault_kind kind = fault_kind::crash;

  friend bool operator==(const fault&, const fault&) = default;
};

// Every time in seconds. Defaults: see docs/recovery.md for each source.
struct fault_parameters {
  double crash_detection_s = 0.0094;  // measured p99: pidfd exit event (loaded 2-core VM)
  double hang_detection_s = 0.0645;   // measured p99: phi accrual, 10 ms heartbeat
  double restart_s = 0.0122;          // measured p99: stateless restart to serving
  double failover_s = 0.0046;         // measured p99: warm-spare promotion to serving
  double replay_per_entry_s = 2.0e-6; // measured: 10,000-key journal recovery (p50 19.7 ms) / 10,000
  double reconnect_s = 0.1;           // assumption: a frontend's xenbus reconnect round trip
  double xl_restart_delay_s = 2.0;    // xl's fixed sleep before respawning (docs/recovery.md)
  double operator_reaction_s = 300;   // assumption: a person notices and acts on an unrecovered fault
  double host_reboot_s = 180;         // assumption: firmware POST + Xen + dom0 boot of a server
  double guest_boot_s = 30;           // assumption: a guest OS boot after the host is back

  friend bool operator==(const fault_parameters&, const fault_parameters&) = default;
};

struct fault_scenario {
  std::string name;
  std::size_t guests = 0;
  std::vector<fault_component> components;
  std::vector<fault> faults;
  fault_parameters params{};

  // Lets a scenario read from a file be checked against the C++ one (examples/faults/default.json).
  friend bool operator==(const fault_scenario&, const fault_scenario&) = default;
};

// What one fault costs each guest under one strategy.
struct fault_outcome {
  std::string component;
  double at_s = 0;
  fault_kind kind = fault_kind::crash;
  double detection_s = 0;
  double control_plane_down_s = 0;
  double data_path_down_s = 0;
  std::size_t lost_state_entries = 0;
  bool host_rebooted = false;
  bool guests_restarted = false;  // guests lost their memory state (rebooted with the host)
  std::string how;                // one line: what the strategy did
};

struct strategy_result {
  recovery_strategy strategy{};
  std::vector<fault_outcome> faults;
  double control_plane_down_s = 0;  // per guest, summed over the faults
  double data_path_down_s = 0;
  std::size_t lost_state_entries = 0;
  std::size_t guest_restarts = 0;   // per guest
};

struct fault_report {
  std::string scenario;
  std::size_t guests = 0;
  std::vector<strategy_result> strategies;

  void write_json(json_writer& w) const {
    w.begin_object();
    w.field("scenario", scenario).field("figures", "modelled").field("guests", static_cast<std::uint64_t>(guests));
    w.key("strategies").begin_array();
    for (const auto& s : strategies) {
      w.begin_object();
      w.field("strategy", to_string(s.strategy));
      w.field("control_plane_down_s_per_guest", s.control_plane_down_s).field("data_path_down_s_per_guest", s.data_path_down_s);
      w.field("lost_state_entries", static_cast<std::uint64_t>(s.lost_state_entries));
      w.field("guest_restarts", static_cast<std::uint64_t>(s.guest_restarts));
      w.key("faults").begin_array();
      for (const auto& f : s.faults) {
        w.begin_object();
        w.field("component", f.component).field("at_s", f.at_s).field("kind", f.kind == fault_kind::crash ? "crash" : "hang");
        w.field("detection_s", f.detection_s).field("control_plane_down_s", f.control_plane_down_s);
        w.field("data_path_down_s", f.data_path_down_s).field("lost_state_entries", static_cast<std::uint64_t>(f.lost_state_entries));
        w.field("host_rebooted", f.host_rebooted).field("guests_restarted", f.guests_restarted).field("how", f.how);
        w.end_object();
      }
      w.end_array();
      w.end_object();
    }
    w.end_array();
    w.end_object();
  }
  [[nodiscard]] std::string to_json() const {
    json_writer w;
    write_json(w);
    return w.take();
  }
};

namespace detail {
inline const fault_component& find_component(const fault_scenario& s, const std::string& name) {
  for (const auto& c : s.components)
    if (c.name == name) return c;
  throw config_error("fault scenario '" + s.name + "': fault names unknown component '" + name + "'");
}

inline fault_outcome model_fault(const fault_scenario& s, const fault_component& c, const fault& f, recovery_strategy st) {
  const auto& p = s.params;
  fault_outcome o{c.name, f.at_s, f.kind, 0, 0, 0, 0, false, false, {}};
  const double detect = f.kind == fault_kind::crash ? p.crash_detection_s : p.hang_detection_s;
  auto down = [&](double t) {
    if (c.control_plane) o.control_plane_down_s = t;
    if (c.data_path) o.data_path_down_s = t;
  };
  auto host_reboot = [&](double before) {  // everything waits for the reboot, guests boot again
    o.host_rebooted = o.guests_restarted = true;
    o.control_plane_down_s = o.data_path_down_s = before + p.host_reboot_s + p.guest_boot_s;
    o.lost_state_entries = c.state_entries;
  };
  switch (st) {
    case recovery_strategy::stock_xen:
      if (f.kind == fault_kind::hang) {  // nothing watches dom0's daemons for hangs
        o.detection_s = p.operator_reaction_s;
        down(p.operator_reaction_s);
        if (c.kind == recovery::component_kind::xenstore) host_reboot(p.operator_reaction_s);
        o.how = "no hang detection; an operator reacts";
        break;
      }
      o.detection_s = detect;
      if (c.kind == recovery::component_kind::xenstore) {
        // Data path keeps running; a restarted xenstored is empty and guests cannot be managed
        // (xenlab NOTES.md): the way back is a host reboot once someone notices.
        host_reboot(p.operator_reaction_s);
        o.data_path_down_s = p.host_reboot_s + p.guest_boot_s;
        o.how = "xenstored not restartable with its state: host reboot after operator reaction";
      } else if (c.kind == recovery::component_kind::netback || c.kind == recovery::component_kind::blkback) {
        host_reboot(0);  // an in-kernel backend fault is a dom0 crash, which reboots the host
        o.how = "backend in dom0 kernel: dom0 crash reboots the host";
      } else {
        down(p.xl_restart_delay_s);
        o.lost_state_entries = c.state_entries;
        o.how = "respawned after xl's fixed 2 s sleep, without state";
      }
      break;
    case recovery_strategy::plain_restart:
      o.detection_s = detect;
      down(detect + p.restart_s);
      o.lost_state_entries = c.state_entries;
      if (c.state_entries > 0 || c.technique == recovery::technique::reconnect_frontends) {
        // An empty store, or frontends never told to reconnect: guests are rebooted to recover.
        o.guests_restarted = true;
        o.control_plane_down_s = o.data_path_down_s = std::max(o.control_plane_down_s, detect + p.restart_s) + p.guest_boot_s;
        o.how = "restarted without state; guests rebooted to rebuild it";
      } else {
        o.how = "restarted (stateless)";
      }
      break;
    case recovery_strategy::specialised:
      o.detection_s = detect;
      switch (c.technique) {
        case recovery::technique::restart:
          down(detect + p.restart_s);
          o.how = "stateless restart";
          break;
        case recovery::technique::warm_spare:
          down(detect + p.failover_s);
          o.how = "warm spare promoted";
          break;
        case recovery::technique::snapshot_log_replay:
          down(detect + p.restart_s + p.replay_per_entry_s * static_cast<double>(c.state_entries));
          o.how = "restart + snapshot/log replay: no state lost";
          break;
        case recovery::technique::reconnect_frontends:
          down(detect + p.restart_s + p.reconnect_s);
          o.how = "restart + frontends reconnect";
          break;
      }
      break;
  }
  return o;
}
}  // namespace detail

// Runs every strategy over the scenario's faults. Throws config_error on a bad scenario.
[[nodiscard]] inline fault_report run_faults(const fault_scenario& s) {
  if (s.guests == 0) throw config_error("fault scenario '" + s.name + "': guests must be at least 1");
  if (s.components.empty()) throw config_error("fault scenario '" + s.name + "': no components");
  for (const auto& f : s.faults)
    if (f.at_s < 0) throw config_error("fault scenario '" + s.name + "': fault of '" + f.component + "' at a negative time");
  fault_report r{s.name, s.guests, {}};
  for (auto st : {recovery_strategy::stock_xen, recovery_strategy::plain_restart, recovery_strategy::specialised}) {
    strategy_result sr{st, {}, 0, 0, 0, 0};
    for (const auto& f : s.faults) {
      auto o = detail::model_fault(s, detail::find_component(s, f.component), f, st);
      sr.control_plane_down_s += o.control_plane_down_s;
      sr.data_path_down_s += o.data_path_down_s;
      sr.lost_state_entries += o.lost_state_entries;
      sr.guest_restarts += o.guests_restarted ? 1 : 0;
      sr.faults.push_back(std::move(o));
    }
    r.strategies.push_back(std::move(sr));
  }
  return r;
}

// One row per strategy (per-guest totals over the scenario's faults), then each fault under the
// specialised techniques; labelled as modelled.
[[nodiscard]] inline std::string format_fault_table(const fault_report& r) {
  std::string out = "pVM component faults: " + r.scenario + ", " + std::to_string(r.guests) +
                    " guests (MODELLED, see docs/recovery.md)\n";
  char line[320];
  std::snprintf(line, sizeof line, "%-14s %22s %20s %18s %16s\n", "strategy", "control plane down s", "data path down s",
                "lost store entries", "guest restarts");
  out += line;
  for (const auto& sr : r.strategies) {
    std::snprintf(line, sizeof line, "%-14s %22.3f %20.3f %18zu %16zu\n", std::string{to_string(sr.strategy)}.c_str(),
                  sr.control_plane_down_s, sr.data_path_down_s, sr.lost_state_entries, sr.guest_restarts);
    out += line;
  }
  for (const auto& sr : r.strategies) {
    if (sr.strategy != recovery_strategy::specialised) continue;
    out += "specialised, fault by fault:\n";
    for (const auto& f : sr.faults) {
      std::snprintf(line, sizeof line, "  t=%5.0f s %-9s %-5s detected in %8.4f s, data path down %8.4f s: %s\n", f.at_s,
                    f.component.c_str(), f.kind == fault_kind::crash ? "crash" : "hang", f.detection_s, f.data_path_down_s,
                    f.how.c_str());
      out += line;
    }
  }
  return out;
}

// A pVM with a store, a network and a block backend, a toolstack and a device model; each fails
// once (the store and the network backend also hang once).
[[nodiscard]] inline fault_scenario default_fault_scenario() {
  using recovery::component_kind;
  using recovery::technique;
  fault_scenario s;
  s.name = "default: every pVM component fails once";
  s.guests = 8;
  s.components = {
      {"xenstored", component_kind::xenstore, technique::snapshot_log_replay, 10000, true, false},
      {"netback", component_kind::netback, technique::warm_spare, 0, false, true},
      {"blkback", component_kind::blkback, technique::reconnect_frontends, 0, false, true},
      {"toolstack", component_kind::toolstack, technique::restart, 0, true, false},
      {"qemu-dm", component_kind::device_model, technique::restart, 0, false, true},
  };
  s.faults = {{"xenstored", 60, fault_kind::crash}, {"netback", 120, fault_kind::crash}, {"blkback", 180, fault_kind::crash},
              {"toolstack", 240, fault_kind::crash}, {"qemu-dm", 300, fault_kind::crash}, {"xenstored", 360, fault_kind::hang},
              {"netback", 420, fault_kind::hang}};
  return s;
}

}  // namespace pvmkit::sim
