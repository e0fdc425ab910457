// any_detector: the detector chosen at run time behaves as the one it holds, and says which.
// The watcher's use of it is tested in watcher.cpp.
#include "t0.hpp"

#include <pvmkit/recovery/any_detector.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <limits>

using namespace pvmkit;
using namespace pvmkit::recovery;
using namespace std::chrono_literals;
using pvmkit::test::t0;

TEST_CASE("any_detector names what it holds; only crash detection wants no heartbeats") {
  CHECK(any_detector{}.kind() == "crash");
  CHECK_FALSE(any_detector{}.wants_heartbeats());
  CHECK(any_detector{fixed_timeout{}}.kind() == "fixed_timeout");
  CHECK(any_detector{phi_accrual{}}.kind() == "phi_accrual");
  CHECK(any_detector{progress{}}.kind() == "progress");
  CHECK(any_detector{progress{}}.wants_heartbeats());
}

TEST_CASE("any_detector over a fixed timeout: suspects when it does, phi infinite then and 0 before") {
  any_detector d{fixed_timeout({.timeout = 100ms, .startup_grace = 1s, .watcher_max_gap = {}})};
  d.start(t0);
  d.heartbeat(t0 + 10ms);
  CHECK_FALSE(d.suspect(t0 + 110ms));
  CHECK(d.phi(t0 + 110ms) == 0.0);
  CHECK(d.suspect(t0 + 111ms));
  CHECK(d.phi(t0 + 111ms) == std::numeric_limits<double>::infinity());
  d.observe(t0 + 120ms, 5, 1);  // completed work is a sign of life for a heartbeat detector
  CHECK_FALSE(d.suspect(t0 + 200ms));
}

TEST_CASE("any_detector over progress: work counters decide, and start() forgets the last incarnation's") {
  any_detector d{progress({.stall_timeout = 100ms, .watcher_max_gap = {}})};
  d.start(t0);
  d.observe(t0, 3, 5);  // work pending, counter at 5
  CHECK(d.suspect(t0 + 101ms));
  d.start(t0 + 200ms);  // a new incarnation: nothing pending is known yet
  CHECK_FALSE(d.suspect(t0 + 10s));
  d.observe(t0 + 10s, 1, 0);
  CHECK_FALSE(d.suspect(t0 + 10s + 100ms));
  CHECK(d.suspect(t0 + 10s + 101ms));
}

TEST_CASE("crash detection never suspects, however long the silence") {
  any_detector d;
  d.start(t0);
  CHECK_FALSE(d.suspect(t0 + 24h));
  CHECK(d.phi(t0 + 24h) == 0.0);
}
