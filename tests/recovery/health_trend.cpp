#include <pvmkit/recovery/health_trend.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <cmath>

using namespace pvmkit;
using namespace std::chrono_literals;
using recovery::health_trend;

namespace {
time_point at(double seconds) { return time_point{std::chrono::duration_cast<duration>(std::chrono::duration<double>(seconds))}; }
}  // namespace

TEST_CASE("health_trend: the least-squares slope per second of the last samples") {
  health_trend t{8};
  CHECK_FALSE(t.slope_per_second().has_value());  // nothing yet
  t.add(at(1000), 100);
  CHECK_FALSE(t.slope_per_second().has_value());  // one sample has no slope
  for (int i = 1; i < 8; ++i) t.add(at(1000 + 2 * i), 100 + 5.0 * i);  // +5 every 2 s: a leak
  REQUIRE(t.slope_per_second().has_value());
  CHECK(*t.slope_per_second() == doctest::Approx(2.5));
  CHECK(t.size() == 8);
  CHECK(t.last() == doctest::Approx(135));
}

TEST_CASE("health_trend: one spike moves the slope less than a steady trend does") {
  health_trend flat{16}, spiky{16};
  for (int i = 0; i < 16; ++i) {
    flat.add(at(i), 50);
    spiky.add(at(i), i == 8 ? 500 : 50);
  }
  CHECK(*flat.slope_per_second() == doctest::Approx(0));
  CHECK(std::abs(*spiky.slope_per_second()) < 2.0);  // a leak of 28/s would reach 500 in 16 s
}

TEST_CASE("health_trend: only the window counts; old samples fall out") {
  health_trend t{4};
  for (int i = 0; i < 10; ++i) t.add(at(i), i < 6 ? 10.0 * i : 50);  // rising, then flat
  CHECK(t.size() == 4);
  CHECK(*t.slope_per_second() == doctest::Approx(0));
}

TEST_CASE("health_trend: a clock that goes back starts a fresh series") {
  health_trend t{8};
  t.add(at(10), 1);
  t.add(at(11), 2);
  t.add(at(5), 7);  // back in time
  CHECK(t.size() == 1);
  CHECK_FALSE(t.slope_per_second().has_value());
  t.add(at(5), 9);  // same instant: not later either
  CHECK(t.size() == 1);
}

TEST_CASE("health_trend: a window below 2 still fits a line") {
  health_trend t{0};
  t.add(at(0), 0);
  t.add(at(1), 3);
  CHECK(*t.slope_per_second() == doctest::Approx(3));
}
