#include "t0.hpp"

#include <pvmkit/core/clock.hpp>
#include <pvmkit/recovery/fixed_timeout.hpp>

#include <doctest/doctest.h>

#include <chrono>

using namespace pvmkit;
using namespace pvmkit::recovery;
using namespace std::chrono_literals;
using pvmkit::test::t0;

TEST_CASE("fixed_timeout: suspects exactly after the timeout") {
  fixed_timeout d({.timeout = 100ms, .startup_grace = 1s, .watcher_max_gap = {}});
  d.start(t0);
  d.heartbeat(t0 + 10ms);
  CHECK_FALSE(d.suspect(t0 + 110ms));
  CHECK(d.suspect(t0 + 110ms + 1ns));
  d.heartbeat(t0 + 111ms);
  CHECK_FALSE(d.suspect(t0 + 150ms));
}

TEST_CASE("fixed_timeout: before the first heartbeat only the startup grace counts") {
  fixed_timeout d({.timeout = 100ms, .startup_grace = 1s, .watcher_max_gap = {}});
  CHECK_FALSE(d.suspect(t0 + 1h));  // not started: nothing expected
  d.start(t0);
  CHECK_FALSE(d.suspect(t0 + 500ms));  // far beyond the timeout but within the grace
  CHECK(d.suspect(t0 + 1001ms));
  d.heartbeat(t0 + 1002ms);
  CHECK_FALSE(d.suspect(t0 + 1050ms));
}

TEST_CASE("fixed_timeout: a clock jump backwards neither suspects nor breaks later judgement") {
  fixed_timeout d({.timeout = 100ms, .startup_grace = 1s, .watcher_max_gap = {}});
  d.start(t0);
  d.heartbeat(t0 + 50ms);
  CHECK_FALSE(d.suspect(t0 - 10s));  // now is before the last heartbeat
  d.heartbeat(t0 - 10s);             // re-based on the new time line
  CHECK_FALSE(d.suspect(t0 - 10s + 50ms));
  CHECK(d.suspect(t0 - 10s + 101ms));
}

TEST_CASE("fixed_timeout: a pause of the watcher itself is excused") {
  fixed_timeout d({.timeout = 100ms, .startup_grace = 1s, .watcher_max_gap = 50ms});
  d.start(t0);
  time_point t = t0;
  for (int i = 0; i < 10; ++i) {  // watcher ticks every 10 ms, component heartbeats every 10 ms
    t += 10ms;
    d.heartbeat(t);
    CHECK_FALSE(d.suspect(t));
  }
  // The watcher does not run for 2 s: on waking it must not blame the component.
  t += 2s;
  CHECK_FALSE(d.suspect(t));
  // But a component that stays silent once the watcher runs again is suspected.
  for (int i = 0; i < 10; ++i) {
    t += 10ms;
    CHECK_FALSE(d.suspect(t));
  }
  t += 10ms;
  CHECK(d.suspect(t + 1ns));
}

TEST_CASE("fixed_timeout: without the guard a watcher pause looks like a failure") {
  fixed_timeout d({.timeout = 100ms, .startup_grace = 1s, .watcher_max_gap = {}});
  d.start(t0);
  d.heartbeat(t0 + 10ms);
  CHECK(d.suspect(t0 + 2s));
}
