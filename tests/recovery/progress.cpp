#include "t0.hpp"

#include <pvmkit/core/clock.hpp>
#include <pvmkit/recovery/progress.hpp>

#include <doctest/doctest.h>

#include <chrono>

using namespace pvmkit;
using namespace pvmkit::recovery;
using namespace std::chrono_literals;
using pvmkit::test::t0;

TEST_CASE("progress: pending work with a stalled counter is a hang; idle is not") {
  progress d({.stall_timeout = 100ms, .watcher_max_gap = {}});
  CHECK_FALSE(d.suspect(t0));
  d.observe(t0, 0, 5);
  CHECK_FALSE(d.suspect(t0 + 10s));  // idle for long: fine
  d.observe(t0 + 10s, 3, 5);         // work arrives; the stall clock starts now
  CHECK_FALSE(d.suspect(t0 + 10s + 100ms));
  CHECK(d.suspect(t0 + 10s + 101ms));
  d.observe(t0 + 10s + 120ms, 3, 6);  // it moved
  CHECK_FALSE(d.suspect(t0 + 10s + 200ms));
  d.observe(t0 + 10s + 300ms, 3, 2);  // counter reset by a restart: that is progress too
  CHECK_FALSE(d.suspect(t0 + 10s + 350ms));
  CHECK(d.suspect(t0 + 10s + 401ms));
  d.observe(t0 + 10s + 402ms, 0, 2);  // the queue drained
  CHECK_FALSE(d.suspect(t0 + 20s));
}

TEST_CASE("progress: clock jumps back and watcher pauses") {
  progress d({.stall_timeout = 100ms, .watcher_max_gap = 200ms});
  time_point t = t0;
  d.observe(t, 1, 0);
  for (int i = 0; i < 5; ++i) {
    t += 10ms;
    d.observe(t, 1, 0);
  }
  t += 5s;  // watcher pause
  CHECK_FALSE(d.suspect(t));
  d.observe(t - 1h, 1, 0);  // clock went back
  CHECK_FALSE(d.suspect(t - 1h + 50ms));
  CHECK(d.suspect(t - 1h + 101ms));
}
