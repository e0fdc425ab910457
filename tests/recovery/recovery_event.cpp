// The supervisor's events and actions as data: their names and their JSON lines.
#include "supervision.hpp"

#include <pvmkit/recovery/recovery_event.hpp>
#include <pvmkit/recovery/supervisor.hpp>

#include <doctest/doctest.h>

#include <chrono>

using namespace pvmkit;
using namespace pvmkit::recovery;
using namespace std::chrono_literals;
using namespace pvmkit::test;

TEST_CASE("events are JSON records") {
  supervisor s({spec(0, "c")}, no_backoff(1));
  (void)s.start_all(t0);
  (void)s.on_failure(component_id{0}, t0 + 1s, "exit status 9");
  REQUIRE(!s.events().empty());
  CHECK(s.events().front().to_json() ==
        R"({"t_ns":1001000000000,"event":"failed","component":0,"level":"component","delay_ns":0,"detail":"exit status 9"})");
}

TEST_CASE("an event without a component writes null, and its back-off in nanoseconds") {
  const recovery_event e{t0 + 2s, event_kind::restart_scheduled, component_id::invalid(), escalation_level::pvm, 250ms,
                         "a \"quoted\" detail"};
  CHECK(e.to_json() ==
        R"({"t_ns":1002000000000,"event":"restart_scheduled","component":null,"level":"pvm","delay_ns":250000000,"detail":"a \"quoted\" detail"})");
}

TEST_CASE("every action, level and event kind has its own name") {
  CHECK(to_string(action_kind::start) == "start");
  CHECK(to_string(action_kind::replay) == "replay");
  CHECK(to_string(action_kind::promote_spare) == "promote_spare");
  CHECK(to_string(action_kind::host_action) == "host_action");
  CHECK(to_string(escalation_level::dependents) == "dependents");
  CHECK(to_string(escalation_level::host) == "host");
  CHECK(to_string(event_kind::budget_spent) == "budget_spent");
  CHECK(to_string(event_kind::gave_up) == "gave_up");
  CHECK(to_string(static_cast<event_kind>(200)) == "?");
}

TEST_CASE("actions are equal by kind and component; the reason is commentary") {
  CHECK(recovery_action{action_kind::stop, component_id{1}, "hung"} == recovery_action{action_kind::stop, component_id{1}, {}});
  CHECK_FALSE(recovery_action{action_kind::stop, component_id{1}, {}} == recovery_action{action_kind::start, component_id{1}, {}});
  CHECK_FALSE(recovery_action{action_kind::stop, component_id{1}, {}} == recovery_action{action_kind::stop, component_id{2}, {}});
}
