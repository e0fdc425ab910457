// What the supervisor decides and reports, as data: the actions it orders (a driver carries them
// out) and the events it raises along the escalation chain, each writable as a JSON line.
#pragma once

#include <pvmkit/core/clock.hpp>
#include <pvmkit/core/ids.hpp>
#include <pvmkit/core/json_writer.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace pvmkit::recovery {

enum class action_kind : std::uint8_t {
  start,          // start a fresh instance
  stop,           // stop the instance
  replay,         // start a fresh instance that restores its state from its journal
  start_spare,    // start a standby instance
  promote_spare,  // make the standby the serving instance
  reconnect,      // make the clients (frontends, dependents) of this component reconnect
  host_action,    // the pVM cannot recover itself: fence / reboot the host
};

[[nodiscard]] constexpr std::string_view to_string(action_kind k) noexcept {
  switch (k) {
    case action_kind::start: return "start";
    case action_kind::stop: return "stop";
    case action_kind::replay: return "replay";
    case action_kind::start_spare: return "start_spare";
    case action_kind::promote_spare: return "promote_spare";
    case action_kind::reconnect: return "reconnect";
    case action_kind::host_action: return "host_action";
  }
  return "?";
}

struct recovery_action {
  action_kind kind{};
  component_id component;  // invalid for host_action
  std::string reason;
  friend bool operator==(const recovery_action& a, const recovery_action& b) {
    return a.kind == b.kind && a.component == b.component;
  }
};

enum class escalation_level : std::uint8_t { component, dependents, pvm, host };

[[nodiscard]] constexpr std::string_view to_string(escalation_level l) noexcept {
  switch (l) {
    case escalation_level::component: return "component";
    case escalation_level::dependents: return "dependents";
    case escalation_level::pvm: return "pvm";
    case escalation_level::host: return "host";
  }
  return "?";
}

enum class event_kind : std::uint8_t {
  failed, budget_spent, escalated, restart_scheduled, restarted, promoted, reconnect, rejuvenate, gave_up,
};

[[nodiscard]] constexpr std::string_view to_string(event_kind k) noexcept {
  switch (k) {
    case event_kind::failed: return "failed";
    case event_kind::budget_spent: return "budget_spent";
    case event_kind::escalated: return "escalated";
    case event_kind::restart_scheduled: return "restart_scheduled";
    case event_kind::restarted: return "restarted";
    case event_kind::promoted: return "promoted";
    case event_kind::reconnect: return "reconnect";
    case event_kind::rejuvenate: return "rejuvenate";
    case event_kind::gave_up: return "gave_up";
  }
  return "?";
}

struct recovery_event {
  time_point at{};
  event_kind kind{};
  component_id component;
  escalation_level level = escalation_level::component;
  duration delay{};  // restart_scheduled: the back-off
  std::string detail;

  void write_json(json_writer& w) const {
    w.begin_object();
    w.field("t_ns", static_cast<std::int64_t>(at.time_since_epoch().count()));
    w.field("event", to_string(kind));
    if (component.valid()) w.field("component", component.value());
    else w.key("component").null();
    w.field("level", to_string(level));
    w.field("delay_ns", static_cast<std::int64_t>(delay.count()));
    w.field("detail", detail);
    w.end_object();
  }
  [[nodiscard]] std::string to_json() const {
    json_writer w;
    write_json(w);
    return w.take();
  }
};

}  // namespace pvmkit::recovery
