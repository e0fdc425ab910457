#include "supervision.hpp"

#include <pvmkit/backend/mock.hpp>
#include <pvmkit/core/clock.hpp>
#include <pvmkit/recovery/driver.hpp>
#include <pvmkit/recovery/supervisor.hpp>
#include <pvmkit/topology/topology.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <string>
#include <vector>

using namespace pvmkit;
using namespace pvmkit::recovery;
using namespace std::chrono_literals;
using namespace pvmkit::literals;
using namespace pvmkit::test;

namespace {
// xenstore <- {netback, blkback} <- toolstack; listed backwards so order must be computed.
std::vector<component_spec> pvm_components() {
  return {spec(3, "toolstack", {0, 1, 2}), spec(2, "blkback", {0}), spec(1, "netback", {0}),
          spec(0, "xenstore", {}, state_kind::checkpointed, technique::snapshot_log_replay)};
}

std::size_t position(const std::vector<recovery_action>& as, action_kind k, unsigned c) {
  auto it = std::find(as.begin(), as.end(), recovery_action{k, component_id{c}, {}});
  REQUIRE(it != as.end());
  return static_cast<std::size_t>(it - as.begin());
}
}  // namespace

TEST_CASE("start_all starts every component after the ones it depends on") {
  supervisor s(pvm_components(), no_backoff());
  auto as = s.start_all(t0);
  REQUIRE(as.size() == 4);
  CHECK(as[0] == recovery_action{action_kind::replay, component_id{0}, {}});
  CHECK(position(as, action_kind::start, 1) < position(as, action_kind::start, 3));
  CHECK(position(as, action_kind::start, 2) < position(as, action_kind::start, 3));
  CHECK(s.events().empty());  // an initial start is not a recovery
}

TEST_CASE("a bad component graph is refused with a message naming the culprit") {
  CHECK_THROWS_WITH_AS(supervisor({spec(0, "a", {1}), spec(1, "b", {0})}), doctest::Contains("cycle"), config_error);
  CHECK_THROWS_WITH_AS(supervisor({spec(0, "a", {7})}), doctest::Contains("'a' depends on unknown component 7"), config_error);
  CHECK_THROWS_WITH_AS(supervisor({spec(0, "a"), spec(0, "b")}), doctest::Contains("used twice"), config_error);
  auto bad = no_backoff();
  bad.backoff.factor = 0.5;
  CHECK_THROWS_AS(supervisor({spec(0, "a")}, bad), config_error);
}

TEST_CASE("escalation happens exactly when the component budget is spent") {
  supervisor s(pvm_components(), no_backoff(3));
  (void)s.start_all(t0);
  const component_id netback{1};
  for (int i = 1; i <= 3; ++i) {
    auto as = s.on_failure(netback, t0 + i * 1s, "crash");
    REQUIRE(as.size() == 1);
    CHECK(as[0] == recovery_action{action_kind::start, netback, {}});
    CHECK(count_events(s, event_kind::budget_spent) == 0);
  }
  CHECK(s.restarts(netback) == 3);
  // The 4th failure within the 10 s period: the budget is spent, the group (netback + toolstack)
  // restarts: dependents stopped first, then started after netback.
  auto as = s.on_failure(netback, t0 + 4s, "crash");
  CHECK(s.restarts(netback) == 3);
  CHECK(count_events(s, event_kind::budget_spent) == 1);
  CHECK(count_events(s, event_kind::escalated) == 1);
  const auto& esc = s.events().back().kind == event_kind::restarted ? s.events()[s.events().size() - 3] : s.events().back();
  (void)esc;
  auto escalated = std::find_if(s.events().begin(), s.events().end(), [](const auto& e) { return e.kind == event_kind::escalated; });
  CHECK(escalated->level == escalation_level::dependents);
  CHECK(escalated->at == t0 + 4s);
  CHECK(position(as, action_kind::stop, 3) < position(as, action_kind::start, 1));
  CHECK(position(as, action_kind::start, 1) < position(as, action_kind::start, 3));
  CHECK(std::count(as.begin(), as.end(), recovery_action{action_kind::start, component_id{2}, {}}) == 0);  // blkback untouched

  // Group budget (1) spent too: the whole pVM restarts, xenstore first.
  as = s.on_failure(netback, t0 + 5s, "crash");
  CHECK(std::any_of(s.events().begin(), s.events().end(), [](const auto& e) { return e.kind == event_kind::escalated && e.level == escalation_level::pvm; }));
  CHECK(position(as, action_kind::stop, 0) > position(as, action_kind::stop, 3));
  CHECK(position(as, action_kind::replay, 0) < position(as, action_kind::start, 1));
  // pVM budget (1) spent: the host action, and nothing is restarted any more.
  as = s.on_failure(netback, t0 + 6s, "crash");
  REQUIRE(as.size() == 1);
  CHECK(as[0].kind == action_kind::host_action);
  CHECK(s.gave_up());
  CHECK(s.events().back().kind == event_kind::gave_up);
  CHECK(s.on_failure(netback, t0 + 7s).empty());
  CHECK(s.tick(t0 + 1h).empty());
}

TEST_CASE("failures spread wider than the period never escalate") {
  supervisor s(pvm_components(), no_backoff(3));
  (void)s.start_all(t0);
  for (int i = 1; i <= 20; ++i) {
    auto as = s.on_failure(component_id{2}, t0 + i * 4s, "crash");  // 2 per 10 s window at most... 3 at most
    CHECK(as.size() == 1);
  }
  CHECK(count_events(s, event_kind::escalated) == 0);
  CHECK(s.restarts(component_id{2}) == 20);
}

TEST_CASE("a crash-looping component never restarts more often than its budget allows") {
  mock_host host(make_uniform_topology(1, 2, 1_GiB));
  std::vector<component_spec> comps;
  for (unsigned i = 0; i < 2; ++i) {
    auto c = host.add_component(i == 0 ? "xenstored" : "crashy");
    comps.push_back(spec(c.value(), i == 0 ? "xenstored" : "crashy", i == 0 ? std::vector<unsigned>{} : std::vector<unsigned>{0}));
  }
  auto cfg = no_backoff(3);
  cfg.backoff.first = 50ms;
  cfg.backoff.base = 100ms;
  cfg.backoff.cap = 400ms;
  cfg.component = {3, 5s};
  cfg.dependents = {2, 30s};
  cfg.pvm = {1, 60s};
  supervisor s(comps, cfg);
  manual_clock clock(t0);
  (void)apply_actions(host, s, s.start_all(clock.now()), clock.now());
  const component_id crashy{1};

  std::vector<time_point> component_restarts;
  s.set_event_sink([&](const recovery_event& e) {
    if (e.kind == event_kind::restart_scheduled && e.level == escalation_level::component && e.component == crashy)
      component_restarts.push_back(e.at);
  });
  // The component dies 10 ms after every start, for 2 simulated minutes.
  for (int step = 0; step < 12000 && !s.gave_up(); ++step) {
    clock.advance(10ms);
    if (host.status(crashy).value() == component_status::running) {
      host.crash(crashy);
      (void)apply_actions(host, s, s.on_failure(crashy, clock.now(), "crash"), clock.now());
    }
    (void)apply_actions(host, s, s.tick(clock.now()), clock.now());
  }
  REQUIRE(s.gave_up());
  // In every sliding 5 s window at most 3 component-level restarts.
  for (std::size_t i = 0; i < component_restarts.size(); ++i) {
    std::size_t in_window = 0;
    for (std::size_t j = i; j < component_restarts.size() && component_restarts[j] - component_restarts[i] < 5s; ++j) ++in_window;
    CHECK(in_window <= 3);
  }
  // 3 component restarts, then 2 group restarts (each followed by the 3 it allows again is
  // impossible within 5 s: the windows overlap), then 1 pVM restart, then the host action.
  CHECK(count_events(s, event_kind::escalated) == 4);  // dependents x2, pvm, host
  CHECK(host.starts(crashy) <= 1 + 3 + 2 + 1 + 3 * 3);
  const auto starts_at_give_up = host.starts(crashy);
  for (int i = 0; i < 100; ++i) {
    clock.advance(1s);
    (void)apply_actions(host, s, s.tick(clock.now()), clock.now());
  }
  CHECK(host.starts(crashy) == starts_at_give_up);
}

TEST_CASE("back-off doubles up to its cap and restarts are not emitted early") {
  auto cfg = no_backoff(100);
  cfg.component = {100, 1h};
  cfg.backoff = {.first = 0ms, .base = 10ms, .factor = 2.0, .cap = 50ms, .jitter = 0, .seed = 1};
  supervisor s({spec(0, "c")}, cfg);
  (void)s.start_all(t0);
  const std::vector<duration> expected{0ms, 10ms, 20ms, 40ms, 50ms, 50ms};
  time_point t = t0;
  for (auto d : expected) {
    t += 1s;
    auto as = s.on_failure(component_id{0}, t, "crash");
    CHECK(s.events().back().kind == (d == 0ms ? event_kind::restarted : event_kind::restart_scheduled));
    auto sched = std::find_if(s.events().rbegin(), s.events().rend(), [](const auto& e) { return e.kind == event_kind::restart_scheduled; });
    CHECK(sched->delay == d);
    if (d == 0ms) {
      CHECK(as.size() == 1);
      continue;
    }
    CHECK(as.empty());
    CHECK(s.next_deadline() == t + d);
    CHECK(s.tick(t + d - 1ns).empty());
    auto later = s.tick(t + d);
    REQUIRE(later.size() == 1);
    CHECK(later[0].kind == action_kind::start);
  }
}

// A daemon killed now and then, each time after it had run a while, is not crash-looping: it comes
// back at once every time. One that dies soon after each start still backs off.
TEST_CASE("back-off starts again after a run of reset_after, and only then") {
  auto cfg = no_backoff(100);
  cfg.component = {100, 1h};
  cfg.backoff = {.first = 0ms, .base = 200ms, .factor = 2.0, .cap = 5s, .jitter = 0, .seed = 1, .reset_after = 10s};
  supervisor s({spec(0, "xenstored")}, cfg);
  (void)s.start_all(t0);
  auto delay_of_failure_at = [&](time_point t) {
    (void)s.on_failure(component_id{0}, t, "crash");
    auto sched = std::find_if(s.events().rbegin(), s.events().rend(), [](const auto& e) { return e.kind == event_kind::restart_scheduled; });
    REQUIRE(sched != s.events().rend());
    const duration d = sched->delay;
    (void)s.tick(t + d);
    REQUIRE(s.state(component_id{0}) == supervised_state::running);
    return d;
  };
  time_point t = t0;
  for (int kill = 0; kill < 10; ++kill) {  // every 15 s: each run lasted 10 s or more
    t += 15s;
    CHECK(delay_of_failure_at(t) == 0ms);
  }
  // Dies 1 s after each start: the last kill above counts as the first of these quick failures.
  std::vector<duration> delays;
  for (int crash = 0; crash < 4; ++crash) {
    const duration d = delay_of_failure_at(t + 1s);
    delays.push_back(d);
    t += 1s + d;
  }
  CHECK(delays == std::vector<duration>{200ms, 400ms, 800ms, 1600ms});
  // A run of exactly reset_after resets it; one of a nanosecond less does not.
  t += 10s - 1ns;
  CHECK(delay_of_failure_at(t) == 3200ms);
  t += 3200ms + 10s;
  CHECK(delay_of_failure_at(t) == 0ms);
}

TEST_CASE("the default back-off keeps counting within its window: reset_after is ten minutes") {
  CHECK(backoff_config{}.reset_after == std::chrono::minutes{10});
}

TEST_CASE("jitter is seeded, bounded, and shortens the delay") {
  auto run = [](std::uint64_t seed) {
    auto cfg = no_backoff(100);
    cfg.component = {100, 1h};
    cfg.backoff = {.first = 100ms, .base = 100ms, .factor = 1.0, .cap = 1s, .jitter = 0.5, .seed = seed};
    supervisor s({spec(0, "c")}, cfg);
    (void)s.start_all(t0);
    std::vector<duration> ds;
    for (int i = 1; i <= 20; ++i) {
      (void)s.on_failure(component_id{0}, t0 + i * 1s, "crash");
      ds.push_back(s.events().back().delay);
      (void)s.tick(t0 + i * 1s + 100ms);
    }
    return ds;
  };
  const auto a = run(7), b = run(7), c = run(8);
  CHECK(a == b);
  CHECK(a != c);
  for (auto d : a) {
    CHECK(d >= 50ms);
    CHECK(d <= 100ms);
  }
}

TEST_CASE("a dependent waits for its restarting dependency, and stateful restarts reconnect dependents") {
  auto cfg = no_backoff(5);
  cfg.backoff = {.first = 100ms, .base = 100ms, .factor = 2.0, .cap = 1s, .jitter = 0, .seed = 1};
  supervisor s(pvm_components(), cfg);
  (void)s.start_all(t0);
  // xenstore dies (100 ms back-off); netback dies right after (also 100 ms, but must wait).
  CHECK(s.on_failure(component_id{0}, t0 + 1s, "crash").empty());
  CHECK(s.on_failure(component_id{1}, t0 + 1s + 50ms, "crash").empty());
  CHECK(s.tick(t0 + 1s + 99ms).empty());
  auto as = s.tick(t0 + 1s + 100ms);
  // xenstore replays its journal; running dependents reconnect; netback is not due yet.
  CHECK(as.front() == recovery_action{action_kind::replay, component_id{0}, {}});
  CHECK(std::count(as.begin(), as.end(), recovery_action{action_kind::reconnect, component_id{2}, {}}) == 1);
  CHECK(std::count(as.begin(), as.end(), recovery_action{action_kind::reconnect, component_id{3}, {}}) == 1);
  CHECK(std::count(as.begin(), as.end(), recovery_action{action_kind::start, component_id{1}, {}}) == 0);
  as = s.tick(t0 + 1s + 150ms);
  REQUIRE(as.size() == 1);
  CHECK(as[0] == recovery_action{action_kind::start, component_id{1}, {}});  // stateless: no reconnects

  // When the dependency's back-off is longer, the dependent waits for it even though it is due.
  CHECK(s.on_failure(component_id{0}, t0 + 2s, "crash").empty());      // 2nd: 100 ms
  CHECK(s.on_failure(component_id{1}, t0 + 2s + 1ms, "crash").empty()); // 2nd: 100 ms, due first? no: later
  CHECK(s.on_failure(component_id{0}, t0 + 2s + 100ms, "crash").empty());  // still waiting: ignored
  as = s.tick(t0 + 2s + 101ms);
  CHECK(position(as, action_kind::replay, 0) < position(as, action_kind::start, 1));
}

TEST_CASE("warm spare: promoted at once, replaced after back-off") {
  auto cfg = no_backoff(5);
  cfg.backoff = {.first = 20ms, .base = 20ms, .factor = 2.0, .cap = 1s, .jitter = 0, .seed = 1};
  supervisor s({spec(0, "netback", {}, state_kind::replicated, technique::warm_spare), spec(1, "toolstack", {0})}, cfg);
  auto as = s.start_all(t0);
  CHECK(position(as, action_kind::start, 0) < position(as, action_kind::start_spare, 0));
  as = s.on_failure(component_id{0}, t0 + 1s, "crash");
  REQUIRE(!as.empty());
  CHECK(as[0] == recovery_action{action_kind::promote_spare, component_id{0}, {}});
  CHECK(std::count(as.begin(), as.end(), recovery_action{action_kind::reconnect, component_id{1}, {}}) == 1);
  CHECK(s.tick(t0 + 1s + 19ms).empty());
  as = s.tick(t0 + 1s + 20ms);
  REQUIRE(as.size() == 1);
  CHECK(as[0] == recovery_action{action_kind::start_spare, component_id{0}, {}});
  // Two failures in a row before the spare is back: the second is a plain restart.
  (void)s.on_failure(component_id{0}, t0 + 2s, "crash");
  as = s.on_failure(component_id{0}, t0 + 2s + 1ms, "crash");
  CHECK(as.empty());  // waiting for the spare's back-off: failure of a running primary? no: scheduled restart
  CHECK(s.state(component_id{0}) == supervised_state::waiting_restart);
}

TEST_CASE("rejuvenation: a leaking component is restarted only in a low-load window, once per cool-down") {
  auto cfg = no_backoff();
  cfg.rejuvenation = {.enabled = true, .rss_slope_threshold = 1e6, .latency_threshold_ns = 0, .min_samples = 4,
                      .window = 8, .low_load = 0.3, .cooldown = 60s};
  supervisor s({spec(0, "xenstore", {}, state_kind::checkpointed, technique::snapshot_log_replay), spec(1, "leaky", {0})}, cfg);
  (void)s.start_all(t0);
  for (int i = 0; i < 8; ++i) {
    s.on_health(component_id{0}, t0 + i * 1s, 50e6);             // flat
    s.on_health(component_id{1}, t0 + i * 1s, 50e6 + i * 2e6);   // +2 MB/s
  }
  CHECK(s.tick(t0 + 8s, 0.9).empty());  // busy: wait
  auto as = s.tick(t0 + 9s, 0.1);
  REQUIRE(as.size() == 2);
  CHECK(as[0] == recovery_action{action_kind::stop, component_id{1}, {}});
  CHECK(as[1] == recovery_action{action_kind::start, component_id{1}, {}});
  CHECK(count_events(s, event_kind::rejuvenate) == 1);
  // Still leaking right after: the cool-down holds it.
  for (int i = 0; i < 8; ++i) s.on_health(component_id{1}, t0 + 10s + i * 1s, 50e6 + i * 4e6);
  CHECK(s.tick(t0 + 20s, 0.0).empty());
  CHECK(s.tick(t0 + 70s, 0.0).size() == 2);
  CHECK(s.restarts(component_id{1}) == 0);  // planned restarts do not spend the failure budget
}
