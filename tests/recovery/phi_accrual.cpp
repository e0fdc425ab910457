#include "t0.hpp"

#include <pvmkit/core/clock.hpp>
#include <pvmkit/recovery/phi_accrual.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <cmath>

using namespace pvmkit;
using namespace pvmkit::recovery;
using namespace std::chrono_literals;
using pvmkit::test::t0;

namespace {

phi_accrual_config phi_cfg() {
  phi_accrual_config c;
  c.threshold = 8;
  c.min_samples = 5;
  c.min_std_dev = 1ms;
  c.bootstrap_interval = 10ms;
  c.startup_grace = 500ms;
  return c;
}

// Feeds n heartbeats every `every`, starting at t; returns the time of the last one.
template <class D>
time_point feed(D& d, time_point t, int n, duration every) {
  for (int i = 0; i < n; ++i) {
    t += every;
    d.heartbeat(t);
  }
  return t;
}

}  // namespace

TEST_CASE("phi_accrual: first heartbeat, bootstrap, then the learnt distribution") {
  phi_accrual d(phi_cfg());
  CHECK(d.phi(t0) == 0.0);  // nothing heard: no judgement
  CHECK_FALSE(d.suspect(t0 + 1h));
  d.start(t0);
  CHECK_FALSE(d.suspect(t0 + 400ms));
  CHECK(d.suspect(t0 + 501ms));  // never heard within the startup grace

  d.heartbeat(t0 + 501ms);  // the first heartbeat: no interval yet
  CHECK(d.samples() == 0);
  CHECK_FALSE(d.suspect(t0 + 502ms));
  // Bootstrap distribution (10 ms, sd 2.5 ms) until min_samples intervals are known.
  CHECK(d.mean_ns() == doctest::Approx(10e6));
  CHECK(d.std_dev_ns() == doctest::Approx(2.5e6));
  auto t = feed(d, t0 + 501ms, 4, 20ms);
  CHECK(d.samples() == 4);
  CHECK(d.mean_ns() == doctest::Approx(10e6));  // still bootstrap: 4 < min_samples
  t = feed(d, t, 1, 20ms);
  CHECK(d.mean_ns() == doctest::Approx(20e6));
  CHECK(d.std_dev_ns() == doctest::Approx(1e6));  // the floor: the intervals are exactly equal
}

TEST_CASE("phi_accrual: phi follows the normal tail of the learnt intervals") {
  phi_accrual d(phi_cfg());
  d.start(t0);
  d.heartbeat(t0);
  // Alternating 8 and 12 ms: mean 10 ms, sd 2 ms.
  time_point t = t0;
  for (int i = 0; i < 50; ++i) {
    t += (i % 2 == 0) ? 8ms : 12ms;
    d.heartbeat(t);
  }
  CHECK(d.mean_ns() == doctest::Approx(10e6));
  CHECK(d.std_dev_ns() == doctest::Approx(2e6));
  // At the mean, P(later) = 0.5: phi = log10(2).
  CHECK(d.phi(t + 10ms) == doctest::Approx(std::log10(2.0)));
  // One sd above: P(later) = 0.158655...
  CHECK(d.phi(t + 12ms) == doctest::Approx(-std::log10(0.15865525393145707)).epsilon(1e-6));
  // Monotone in the silence, and suspect exactly where phi crosses the threshold.
  CHECK(d.phi(t + 15ms) < d.phi(t + 18ms));
  CHECK_FALSE(d.suspect(t + 20ms));  // 5 sd: phi ~ 6.5
  CHECK(d.suspect(t + 22ms));        // 6 sd: phi ~ 9
}

TEST_CASE("phi_accrual: the acceptable pause and the sd floor delay suspicion") {
  auto cfg = phi_cfg();
  phi_accrual strict(cfg);
  cfg.acceptable_pause = 50ms;
  phi_accrual lenient(cfg);
  for (auto* d : {&strict, &lenient}) {
    d->start(t0);
    feed(*d, t0, 30, 10ms);  // perfectly regular: sd is the 1 ms floor
  }
  const time_point last = t0 + 300ms;
  CHECK(strict.suspect(last + 20ms));
  CHECK_FALSE(lenient.suspect(last + 20ms));
  CHECK_FALSE(lenient.suspect(last + 60ms));
  CHECK(lenient.suspect(last + 70ms));
  CHECK(std::isinf(strict.phi(last + 10s)));  // far tail: infinite, never NaN
}

TEST_CASE("phi_accrual: a clock jump backwards gives no suspicion and no negative interval") {
  phi_accrual d(phi_cfg());
  d.start(t0);
  auto t = feed(d, t0, 20, 10ms);
  const auto n = d.samples();
  CHECK(d.phi(t - 1h) == 0.0);
  CHECK_FALSE(d.suspect(t - 1h));
  d.heartbeat(t - 1h);  // re-based, not sampled
  CHECK(d.samples() == n);
  CHECK(d.mean_ns() == doctest::Approx(10e6));
  // Judgement continues on the new time line.
  d.heartbeat(t - 1h + 10ms);
  CHECK(d.samples() == n + 1);
  CHECK_FALSE(d.suspect(t - 1h + 15ms));
  CHECK(d.suspect(t - 1h + 40ms));
}

TEST_CASE("phi_accrual: a pause of the watcher is neither blamed nor learnt") {
  auto cfg = phi_cfg();
  cfg.watcher_max_gap = 50ms;
  phi_accrual d(cfg);
  d.start(t0);
  time_point t = t0;
  for (int i = 0; i < 30; ++i) {
    t += 10ms;
    d.heartbeat(t);
    CHECK_FALSE(d.suspect(t));
  }
  const double mean = d.mean_ns();
  // The watcher sleeps 3 s (e.g. descheduled). On waking it drains one heartbeat and judges.
  t += 3s;
  CHECK_FALSE(d.suspect(t));
  d.heartbeat(t);
  CHECK(d.mean_ns() == doctest::Approx(mean));  // the 3 s interval was not sampled
  // A watcher pause without any heartbeat on waking: still not blamed at once...
  t += 3s;
  CHECK_FALSE(d.suspect(t));
  // ...but continued silence while the watcher runs is.
  bool suspected = false;
  for (int i = 0; i < 10 && !suspected; ++i) {
    t += 5ms;
    suspected = d.suspect(t);
  }
  CHECK(suspected);
}

TEST_CASE("phi_accrual: the window forgets old intervals") {
  auto cfg = phi_cfg();
  cfg.window = 10;
  phi_accrual d(cfg);
  d.start(t0);
  auto t = feed(d, t0, 11, 100ms);
  CHECK(d.mean_ns() == doctest::Approx(100e6));
  t = feed(d, t, 10, 10ms);
  CHECK(d.samples() == 10);
  CHECK(d.mean_ns() == doctest::Approx(10e6));
}
