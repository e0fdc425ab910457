// What a failure detector is (the Detector concept) and the one piece of logic every
// time-based detector shares: not blaming a component for the watcher's own pauses.
#pragma once

#include <pvmkit/core/clock.hpp>

#include <concepts>

namespace pvmkit::recovery {

// A detector is a small value type fed by the watcher: heartbeat(t) when a sign of life arrives,
// suspect(t) when the watcher asks for a verdict. Time is always passed in, never read.
template <class D>
concept Detector = std::copy_constructible<D> && requires(D& d, time_point t) {
  d.heartbeat(t);
  { d.suspect(t) } -> std::same_as<bool>;
};

// An accrual detector also grades its suspicion (phi), so a caller can pick its own threshold.
template <class D>
concept AccrualDetector = Detector<D> && requires(D& d, time_point t) {
  { d.phi(t) } -> std::same_as<double>;
};

// A watcher that was itself not running (descheduled on a saturated host, stopped, or whose clock
// jumped forward) saw no heartbeats during that time, through no fault of the component. The
// watcher calls its detector at least every tick; a gap between two calls longer than `max_gap`
// is a watcher pause and the whole gap is excused: time-based detectors move their "last heard
// from" instant forward by it, and do not sample the heartbeat interval that spans it. The cost is
// a late verdict (at most one gap) for a component that really failed during the watcher's
// pause: late detection is preferred over a false suspicion that restarts a healthy component.
// max_gap == 0 disables the guard (for watchers that do not call at a steady tick).
class watcher_pause_guard {
 public:
  constexpr watcher_pause_guard() noexcept = default;
  constexpr explicit watcher_pause_guard(duration max_gap) noexcept : max_gap_(max_gap) {}

  // Records one call of the watcher at `now`; returns the time to excuse (zero if none).
  constexpr duration observe(time_point now) noexcept {
    if (!seen_ || now < last_) {  // first call, or the clock went backwards: nothing to excuse
      seen_ = true;
      last_ = now;
      return duration::zero();
    }
    const duration gap = now - last_;
    last_ = now;
    return (max_gap_ > duration::zero() && gap > max_gap_) ? gap : duration::zero();
  }

  [[nodiscard]] constexpr duration max_gap() const noexcept { return max_gap_; }

 private:
  duration max_gap_{};
  time_point last_{};
  bool seen_ = false;
};

}  // namespace pvmkit::recovery
