// The watcher: detection to recovery over the mock backend, time driven by hand.
#include "supervision.hpp"

#include <pvmkit/backend/mock.hpp>
#include <pvmkit/core/clock.hpp>
#include <pvmkit/recovery/any_detector.hpp>
#include <pvmkit/recovery/watcher.hpp>
#include <pvmkit/topology/topology.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

using namespace pvmkit;
using namespace pvmkit::recovery;
using namespace std::chrono_literals;
using namespace pvmkit::literals;
using namespace pvmkit::test;

namespace {
mock_host host() { return mock_host{make_uniform_topology(1, 2, 1_GiB, 10)}; }

fixed_timeout timeout_of(duration d) { return fixed_timeout{{.timeout = d, .startup_grace = 1s, .watcher_max_gap = {}}}; }

std::vector<std::string> calls_of(const mock_host& h, const std::string& what) {
  std::vector<std::string> out;
  for (const auto& c : h.calls())
    if (c.name == what) out.push_back(c.args);
  return out;
}

// The mock host plus the capability a stateful component's dependents need: reconnecting.
struct reconnecting_host : mock_host {
  using mock_host::mock_host;
  std::vector<component_id> reconnected;
  result<void> reconnect_frontends(component_id c) {
    reconnected.push_back(c);
    return {};
  }
};
}  // namespace

TEST_CASE("an exit is a failure at once: the component is restarted and the record says how long it took") {
  auto h = host();
  const auto c = h.add_component("xenconsoled");
  manual_clock clock{t0};
  watcher<mock_host> w(h, {spec(c, "xenconsoled")}, no_backoff(3, 60s), {any_detector{crash_event{}}});
  w.set_clock(clock);
  w.start(clock.now());
  CHECK(h.starts(c) == 1);
  CHECK(w.records().back().since_failure == std::nullopt);  // the first start recovers nothing

  h.crash(c);
  const time_point died = clock.now() + 3s;
  clock.set(died + 250ms);  // the start itself took a while
  w.exited(c, died, -9);
  CHECK(h.starts(c) == 2);
  REQUIRE(w.records().back().applied.action.kind == action_kind::start);
  CHECK(!w.records().back().applied.error);
  CHECK(w.records().back().since_failure == 250ms);
  CHECK(count_events(w.supervisor(), event_kind::failed) == 1);
  CHECK(w.supervisor().events().front().detail == "exit status -9");
}

TEST_CASE("a component that stops heartbeating is stopped (it may be hung, not dead) and started again") {
  auto h = host();
  const auto c = h.add_component("xenstored");
  watcher<mock_host> w(h, {spec(c, "xenstored")}, no_backoff(3, 60s), {any_detector{timeout_of(100ms)}});
  w.start(t0);
  for (int i = 1; i <= 5; ++i) {
    w.heartbeat(c, t0 + i * 50ms);
    w.tick(t0 + i * 50ms);
  }
  CHECK(h.starts(c) == 1);
  CHECK(calls_of(h, "stop_component").empty());
  w.tick(t0 + 250ms + 101ms);  // the last heartbeat was at +250 ms: silent for 101 ms
  CHECK(calls_of(h, "stop_component").size() == 1);
  CHECK(h.starts(c) == 2);
  CHECK(w.supervisor().events().front().detail.starts_with("hang:"));
  // The detector was reset by the start: the new incarnation gets its startup grace.
  w.tick(t0 + 351ms + 900ms);
  CHECK(h.starts(c) == 2);
}

TEST_CASE("a crash-only component is never suspected, however long it stays silent") {
  auto h = host();
  const auto c = h.add_component("agent");
  watcher<mock_host> w(h, {spec(c, "agent")}, no_backoff(3, 60s), {any_detector{}});
  w.start(t0);
  w.tick(t0 + 3600s);
  CHECK(h.starts(c) == 1);
  CHECK(calls_of(h, "stop_component").empty());
}

TEST_CASE("stalled progress with work pending is a hang; idle is not") {
  auto h = host();
  const auto c = h.add_component("netback");
  watcher<mock_host> w(h, {spec(c, "netback")}, no_backoff(3, 60s), {any_detector{progress{{.stall_timeout = 200ms, .watcher_max_gap = {}}}}});
  w.start(t0);
  w.progress(c, t0 + 10ms, 0, 5);
  w.tick(t0 + 10s);  // idle for ten seconds: nothing pending, nothing wrong
  CHECK(h.starts(c) == 1);
  w.progress(c, t0 + 10s, 3, 5);
  w.tick(t0 + 10s + 150ms);
  CHECK(h.starts(c) == 1);
  w.tick(t0 + 10s + 201ms);
  CHECK(h.starts(c) == 2);
}

TEST_CASE("a back-off delays the restart until the tick that reaches it") {
  auto h = host();
  const auto c = h.add_component("xenconsoled");
  auto cfg = no_backoff(3, 60s);
  cfg.backoff.first = 500ms;
  watcher<mock_host> w(h, {spec(c, "xenconsoled")}, cfg, {any_detector{}});
  w.start(t0);
  h.crash(c);
  w.exited(c, t0 + 1s, 1);
  CHECK(h.starts(c) == 1);
  REQUIRE(w.next_deadline() == t0 + 1500ms);
  w.tick(t0 + 1499ms);
  CHECK(h.starts(c) == 1);
  w.tick(t0 + 1500ms);
  CHECK(h.starts(c) == 2);
}

TEST_CASE("a component's own budget replaces the default one") {
  auto h = host();
  const auto a = h.add_component("agent");
  const auto b = h.add_component("xenconsoled");
  auto cfg = no_backoff(5, 60s);
  cfg.component_budgets[a] = {1, 60s};
  watcher<mock_host> w(h, {spec(a, "agent"), spec(b, "xenconsoled")}, cfg, {any_detector{}, any_detector{}});
  w.start(t0);
  for (int i = 1; i <= 2; ++i) {
    h.crash(a);
    w.exited(a, t0 + i * 1s, 1);
    h.crash(b);
    w.exited(b, t0 + i * 1s, 1);
  }
  CHECK(w.supervisor().restarts(a) == 1);  // its own budget: one restart, then escalation
  CHECK(w.supervisor().restarts(b) == 2);  // the default budget of 5
  const auto spent = std::find_if(w.supervisor().events().begin(), w.supervisor().events().end(),
                                  [](const auto& e) { return e.kind == event_kind::budget_spent; });
  REQUIRE(spent != w.supervisor().events().end());
  CHECK(spent->component == a);
  CHECK(spent->detail == "1 restarts within 60000 ms");
  CHECK_THROWS_AS((supervisor{{spec(a, "agent")}, [] {
                     auto c = no_backoff(3, 60s);
                     c.component_budgets[component_id{9}] = {1, 1s};
                     return c;
                   }()}),
                  config_error);
}

TEST_CASE("a start that fails is a failure of that component, retried within its budget") {
  auto h = host();
  const auto c = h.add_component("xenstored");
  watcher<mock_host> w(h, {spec(c, "xenstored")}, no_backoff(2, 60s), {any_detector{}});
  w.start(t0);
  h.crash(c);
  h.fail_when([](const mock_call& call) { return call.name == "start_component"; });
  w.exited(c, t0 + 1s, -9);
  // start fails, is retried twice (the budget), then the supervisor escalates to the host.
  CHECK(w.supervisor().gave_up());
  const auto failed_starts = std::count_if(w.records().begin(), w.records().end(), [](const watch_record& r) {
    return r.applied.action.kind == action_kind::start && r.applied.error;
  });
  CHECK(failed_starts >= 2);
}

TEST_CASE("the dependents of a restarted stateful component reconnect to the new instance") {
  reconnecting_host h{make_uniform_topology(1, 2, 1_GiB, 10)};
  const auto store = h.add_component("xenstored");
  const auto cons = h.add_component("xenconsoled");
  const auto agent = h.add_component("agent");
  watcher<reconnecting_host> w(
      h, {spec(store, "xenstored", {}, state_kind::checkpointed), spec(cons, "xenconsoled", {store}), spec(agent, "agent", {store})}, no_backoff(3, 60s),
      {any_detector{}, any_detector{}, any_detector{}});
  w.start(t0);
  CHECK(h.reconnected.empty());  // a first start is nobody's reconnection
  h.crash(store);
  w.exited(store, t0 + 1s, -9);
  CHECK(h.starts(store) == 2);
  std::sort(h.reconnected.begin(), h.reconnected.end());
  CHECK(h.reconnected == std::vector{cons, agent});
  // A stateless component's restart asks nobody to reconnect.
  h.reconnected.clear();
  h.crash(cons);
  w.exited(cons, t0 + 2s, 1);
  CHECK(h.reconnected.empty());
}

TEST_CASE("the watcher refuses a detector list that does not match its components") {
  auto h = host();
  const auto c = h.add_component("a");
  CHECK_THROWS_AS((watcher<mock_host>{h, {spec(c, "a")}, no_backoff(3, 60s), {}}), config_error);
  watcher<mock_host> w(h, {spec(c, "a")}, no_backoff(3, 60s), {any_detector{}});
  CHECK_THROWS_AS(w.heartbeat(component_id{5}, t0), config_error);
}
