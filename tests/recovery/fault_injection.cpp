// Fault injection on the example pVM (real processes): kill -9 at random instants, SIGSTOP as a
// hang, a leaking component, a component that crashes at start.
#include "line_client.hpp"

#include <pvmkit/linux/process_backend.hpp>
#include <pvmkit/recovery/phi_accrual.hpp>
#include <pvmkit/recovery/process_watch.hpp>
#include <pvmkit/recovery/watcher.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <thread>

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

using namespace pvmkit;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {
const std::string bin = PVMKIT_RECOVERY_BIN_DIR;

std::string scratch(const char* tag) {
  const auto d = fs::temp_directory_path() / ("pvmkit-faults-" + std::to_string(::getpid()) + "-" + tag);
  fs::remove_all(d);
  fs::create_directories(d);
  return d.string();
}

using conn = pvmkit::examples::line_client;

bool ready(linux_process::process_backend& b) {
  const auto end = std::chrono::steady_clock::now() + 3s;
  while (std::chrono::steady_clock::now() < end)
    for (const auto& e : b.wait_events(10ms))
      if (e.kind == linux_process::process_event_kind::ready) return true;
  return false;
}

recovery::phi_accrual_config detector() {
  recovery::phi_accrual_config c;
  c.bootstrap_interval = 10ms;
  c.min_std_dev = 5ms;
  c.acceptable_pause = 30ms;
  c.startup_grace = 2s;
  c.watcher_max_gap = 200ms;
  return c;
}

recovery::component_spec spec(component_id id, const char* name, std::vector<component_id> deps, recovery::state_kind st,
                              recovery::technique t) {
  return {id, name, recovery::component_kind::custom, std::move(deps), st, t, {}};
}

// Appending, not "literal" + std::to_string: GCC 12 at -O3 warns falsely (-Wrestrict) on that.
std::string cat(const char* prefix, long n) {
  std::string s{prefix};
  s.append(std::to_string(n));
  return s;
}

// The watcher over real processes with phi accrual on every component, as the example runs it.
struct runner {
  runner(linux_process::process_backend& b, std::vector<recovery::component_spec> specs, recovery::supervisor_config cfg)
      : b_(b), w_(b, specs, cfg, std::vector<recovery::phi_accrual>(specs.size(), recovery::phi_accrual{detector()})) {
    w_.set_clock(clock_);
  }
  recovery::supervisor& supervisor() { return w_.supervisor(); }
  void start() { w_.start(clock_.now()); }
  void step(duration tick) {
    recovery::pump(w_, b_, tick);
    const auto now = clock_.now();
    if (now - last_health_ >= health_period) {
      last_health_ = now;
      recovery::sample_health(w_, b_, now);
    }
    w_.tick(now, load ? load() : 0.0);
  }
  std::function<double()> load;
  duration health_period{100ms};

 private:
  linux_process::process_backend& b_;
  recovery::watcher<linux_process::process_backend, recovery::phi_accrual> w_;
  steady_clock clock_;
  time_point last_health_{};
};

std::size_t count(const recovery::supervisor& s, recovery::event_kind k) {
  std::size_t n = 0;
  for (const auto& e : s.events()) n += e.kind == k ? 1 : 0;
  return n;
}
}  // namespace

TEST_CASE("kill -9 of the store at random instants loses no acknowledged write") {
  const auto dir = scratch("kill9");
  linux_process::process_backend b;
  const auto sock = dir + "/store.sock";
  auto id = b.add_component({.name = "store", .path = bin + "/pvmkit-store", .args = {"--dir", dir + "/journal", "--fsync", "every"}, .listen_path = sock, .stop_grace = 200ms}).value();
  std::mt19937_64 rng(12345);
  std::uniform_int_distribution<int> when(0, 20000);
  std::map<std::string, std::string> acked;
  int next = 0;
  for (int cycle = 0; cycle < 15; ++cycle) {
    REQUIRE(b.start_component(id));
    REQUIRE(ready(b));
    const pid_t pid = b.pid(id);
    const auto delay = std::chrono::microseconds(when(rng));
    {
      conn c(sock);
      std::thread killer([pid, delay] {
        std::this_thread::sleep_for(delay);
        ::kill(pid, SIGKILL);
      });
      for (;;) {
        const std::string k = cat("k", next), v = cat("v", next * 31L);
        ++next;
        if (!c.ask("put " + k + " " + v).starts_with("ok")) break;
        acked[k] = v;
      }
      killer.join();
    }
    (void)b.stop_component(id);  // reaps the killed process
  }
  REQUIRE(b.start_component(id));
  REQUIRE(ready(b));
  conn c(sock);
  std::size_t lost = 0;
  for (const auto& [k, v] : acked) lost += c.ask("get " + k) == "val " + v ? 0U : 1U;
  CHECK(lost == 0);
  CHECK(acked.size() > 0);
  (void)b.stop_component(id);
  fs::remove_all(dir);
}

TEST_CASE("SIGSTOP (a hang) is detected by phi accrual and the component is restarted and serves") {
  const auto dir = scratch("hang");
  linux_process::process_backend b;
  auto st = b.add_component({.name = "store", .path = bin + "/pvmkit-store", .args = {"--dir", dir + "/journal"}, .listen_path = dir + "/store.sock", .stop_grace = 200ms}).value();
  auto fw = b.add_component({.name = "fwd", .path = bin + "/pvmkit-forwarder", .args = {"--upstream", dir + "/store.sock"}, .listen_path = dir + "/fwd.sock", .stop_grace = 200ms}).value();
  recovery::supervisor_config cfg;
  cfg.backoff.first = 0ms;
  runner r(b, {spec(st, "store", {}, recovery::state_kind::checkpointed, recovery::technique::snapshot_log_replay),
                             spec(fw, "fwd", {st}, recovery::state_kind::stateless, recovery::technique::restart)},
             cfg);
  r.start();
  for (int i = 0; i < 30; ++i) r.step(10ms);  // learn the heartbeat rhythm
  CHECK(conn(dir + "/fwd.sock").ask("put /vm/1 up").starts_with("ok"));
  const pid_t hung = b.pid(fw);
  REQUIRE(b.signal(fw, SIGSTOP));
  const auto end = std::chrono::steady_clock::now() + 3s;
  while (b.pid(fw) == hung && std::chrono::steady_clock::now() < end) r.step(5ms);
  CHECK(b.pid(fw) != hung);
  CHECK(::kill(hung, 0) != 0);  // the hung instance was stopped and reaped
  CHECK(count(r.supervisor(), recovery::event_kind::failed) == 1);
  CHECK(conn(dir + "/fwd.sock").ask("get /vm/1") == "val up");
  (void)b.stop_component(fw);
  (void)b.stop_component(st);
  fs::remove_all(dir);
}

TEST_CASE("a leaking component is rejuvenated in a low-load window") {
  const auto dir = scratch("leak");
  linux_process::process_backend b;
  auto fw = b.add_component({.name = "leaky", .path = bin + "/pvmkit-forwarder", .args = {"--leak-mb-per-s", "40"}, .listen_path = dir + "/fwd.sock", .stop_grace = 200ms}).value();
  auto s = spec(fw, "leaky", {}, recovery::state_kind::stateless, recovery::technique::restart);
  s.health.rss = true;
  recovery::supervisor_config cfg;
  cfg.rejuvenation = {.enabled = true, .rss_slope_threshold = 10e6, .latency_threshold_ns = 0, .min_samples = 5,
                      .window = 10, .low_load = 0.5, .cooldown = 60s};
  runner r(b, {s}, cfg);
  r.health_period = 50ms;
  double load = 0.9;
  r.load = [&] { return load; };
  r.start();
  const pid_t first = b.pid(fw);
  for (int i = 0; i < 60; ++i) r.step(10ms);  // ~0.6 s of leaking under high load: no action
  CHECK(b.pid(fw) == first);
  load = 0.1;
  const auto end = std::chrono::steady_clock::now() + 3s;
  while (count(r.supervisor(), recovery::event_kind::rejuvenate) == 0 && std::chrono::steady_clock::now() < end) r.step(10ms);
  CHECK(count(r.supervisor(), recovery::event_kind::rejuvenate) == 1);
  CHECK(b.pid(fw) != first);
  CHECK(r.supervisor().restarts(fw) == 0);
  (void)b.stop_component(fw);
  fs::remove_all(dir);
}

TEST_CASE("a component crashing at start spends its budget, then escalates step by step to the host") {
  const auto dir = scratch("crashloop");
  linux_process::process_backend b;
  auto st = b.add_component({.name = "store", .path = bin + "/pvmkit-store", .args = {"--dir", dir + "/journal"}, .listen_path = dir + "/store.sock", .stop_grace = 200ms}).value();
  auto fw = b.add_component({.name = "fwd", .path = bin + "/pvmkit-forwarder", .args = {"--crash-at-start"}, .listen_path = dir + "/fwd.sock", .stop_grace = 200ms}).value();
  recovery::supervisor_config cfg;
  cfg.component = {4, 30s};
  cfg.dependents = {1, 30s};
  cfg.pvm = {1, 30s};
  cfg.backoff = {.first = 0ms, .base = 2ms, .factor = 2.0, .cap = 16ms, .jitter = 0, .seed = 1};
  runner r(b, {spec(st, "store", {}, recovery::state_kind::checkpointed, recovery::technique::snapshot_log_replay),
                             spec(fw, "fwd", {st}, recovery::state_kind::stateless, recovery::technique::restart)},
             cfg);
  r.start();
  const auto end = std::chrono::steady_clock::now() + 4s;
  while (!r.supervisor().gave_up() && std::chrono::steady_clock::now() < end) r.step(5ms);
  REQUIRE(r.supervisor().gave_up());
  CHECK(r.supervisor().restarts(fw) == 4);
  std::vector<recovery::escalation_level> steps;
  for (const auto& e : r.supervisor().events())
    if (e.kind == recovery::event_kind::escalated) steps.push_back(e.level);
  CHECK(steps == std::vector{recovery::escalation_level::dependents, recovery::escalation_level::pvm, recovery::escalation_level::host});
  // The first budget_spent comes with the 5th failure: 4 restarts were allowed, not one more.
  std::size_t failures_before_spent = 0;
  for (const auto& e : r.supervisor().events()) {
    if (e.kind == recovery::event_kind::budget_spent) break;
    failures_before_spent += e.kind == recovery::event_kind::failed ? 1 : 0;
  }
  CHECK(failures_before_spent == 5);
  (void)b.stop_component(st);
  fs::remove_all(dir);
}
