// pvmkit-supervisor: runs a tiny disaggregated pVM — a XenStore-like store (checkpointed:
// snapshot + log replay) and a stateless forwarder that depends on it (restart) — as real
// processes under the recovery policies, and prints every recovery event as a JSON line.
//   pvmkit-supervisor --bin-dir DIR --state-dir DIR [--seconds N] [--leak-mb-per-s N]
//                     [--crash-forwarder] [--socket-dir DIR]
// Try: kill -9 / kill -STOP the store or the forwarder while it runs.
#include <pvmkit/linux/process_backend.hpp>
#include <pvmkit/recovery/phi_accrual.hpp>
#include <pvmkit/recovery/process_watch.hpp>
#include <pvmkit/recovery/watcher.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <string>

using namespace pvmkit;
using namespace std::chrono_literals;

int main(int argc, char** argv) {
  CLI::App app{"Run a store and a forwarder under pvmkit's recovery policies"};
  std::string bin_dir, state_dir = "/tmp/pvmkit-supervisor-state", socket_dir = "/tmp";
  double seconds = 10;
  int leak = 0;
  bool crash_forwarder = false;
  app.add_option("--bin-dir", bin_dir, "where pvmkit-store and pvmkit-forwarder are")->required();
  app.add_option("--state-dir", state_dir, "the store's journal directory");
  app.add_option("--socket-dir", socket_dir, "where the components' sockets go");
  app.add_option("--seconds", seconds, "how long to run")->check(CLI::PositiveNumber);
  app.add_option("--leak-mb-per-s", leak, "make the forwarder leak memory (rejuvenation)");
  app.add_flag("--crash-forwarder", crash_forwarder, "make the forwarder crash at start (budget, escalation)");
  CLI11_PARSE(app, argc, argv);

  linux_process::process_backend backend;
  linux_process::process_spec store{.name = "store", .path = bin_dir + "/pvmkit-store", .args = {"--dir", state_dir},
                                    .listen_path = socket_dir + "/pvmkit-store.sock", .stop_grace = 500ms};
  linux_process::process_spec fwd{.name = "forwarder", .path = bin_dir + "/pvmkit-forwarder",
                                  .args = {"--upstream", socket_dir + "/pvmkit-store.sock", "--leak-mb-per-s", std::to_string(leak)},
                                  .listen_path = socket_dir + "/pvmkit-forwarder.sock", .stop_grace = 500ms};
  if (crash_forwarder) fwd.args.push_back("--crash-at-start");
  auto sid = backend.add_component(store);
  auto fid = backend.add_component(fwd);
  if (!sid || !fid) {
    std::fprintf(stderr, "pvmkit-supervisor: cannot create the sockets in %s\n", socket_dir.c_str());
    return 2;
  }
  recovery::component_spec s{sid.value(), "store", recovery::component_kind::xenstore, {}, recovery::state_kind::checkpointed,
                             recovery::technique::snapshot_log_replay, {}};
  recovery::component_spec f{fid.value(), "forwarder", recovery::component_kind::netback, {sid.value()}, recovery::state_kind::stateless,
                             recovery::technique::restart, {}};
  f.health.rss = true;
  recovery::supervisor_config cfg;
  cfg.component = {3, 10s};
  cfg.dependents = {1, 30s};
  cfg.pvm = {1, 60s};
  cfg.backoff = {.first = 0ms, .base = 10ms, .factor = 2.0, .cap = 1s, .jitter = 0.2, .seed = 42};
  cfg.rejuvenation = {.enabled = true, .rss_slope_threshold = 5e6, .latency_threshold_ns = 0, .min_samples = 8,
                      .window = 16, .low_load = 0.5, .cooldown = 5s};
  recovery::phi_accrual_config det;
  det.bootstrap_interval = 10ms;
  det.min_std_dev = 5ms;
  det.acceptable_pause = 30ms;
  det.watcher_max_gap = 100ms;
  recovery::watcher<linux_process::process_backend> w(backend, {s, f}, cfg, {recovery::phi_accrual{det}, recovery::phi_accrual{det}});
  w.supervisor().set_event_sink([](const recovery::recovery_event& e) { std::printf("%s\n", e.to_json().c_str()); std::fflush(stdout); });
  const steady_clock clock;
  w.set_clock(clock);
  w.start(clock.now());
  const auto end = clock.now() + std::chrono::duration_cast<duration>(std::chrono::duration<double>(seconds));
  time_point last_health{};
  while (clock.now() < end && !w.supervisor().gave_up()) {
    recovery::pump(w, backend, 10ms);
    const auto now = clock.now();
    if (now - last_health >= 100ms) {
      last_health = now;
      recovery::sample_health(w, backend, now);
    }
    w.tick(now);
  }
  (void)backend.stop_component(fid.value());
  (void)backend.stop_component(sid.value());
  return w.supervisor().gave_up() ? 1 : 0;
}
