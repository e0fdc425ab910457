// watcher: the loop from detection to recovery, for any backend with the ComponentControl
// capability and any detector. It is told what happens (a component's exit, a heartbeat, work
// counters, health samples, the passing of time), asks each component's detector for a verdict,
// hands failures to the supervisor, and carries out the supervisor's actions through the backend
// (recovery/driver.hpp). Time is passed in, never read: tests drive it by hand.
//
//  - an exit of the serving instance is a failure at once (the event is the evidence);
//  - a detector that suspects a running component (a hang: no heartbeat, stalled progress) gets
//    it stopped first (a hung process still holds what its successor needs), then failed;
//  - every start the supervisor orders resets that component's detector (a new incarnation);
//  - every action applied is reported with how long after the failure it came.
// recovery/process_watch.hpp feeds it from the process backend's events.
#pragma once

#include <pvmkit/backend/concepts.hpp>
#include <pvmkit/core/clock.hpp>
#include <pvmkit/core/error.hpp>
#include <pvmkit/core/ids.hpp>
#include <pvmkit/recovery/any_detector.hpp>
#include <pvmkit/recovery/detector.hpp>
#include <pvmkit/recovery/driver.hpp>
#include <pvmkit/recovery/supervisor.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace pvmkit::recovery {

// A detector the watcher can reset when a new incarnation starts.
template <class D>
concept RestartableDetector = Detector<D> && requires(D& d, time_point t) { d.start(t); };

// One action carried out, with its outcome and, for a recovery, the time since the failure.
struct watch_record {
  time_point at{};
  applied_action applied;
  std::optional<duration> since_failure;  // set on a successful start after a failure
};

template <ComponentControl B, RestartableDetector D = any_detector>
class watcher {
 public:
  // detectors[i] watches components[i].
  watcher(B& backend, std::vector<component_spec> components, supervisor_config cfg, std::vector<D> detectors)
      : b_(backend), sup_(components, cfg), det_(std::move(detectors)) {
    if (det_.size() != components.size()) throw config_error("watcher: one detector per component is needed");
    for (std::size_t i = 0; i < components.size(); ++i) {
      index_.emplace(components[i].id, i);
      failed_at_.emplace_back();
    }
  }

  recovery::supervisor& supervisor() noexcept { return sup_; }
  const recovery::supervisor& supervisor() const noexcept { return sup_; }
  D& detector(component_id c) { return det_.at(index(c)); }
  void set_record_sink(std::function<void(const watch_record&)> sink) { sink_ = std::move(sink); }
  // Where the time after each action comes from (a start may take a while: a daemon that must
  // answer before its dependents start). Without one, actions are stamped with the call's time.
  // The clock is held by reference and must outlive the watcher.
  template <Clock C>
  void set_clock(const C& clock) {
    clock_ = [&clock] { return clock.now(); };
  }
  // The last max_records actions, oldest first.
  [[nodiscard]] const std::deque<watch_record>& records() const noexcept { return records_; }
  static constexpr std::size_t max_records = 4096;

  // Brings every component up, in dependency order.
  void start(time_point now) { apply(sup_.start_all(now), now); }

  // The serving instance of c exited (status: exit code, or minus the signal).
  void exited(component_id c, time_point at, int status) {
    failed_at_[index(c)] = at;
    apply(sup_.on_failure(c, at, "exit status " + std::to_string(status)), at);
  }
  // c's standby (warm spare) exited.
  void spare_exited(component_id c, time_point at) { apply(sup_.on_spare_failure(c, at), at); }

  void heartbeat(component_id c, time_point at) { det_[index(c)].heartbeat(at); }
  void progress(component_id c, time_point at, std::uint64_t pending, std::uint64_t completed)
    requires requires(D& d) { d.observe(at, pending, completed); }
  {
    det_[index(c)].observe(at, pending, completed);
  }
  // Resident bytes (and a request latency, negative = none) for rejuvenation.
  void health(component_id c, time_point at, double rss_bytes, double latency_ns = -1) { sup_.on_health(c, at, rss_bytes, latency_ns); }

  // Verdicts on running components, then back-offs and rejuvenation. Call at least every tick and
  // at next_deadline(). `load` (0..1) gates rejuvenation.
  void tick(time_point now, double load = 0.0) {
    for (const auto& s : sup_.components()) {
      if (sup_.state(s.id) != supervised_state::running) continue;
      const auto st = b_.status(s.id);
      if (!st || *st != component_status::running) continue;
      auto& d = det_[index(s.id)];
      if (!d.suspect(now)) continue;
      failed_at_[index(s.id)] = now;
      (void)b_.stop_component(s.id);  // hung: it still holds what its successor needs
      apply(sup_.on_failure(s.id, now, "hang: " + std::string{describe(d, now)}), now);
    }
    apply(sup_.tick(now, load), now);
  }

  // The next time tick() has work to do without any event, if any.
  [[nodiscard]] std::optional<time_point> next_deadline() const noexcept { return sup_.next_deadline(); }
  [[nodiscard]] std::optional<time_point> failed_at(component_id c) const { return failed_at_.at(index(c)); }

 private:
  static std::string describe(D& d, time_point now) {
    if constexpr (requires { d.phi(now); }) return "no heartbeat, phi " + std::to_string(d.phi(now));
    else return "no heartbeat in time";
  }

  [[nodiscard]] std::size_t index(component_id c) const {
    const auto it = index_.find(c);
    if (it == index_.end()) throw config_error("watcher: unknown component " + std::to_string(c.value()));
    return it->second;
  }

  void apply(std::vector<recovery_action> actions, time_point now) {
    if (actions.empty()) return;
    for (auto& a : apply_actions(b_, sup_, std::move(actions), now)) {
      const time_point done = clock_ ? clock_() : now;
      watch_record r{done, std::move(a), std::nullopt};
      const auto k = r.applied.action.kind;
      const bool brings_up = k == action_kind::start || k == action_kind::replay || k == action_kind::promote_spare;
      if (brings_up && !r.applied.error && r.applied.action.component.valid()) {
        const std::size_t i = index(r.applied.action.component);
        det_[i].start(done);
        if (failed_at_[i]) {
          r.since_failure = done - *failed_at_[i];
          failed_at_[i].reset();
        }
      }
      if (records_.size() == max_records) records_.pop_front();
      records_.push_back(r);
      if (sink_) sink_(records_.back());
    }
  }

  B& b_;
  recovery::supervisor sup_;
  std::vector<D> det_;
  std::unordered_map<component_id, std::size_t> index_;
  std::vector<std::optional<time_point>> failed_at_;
  std::deque<watch_record> records_;
  std::function<void(const watch_record&)> sink_;
  std::function<time_point()> clock_;
};

}  // namespace pvmkit::recovery
