// supervisor: decides how a disaggregated pVM recovers. Pure decision logic over injected time:
// it is told about failures, health samples and the passing of time, and returns the actions to
// take (start, stop, promote a spare, replay a journal, reconnect frontends, escalate); a driver
// (recovery/driver.hpp) carries them out through a ComponentControl backend.
//
// Policy, in the order it applies:
//  - restart budget: at most `max_restarts` restarts within a sliding `period` per scope;
//  - escalation chain when a scope's budget is spent: the component alone -> the component with
//    its dependents -> the whole pVM -> a host action (after which the supervisor gives up); an
//    event is raised at every step;
//  - exponential back-off with a cap (optional jitter from a seeded generator) before restarting;
//    a warm spare is promoted at once (that is what it is for) and its replacement backs off;
//  - dependency order: a component starts only once everything it depends on runs; dependents of
//    a restarted stateful component are told to reconnect;
//  - rejuvenation: a running component whose health trend crosses a threshold is restarted
//    pro-actively, only while load is low, at most once per cool-down.
#pragma once

#include <pvmkit/core/clock.hpp>
#include <pvmkit/core/error.hpp>
#include <pvmkit/core/ids.hpp>
#include <pvmkit/core/json_writer.hpp>
#include <pvmkit/core/random.hpp>
#include <pvmkit/recovery/component.hpp>
#include <pvmkit/recovery/health_trend.hpp>
#include <pvmkit/recovery/recovery_event.hpp>
#include <pvmkit/recovery/restart_budget.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace pvmkit::recovery {

enum class supervised_state : std::uint8_t { stopped, running, waiting_restart, given_up };

class supervisor {
 public:
  supervisor(std::vector<component_spec> components, supervisor_config cfg = {})
      : specs_(std::move(components)), cfg_(cfg), rng_{cfg.backoff.seed} {
    validate();
    comps_.resize(specs_.size());
    for (std::size_t i = 0; i < specs_.size(); ++i) comps_[i].trend = health_trend{cfg_.rejuvenation.window};
    order_ = topological_order();
  }

  void set_event_sink(std::function<void(const recovery_event&)> sink) { sink_ = std::move(sink); }
  [[nodiscard]] const std::vector<recovery_event>& events() const noexcept { return events_; }
  [[nodiscard]] const std::vector<component_spec>& components() const noexcept { return specs_; }
  [[nodiscard]] const supervisor_config& config() const noexcept { return cfg_; }
  [[nodiscard]] bool gave_up() const noexcept { return gave_up_; }
  [[nodiscard]] supervised_state state(component_id c) const { return comps_[index(c)].state; }
  // Restarts of c counted against its own budget so far (for tests and reports).
  [[nodiscard]] std::size_t restarts(component_id c) const { return comps_[index(c)].restarts; }

  // Brings every component up in dependency order (spares too, for warm-spare components).
  std::vector<recovery_action> start_all(time_point now) {
    for (std::size_t i : order_) {
      if (comps_[i].state == supervised_state::given_up) continue;
      comps_[i].state = supervised_state::waiting_restart;
      comps_[i].due = now;
      comps_[i].initial = true;
    }
    return tick(now);
  }

  // A detector declared c failed (crashed, hung, or its start failed).
  std::vector<recovery_action> on_failure(component_id c, time_point now, std::string_view cause = "failure") {
    std::vector<recovery_action> out;
    const std::size_t i = index(c);
    if (gave_up_ || comps_[i].state == supervised_state::given_up) return out;
    raise(now, event_kind::failed, c, escalation_level::component, {}, std::string{cause});
    if (comps_[i].state == supervised_state::waiting_restart) return out;  // already being handled

    const auto& spec = specs_[i];
    auto& st = comps_[i];
    const restart_budget& own = budget_of(c);
    const std::size_t quick = count_quick_failure(st, now);
    if (spend(st.window, own, now)) {
      ++st.restarts;
      const auto attempt = std::min(st.window.size() - 1, quick);
      if (spec.recover_by == technique::warm_spare && st.spare_ready) {
        // The standby takes over at once; its own replacement is what backs off.
        st.spare_ready = false;
        st.state = supervised_state::running;
        out.push_back({action_kind::promote_spare, c, "fail-over to warm spare"});
        raise(now, event_kind::promoted, c, escalation_level::component, {}, "spare promoted");
        add_reconnects(i, now, out);
        schedule(i, now, attempt, escalation_level::component, /*spare_only=*/true);
      } else {
        schedule(i, now, attempt, escalation_level::component, false);
      }
      append(out, tick(now));
      return out;
    }
    raise(now, event_kind::budget_spent, c, escalation_level::component, {},
          std::to_string(own.max_restarts) + " restarts within " + ms(own.period));

    // Level 2: the component together with everything that depends on it.
    if (spend(st.group_window, cfg_.dependents, now)) {
      raise(now, event_kind::escalated, c, escalation_level::dependents, {}, "restart with dependents");
      const auto attempt = st.group_window.size() - 1;
      auto group = dependents_closure(i);
      stop_in_reverse_order(group, out, "escalation: restart with dependents");
      for (std::size_t j : group) {
        if (j == i) schedule(i, now, attempt, escalation_level::dependents, false);
        else park_for_restart(j, now);
      }
      append(out, tick(now));
      return out;
    }
    raise(now, event_kind::budget_spent, c, escalation_level::dependents, {},
          std::to_string(cfg_.dependents.max_restarts) + " group restarts within " + ms(cfg_.dependents.period));

    // Level 3: the whole pVM.
    if (spend(pvm_window_, cfg_.pvm, now)) {
      raise(now, event_kind::escalated, c, escalation_level::pvm, {}, "restart the whole pVM");
      std::vector<std::size_t> all(order_);
      stop_in_reverse_order(all, out, "escalation: restart the whole pVM");
      const auto attempt = pvm_window_.size() - 1;
      for (std::size_t j : all) {
        if (j == i) schedule(i, now, attempt, escalation_level::pvm, false);
        else park_for_restart(j, now);
      }
      append(out, tick(now));
      return out;
    }
    raise(now, event_kind::budget_spent, c, escalation_level::pvm, {},
          std::to_string(cfg_.pvm.max_restarts) + " pVM restarts within " + ms(cfg_.pvm.period));

    // Level 4: nothing inside the pVM can help any more.
    raise(now, event_kind::escalated, c, escalation_level::host, {}, "host action");
    out.push_back({action_kind::host_action, component_id::invalid(), "pVM recovery budget spent"});
    for (auto& s : comps_) s.state = supervised_state::given_up;
    gave_up_ = true;
    raise(now, event_kind::gave_up, c, escalation_level::host, {}, "supervisor stops restarting");
    return out;
  }

  // A health sample of c (resident bytes, and a request latency if it has one; negative = none).
  void on_health(component_id c, time_point t, double rss_bytes, double latency_ns = -1) {
    auto& st = comps_[index(c)];
    st.trend.add(t, rss_bytes);
    if (latency_ns >= 0) st.latency = latency_ns;
  }

  // The passing of time: restarts whose back-off expired and whose dependencies run, then
  // rejuvenation if the load (0..1) allows. Call at next_deadline() or on any event.
  std::vector<recovery_action> tick(time_point now, double load = 1.0) {
    std::vector<recovery_action> out;
    if (gave_up_) return out;
    // Repeat: a start in this round may unblock dependents in the same round.
    for (bool progressed = true; progressed;) {
      progressed = false;
      for (std::size_t i : order_) {
        auto& st = comps_[i];
        if (st.state != supervised_state::waiting_restart || st.due > now || !deps_running(i)) continue;
        emit_start(i, now, out);
        progressed = true;
      }
    }
    for (std::size_t i : order_) {  // replacement spares
      auto& st = comps_[i];
      if (st.spare_due && *st.spare_due <= now && st.state == supervised_state::running) {
        st.spare_due.reset();
        st.spare_ready = true;
        out.push_back({action_kind::start_spare, specs_[i].id, "replace the promoted spare"});
      }
    }
    if (cfg_.rejuvenation.enabled && load <= cfg_.rejuvenation.low_load) rejuvenate(now, out);
    return out;
  }

  // When tick() has something to do next (a back-off expiring), if anything.
  [[nodiscard]] std::optional<time_point> next_deadline() const noexcept {
    std::optional<time_point> d;
    for (const auto& st : comps_) {
      if (st.state == supervised_state::waiting_restart && (!d || st.due < *d)) d = st.due;
      if (st.spare_due && (!d || *st.spare_due < *d)) d = st.spare_due;
    }
    return d;
  }

  // The standby of a warm-spare component died: replace it after a back-off, on c's budget.
  std::vector<recovery_action> on_spare_failure(component_id c, time_point now) {
    const std::size_t i = index(c);
    auto& st = comps_[i];
    std::vector<recovery_action> out;
    if (gave_up_ || st.state != supervised_state::running) return out;
    st.spare_ready = false;
    raise(now, event_kind::failed, c, escalation_level::component, {}, "spare died");
    if (!spend(st.window, budget_of(c), now)) return on_failure(c, now, "spare crash-loops");
    ++st.restarts;
    schedule(i, now, st.window.size() - 1, escalation_level::component, true);
    append(out, tick(now));
    return out;
  }

  // Told by the driver: c was stopped on purpose (not a failure).
  void on_stopped(component_id c) { comps_[index(c)].state = supervised_state::stopped; }

 private:
  struct comp_state {
    supervised_state state = supervised_state::stopped;
    time_point due{};
    std::optional<time_point> spare_due;
    bool spare_ready = false;
    bool initial = false;       // first start: no reconnects, a spare is started alongside
    std::deque<time_point> window;        // restarts at component level
    std::deque<time_point> group_window;  // restarts of this component with its dependents
    std::size_t restarts = 0;
    time_point running_since{};
    std::size_t quick_failures = 0;       // since the last run of backoff.reset_after or longer
    health_trend trend{};
    double latency = -1;
    std::optional<time_point> last_rejuvenation;
  };

  static std::string ms(duration d) {
    return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
  }
  static void append(std::vector<recovery_action>& out, std::vector<recovery_action> more) {
    for (auto& a : more) out.push_back(std::move(a));
  }

  [[nodiscard]] const restart_budget& budget_of(component_id c) const {
    const auto it = cfg_.component_budgets.find(c);
    return it == cfg_.component_budgets.end() ? cfg_.component : it->second;
  }

  [[nodiscard]] std::size_t index(component_id c) const {
    auto it = by_id_.find(c);
    if (it == by_id_.end()) throw config_error("supervisor: unknown component " + std::to_string(c.value()));
    return it->second;
  }

  void validate() {
    for (std::size_t i = 0; i < specs_.size(); ++i) {
      const auto& s = specs_[i];
      if (!s.id.valid()) throw config_error("supervisor: component '" + s.name + "' has no valid id");
      if (!by_id_.emplace(s.id, i).second)
        throw config_error("supervisor: component id " + std::to_string(s.id.value()) + " is used twice");
    }
    for (const auto& s : specs_)
      for (auto d : s.depends_on) {
        if (!by_id_.count(d))
          throw config_error("supervisor: component '" + s.name + "' depends on unknown component " + std::to_string(d.value()));
        if (d == s.id) throw config_error("supervisor: component '" + s.name + "' depends on itself");
      }
    for (const auto* b : {&cfg_.component, &cfg_.dependents, &cfg_.pvm})
      if (b->period <= duration::zero()) throw config_error("supervisor: every restart budget needs a positive period");
    for (const auto& [c, b] : cfg_.component_budgets) {
      if (!by_id_.count(c)) throw config_error("supervisor: a restart budget names unknown component " + std::to_string(c.value()));
      if (b.period <= duration::zero()) throw config_error("supervisor: every restart budget needs a positive period");
    }
    if (cfg_.backoff.factor < 1.0) throw config_error("supervisor: backoff.factor must be at least 1");
    if (cfg_.backoff.jitter < 0.0 || cfg_.backoff.jitter > 1.0) throw config_error("supervisor: backoff.jitter must be in [0, 1]");
  }

  // Kahn's algorithm; a cycle is a configuration error naming a component on it.
  std::vector<std::size_t> topological_order() const {
    std::vector<std::size_t> indeg(specs_.size(), 0), order;
    for (const auto& s : specs_) indeg[by_id_.at(s.id)] = s.depends_on.size();
    for (std::size_t i = 0; i < specs_.size(); ++i)
      if (indeg[i] == 0) order.push_back(i);
    for (std::size_t k = 0; k < order.size(); ++k) {
      const auto done = specs_[order[k]].id;
      for (std::size_t j = 0; j < specs_.size(); ++j)
        for (auto d : specs_[j].depends_on)
          if (d == done && --indeg[j] == 0) order.push_back(j);
    }
    if (order.size() != specs_.size()) {
      for (std::size_t i = 0; i < specs_.size(); ++i)
        if (indeg[i] != 0) throw config_error("supervisor: dependency cycle through component '" + specs_[i].name + "'");
    }
    return order;
  }

  [[nodiscard]] bool deps_running(std::size_t i) const {
    for (auto d : specs_[i].depends_on)
      if (comps_[by_id_.at(d)].state != supervised_state::running) return false;
    return true;
  }

  // i and everything that depends on it, transitively, in topological order.
  [[nodiscard]] std::vector<std::size_t> dependents_closure(std::size_t i) const {
    std::vector<bool> in(specs_.size(), false);
    in[i] = true;
    std::vector<std::size_t> out;
    for (std::size_t j : order_) {
      if (!in[j])
        for (auto d : specs_[j].depends_on)
          if (in[by_id_.at(d)]) in[j] = true;
      if (in[j]) out.push_back(j);
    }
    return out;
  }

  // Slides the window and takes one restart from the budget if any is left.
  static bool spend(std::deque<time_point>& w, const restart_budget& b, time_point now) {
    while (!w.empty() && (now - w.front() >= b.period || w.front() > now)) w.pop_front();
    if (w.size() >= b.max_restarts) return false;
    w.push_back(now);
    return true;
  }

  // The failures of c since its last run of backoff.reset_after or longer, this one not counted:
  // a restart backs off by the smaller of this and the restarts in its budget's window (a daemon
  // that fails after a long healthy run is not crash-looping).
  std::size_t count_quick_failure(comp_state& st, time_point now) const {
    if (st.state == supervised_state::running && now - st.running_since >= cfg_.backoff.reset_after) st.quick_failures = 0;
    return st.quick_failures++;
  }

  duration backoff(std::size_t attempt) {
    const auto& b = cfg_.backoff;
    double d = 0;
    if (attempt == 0) {
      d = static_cast<double>(b.first.count());
    } else {
      d = static_cast<double>(b.base.count()) * std::pow(b.factor, static_cast<double>(attempt - 1));
      d = std::min(d, static_cast<double>(b.cap.count()));
    }
    if (b.jitter > 0) d *= 1.0 - b.jitter * next_unit();
    return duration{static_cast<duration::rep>(d)};
  }

  // Seeded and the same on every platform, so a back-off sequence replays (core/random.hpp).
  double next_unit() { return rng_.uniform(); }

  void schedule(std::size_t i, time_point now, std::size_t attempt, escalation_level level, bool spare_only) {
    auto& st = comps_[i];
    const duration d = backoff(attempt);
    if (spare_only) {
      st.spare_due = now + d;
    } else {
      st.state = supervised_state::waiting_restart;
      st.due = now + d;
      st.initial = false;
      st.spare_ready = false;
    }
    raise(now, event_kind::restart_scheduled, specs_[i].id, level, d,
          spare_only ? "replacement spare, attempt " + std::to_string(attempt + 1) : "attempt " + std::to_string(attempt + 1));
  }

  void park_for_restart(std::size_t j, time_point now) {
    auto& st = comps_[j];
    st.state = supervised_state::waiting_restart;
    st.due = now;
    st.initial = false;
    st.spare_ready = false;
    st.spare_due.reset();
  }

  void stop_in_reverse_order(const std::vector<std::size_t>& group, std::vector<recovery_action>& out, const char* why) {
    for (auto it = group.rbegin(); it != group.rend(); ++it) {
      auto& st = comps_[*it];
      if (st.state == supervised_state::running) out.push_back({action_kind::stop, specs_[*it].id, why});
      st.state = supervised_state::stopped;
    }
  }

  void emit_start(std::size_t i, time_point now, std::vector<recovery_action>& out) {
    const auto& spec = specs_[i];
    auto& st = comps_[i];
    const bool initial = st.initial;
    const bool replays = spec.recover_by == technique::snapshot_log_replay;
    out.push_back({replays ? action_kind::replay : action_kind::start, spec.id,
                   initial ? "initial start" : replays ? "restart from snapshot + log" : "restart"});
    st.state = supervised_state::running;
    st.running_since = now;
    st.initial = false;
    if (spec.recover_by == technique::warm_spare) {
      st.spare_due.reset();
      st.spare_ready = true;
      out.push_back({action_kind::start_spare, spec.id, "standby for fail-over"});
    }
    if (initial) return;
    raise(now, event_kind::restarted, spec.id, escalation_level::component, {}, std::string{to_string(spec.recover_by)});
    if (spec.recover_by == technique::reconnect_frontends) {
      out.push_back({action_kind::reconnect, spec.id, "guests' frontends reconnect"});
      raise(now, event_kind::reconnect, spec.id, escalation_level::component, {}, "frontends");
    }
    add_reconnects(i, now, out);
  }

  // Running dependents of a restarted stateful component must reconnect to the new instance.
  void add_reconnects(std::size_t i, time_point now, std::vector<recovery_action>& out) {
    if (specs_[i].state == state_kind::stateless) return;
    for (std::size_t j : order_) {
      if (comps_[j].state != supervised_state::running) continue;
      for (auto d : specs_[j].depends_on)
        if (d == specs_[i].id) {
          out.push_back({action_kind::reconnect, specs_[j].id, "dependency " + specs_[i].name + " restarted"});
          raise(now, event_kind::reconnect, specs_[j].id, escalation_level::component, {}, "to " + specs_[i].name);
        }
    }
  }

  void rejuvenate(time_point now, std::vector<recovery_action>& out) {
    const auto& rc = cfg_.rejuvenation;
    for (std::size_t i : order_) {
      auto& st = comps_[i];
      if (st.state != supervised_state::running) continue;
      if (st.last_rejuvenation && now - *st.last_rejuvenation < rc.cooldown) continue;
      std::string why;
      const auto slope = st.trend.slope_per_second();
      if (st.trend.size() >= rc.min_samples && slope && *slope > rc.rss_slope_threshold)
        why = "resident memory grows " + std::to_string(static_cast<long long>(*slope)) + " B/s";
      else if (rc.latency_threshold_ns > 0 && st.latency > rc.latency_threshold_ns)
        why = "latency " + std::to_string(static_cast<long long>(st.latency)) + " ns";
      if (why.empty()) continue;
      const auto& spec = specs_[i];
      st.last_rejuvenation = now;
      st.trend.clear();
      st.latency = -1;
      raise(now, event_kind::rejuvenate, spec.id, escalation_level::component, {}, why);
      if (spec.recover_by == technique::warm_spare && st.spare_ready) {
        st.spare_ready = false;
        out.push_back({action_kind::promote_spare, spec.id, "rejuvenation: " + why});
        out.push_back({action_kind::start_spare, spec.id, "standby after rejuvenation"});
        st.spare_ready = true;
        add_reconnects(i, now, out);
      } else {
        out.push_back({action_kind::stop, spec.id, "rejuvenation: " + why});
        emit_start(i, now, out);  // it was running, so its dependencies are
      }
    }
  }

  void raise(time_point at, event_kind k, component_id c, escalation_level l, duration delay, std::string detail) {
    events_.push_back({at, k, c, l, delay, std::move(detail)});
    if (sink_) sink_(events_.back());
  }

  std::vector<component_spec> specs_;
  supervisor_config cfg_;
  std::unordered_map<component_id, std::size_t> by_id_;
  std::vector<comp_state> comps_;
  std::vector<std::size_t> order_;
  std::deque<time_point> pvm_window_;
  std::vector<recovery_event> events_;
  std::function<void(const recovery_event&)> sink_;
  splitmix64 rng_;
  bool gave_up_ = false;
};

}  // namespace pvmkit::recovery
