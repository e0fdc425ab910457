// progress: hang detection for a component that is alive (it may even keep heartbeating from a
// separate thread) but does no work: work is pending while its progress counter stalls. This
// catches a deadlocked request loop that heartbeats cannot see.
#pragma once

#include <pvmkit/core/clock.hpp>
#include <pvmkit/recovery/detector.hpp>

#include <algorithm>
#include <cstdint>

namespace pvmkit::recovery {

struct progress_config {
  duration stall_timeout{std::chrono::milliseconds{200}};
  duration watcher_max_gap{};  // see watcher_pause_guard; zero = off
};

class progress {
 public:
  progress() = default;
  explicit progress(progress_config cfg) : cfg_(cfg), guard_(cfg.watcher_max_gap) {}

  // A sample of the component's counters: `pending` requests queued, `completed` a counter that
  // moves whenever work completes. Any change of the counter is progress (a restart may reset it).
  void observe(time_point t, std::uint64_t pending, std::uint64_t completed) noexcept {
    excuse(guard_.observe(t), t);
    if (!seen_ || completed != completed_) {
      seen_ = true;
      completed_ = completed;
      since_ = t;
    } else if (pending_ == 0 && pending > 0) {
      since_ = t;  // the stall clock starts when work appears, not when the component went idle
    } else if (t < since_) {
      since_ = t;  // clock went backwards: re-base
    }
    pending_ = pending;
  }

  // Progress observed without counters (Detector interface).
  void heartbeat(time_point t) noexcept { observe(t, pending_, completed_ + 1); }

  bool suspect(time_point now) noexcept {
    excuse(guard_.observe(now), now);
    return seen_ && pending_ > 0 && now > since_ && now - since_ > cfg_.stall_timeout;
  }

  [[nodiscard]] std::uint64_t pending() const noexcept { return pending_; }
  [[nodiscard]] const progress_config& config() const noexcept { return cfg_; }

 private:
  void excuse(duration d, time_point now) noexcept {
    if (d > duration::zero()) since_ = std::min(since_ + d, now);
  }

  progress_config cfg_{};
  watcher_pause_guard guard_{};
  time_point since_{};
  std::uint64_t pending_ = 0;
  std::uint64_t completed_ = 0;
  bool seen_ = false;
};

static_assert(Detector<progress>);

}  // namespace pvmkit::recovery
