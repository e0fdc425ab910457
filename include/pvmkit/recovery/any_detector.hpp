// any_detector: one of the library's detectors, chosen at run time (from a configuration file),
// behind the Detector interface. Components of one pVM watched by different detectors share one
// watcher through it. The choice is per component: "crash" (process exits only: crash_event, which
// the watcher feeds no heartbeats), a fixed_timeout, phi_accrual, or progress (hang detection).
#pragma once

#include <pvmkit/core/clock.hpp>
#include <pvmkit/recovery/crash_event.hpp>
#include <pvmkit/recovery/detector.hpp>
#include <pvmkit/recovery/fixed_timeout.hpp>
#include <pvmkit/recovery/phi_accrual.hpp>
#include <pvmkit/recovery/progress.hpp>

#include <cstdint>
#include <limits>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace pvmkit::recovery {

class any_detector {
 public:
  any_detector() = default;  // crash detection only
  any_detector(crash_event d) : d_(std::move(d)) {}
  any_detector(fixed_timeout d) : d_(std::move(d)) {}
  any_detector(phi_accrual d) : d_(std::move(d)) {}
  any_detector(progress d) : d_(std::move(d)) {}

  // A new incarnation started at t.
  void start(time_point t) noexcept {
    std::visit(
        [&](auto& d) {
          if constexpr (std::is_same_v<std::decay_t<decltype(d)>, progress>) d = progress{d_config(d)};
          else d.start(t);
        },
        d_);
  }
  void heartbeat(time_point t) noexcept { std::visit([&](auto& d) { d.heartbeat(t); }, d_); }
  // Work counters (progress); for the others any completed work is a sign of life.
  void observe(time_point t, std::uint64_t pending, std::uint64_t completed) noexcept {
    std::visit(
        [&](auto& d) {
          if constexpr (std::is_same_v<std::decay_t<decltype(d)>, progress>) d.observe(t, pending, completed);
          else d.heartbeat(t);
        },
        d_);
  }
  bool suspect(time_point t) noexcept { return std::visit([&](auto& d) { return d.suspect(t); }, d_); }
  // phi of phi_accrual; for the others infinity when they suspect, else 0.
  [[nodiscard]] double phi(time_point t) noexcept {
    return std::visit(
        [&](auto& d) -> double {
          if constexpr (std::is_same_v<std::decay_t<decltype(d)>, phi_accrual>) return d.phi(t);
          else return d.suspect(t) ? std::numeric_limits<double>::infinity() : 0.0;
        },
        d_);
  }
  // Whether the detector needs heartbeats at all (a crash-only component sends none).
  [[nodiscard]] bool wants_heartbeats() const noexcept { return !std::holds_alternative<crash_event>(d_); }
  [[nodiscard]] std::string_view kind() const noexcept {
    switch (d_.index()) {
      case 0: return "crash";
      case 1: return "fixed_timeout";
      case 2: return "phi_accrual";
      case 3: return "progress";
    }
    return "?";
  }

 private:
  // progress has no start(): a new incarnation starts from a fresh detector with the same settings.
  static progress_config d_config(const progress& p) noexcept { return p.config(); }

  std::variant<crash_event, fixed_timeout, phi_accrual, progress> d_;
};

static_assert(Detector<any_detector>);

}  // namespace pvmkit::recovery
