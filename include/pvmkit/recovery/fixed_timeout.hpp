// fixed_timeout: suspect a component when no heartbeat arrived for a fixed time. The baseline
// every deployment uses (and the one phi_accrual is compared with).
#pragma once

#include <pvmkit/core/clock.hpp>
#include <pvmkit/recovery/detector.hpp>

#include <algorithm>

namespace pvmkit::recovery {

struct fixed_timeout_config {
  duration timeout{std::chrono::milliseconds{100}};
  // Before the first heartbeat: time allowed from start() for the component to come up.
  duration startup_grace{std::chrono::seconds{1}};
  duration watcher_max_gap{};  // see watcher_pause_guard; zero = off
};

class fixed_timeout {
 public:
  fixed_timeout() = default;
  explicit fixed_timeout(fixed_timeout_config cfg) : cfg_(cfg), guard_(cfg.watcher_max_gap) {}

  // A new incarnation started at t: forget its predecessor's heartbeats.
  void start(time_point t) noexcept {
    started_ = true;
    heard_ = false;
    start_ = t;
  }

  void heartbeat(time_point t) noexcept {
    guard_.observe(t);
    heard_ = true;
    last_ = t;  // also after a backwards jump: re-base on the new time line
  }

  bool suspect(time_point now) noexcept {
    excuse(guard_.observe(now), now);
    if (!heard_) return started_ && now > start_ && now - start_ > cfg_.startup_grace;
    return now > last_ && now - last_ > cfg_.timeout;
  }

  [[nodiscard]] const fixed_timeout_config& config() const noexcept { return cfg_; }

 private:
  void excuse(duration d, time_point now) noexcept {
    if (d == duration::zero()) return;
    last_ = std::min(last_ + d, now);
    start_ = std::min(start_ + d, now);
  }

  fixed_timeout_config cfg_{};
  watcher_pause_guard guard_{};
  time_point start_{};
  time_point last_{};
  bool started_ = false;
  bool heard_ = false;
};

static_assert(Detector<fixed_timeout>);

}  // namespace pvmkit::recovery
