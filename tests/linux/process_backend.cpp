#include <pvmkit/linux/process_backend.hpp>
#include <pvmkit/recovery/driver.hpp>
#include <pvmkit/recovery/fixed_timeout.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

using namespace pvmkit;
using namespace pvmkit::linux_process;
using namespace std::chrono_literals;

namespace {
process_spec component(std::vector<std::string> args, std::string listen = {}) {
  process_spec s;
  s.name = "test";
  s.path = PVMKIT_TEST_COMPONENT;
  s.args = std::move(args);
  s.listen_path = std::move(listen);
  s.stop_grace = 200ms;
  return s;
}

std::string socket_path(const char* tag) {
  return "/tmp/pvmkit-test-" + std::to_string(::getpid()) + "-" + tag + ".sock";
}

// Pumps events until one matches (or 3 s pass); every event is also handed to `seen`.
std::optional<process_event> wait_for(process_backend& b, const std::function<bool(const process_event&)>& pred,
                                      const std::function<void(const process_event&)>& seen = {}) {
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while (std::chrono::steady_clock::now() < deadline) {
    for (const auto& e : b.wait_events(50ms)) {
      if (seen) seen(e);
      if (pred(e)) return e;
    }
  }
  return std::nullopt;
}

// Connects, sends a ping, returns the pid in the reply (0 on failure).
long ping(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  long pid = 0;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::write(fd, "ping\n", 5) == 5) {
    char buf[64] = {};
    if (::read(fd, buf, sizeof buf - 1) > 5) pid = std::atol(buf + 5);
  }
  ::close(fd);
  return pid;
}

bool alive(pid_t pid) { return ::kill(pid, 0) == 0; }
}  // namespace

TEST_CASE("process backend: start, ready, heartbeats, stop") {
  process_backend b;
  auto id = b.add_component(component({"--heartbeat-ms", "5"}));
  REQUIRE(id);
  CHECK(b.status(id.value()).value() == component_status::stopped);
  REQUIRE(b.start_component(id.value()));
  CHECK(b.start_component(id.value()).error() == make_error_code(errc::invalid_state));
  CHECK(b.status(id.value()).value() == component_status::running);
  const pid_t pid = b.pid(id.value());
  CHECK(pid > 0);
  CHECK(wait_for(b, [](const auto& e) { return e.kind == process_event_kind::ready; }));
  int beats = 0;
  CHECK(wait_for(b, [&](const auto& e) { return e.kind == process_event_kind::heartbeat && ++beats == 5; }));
  REQUIRE(b.stop_component(id.value()));
  CHECK(b.status(id.value()).value() == component_status::stopped);
  CHECK_FALSE(alive(pid));  // reaped, not a zombie
  CHECK(b.status(component_id{99}).error() == make_error_code(errc::unknown_component));
}

TEST_CASE("process backend: a crash is an exit event with its status, and a restart is a new incarnation") {
  process_backend b;
  auto id = b.add_component(component({"--crash-after-ms", "30"})).value();
  REQUIRE(b.start_component(id));
  auto e = wait_for(b, [](const auto& ev) { return ev.kind == process_event_kind::exited; });
  REQUIRE(e);
  CHECK(e->status == 3);
  CHECK(e->incarnation == 1);
  CHECK(b.status(id).value() == component_status::failed);
  REQUIRE(b.start_component(id));
  CHECK(b.incarnation(id) == 2);
  REQUIRE(b.signal(id, SIGKILL));
  e = wait_for(b, [](const auto& ev) { return ev.kind == process_event_kind::exited; });
  REQUIRE(e);
  CHECK(e->status == -SIGKILL);
  CHECK(e->incarnation == 2);
}

TEST_CASE("process backend: a component that ignores SIGTERM is killed after the grace period") {
  process_backend b;
  auto id = b.add_component(component({"--ignore-term"})).value();
  REQUIRE(b.start_component(id));
  REQUIRE(wait_for(b, [](const auto& e) { return e.kind == process_event_kind::ready; }));
  const pid_t pid = b.pid(id);
  REQUIRE(b.stop_component(id));
  CHECK_FALSE(alive(pid));
}

TEST_CASE("process backend: SIGSTOP silences heartbeats, the detector suspects, stop still works") {
  process_backend b;
  auto id = b.add_component(component({"--heartbeat-ms", "5"})).value();
  REQUIRE(b.start_component(id));
  recovery::fixed_timeout det({.timeout = 100ms, .startup_grace = 1s, .watcher_max_gap = {}});
  steady_clock clock;
  det.start(clock.now());
  REQUIRE(wait_for(b, [&](const auto& e) {
    if (e.kind != process_event_kind::exited) det.heartbeat(e.at);
    return e.kind == process_event_kind::heartbeat;
  }));
  REQUIRE(b.signal(id, SIGSTOP));
  bool suspected = false;
  const auto deadline = clock.now() + 3s;
  while (!suspected && clock.now() < deadline) {
    for (const auto& e : b.wait_events(10ms)) det.heartbeat(e.at);
    suspected = det.suspect(clock.now());
  }
  CHECK(suspected);
  const pid_t pid = b.pid(id);
  REQUIRE(b.stop_component(id));
  CHECK_FALSE(alive(pid));
}

TEST_CASE("process backend: a warm spare waits, is promoted on failure, and serves on the same socket") {
  const auto path = socket_path("spare");
  process_backend b;
  auto id = b.add_component(component({"--heartbeat-ms", "20"}, path)).value();
  REQUIRE(b.start_component(id));
  REQUIRE(b.start_spare(id));
  CHECK(b.start_spare(id).error() == make_error_code(errc::invalid_state));
  REQUIRE(wait_for(b, [](const auto& e) { return e.kind == process_event_kind::ready && !e.spare; }));
  const pid_t primary = b.pid(id), spare = b.pid(id, true);
  CHECK(ping(path) == primary);
  REQUIRE(b.signal(id, SIGKILL));
  auto e = wait_for(b, [](const auto& ev) { return ev.kind == process_event_kind::exited; });
  REQUIRE(e);
  CHECK_FALSE(e->spare);
  REQUIRE(b.promote_spare(id));
  CHECK_FALSE(b.has_spare(id));
  CHECK(b.pid(id) == spare);
  CHECK(ping(path) == spare);
  CHECK(b.promote_spare(id).error() == make_error_code(errc::invalid_state));
  REQUIRE(b.stop_component(id));
  CHECK_FALSE(alive(spare));
}

TEST_CASE("process backend under the supervisor: a component crashing at start spends its budget and escalates") {
  process_backend b;
  auto store = b.add_component(component({"--heartbeat-ms", "50"})).value();
  auto crashy = b.add_component(component({"--crash-after-ms", "0"})).value();
  recovery::component_spec s0{store, "store", recovery::component_kind::xenstore, {}, recovery::state_kind::stateless,
                              recovery::technique::restart, {}};
  recovery::component_spec s1{crashy, "crashy", recovery::component_kind::netback, {store}, recovery::state_kind::stateless,
                              recovery::technique::restart, {}};
  recovery::supervisor_config cfg;
  cfg.component = {3, 10s};
  cfg.dependents = {1, 10s};
  cfg.pvm = {1, 10s};
  cfg.backoff = {.first = 0ms, .base = 5ms, .factor = 2.0, .cap = 20ms, .jitter = 0, .seed = 1};
  recovery::supervisor sup({s0, s1}, cfg);
  steady_clock clock;
  (void)recovery::apply_actions(b, sup, sup.start_all(clock.now()), clock.now());
  const auto deadline = clock.now() + 4s;
  while (!sup.gave_up() && clock.now() < deadline) {
    for (const auto& e : b.wait_events(5ms))
      if (e.kind == process_event_kind::exited && !e.spare)
        (void)recovery::apply_actions(b, sup, sup.on_failure(e.component, e.at, "exit " + std::to_string(e.status)), e.at);
    (void)recovery::apply_actions(b, sup, sup.tick(clock.now()), clock.now());
  }
  REQUIRE(sup.gave_up());
  // 1 initial start + 3 budgeted restarts + 1 group restart + 1 pVM restart, then the host action.
  CHECK(b.incarnation(crashy) == 0);  // not running
  std::size_t escalations = 0, component_restarts = 0;
  for (const auto& ev : sup.events()) {
    if (ev.kind == recovery::event_kind::escalated) ++escalations;
    if (ev.kind == recovery::event_kind::restart_scheduled && ev.level == recovery::escalation_level::component) ++component_restarts;
  }
  CHECK(escalations == 3);
  CHECK(component_restarts == 3);
  CHECK(sup.events().back().kind == recovery::event_kind::gave_up);
}
