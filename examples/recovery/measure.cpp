// pvmkit-recovery-measure: the recovery figures, measured on real processes on this machine.
// Prints one JSON object (p50/p99/max in microseconds over the trials) for:
//   crash_detection      kill -9 -> exit event from the pidfd in epoll
//   hang_detection       SIGSTOP of a component heartbeating every 10 ms -> phi accrual suspects
//   false_suspicion      suspicions of a healthy 10 ms heartbeater while 2 threads saturate the CPUs
//   stateless_restart    kill -9 -> exit event -> start -> a client request served again
//   warm_spare_failover  kill -9 -> exit event -> promote the standby -> a client request served
//   journal_recovery     state_journal::open of a 10,000-key store (log only; snapshot + empty log)
//   store_restart_10k    the store process restarted on a 10,000-key journal, to serving
//   kill9_cycles         kill -9 at a random instant while a client writes; acknowledged writes lost
#include "line_client.hpp"

#include <pvmkit/core/clock.hpp>
#include <pvmkit/core/json_writer.hpp>
#include <pvmkit/linux/process_backend.hpp>
#include <pvmkit/recovery/phi_accrual.hpp>
#include <pvmkit/recovery/state_journal.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <sched.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

using namespace pvmkit;
using namespace pvmkit::linux_process;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {
steady_clock clk;

double us(duration d) { return static_cast<double>(d.count()) / 1e3; }

void stats(json_writer& w, const char* name, std::vector<double> v, const char* unit = "us") {
  std::sort(v.begin(), v.end());
  auto pct = [&](double p) {
    if (v.empty()) return 0.0;
    const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
    return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
  };
  w.key(name).begin_object();
  w.field("unit", unit).field("trials", static_cast<std::uint64_t>(v.size()));
  w.field("p50", pct(50)).field("p99", pct(99)).field("max", v.empty() ? 0.0 : v.back());
  w.end_object();
}

using conn = pvmkit::examples::line_client;

bool served(const std::string& path) { return conn(path).ask("ping").starts_with("pong"); }

template <class Pred>
std::optional<process_event> wait_for(process_backend& b, Pred pred, duration limit = 5s) {
  const auto end = clk.now() + limit;
  while (clk.now() < end)
    for (const auto& e : b.wait_events(10ms))
      if (pred(e)) return e;
  return std::nullopt;
}
bool is_exit(const process_event& e) { return e.kind == process_event_kind::exited && !e.spare; }
bool is_ready(const process_event& e) { return e.kind == process_event_kind::ready && !e.spare; }

recovery::phi_accrual_config hang_detector() {
  recovery::phi_accrual_config c;
  c.threshold = 8;
  c.bootstrap_interval = 10ms;
  c.min_samples = 10;
  c.min_std_dev = 5ms;       // a 10 ms sender on a shared 2-core VM is never that regular
  c.acceptable_pause = 25ms; // scheduling delays under saturation (see false_suspicion)
  c.watcher_max_gap = 100ms; // the watcher ticks every 2 ms
  return c;
}

struct options {
  std::string bin_dir = PVMKIT_RECOVERY_BIN_DIR;
  std::size_t trials = 200;
  double saturate_seconds = 60;
  std::size_t kill_cycles = 1000;
  std::uint64_t seed = 1;
  std::string work_dir = "/tmp/pvmkit-measure";
  int realtime_priority = 0;  // SCHED_FIFO priority of the watcher for the latency figures; 0 = off
};

// A pVM's supervisor is the thing that must run when a component dies, so deployments give it a
// real-time priority; this measures detection with and without that (the default is without).
class realtime_section {
 public:
  explicit realtime_section(int priority) {
    if (priority <= 0) return;
    sched_param sp{};
    sp.sched_priority = priority;
    if (::sched_setscheduler(0, SCHED_FIFO, &sp) == 0) active_ = true;
    else std::fprintf(stderr, "measure: SCHED_FIFO %d refused (%s); measuring at normal priority\n", priority, std::strerror(errno));
  }
  ~realtime_section() {
    if (!active_) return;
    sched_param sp{};
    (void)::sched_setscheduler(0, SCHED_OTHER, &sp);
  }
  realtime_section(const realtime_section&) = delete;
  realtime_section& operator=(const realtime_section&) = delete;
  [[nodiscard]] bool active() const noexcept { return active_; }

 private:
  bool active_ = false;
};

process_spec forwarder(const options& o, const std::string& sock) {
  return {.name = "forwarder", .path = o.bin_dir + "/pvmkit-forwarder", .args = {"--heartbeat-ms", "10"}, .listen_path = sock, .stop_grace = 200ms};
}

void crash_and_restart(json_writer& w, const options& o) {
  process_backend b;
  const auto sock = o.work_dir + "/fwd.sock";
  auto id = b.add_component(forwarder(o, sock)).value();
  std::vector<double> detect, restart;
  (void)b.start_component(id);
  wait_for(b, is_ready);
  for (std::size_t i = 0; i < o.trials; ++i) {
    const auto t0 = clk.now();
    (void)b.signal(id, SIGKILL);
    auto e = wait_for(b, is_exit);
    if (!e) continue;
    detect.push_back(us(e->at - t0));
    (void)b.start_component(id);
    if (served(sock)) restart.push_back(us(clk.now() - t0));
  }
  (void)b.stop_component(id);
  stats(w, "crash_detection", detect);
  stats(w, "stateless_restart", restart);
}

void warm_spare(json_writer& w, const options& o) {
  process_backend b;
  const auto sock = o.work_dir + "/spare.sock";
  auto id = b.add_component(forwarder(o, sock)).value();
  std::vector<double> failover;
  (void)b.start_component(id);
  wait_for(b, is_ready);
  for (std::size_t i = 0; i < o.trials; ++i) {
    (void)b.start_spare(id);
    std::this_thread::sleep_for(20ms);  // the standby is up (exec'd, blocked on its control pipe)
    const auto t0 = clk.now();
    (void)b.signal(id, SIGKILL);
    if (!wait_for(b, is_exit)) continue;
    (void)b.promote_spare(id);
    if (served(sock)) failover.push_back(us(clk.now() - t0));
  }
  (void)b.stop_component(id);
  stats(w, "warm_spare_failover", failover);
}

void hang(json_writer& w, const options& o, std::mt19937_64& rng) {
  process_backend b;
  auto id = b.add_component(forwarder(o, o.work_dir + "/hang.sock")).value();
  recovery::phi_accrual det(hang_detector());
  (void)b.start_component(id);
  det.start(clk.now());
  auto pump = [&](duration for_how_long) {
    const auto end = clk.now() + for_how_long;
    while (clk.now() < end)
      for (const auto& e : b.wait_events(2ms))
        if (!e.spare && e.kind != process_event_kind::exited) det.heartbeat(e.at);
  };
  pump(1s);  // learn the interval distribution
  std::vector<double> detect;
  std::uniform_int_distribution<int> jitter(0, 10000);
  for (std::size_t i = 0; i < o.trials; ++i) {
    pump(std::chrono::microseconds(jitter(rng)));
    const auto t0 = clk.now();
    (void)b.signal(id, SIGSTOP);
    bool suspected = false;
    while (!suspected && clk.now() - t0 < 2s) {
      for (const auto& e : b.wait_events(2ms))
        if (!e.spare && e.kind != process_event_kind::exited) det.heartbeat(e.at);
      suspected = det.suspect(clk.now());
    }
    if (suspected) detect.push_back(us(clk.now() - t0));
    (void)b.signal(id, SIGCONT);
    det.start(clk.now());  // as after a restart: the gap it caused is not an interval to learn
    pump(100ms);
  }
  (void)b.stop_component(id);
  stats(w, "hang_detection", detect);
  w.field("hang_detector", "phi_accrual threshold 8, sd floor 5 ms, acceptable pause 25 ms, heartbeat 10 ms");
}

void saturated(json_writer& w, const options& o) {
  if (o.saturate_seconds <= 0) return;
  std::atomic<bool> stop{false};
  std::vector<std::thread> hogs;
  const unsigned n = std::max(2U, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < n; ++i)
    hogs.emplace_back([&] {
      volatile std::uint64_t x = 0;
      while (!stop.load(std::memory_order_relaxed)) x = x + 1;
    });
  process_backend b;
  auto id = b.add_component(forwarder(o, o.work_dir + "/sat.sock")).value();
  recovery::phi_accrual det(hang_detector());
  (void)b.start_component(id);
  det.start(clk.now());
  std::uint64_t suspicions = 0, heartbeats = 0;
  double max_phi = 0;
  duration max_gap{};
  time_point last{};
  const auto end = clk.now() + std::chrono::duration_cast<duration>(std::chrono::duration<double>(o.saturate_seconds));
  while (clk.now() < end) {
    for (const auto& e : b.wait_events(2ms))
      if (!e.spare && e.kind != process_event_kind::exited) {
        if (heartbeats++ > 0) max_gap = std::max(max_gap, e.at - last);
        last = e.at;
        det.heartbeat(e.at);
      }
    const auto now = clk.now();
    max_phi = std::max(max_phi, std::isinf(det.phi(now)) ? 1e9 : det.phi(now));
    if (det.suspect(now)) {
      ++suspicions;
      det.start(now);
    }
  }
  stop = true;
  for (auto& t : hogs) t.join();
  (void)b.stop_component(id);
  w.key("false_suspicion").begin_object();
  w.field("seconds", o.saturate_seconds).field("cpu_hog_threads", n).field("heartbeats", heartbeats);
  w.field("suspicions", suspicions).field("max_phi", max_phi).field("max_heartbeat_gap_us", us(max_gap));
  w.end_object();
}

void journal(json_writer& w, const options& o) {
  const fs::path dir = o.work_dir + "/journal10k";
  fs::remove_all(dir);
  {
    auto j = recovery::state_journal::open(dir, {.sync = recovery::fsync_policy::none(), .compact_after_bytes = 0}).value();
    for (int i = 0; i < 10000; ++i)
      (void)j.put("/local/domain/" + std::to_string(i / 10) + "/device/vif/" + std::to_string(i % 10),
                   "backend=/local/domain/0/backend/vif/" + std::to_string(i));
    (void)j.sync();
  }
  std::vector<double> log_only, snap;
  std::size_t keys = 0;
  for (int i = 0; i < 20; ++i) {
    const auto t0 = clk.now();
    auto j = recovery::state_journal::open(dir).value();
    log_only.push_back(us(clk.now() - t0));
    keys = j.state().size();
  }
  (void)recovery::state_journal::open(dir).value().compact();
  for (int i = 0; i < 20; ++i) {
    const auto t0 = clk.now();
    auto j = recovery::state_journal::open(dir).value();
    snap.push_back(us(clk.now() - t0));
  }
  w.field("journal_keys", static_cast<std::uint64_t>(keys));
  stats(w, "journal_recovery_log_only", log_only);
  stats(w, "journal_recovery_snapshot", snap);
  // The whole store process on that journal: spawn, replay, serve.
  process_backend b;
  const auto sock = o.work_dir + "/store10k.sock";
  auto id = b.add_component({.name = "store", .path = o.bin_dir + "/pvmkit-store", .args = {"--dir", dir.string()}, .listen_path = sock, .stop_grace = 200ms}).value();
  std::vector<double> restart;
  for (int i = 0; i < 20; ++i) {
    const auto t0 = clk.now();
    (void)b.start_component(id);
    if (conn(sock).ask("count") == "count " + std::to_string(keys)) restart.push_back(us(clk.now() - t0));
    (void)b.signal(id, SIGKILL);
    wait_for(b, is_exit);
  }
  stats(w, "store_restart_10k", restart);
}

void kill9(json_writer& w, const options& o, std::mt19937_64& rng) {
  const fs::path dir = o.work_dir + "/kill9";
  fs::remove_all(dir);
  process_backend b;
  const auto sock = o.work_dir + "/kill9.sock";
  auto id = b.add_component({.name = "store", .path = o.bin_dir + "/pvmkit-store", .args = {"--dir", dir.string(), "--fsync", "every"}, .listen_path = sock, .stop_grace = 200ms}).value();
  std::map<std::string, std::string> acked;
  std::vector<std::string> acked_keys;
  std::uint64_t next = 0, lost = 0, torn_mid_write = 0, checked = 0, cycles = 0;
  std::uniform_int_distribution<int> when(0, 30000);
  for (std::size_t c = 0; c < o.kill_cycles; ++c) {
    (void)b.start_component(id);
    if (!wait_for(b, is_ready)) break;
    const pid_t pid = b.pid(id);
    const auto delay = std::chrono::microseconds(when(rng));
    std::vector<std::string> this_cycle;
    {
      conn cn(sock);
      std::thread killer([pid, delay] {
        std::this_thread::sleep_for(delay);
        ::kill(pid, SIGKILL);  // not reaped until this thread is joined: the pid cannot be reused
      });
      for (;;) {
        const std::string key = "k" + std::to_string(next), value = "v" + std::to_string(next * 7919);
        ++next;
        const std::string r = cn.ask("put " + key + " " + value);
        if (!r.starts_with("ok")) {
          ++torn_mid_write;  // killed with this write in flight: not acknowledged
          break;
        }
        acked[key] = value;
        acked_keys.push_back(key);
        this_cycle.push_back(key);
      }
      killer.join();
    }
    wait_for(b, is_exit);
    ++cycles;
    // Restart (journal replay) and check this cycle's writes and a sample of older ones.
    (void)b.start_component(id);
    if (!wait_for(b, is_ready)) break;
    conn cn(sock);
    std::uniform_int_distribution<std::size_t> pick(0, acked_keys.empty() ? 0 : acked_keys.size() - 1);
    for (int k = 0; k < 5 && !acked_keys.empty(); ++k) this_cycle.push_back(acked_keys[pick(rng)]);
    for (const auto& k : this_cycle) {
      ++checked;
      const std::string got = cn.ask("get " + k);
      if (got != "val " + acked[k]) {
        ++lost;
        std::fprintf(stderr, "cycle %zu: %s: expected 'val %s', got '%s'\n", c, k.c_str(), acked[k].c_str(), got.c_str());
      }
    }
    (void)b.stop_component(id);
  }
  // Finally every acknowledged write, once more.
  (void)b.start_component(id);
  wait_for(b, is_ready);
  {
    conn cn(sock);
    for (const auto& [k, v] : acked) {
      ++checked;
      const std::string got = cn.ask("get " + k);
      if (got != "val " + v) {
        ++lost;
        std::fprintf(stderr, "final: %s: expected 'val %s', got '%s'\n", k.c_str(), v.c_str(), got.c_str());
      }
    }
  }
  (void)b.stop_component(id);
  w.key("kill9_cycles").begin_object();
  w.field("cycles", cycles).field("acknowledged_writes", static_cast<std::uint64_t>(acked.size()));
  w.field("writes_in_flight_at_kill", torn_mid_write).field("reads_checked", checked).field("acknowledged_lost", lost);
  w.field("fsync", "every record");
  w.end_object();
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Measure pvmkit's recovery mechanisms on real processes; prints JSON"};
  options o;
  app.add_option("--bin-dir", o.bin_dir, "where pvmkit-store and pvmkit-forwarder are");
  app.add_option("--trials", o.trials, "trials per latency figure")->check(CLI::Range(1, 100000));
  app.add_option("--saturate-seconds", o.saturate_seconds, "length of the false-suspicion run (0 = skip)");
  app.add_option("--kill-cycles", o.kill_cycles, "kill -9 cycles against the store (0 = skip)");
  app.add_option("--seed", o.seed, "seed of the random kill and stop instants");
  app.add_option("--work-dir", o.work_dir, "scratch directory (sockets, journals)");
  app.add_option("--realtime-priority", o.realtime_priority,
                 "run the watcher at this SCHED_FIFO priority for the latency figures (0 = normal priority)")
      ->check(CLI::Range(0, 99));
  CLI11_PARSE(app, argc, argv);
  std::signal(SIGPIPE, SIG_IGN);
  fs::create_directories(o.work_dir);
  std::mt19937_64 rng(o.seed);
  json_writer w;
  w.begin_object();
  w.field("measured", "real processes on this machine");
  w.field("nproc", std::thread::hardware_concurrency());
  {
    const realtime_section rt(o.realtime_priority);
    w.field("watcher_sched_fifo_priority", rt.active() ? o.realtime_priority : 0);
    crash_and_restart(w, o);
    warm_spare(w, o);
    hang(w, o, rng);
  }
  journal(w, o);
  if (o.kill_cycles > 0) kill9(w, o, rng);
  saturated(w, o);
  w.end_object();
  std::printf("%s\n", w.str().c_str());
  return 0;
}
