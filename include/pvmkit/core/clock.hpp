// Time is injected, so tests drive it by hand and never sleep: what reads time takes a Clock (the
// recovery watcher, `pvmkit supervise`, the example supervisor); what decides on time is given
// time points (detectors, the supervisor, health trends, the simulator's ticks).
#pragma once

#include <atomic>
#include <chrono>
#include <concepts>

namespace pvmkit {

using duration = std::chrono::nanoseconds;
using time_point = std::chrono::time_point<std::chrono::steady_clock, duration>;

template <class C>
concept Clock = requires(const C& c) {
  { c.now() } -> std::same_as<time_point>;
};

struct steady_clock {
  [[nodiscard]] time_point now() const noexcept {
    return std::chrono::time_point_cast<duration>(std::chrono::steady_clock::now());
  }
};

// A clock that moves only when told to. Thread-safe so a test thread can drive a watcher thread.
class manual_clock {
 public:
  manual_clock() = default;
  explicit manual_clock(time_point start) noexcept : now_(start.time_since_epoch().count()) {}

  [[nodiscard]] time_point now() const noexcept { return time_point{duration{now_.load(std::memory_order_acquire)}}; }
  void advance(duration d) noexcept { now_.fetch_add(d.count(), std::memory_order_acq_rel); }
  // Lets tests model a clock that jumps backwards (a broken or adjusted time source).
  void set(time_point t) noexcept { now_.store(t.time_since_epoch().count(), std::memory_order_release); }

 private:
  std::atomic<duration::rep> now_{0};
};

static_assert(Clock<steady_clock>);
static_assert(Clock<manual_clock>);

}  // namespace pvmkit
