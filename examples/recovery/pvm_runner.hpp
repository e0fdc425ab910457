// pvm_runner: the supervisor's loop for components run as processes. It turns process events
// into detector input (exits -> crash, heartbeats -> phi accrual), detector verdicts into
// supervisor calls, health samples (/proc/PID/statm) into rejuvenation input, and carries out
// the supervisor's actions through the process backend. Shared by the supervisor program, the
// fault-injection tests and the measurement program.
#pragma once

#include <pvmkit/linux/process_backend.hpp>
#include <pvmkit/recovery/driver.hpp>
#include <pvmkit/recovery/phi_accrual.hpp>
#include <pvmkit/recovery/supervisor.hpp>

#include <cstdio>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

namespace pvmkit::examples {

// Resident set size of a process in bytes (0 if it is gone).
inline double resident_bytes(pid_t pid) {
  if (pid <= 0) return 0;
  const std::string path = "/proc/" + std::to_string(pid) + "/statm";
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return 0;
  unsigned long size = 0, resident = 0;
  const int n = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  return n == 2 ? static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE)) : 0;
}

class pvm_runner {
 public:
  pvm_runner(linux_process::process_backend& backend, std::vector<recovery::component_spec> specs,
             recovery::supervisor_config cfg, recovery::phi_accrual_config detector)
      : b_(backend), sup_(std::move(specs), cfg) {
    for (std::size_t i = 0; i < sup_.components().size(); ++i) det_.emplace_back(detector);
  }

  recovery::supervisor& supervisor() noexcept { return sup_; }
  recovery::phi_accrual& detector(component_id c) { return det_.at(c.index()); }
  // Load in 0..1 for the rejuvenation window (default: always low).
  void set_load(std::function<double()> f) { load_ = std::move(f); }
  duration health_period{std::chrono::milliseconds{100}};

  void start() { apply(sup_.start_all(clock_.now())); }

  // One round: wait up to `tick` for process events, then judge and act.
  void step(duration tick) {
    for (const auto& e : b_.wait_events(tick)) {
      if (e.kind == linux_process::process_event_kind::exited) {
        if (e.spare) apply(sup_.on_spare_failure(e.component, e.at));
        else apply(sup_.on_failure(e.component, e.at, "exit status " + std::to_string(e.status)));
      } else if (!e.spare) {
        det_[e.component.index()].heartbeat(e.at);
      }
    }
    const time_point now = clock_.now();
    for (const auto& s : sup_.components()) {
      if (sup_.state(s.id) != recovery::supervised_state::running) continue;
      if (b_.status(s.id).value_or(component_status::stopped) != component_status::running) continue;
      if (!det_[s.id.index()].suspect(now)) continue;
      (void)b_.stop_component(s.id);  // a hung process is still there: make room for the new one
      apply(sup_.on_failure(s.id, now, "hang: no heartbeat, phi " + std::to_string(det_[s.id.index()].phi(now))));
    }
    if (now - last_health_ >= health_period) {
      last_health_ = now;
      for (const auto& s : sup_.components())
        if (s.health.rss) sup_.on_health(s.id, now, resident_bytes(b_.pid(s.id)));
    }
    apply(sup_.tick(now, load_ ? load_() : 0.0));
  }

 private:
  void apply(std::vector<recovery::recovery_action> actions) {
    if (actions.empty()) return;
    const time_point now = clock_.now();
    for (const auto& a : recovery::apply_actions(b_, sup_, std::move(actions), now)) {
      const auto k = a.action.kind;
      if (!a.error && (k == recovery::action_kind::start || k == recovery::action_kind::replay || k == recovery::action_kind::promote_spare))
        det_[a.action.component.index()].start(clock_.now());
    }
  }

  linux_process::process_backend& b_;
  recovery::supervisor sup_;
  std::vector<recovery::phi_accrual> det_;
  std::function<double()> load_;
  steady_clock clock_;
  time_point last_health_{};
};

}  // namespace pvmkit::examples
