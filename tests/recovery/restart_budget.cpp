// The supervisor's allowances as data: the defaults a configuration starts from, and budgets per
// component kept apart from the default one.
#include <pvmkit/recovery/restart_budget.hpp>

#include <doctest/doctest.h>

#include <chrono>

using namespace pvmkit;
using namespace pvmkit::recovery;
using namespace std::chrono_literals;

TEST_CASE("the default budgets widen by scope: 3 component restarts a minute, 2 of dependents, 1 pVM restart in 5 minutes") {
  const supervisor_config c;
  CHECK(c.component.max_restarts == 3);
  CHECK(c.component.period == 60s);
  CHECK(c.dependents.max_restarts == 2);
  CHECK(c.dependents.period == 60s);
  CHECK(c.pvm.max_restarts == 1);
  CHECK(c.pvm.period == 300s);
  CHECK(c.component_budgets.empty());
}

TEST_CASE("the default back-off doubles from 10 ms to a 2 s cap, without jitter; rejuvenation is off") {
  const backoff_config b;
  CHECK(b.first == duration::zero());
  CHECK(b.base == 10ms);
  CHECK(b.factor == 2.0);
  CHECK(b.cap == 2s);
  CHECK(b.jitter == 0.0);
  const rejuvenation_config r;
  CHECK_FALSE(r.enabled);
  CHECK(r.low_load == doctest::Approx(0.3));
  CHECK(r.min_samples <= r.window);  // a trend can be trusted before the window is full
}

TEST_CASE("a component's own budget is kept by id, apart from the default") {
  supervisor_config c;
  c.component_budgets[component_id{2}] = restart_budget{10, 5s};
  CHECK(c.component_budgets.at(component_id{2}).max_restarts == 10);
  CHECK(c.component_budgets.count(component_id{1}) == 0);
  CHECK(c.component.max_restarts == 3);
}
