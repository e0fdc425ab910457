#include "t0.hpp"

#include <pvmkit/core/clock.hpp>
#include <pvmkit/recovery/crash_event.hpp>

#include <doctest/doctest.h>

#include <chrono>

using namespace pvmkit;
using namespace pvmkit::recovery;
using namespace std::chrono_literals;
using pvmkit::test::t0;

TEST_CASE("crash_event: an exit is a failure until the next incarnation starts") {
  crash_event d;
  d.start(t0, 1);
  CHECK_FALSE(d.suspect(t0));
  d.exited(t0 + 5ms, 1, 9);
  CHECK(d.suspect(t0 + 5ms));
  CHECK(d.exit_status() == 9);
  // A heartbeat the dead process queued before dying must not revive it.
  d.heartbeat(t0 + 6ms);
  CHECK(d.suspect(t0 + 6ms));
  d.start(t0 + 10ms, 2);
  CHECK_FALSE(d.suspect(t0 + 10ms));
  REQUIRE(d.incarnation() == 2);
}

TEST_CASE("crash_event: a stale exit of an older incarnation is ignored") {
  crash_event d;
  d.start(t0, 1);
  d.start(t0 + 1ms, 2);
  d.exited(t0 + 2ms, 1);
  CHECK_FALSE(d.suspect(t0 + 2ms));
  d.start(t0 + 3ms, 1);  // a late start report of the older incarnation changes nothing
  CHECK(d.incarnation() == 2);
  d.exited(t0 + 4ms, 2);
  CHECK(d.suspect(t0 + 4ms));
}

TEST_CASE("crash_event: a death stays a death when the clock jumps back") {
  crash_event d;
  d.start(t0);
  d.exited_current(t0 + 1s);
  CHECK(d.suspect(t0));
  CHECK_FALSE(crash_event{}.suspect(t0));  // never started, never died
}
