// crash_event: the detector for a component that dies outright (process exit, domain death).
// It is fed by the event itself (a pidfd becoming readable, a VIRQ_DOM_EXC / @releaseDomain
// watch), never by polling, so detection costs one event delivery.
#pragma once

#include <pvmkit/core/clock.hpp>
#include <pvmkit/recovery/detector.hpp>

#include <cstdint>
#include <optional>

namespace pvmkit::recovery {

class crash_event {
 public:
  // Incarnation n of the component started (incarnations increase with every start).
  void start(time_point /*t*/, std::uint64_t incarnation) noexcept {
    if (incarnation < incarnation_) return;  // a late report about an older start
    incarnation_ = incarnation;
    died_at_.reset();
    exit_status_ = 0;
  }
  void start(time_point t) noexcept { start(t, incarnation_ + 1); }

  // The exit (or death) of incarnation n, stamped when the event was delivered. An exit of an
  // older incarnation (a stale event from before a restart) is ignored.
  void exited(time_point t, std::uint64_t incarnation, int status = 0) noexcept {
    if (incarnation != incarnation_ || died_at_) return;
    died_at_ = t;
    exit_status_ = status;
  }
  // The current incarnation died (for sources that do not track incarnations).
  void exited_current(time_point t, int status = 0) noexcept { exited(t, incarnation_, status); }

  // A sign of life proves nothing against an exit already seen: a heartbeat the dead process
  // queued before dying may be read after its exit event. Only start() clears a death.
  void heartbeat(time_point /*t*/) noexcept {}

  // A death is a fact, whatever the clock says now.
  bool suspect(time_point /*now*/) const noexcept { return died_at_.has_value(); }

  [[nodiscard]] std::optional<time_point> died_at() const noexcept { return died_at_; }
  [[nodiscard]] int exit_status() const noexcept { return exit_status_; }
  [[nodiscard]] std::uint64_t incarnation() const noexcept { return incarnation_; }

 private:
  std::optional<time_point> died_at_;
  std::uint64_t incarnation_ = 0;
  int exit_status_ = 0;
};

static_assert(Detector<crash_event>);

}  // namespace pvmkit::recovery
