// The targets' own arithmetic and text: a bound met at its limit, a set met when every applicable
// item is, and the table users read. Targets judged on whole runs are in suite.cpp and kvm_host.cpp.
#include <pvmkit/sim/targets.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace pvmkit::sim;

TEST_CASE("a bound is met at its limit, within rounding, and not beyond") {
  CHECK(detail::bound("served", 97, 97, true, "%").met);
  CHECK(detail::bound("served", 97 - 1e-12, 97, true, "%").met);
  CHECK_FALSE(detail::bound("served", 96.9, 97, true, "%").met);
  CHECK(detail::bound("held", 1.15, 1.15, false, "x").met);
  CHECK_FALSE(detail::bound("held", 1.16, 1.15, false, "x").met);
}

TEST_CASE("a target set is met when every item that applies is; an item that does not apply never fails it") {
  target_set s;
  CHECK(s.met());
  s.items.push_back(detail::bound("a", 1, 2, true, ""));
  CHECK_FALSE(s.met());
  s.items.back().applies = false;
  CHECK(s.met());
  s.items.push_back(detail::bound("b", 3, 2, true, ""));
  CHECK(s.met());
}

TEST_CASE("format_targets: a line per item, names aligned, n/a with its reason") {
  target_set s;
  s.policy = "closer+closer_dynamic";
  s.items.push_back(detail::bound("served of oracle", 98.5, 97, true, "%"));
  target_result na;
  na.name = "return";
  na.applies = false;
  na.note = "no burst";
  s.items.push_back(na);
  CHECK(format_targets(s) ==
        "Targets for closer+closer_dynamic (modelled):\n"
        "  served of oracle  98.50 % >= 97.00 %  met\n"
        "  return            n/a (no burst)\n");
}
