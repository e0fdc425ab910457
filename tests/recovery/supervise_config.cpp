// pvmkit supervise's configuration: what a valid file gives, and the error each mistake raises.
#include <pvmkit/recovery/supervise_config.hpp>

#include "config_errors.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <fstream>
#include <string>

using namespace pvmkit;
using namespace pvmkit::recovery;
using namespace std::chrono_literals;
using pvmkit::test::error_of;
using pvmkit::test::replace;

namespace {
const std::string valid = R"({
  "supervisor": {"budget": {"max_restarts": 4, "period_s": 60}, "backoff": {"first_ms": 0, "base_ms": 50, "cap_ms": 800, "reset_after_ms": 30000}},
  "xenstored": {"trace": "/run/x/trace"},
  "components": [
    {"name": "agent", "depends_on": ["xenstored"], "command": ["/usr/bin/pvmkit", "agent", "--backend", "xen"],
     "budget": {"max_restarts": 2, "period_s": 30, "recover_within_s": 10}, "on_exit": "stop",
     "env": {"LANG": "C", "X": "1"}},
    {"name": "xenstored", "kind": "xenstore", "command": ["/usr/sbin/xenstored", "--pid-file", "/run/xenstored.pid"],
     "detector": {"type": "fixed_timeout", "timeout_ms": 5000, "startup_grace_ms": 30000},
     "probe": {"type": "xenstore", "interval_ms": 1000, "timeout_ms": 4000},
     "after_first_start": [["/usr/lib/xen-4.17/bin/xen-init-dom0"]]},
    {"name": "xenconsoled", "depends_on": ["xenstored"], "command": ["/usr/sbin/xenconsoled", "-i"],
     "detector": {"type": "phi_accrual", "threshold": 9, "bootstrap_interval_ms": 100}}
  ]
})";

supervise_config parse(const std::string& text) { return parse_supervise_config(text, "s.json"); }
std::string error_in(const std::string& text) {
  return error_of([&] { (void)parse(text); });
}
}  // namespace

TEST_CASE("a valid configuration gives each component its command, dependencies, technique, detector and budget") {
  const auto cfg = parse(valid);
  REQUIRE(cfg.components.size() == 3);
  const auto& agent = cfg.components[0];
  const auto& store = cfg.components[1];
  const auto& cons = cfg.components[2];
  CHECK(agent.spec.id == component_id{0});
  CHECK(agent.command == std::vector<std::string>{"/usr/bin/pvmkit", "agent", "--backend", "xen"});
  CHECK(agent.spec.depends_on == std::vector{component_id{1}});  // named before it is defined
  CHECK(agent.spec.recover_by == technique::restart);
  CHECK(agent.detector_kind == "crash");
  CHECK(!agent.leave_running);
  CHECK(agent.recover_within == 10s);
  CHECK(agent.env == std::vector<std::string>{"LANG=C", "X=1"});
  CHECK(cfg.supervisor.component_budgets.at(component_id{0}).max_restarts == 2);
  CHECK(cfg.supervisor.component_budgets.at(component_id{0}).period == 30s);
  CHECK(cfg.supervisor.component.max_restarts == 4);
  CHECK(cfg.supervisor.backoff.base == 50ms);
  CHECK(cfg.supervisor.backoff.reset_after == 30s);
  // A xenstore holds state: it is checkpointed and restored by default, and left running on exit.
  CHECK(store.spec.kind == component_kind::xenstore);
  CHECK(store.spec.state == state_kind::checkpointed);
  CHECK(store.spec.recover_by == technique::snapshot_log_replay);
  CHECK(store.leave_running);
  CHECK(store.probe.type == probe_config::kind::xenstore);
  CHECK(store.probe.interval == 1s);
  CHECK(store.detector_kind == "fixed_timeout");
  CHECK(store.after_first_start == std::vector<std::vector<std::string>>{{"/usr/lib/xen-4.17/bin/xen-init-dom0"}});
  CHECK(cons.detector_kind == "phi_accrual");
  CHECK(cons.detector.wants_heartbeats());
  CHECK(cfg.xenstored.trace == "/run/x/trace");
  CHECK(cfg.xenstored.rundir == "/var/run/xenstored");  // the default
  CHECK(cfg.find("xenconsoled") == component_id{2});
}

TEST_CASE("each mistake in a configuration is named with its file, line and field") {
  CHECK(error_in(replace(valid, R"("on_exit": "stop",)", R"("on_exit": "stop", "restart": 1,)")) ==
        "s.json:6: components[0].restart: unknown field (expected one of name, kind, command, env, depends_on, state, technique, detector, "
        "probe, budget, ready_timeout_s, after_first_start, on_exit, stop_grace_ms)");
  CHECK(error_in(replace(valid, R"("depends_on": ["xenstored"], "command": ["/usr/bin/pvmkit")", R"("depends_on": ["xenstore"], "command": ["/usr/bin/pvmkit")")) ==
        "s.json:5: components[0].depends_on[0]: unknown component 'xenstore' (components: agent, xenstored, xenconsoled)");
  CHECK(error_in(replace(valid, R"("name": "xenconsoled")", R"("name": "agent")")) == "s.json:12: components[2].name: component 'agent' is named twice");
  CHECK(error_in(replace(valid, R"("name": "xenconsoled")", R"("name": "xen consoled")")).find("a name is 1 to 64 letters") != std::string::npos);
  CHECK(error_in(replace(valid, R"(["/usr/sbin/xenconsoled", "-i"])", "[]")) == "s.json:12: components[2].command: a command needs at least the program");
  CHECK(error_in(replace(valid, R"("/usr/sbin/xenconsoled")", R"("xenconsoled")")) ==
        "s.json:12: components[2].command[0]: the program must be an absolute path, found 'xenconsoled'");
  CHECK(error_in(replace(valid, R"("type": "phi_accrual")", R"("type": "gossip")")) ==
        "s.json:13: components[2].detector.type: unknown detector 'gossip' (expected one of crash, fixed_timeout, phi_accrual, progress)");
  CHECK(error_in(replace(valid, R"("timeout_ms": 5000)", R"("timeout_ms": 0)")) ==
        "s.json:9: components[1].detector.timeout_ms: must be greater than 0, found 0");
  CHECK(error_in(replace(valid, R"("type": "fixed_timeout", "timeout_ms": 5000, "startup_grace_ms": 30000)", R"("type": "crash")")) ==
        "s.json:10: components[1].probe: a probe feeds a detector: give this component one that listens (fixed_timeout, phi_accrual)");
  CHECK(error_in(replace(valid, R"("command": ["/usr/sbin/xenconsoled", "-i"],)",
                         R"("command": ["/usr/sbin/xenconsoled", "-i"], "probe": {"type": "xenstore"},)")) ==
        "s.json:12: components[2].probe.type: a xenstore probe needs kind 'xenstore'");
  CHECK(error_in(replace(valid, R"("on_exit": "stop")", R"("technique": "warm_spare")")).find("warm_spare needs a program that waits") != std::string::npos);
  CHECK(error_in(replace(valid, R"("on_exit": "stop")", R"("technique": "snapshot_log_replay")")) ==
        "s.json:6: components[0].technique: snapshot_log_replay is pvmkit's xenstored restore: it needs kind 'xenstore'");
  CHECK(error_in(replace(valid, R"("on_exit": "stop")", R"("kind": "xenstore")")) == "s.json:8: components[1].kind: only one component may be the xenstore");
  CHECK(error_in(replace(valid, R"("on_exit": "stop")", R"("on_exit": "sometimes")")) ==
        "s.json:6: components[0].on_exit: expected 'leave' or 'stop', found 'sometimes'");
  CHECK(error_in(replace(valid, R"("LANG": "C")", R"("LANG": 1)")) == "s.json:7: components[0].env.LANG: expected a string, found a number");
  CHECK(error_in(replace(valid, R"("kind": "xenstore")", R"("kind": "xenstored")")) ==
        "s.json:8: components[1].kind: unknown kind 'xenstored' (expected one of xenstore, netback, blkback, toolstack, device_model, custom)");
  CHECK(error_in(replace(valid, R"("trace": "/run/x/trace")", R"("trace": "trace")")) == "s.json:3: xenstored.trace: must be an absolute path, found 'trace'");
  CHECK(error_in(R"({"components": []})") == "s.json:1: components: nothing to supervise: the list is empty");
  CHECK(error_in(R"({"components": [{"name": "a"}]})") == "s.json:1: components[0]: missing required field 'command'");
  // The supervisor's own checks come with the file's name.
  CHECK(error_in(replace(valid, R"("detector": {"type": "fixed_timeout")", R"("depends_on": ["agent"], "detector": {"type": "fixed_timeout")")) ==
        "s.json: supervisor: dependency cycle through component 'agent'");
  CHECK(error_in("{").find("s.json:1:2:") == 0);
}

TEST_CASE("a configuration file that is not there, or not a file, is refused by name") {
  pvmkit::test::temp_dir dir;
  const auto missing = (dir.path() / "none.json").string();
  CHECK(error_of([&] { (void)load_supervise_config(missing); }).starts_with(missing + ": cannot open supervise configuration file"));
  CHECK(error_of([&] { (void)load_supervise_config(dir.path().string()); }).find("not a regular file") != std::string::npos);
  const auto good = (dir.path() / "ok.json").string();
  std::ofstream(good) << valid;
  CHECK(load_supervise_config(good).components.size() == 3);
}
