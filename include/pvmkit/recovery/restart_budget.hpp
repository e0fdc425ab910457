// What the supervisor is allowed to do, as data: restart budgets per scope, the back-off between
// restarts, rejuvenation thresholds. Read from `pvmkit supervise`'s configuration file
// (supervise_config.hpp); decided on by supervisor.hpp.
#pragma once

#include <pvmkit/core/clock.hpp>
#include <pvmkit/core/ids.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <unordered_map>

namespace pvmkit::recovery {

struct restart_budget {
  std::size_t max_restarts = 3;
  duration period{std::chrono::seconds{60}};
};

struct backoff_config {
  duration first{};                                  // before the first restart in a window
  duration base{std::chrono::milliseconds{10}};      // before the second; then times `factor`
  double factor = 2.0;
  duration cap{std::chrono::seconds{2}};
  double jitter = 0.0;        // 0..1: the delay is shortened by up to this fraction, at random
  std::uint64_t seed = 1;     // of the jitter's generator: decisions stay reproducible
  // A component that ran this long before it failed is not crash-looping: its restart backs off
  // as the first one does. Ten minutes, as the kubelet resets a container's back-off.
  duration reset_after{std::chrono::minutes{10}};
};

struct rejuvenation_config {
  bool enabled = false;
  double rss_slope_threshold = 1e6;      // bytes per second of resident-memory growth
  double latency_threshold_ns = 0;       // a latest latency above this (0 = not used)
  std::size_t min_samples = 4;           // of the trend before it is trusted
  std::size_t window = 16;
  double low_load = 0.3;                 // rejuvenate only while load (0..1) is at most this
  duration cooldown{std::chrono::seconds{60}};
};

struct supervisor_config {
  restart_budget component{};
  // Components whose own budget differs from `component` (a daemon that may restart often, or one
  // that must not).
  std::unordered_map<component_id, restart_budget> component_budgets;
  restart_budget dependents{2, std::chrono::seconds{60}};
  restart_budget pvm{1, std::chrono::seconds{300}};
  backoff_config backoff{};
  rejuvenation_config rejuvenation{};
};

}  // namespace pvmkit::recovery
