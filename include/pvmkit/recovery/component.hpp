// The component model of a disaggregated pVM: each component (XenStore, a network or block
// backend, the toolstack, a device model) fails and recovers alone, with the technique that fits
// the state it holds.
#pragma once

#include <pvmkit/core/ids.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pvmkit::recovery {

enum class component_kind : std::uint8_t { xenstore, netback, blkback, toolstack, device_model, custom };

// What is lost when the process dies, which decides what a restart must bring back.
enum class state_kind : std::uint8_t {
  stateless,     // nothing: a fresh instance serves as well as the old one
  replicated,    // a live copy exists elsewhere (a warm spare follows the primary)
  checkpointed,  // snapshot + write-ahead log on stable storage
};

enum class technique : std::uint8_t {
  restart,               // start a fresh instance
  warm_spare,            // promote a standby instance started ahead, then start a new standby
  snapshot_log_replay,   // start a fresh instance that rebuilds its state from its journal
  reconnect_frontends,   // restart, then make the guests' frontends reconnect to the new instance
};

// Signals a component exposes; the supervisor watches trends in them (rejuvenation).
struct health_signals {
  bool heartbeat = true;          // sends periodic heartbeats (phi accrual / fixed timeout)
  bool progress_counter = false;  // exports pending work + a progress counter (hang detection)
  bool rss = false;               // resident memory is observed (leak trend)
  bool latency = false;           // request latency is observed (degradation trend)
};

struct component_spec {
  component_id id;
  std::string name;
  component_kind kind = component_kind::custom;
  std::vector<component_id> depends_on;  // must be running before this one starts
  state_kind state = state_kind::stateless;
  technique recover_by = technique::restart;
  health_signals health{};
};

[[nodiscard]] constexpr std::string_view to_string(component_kind k) noexcept {
  switch (k) {
    case component_kind::xenstore: return "xenstore";
    case component_kind::netback: return "netback";
    case component_kind::blkback: return "blkback";
    case component_kind::toolstack: return "toolstack";
    case component_kind::device_model: return "device_model";
    case component_kind::custom: return "custom";
  }
  return "?";
}

[[nodiscard]] constexpr std::string_view to_string(state_kind s) noexcept {
  switch (s) {
    case state_kind::stateless: return "stateless";
    case state_kind::replicated: return "replicated";
    case state_kind::checkpointed: return "checkpointed";
  }
  return "?";
}

[[nodiscard]] constexpr std::string_view to_string(technique t) noexcept {
  switch (t) {
    case technique::restart: return "restart";
    case technique::warm_spare: return "warm_spare";
    case technique::snapshot_log_replay: return "snapshot_log_replay";
    case technique::reconnect_frontends: return "reconnect_frontends";
  }
  return "?";
}

// The technique a component gets when its author does not choose: the one that fits its state.
[[nodiscard]] constexpr technique default_technique(state_kind s) noexcept {
  switch (s) {
    case state_kind::stateless: return technique::restart;
    case state_kind::replicated: return technique::warm_spare;
    case state_kind::checkpointed: return technique::snapshot_log_replay;
  }
  return technique::restart;
}

}  // namespace pvmkit::recovery
