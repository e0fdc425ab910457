// The driver carries out the supervisor's actions through a backend with the ComponentControl
// capability. Optional capabilities (a warm spare, reconnecting frontends) are detected; without
// them a promotion degrades to stop + start and a reconnect is only recorded.
#pragma once

#include <pvmkit/backend/concepts.hpp>
#include <pvmkit/core/clock.hpp>
#include <pvmkit/core/result.hpp>
#include <pvmkit/recovery/supervisor.hpp>

#include <cstddef>
#include <deque>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace pvmkit::recovery {

template <class B>
concept SpareControl = ComponentControl<B> && requires(B& b, component_id c) {
  { b.start_spare(c) } -> std::same_as<result<void>>;
  { b.promote_spare(c) } -> std::same_as<result<void>>;
};

template <class B>
concept FrontendReconnect = requires(B& b, component_id c) {
  { b.reconnect_frontends(c) } -> std::same_as<result<void>>;
};

struct applied_action {
  recovery_action action;
  std::error_code error;  // empty when it succeeded
};

template <ComponentControl B>
result<void> apply_one(B& backend, const recovery_action& a) {
  switch (a.kind) {
    case action_kind::start:
    case action_kind::replay:  // the component restores its own journal when it starts
      return backend.start_component(a.component);
    case action_kind::stop:
      return backend.stop_component(a.component);
    case action_kind::start_spare:
      if constexpr (SpareControl<B>) return backend.start_spare(a.component);
      else return {};  // no standby without the capability: promotion restarts instead
    case action_kind::promote_spare:
      if constexpr (SpareControl<B>) {
        return backend.promote_spare(a.component);
      } else {
        (void)backend.stop_component(a.component);  // may already be gone: that is the point
        return backend.start_component(a.component);
      }
    case action_kind::reconnect:
      if constexpr (FrontendReconnect<B>) return backend.reconnect_frontends(a.component);
      else return {};
    case action_kind::host_action:
      return {};  // the event is the output: fencing the host is the operator's (or the BMC's) job
  }
  return unexpected{errc::invalid_argument};
}

// Applies the actions in order. A start that fails is a failure of that component: the
// supervisor is told, and whatever it decides is applied in turn (its budget bounds the loop).
template <ComponentControl B>
std::vector<applied_action> apply_actions(B& backend, supervisor& sup, std::vector<recovery_action> actions, time_point now) {
  std::vector<applied_action> log;
  std::deque<recovery_action> queue(actions.begin(), actions.end());
  while (!queue.empty()) {
    auto a = std::move(queue.front());
    queue.pop_front();
    auto r = apply_one(backend, a);
    log.push_back({a, r ? std::error_code{} : r.error()});
    if (r) continue;
    const bool brings_up = a.kind == action_kind::start || a.kind == action_kind::replay || a.kind == action_kind::promote_spare;
    if (brings_up) {
      for (auto& next : sup.on_failure(a.component, now, "start failed: " + r.error().message())) queue.push_back(std::move(next));
    } else if (a.kind == action_kind::start_spare) {
      for (auto& next : sup.on_spare_failure(a.component, now)) queue.push_back(std::move(next));
    }
  }
  return log;
}

}  // namespace pvmkit::recovery
