#include <pvmkit/sim/workload.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <numbers>
#include <vector>

using namespace pvmkit::sim;

TEST_CASE("steady demand is constant") {
  const workload w = steady_load{{1000, 50}};
  for (double t : {0.0, 0.1, 17.3, 3600.0}) CHECK(rate_at(w, t) == io_rates{1000, 50});
  CHECK(kind_name(w) == "steady");
}

TEST_CASE("flash crowd: base before, linear ramp, peak at start+ramp of base x multiple, decay") {
  const flash_crowd_load f{{100, 10}, 50, 10, 8, 20};
  const workload w = f;
  CHECK(rate_at(w, 0).net_pps == doctest::Approx(100));
  CHECK(rate_at(w, 49.99).net_pps == doctest::Approx(100));
  CHECK(rate_at(w, 55).net_pps == doctest::Approx(100 * (1 + 7 * 0.5)));
  CHECK(rate_at(w, 60).net_pps == doctest::Approx(800));
  CHECK(rate_at(w, 60).block_iops == doctest::Approx(80));
  // The peak is the maximum over a fine grid.
  double best_t = 0, best = 0;
  for (int i = 0; i < 20000; ++i) {
    const double t = i * 0.01;
    if (rate_at(w, t).net_pps > best) {
      best = rate_at(w, t).net_pps;
      best_t = t;
    }
  }
  CHECK(best_t == doctest::Approx(60).epsilon(0.001));
  CHECK(best == doctest::Approx(800));
  // One time constant after the peak, the excess has decayed to 1/e.
  CHECK(rate_at(w, 80).net_pps == doctest::Approx(100 + 700 * std::exp(-1.0)));
  CHECK(rate_at(w, 1000).net_pps == doctest::Approx(100).epsilon(1e-6));
}

TEST_CASE("diurnal demand repeats with its period around its mean") {
  const diurnal_load d{{1000, 100}, 0.5, 300, 0};
  const workload w = d;
  for (double t : {0.0, 13.0, 77.7, 150.0, 260.0}) {
    CHECK(rate_at(w, t).net_pps == doctest::Approx(rate_at(w, t + 300).net_pps));
    CHECK(rate_at(w, t).net_pps == doctest::Approx(rate_at(w, t + 900).net_pps));
  }
  CHECK(rate_at(w, 75).net_pps == doctest::Approx(1500));   // quarter period: peak
  CHECK(rate_at(w, 225).net_pps == doctest::Approx(500));   // three quarters: trough
  CHECK(rate_at(w, 150).net_pps == doctest::Approx(1000));  // half: mean
  // Not a shorter period: half a period away differs.
  CHECK(rate_at(w, 75).net_pps != doctest::Approx(rate_at(w, 225).net_pps));
  // The mean over a period is the mean rate.
  double sum = 0;
  for (int i = 0; i < 3000; ++i) sum += rate_at(w, i * 0.1).net_pps;
  CHECK(sum / 3000 == doctest::Approx(1000).epsilon(1e-3));
  // A phase shifts the peak.
  const workload shifted = diurnal_load{{1000, 100}, 0.5, 300, 100};
  CHECK(rate_at(shifted, 175).net_pps == doctest::Approx(1500));
}

TEST_CASE("bursty demand: on slots at peak, off at base, on for about on_probability of slots, reproducible") {
  const bursty_load b{{100, 0}, 4, 0.25, 5, 12345};
  const workload w = b;
  int on = 0;
  const int slots = 20000;
  for (int k = 0; k < slots; ++k) {
    const double r = rate_at(w, k * 5.0 + 2.5).net_pps;
    CHECK((r == doctest::Approx(100) || r == doctest::Approx(400)));
    // Constant within a slot.
    CHECK(rate_at(w, k * 5.0 + 0.1).net_pps == r);
    on += r > 200 ? 1 : 0;
  }
  CHECK(static_cast<double>(on) / slots == doctest::Approx(0.25).epsilon(0.05));
  const workload again = b;
  const workload other = bursty_load{{100, 0}, 4, 0.25, 5, 999};
  int differ = 0;
  for (int k = 0; k < 200; ++k) {
    CHECK(rate_at(w, k * 5.0).net_pps == rate_at(again, k * 5.0).net_pps);
    differ += rate_at(w, k * 5.0).net_pps != rate_at(other, k * 5.0).net_pps ? 1 : 0;
  }
  CHECK(differ > 0);
}

TEST_CASE("trace replay holds each row until the next, zero before the first") {
  auto pts = std::make_shared<std::vector<trace_point>>(std::vector<trace_point>{{10, {100, 1}}, {20, {300, 3}}, {20, {400, 4}}, {35, {0, 0}}});
  const workload w = trace_load{pts};
  CHECK(rate_at(w, 0) == io_rates{});
  CHECK(rate_at(w, 9.99) == io_rates{});
  CHECK(rate_at(w, 10) == io_rates{100, 1});
  CHECK(rate_at(w, 19.9) == io_rates{100, 1});
  CHECK(rate_at(w, 20) == io_rates{400, 4});  // the later of two rows at one time wins
  CHECK(rate_at(w, 34) == io_rates{400, 4});
  CHECK(rate_at(w, 100) == io_rates{0, 0});
  CHECK(rate_at(workload{trace_load{}}, 5) == io_rates{});
}
