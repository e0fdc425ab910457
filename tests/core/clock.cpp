#include <pvmkit/core/clock.hpp>

#include <doctest/doctest.h>

#include <chrono>

using namespace pvmkit;
using namespace std::chrono_literals;

TEST_CASE("manual clock moves only when told, also backwards") {
  manual_clock c;
  const auto t0 = c.now();
  CHECK(c.now() == t0);
  c.advance(15ms);
  CHECK(c.now() - t0 == 15ms);
  c.set(t0 + 1s);
  CHECK(c.now() - t0 == 1s);
  c.set(t0);
  CHECK(c.now() == t0);
}

TEST_CASE("steady clock does not go backwards") {
  steady_clock c;
  const auto a = c.now();
  const auto b = c.now();
  CHECK(b >= a);
}
