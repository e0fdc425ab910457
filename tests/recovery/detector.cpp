// The Detector concepts admit the library's detectors and refuse a type that misses a member; the
// watcher-pause guard excuses exactly the gaps longer than its limit.
#include "t0.hpp"

#include <pvmkit/core/clock.hpp>
#include <pvmkit/recovery/crash_event.hpp>
#include <pvmkit/recovery/detector.hpp>
#include <pvmkit/recovery/fixed_timeout.hpp>
#include <pvmkit/recovery/phi_accrual.hpp>
#include <pvmkit/recovery/progress.hpp>

#include <doctest/doctest.h>

#include <chrono>

using namespace pvmkit;
using namespace pvmkit::recovery;
using namespace std::chrono_literals;
using pvmkit::test::t0;

namespace {

struct no_suspect {
  void heartbeat(time_point) {}
};
struct suspect_returns_int {
  void heartbeat(time_point) {}
  int suspect(time_point) { return 0; }
};
struct binary {
  void heartbeat(time_point) {}
  bool suspect(time_point) { return false; }
};
struct graded : binary {
  double phi(time_point) { return 0; }
};

}  // namespace

TEST_CASE("the library's detectors model Detector; only phi accrual grades its suspicion") {
  static_assert(Detector<fixed_timeout>);
  static_assert(Detector<phi_accrual>);
  static_assert(Detector<crash_event>);
  static_assert(Detector<progress>);
  static_assert(AccrualDetector<phi_accrual>);
  static_assert(!AccrualDetector<fixed_timeout>);
  static_assert(Detector<binary> && !AccrualDetector<binary>);
  static_assert(AccrualDetector<graded>);
  CHECK(AccrualDetector<phi_accrual>);
}

TEST_CASE("a type without suspect(), or whose verdict is not a bool, is not a Detector") {
  static_assert(!Detector<no_suspect>);
  static_assert(!Detector<suspect_returns_int>);
  static_assert(!Detector<int>);
  CHECK_FALSE(Detector<no_suspect>);
}

TEST_CASE("watcher_pause_guard: a gap longer than max_gap is excused whole; shorter ones are not") {
  watcher_pause_guard g{100ms};
  CHECK(g.max_gap() == 100ms);
  CHECK(g.observe(t0) == duration::zero());  // the first call has nothing before it
  CHECK(g.observe(t0 + 100ms) == duration::zero());  // exactly the limit: not a pause
  CHECK(g.observe(t0 + 350ms) == 250ms);
  CHECK(g.observe(t0 + 360ms) == duration::zero());
}

TEST_CASE("watcher_pause_guard: a clock jump backwards excuses nothing and restarts from the new time") {
  watcher_pause_guard g{100ms};
  (void)g.observe(t0 + 10s);
  CHECK(g.observe(t0) == duration::zero());
  CHECK(g.observe(t0 + 50ms) == duration::zero());
  CHECK(g.observe(t0 + 1s) == 950ms);
}

TEST_CASE("watcher_pause_guard: max_gap 0 (the default) never excuses") {
  for (watcher_pause_guard g : {watcher_pause_guard{}, watcher_pause_guard{0ms}}) {
    (void)g.observe(t0);
    CHECK(g.observe(t0 + 1h) == duration::zero());
  }
}
