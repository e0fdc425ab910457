// supervise_config: what `pvmkit supervise` watches, read from a JSON file (format in
// docs/recovery.md, "pvmkit supervise"). Each component: its command line, the components it
// depends on, the state it holds and the technique that brings it back, the detector that judges
// it (and the probe that feeds that detector), its restart budget. Parsed with core/json_reader:
// every error names the file, the line and the field ("supervise.json:7: components[1].depends_on[0]:
// unknown component 'xenstore' (components: xenstored, xenconsoled, agent)"), and nothing is started
// from a file that has one.
#pragma once

#include <pvmkit/core/clock.hpp>
#include <pvmkit/core/error.hpp>
#include <pvmkit/core/ids.hpp>
#include <pvmkit/core/json_reader.hpp>
#include <pvmkit/core/text_file.hpp>
#include <pvmkit/recovery/any_detector.hpp>
#include <pvmkit/recovery/component.hpp>
#include <pvmkit/recovery/supervisor.hpp>
#include <pvmkit/recovery/xenstored_restore.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pvmkit::recovery {

inline constexpr std::size_t supervise_config_bytes_limit = std::size_t{1} << 20;
inline constexpr std::size_t max_supervised_components = 64;

// How the watcher hears from a component that sends no heartbeats of its own.
struct probe_config {
  enum class kind : std::uint8_t { none, xenstore } type = kind::none;
  duration interval{std::chrono::seconds{1}};
  duration timeout{std::chrono::seconds{5}};  // a reply later than this is no sign of life
};

struct supervised_component {
  component_spec spec;                 // id = its position in the file
  std::vector<std::string> command;    // argv; command[0] the executable
  std::vector<std::string> env;        // NAME=value added to the environment
  any_detector detector;
  std::string detector_kind = "crash";
  probe_config probe;
  std::optional<duration> recover_within;  // reported when a recovery takes longer
  duration ready_timeout{std::chrono::seconds{30}};  // a xenstore answers before dependents start
  std::vector<std::vector<std::string>> after_first_start;  // commands run once, after the first start
  bool leave_running = true;           // when supervise exits (xenstored must never be stopped)
  duration stop_grace{std::chrono::seconds{2}};
};

struct supervise_config {
  supervisor_config supervisor;
  xenstore::xenstored_paths xenstored;
  std::vector<supervised_component> components;

  [[nodiscard]] std::optional<component_id> find(std::string_view name) const {
    for (const auto& c : components)
      if (c.spec.name == name) return c.spec.id;
    return std::nullopt;
  }
};

namespace detail {

template <class Enum>
[[nodiscard]] Enum choose(const json_field& f, std::string_view what, std::initializer_list<Enum> values) {
  const std::string name = f.string();
  std::string list;
  for (const Enum e : values) {
    if (to_string(e) == name) return e;
    list += (list.empty() ? "" : ", ") + std::string{to_string(e)};
  }
  f.fail("unknown " + std::string{what} + " '" + name + "' (expected one of " + list + ")");
}

[[nodiscard]] inline duration ms_field(const json_field& f, double max_ms = 1e9) {
  return std::chrono::duration_cast<duration>(std::chrono::duration<double, std::milli>(f.number(0, max_ms)));
}
[[nodiscard]] inline duration positive_ms(const json_field& f, double max_ms = 1e9) {
  return std::chrono::duration_cast<duration>(std::chrono::duration<double, std::milli>(f.number(0, max_ms, true)));
}
[[nodiscard]] inline duration positive_s(const json_field& f) {
  return std::chrono::duration_cast<duration>(std::chrono::duration<double>(f.number(0, 1e7, true)));
}

[[nodiscard]] inline std::vector<std::string> argv_field(const json_field& f) {
  std::vector<std::string> out;
  for (const auto& a : f.items()) {
    out.push_back(a.string());
    if (out.back().find('\0') != std::string::npos) a.fail("an argument must not hold a NUL");
  }
  if (out.empty()) f.fail("a command needs at least the program");
  if (out.front().empty() || out.front().front() != '/') f.items().front().fail("the program must be an absolute path, found '" + out.front() + "'");
  return out;
}

[[nodiscard]] inline restart_budget budget_field(const json_field& f, std::optional<duration>* recover_within = nullptr) {
  if (recover_within) f.object({"max_restarts", "period_s", "recover_within_s"});
  else f.object({"max_restarts", "period_s"});
  restart_budget b;
  b.max_restarts = static_cast<std::size_t>(f.at("max_restarts").integer(0, 1000000));
  b.period = positive_s(f.at("period_s"));
  if (recover_within && f.has("recover_within_s")) *recover_within = positive_s(f.at("recover_within_s"));
  return b;
}

inline any_detector detector_field(const json_field& f, std::string& kind) {
  kind = f.at("type").string();
  if (kind == "crash") {
    f.object({"type"});
    return crash_event{};
  }
  if (kind == "fixed_timeout") {
    f.object({"type", "timeout_ms", "startup_grace_ms", "watcher_max_gap_ms"});
    fixed_timeout_config c;
    c.timeout = positive_ms(f.at("timeout_ms"));
    if (f.has("startup_grace_ms")) c.startup_grace = ms_field(f.at("startup_grace_ms"));
    if (f.has("watcher_max_gap_ms")) c.watcher_max_gap = ms_field(f.at("watcher_max_gap_ms"));
    return fixed_timeout{c};
  }
  if (kind == "phi_accrual") {
    f.object({"type", "threshold", "window", "min_samples", "min_std_dev_ms", "acceptable_pause_ms", "bootstrap_interval_ms",
              "startup_grace_ms", "watcher_max_gap_ms"});
    phi_accrual_config c;
    if (f.has("threshold")) c.threshold = f.at("threshold").number(0, 1000, true);
    if (f.has("window")) c.window = static_cast<std::size_t>(f.at("window").integer(1, 100000));
    if (f.has("min_samples")) c.min_samples = static_cast<std::size_t>(f.at("min_samples").integer(1, 100000));
    if (f.has("min_std_dev_ms")) c.min_std_dev = ms_field(f.at("min_std_dev_ms"));
    if (f.has("acceptable_pause_ms")) c.acceptable_pause = ms_field(f.at("acceptable_pause_ms"));
    if (f.has("bootstrap_interval_ms")) c.bootstrap_interval = positive_ms(f.at("bootstrap_interval_ms"));
    if (f.has("startup_grace_ms")) c.startup_grace = ms_field(f.at("startup_grace_ms"));
    if (f.has("watcher_max_gap_ms")) c.watcher_max_gap = ms_field(f.at("watcher_max_gap_ms"));
    return phi_accrual{c};
  }
  if (kind == "progress") {
    f.object({"type", "stall_timeout_ms", "watcher_max_gap_ms"});
    progress_config c;
    c.stall_timeout = positive_ms(f.at("stall_timeout_ms"));
    if (f.has("watcher_max_gap_ms")) c.watcher_max_gap = ms_field(f.at("watcher_max_gap_ms"));
    return progress{c};
  }
  f.at("type").fail("unknown detector '" + kind + "' (expected one of crash, fixed_timeout, phi_accrual, progress)");
}

[[nodiscard]] inline bool valid_name(std::string_view n) {
  if (n.empty() || n.size() > 64) return false;
  for (char c : n)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')) return false;
  return true;
}

}  // namespace detail

// Parses and checks a configuration; throws config_error naming the field at fault.
[[nodiscard]] inline supervise_config parse_supervise_config(std::string_view text, std::string source) {
  using detail::choose;
  const json_document doc = parse_json(text, std::move(source));
  const json_field root = json_field::root(doc, "configuration");
  root.object({"supervisor", "xenstored", "components"});
  supervise_config cfg;

  if (root.has("supervisor")) {
    const auto s = root.at("supervisor");
    s.object({"budget", "dependents_budget", "pvm_budget", "backoff"});
    if (s.has("budget")) cfg.supervisor.component = detail::budget_field(s.at("budget"));
    if (s.has("dependents_budget")) cfg.supervisor.dependents = detail::budget_field(s.at("dependents_budget"));
    if (s.has("pvm_budget")) cfg.supervisor.pvm = detail::budget_field(s.at("pvm_budget"));
    if (s.has("backoff")) {
      const auto b = s.at("backoff");
      b.object({"first_ms", "base_ms", "factor", "cap_ms", "jitter", "seed", "reset_after_ms"});
      auto& o = cfg.supervisor.backoff;
      if (b.has("first_ms")) o.first = detail::ms_field(b.at("first_ms"));
      if (b.has("base_ms")) o.base = detail::ms_field(b.at("base_ms"));
      if (b.has("factor")) o.factor = b.at("factor").number(1, 100);
      if (b.has("cap_ms")) o.cap = detail::ms_field(b.at("cap_ms"));
      if (b.has("jitter")) o.jitter = b.at("jitter").number(0, 1);
      if (b.has("seed")) o.seed = b.at("seed").integer(0, std::uint64_t{1} << 53);
      if (b.has("reset_after_ms")) o.reset_after = detail::ms_field(b.at("reset_after_ms"));
    }
  }
  if (root.has("xenstored")) {
    const auto x = root.at("xenstored");
    x.object({"rundir", "socket", "trace", "port_file", "evtchn_device"});
    auto path = [&](const char* key, std::string& out) {
      if (!x.has(key)) return;
      out = x.at(key).string();
      if (out.empty() || out.front() != '/') x.at(key).fail("must be an absolute path, found '" + out + "'");
    };
    path("rundir", cfg.xenstored.rundir);
    path("socket", cfg.xenstored.socket);
    path("trace", cfg.xenstored.trace);
    path("port_file", cfg.xenstored.port_file);
    path("evtchn_device", cfg.xenstored.evtchn_device);
  }

  const auto items = root.at("components").items();
  if (items.empty()) root.at("components").fail("nothing to supervise: the list is empty");
  if (items.size() > max_supervised_components)
    root.at("components").fail("at most " + std::to_string(max_supervised_components) + " components, found " + std::to_string(items.size()));
  // Names first, so that a dependency may name a component further down.
  std::vector<std::string> names;
  for (const auto& it : items) {
    it.object({"name", "kind", "command", "env", "depends_on", "state", "technique", "detector", "probe", "budget", "ready_timeout_s",
               "after_first_start", "on_exit", "stop_grace_ms"});
    const auto n = it.at("name");
    std::string name = n.string();
    if (!detail::valid_name(name)) n.fail("a name is 1 to 64 letters, digits, '-', '_' or '.', found '" + name + "'");
    if (std::find(names.begin(), names.end(), name) != names.end()) n.fail("component '" + name + "' is named twice");
    names.push_back(std::move(name));
  }
  std::string all;
  for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;

  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto& it = items[i];
    supervised_component c;
    c.spec.id = component_id{static_cast<component_id::rep>(i)};
    c.spec.name = names[i];
    if (it.has("kind"))
      c.spec.kind = choose(it.at("kind"), "kind", {component_kind::xenstore, component_kind::netback, component_kind::blkback,
                                                   component_kind::toolstack, component_kind::device_model, component_kind::custom});
    c.command = detail::argv_field(it.at("command"));
    if (it.has("depends_on"))
      for (const auto& d : it.at("depends_on").items()) {
        const std::string dep = d.string();
        const auto pos = std::find(names.begin(), names.end(), dep);
        if (pos == names.end()) d.fail("unknown component '" + dep + "' (components: " + all + ")");
        c.spec.depends_on.push_back(component_id{static_cast<component_id::rep>(pos - names.begin())});
      }
    c.spec.state = c.spec.kind == component_kind::xenstore ? state_kind::checkpointed : state_kind::stateless;
    if (it.has("state")) c.spec.state = choose(it.at("state"), "state", {state_kind::stateless, state_kind::replicated, state_kind::checkpointed});
    c.spec.recover_by = default_technique(c.spec.state);
    if (it.has("technique"))
      c.spec.recover_by = choose(it.at("technique"), "technique", {technique::restart, technique::warm_spare, technique::snapshot_log_replay,
                                                                   technique::reconnect_frontends});
    if (c.spec.recover_by == technique::warm_spare)
      it.at("technique").fail("warm_spare needs a program that waits to be promoted (pvmkit's own components); dom0's daemons do not");
    if (c.spec.recover_by == technique::snapshot_log_replay && c.spec.kind != component_kind::xenstore)
      it.at("technique").fail("snapshot_log_replay is pvmkit's xenstored restore: it needs kind 'xenstore'");
    if (it.has("detector")) c.detector = detail::detector_field(it.at("detector"), c.detector_kind);
    if (it.has("probe")) {
      const auto p = it.at("probe");
      p.object({"type", "interval_ms", "timeout_ms"});
      const std::string t = p.at("type").string();
      if (t != "xenstore") p.at("type").fail("unknown probe '" + t + "' (expected xenstore)");
      if (c.spec.kind != component_kind::xenstore) p.at("type").fail("a xenstore probe needs kind 'xenstore'");
      c.probe.type = probe_config::kind::xenstore;
      if (p.has("interval_ms")) c.probe.interval = detail::positive_ms(p.at("interval_ms"));
      if (p.has("timeout_ms")) c.probe.timeout = detail::positive_ms(p.at("timeout_ms"));
      if (!c.detector.wants_heartbeats()) p.fail("a probe feeds a detector: give this component one that listens (fixed_timeout, phi_accrual)");
      c.spec.health.heartbeat = true;
    } else {
      c.spec.health.heartbeat = c.detector.wants_heartbeats();
    }
    if (it.has("budget")) cfg.supervisor.component_budgets[c.spec.id] = detail::budget_field(it.at("budget"), &c.recover_within);
    if (it.has("ready_timeout_s")) c.ready_timeout = detail::positive_s(it.at("ready_timeout_s"));
    if (it.has("after_first_start"))
      for (const auto& cmd : it.at("after_first_start").items()) c.after_first_start.push_back(detail::argv_field(cmd));
    if (it.has("on_exit")) {
      const std::string v = it.at("on_exit").string();
      if (v != "leave" && v != "stop") it.at("on_exit").fail("expected 'leave' or 'stop', found '" + v + "'");
      c.leave_running = v == "leave";
    }
    if (it.has("stop_grace_ms")) c.stop_grace = detail::ms_field(it.at("stop_grace_ms"), 600000);
    cfg.components.push_back(std::move(c));
  }
  // Environment entries, in file order.
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!items[i].has("env")) continue;
    const auto e = items[i].at("env");
    const json_value v = e.json();
    if (v.type() != json_type::object) e.fail("expected an object of NAME: value, found " + std::string{json_type_name(v.type())});
    for (std::size_t k = 0; k < v.size(); ++k) {
      const std::string key{v.key(k)};
      const json_field val{v.member(k), e.path() + "." + key, "configuration"};
      if (key.empty() || key.find('=') != std::string::npos) val.fail("an environment name must be non-empty and hold no '='");
      cfg.components[i].env.push_back(key + "=" + val.string());
    }
  }
  std::size_t stores = 0;
  for (std::size_t i = 0; i < cfg.components.size(); ++i)
    if (cfg.components[i].spec.kind == component_kind::xenstore && ++stores > 1)
      items[i].at("kind").fail("only one component may be the xenstore");
  // The supervisor's own checks (a dependency cycle, a budget) with the file's name in front.
  try {
    std::vector<component_spec> specs;
    for (const auto& c : cfg.components) specs.push_back(c.spec);
    const supervisor check(specs, cfg.supervisor);
  } catch (const config_error& e) {
    throw config_error(doc.source() + ": " + e.what());
  }
  return cfg;
}

[[nodiscard]] inline supervise_config load_supervise_config(const std::string& path) {
  return parse_supervise_config(read_text_file(path, "supervise configuration", supervise_config_bytes_limit), path);
}

}  // namespace pvmkit::recovery
