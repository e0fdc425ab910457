// pvmkit supervise: runs a pVM's own daemons (in a Xen dom0: xenstored, xenconsoled, the pvmkit
// agent) under the recovery family, from a configuration file (docs/recovery.md, "pvmkit
// supervise"). Each component gets its detector (process exit always; a probe or heartbeats for
// hangs), its restart budget and its technique: a plain restart, or for xenstored pvmkit's restore
// with its state (recovery/xenstored_restore.hpp). Every event is one JSON line on stdout (or
// --events FILE), stamped with the boot clock (`uptime_s`, as /proc/uptime) to line up with
// what others log.
//
//   pvmkit supervise --config FILE [--events FILE] [--check]
//
// Exit codes: 0 stopped by SIGTERM/SIGINT (daemons marked "on_exit": "leave" keep running);
// 1 the supervisor gave up (budgets spent up to the host action) or could not start; 2 bad
// configuration or usage.
#include "command.hpp"

#include <pvmkit/core/clock.hpp>
#include <pvmkit/core/error.hpp>
#include <pvmkit/core/json_writer.hpp>
#include <pvmkit/linux/pidfd.hpp>
#include <pvmkit/linux/process_backend.hpp>
#include <pvmkit/recovery/process_watch.hpp>
#include <pvmkit/recovery/supervise_config.hpp>
#include <pvmkit/recovery/watcher.hpp>
#include <pvmkit/recovery/xenstore_wire.hpp>
#include <pvmkit/recovery/xenstored_restore.hpp>

#ifdef PVMKIT_HAVE_XEN
// <xenctrl.h> needs GNU extensions: not under -std=c++20's strict ANSI mode (docs/xen.md).
#pragma push_macro("__STRICT_ANSI__")
#undef __STRICT_ANSI__
extern "C" {
#include <xenctrl.h>
}
#pragma pop_macro("__STRICT_ANSI__")
#endif

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;  // NOLINT: POSIX

namespace {

using namespace std::chrono_literals;
namespace rec = pvmkit::recovery;
namespace xs = pvmkit::recovery::xenstore;
using pvmkit::component_id;
using pvmkit::duration;
using pvmkit::time_point;

volatile std::sig_atomic_t stop_requested = 0;
extern "C" void on_supervise_stop(int) { stop_requested = 1; }

// Seconds since boot, the clock of /proc/uptime: what a test harness in dom0 can compare with.
double uptime_s() {
  timespec ts{};
  ::clock_gettime(CLOCK_BOOTTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}
double ms(duration d) { return static_cast<double>(d.count()) / 1e6; }

// One JSON object per line, flushed: a reader (a harness, journald) sees each event as it happens.
class event_log {
 public:
  explicit event_log(std::FILE* out) : out_(out) {}
  template <class Fill>
  void line(std::string_view type, Fill&& fill) {
    pvmkit::json_writer w;
    w.begin_object();
    w.field("type", type);
    w.field("uptime_s", uptime_s());
    fill(w);
    w.end_object();
    std::fprintf(out_, "%s\n", w.str().c_str());
    std::fflush(out_);
  }

 private:
  std::FILE* out_;
};

// Whether a domain exists (a restore gives the nodes of a domain that died meanwhile to dom0).
// Without the Xen component every domain is taken to exist.
class domain_table {
 public:
  domain_table() {
#ifdef PVMKIT_HAVE_XEN
    xch_ = xc_interface_open(nullptr, nullptr, 0);
#endif
  }
  ~domain_table() {
#ifdef PVMKIT_HAVE_XEN
    if (xch_) xc_interface_close(xch_);
#endif
  }
  domain_table(const domain_table&) = delete;
  domain_table& operator=(const domain_table&) = delete;
  [[nodiscard]] bool alive(std::uint16_t domid) const {
#ifdef PVMKIT_HAVE_XEN
    if (!xch_) return true;
    xc_domaininfo_t info{};
    return xc_domain_getinfolist(xch_, domid, 1, &info) == 1 && info.domain == domid;
#else
    (void)domid;
    return true;
#endif
  }

 private:
#ifdef PVMKIT_HAVE_XEN
  xc_interface* xch_ = nullptr;
#endif
};

// Runs a command to completion (after_first_start), bounded in time. Returns its exit status.
int run_command(const std::vector<std::string>& argv, duration limit) {
  std::vector<std::string> store = argv;
  std::vector<char*> args;
  for (auto& a : store) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = -1;
  if (::posix_spawn(&pid, args[0], nullptr, nullptr, args.data(), environ) != 0) return -1;
  const int pidfd = pvmkit::linux_process::pidfd_open(pid);
  pollfd p{pidfd, POLLIN, 0};
  const auto ms_left = std::chrono::duration_cast<std::chrono::milliseconds>(limit).count();
  if (pidfd < 0 || ::poll(&p, 1, static_cast<int>(ms_left)) <= 0) ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (pidfd >= 0) ::close(pidfd);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

// The liveness probe of xenstored: a DIRECTORY "/" over its socket every interval, asynchronous so
// that a hung xenstored never stalls the loop. A reply within the timeout is a heartbeat.
class xenstore_probe {
 public:
  xenstore_probe(std::string socket, rec::probe_config cfg) : socket_(std::move(socket)), cfg_(cfg) {}
  xenstore_probe(const xenstore_probe&) = delete;
  xenstore_probe& operator=(const xenstore_probe&) = delete;
  ~xenstore_probe() { drop(); }

  // Sends a request when one is due; gives up on one that is late.
  void tick(time_point now) {
    if (waiting_ && now - sent_ > cfg_.timeout) drop();
    if (waiting_ || now < next_) return;
    next_ = now + cfg_.interval;
    if (fd_ < 0) {
      auto c = xs::wire_client::connect(socket_);
      if (!c) return;
      fd_ = ::dup(c->fd());  // (the client closes its own descriptor)
      if (fd_ < 0) return;
    }
    static constexpr char payload[] = "/";
    const xs::wire_header h{static_cast<std::uint32_t>(xs::message::directory), ++id_, 0, sizeof payload};
    std::string msg(reinterpret_cast<const char*>(&h), sizeof h);
    msg.append(payload, sizeof payload);
    if (::send(fd_, msg.data(), msg.size(), MSG_NOSIGNAL | MSG_DONTWAIT) != static_cast<ssize_t>(msg.size())) {
      drop();
      return;
    }
    waiting_ = true;
    sent_ = now;
    buf_.clear();
  }
  [[nodiscard]] int fd() const noexcept { return waiting_ ? fd_ : -1; }
  // The socket is readable: true when the reply is complete.
  bool readable() {
    char b[8192];
    const ssize_t n = ::recv(fd_, b, sizeof b, MSG_DONTWAIT);
    if (n <= 0) {
      if (n == 0 || (errno != EAGAIN && errno != EINTR)) drop();
      return false;
    }
    buf_.append(b, static_cast<std::size_t>(n));
    while (buf_.size() >= sizeof(xs::wire_header)) {
      xs::wire_header h{};
      std::memcpy(&h, buf_.data(), sizeof h);
      if (buf_.size() < sizeof h + h.len) return false;
      buf_.erase(0, sizeof h + h.len);
      if (h.req_id == id_ && h.type != static_cast<std::uint32_t>(xs::message::watch_event)) {
        waiting_ = false;
        return true;
      }
    }
    return false;
  }
  void drop() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    waiting_ = false;
  }

 private:
  std::string socket_;
  rec::probe_config cfg_;
  int fd_ = -1;
  std::uint32_t id_ = 0;
  bool waiting_ = false;
  time_point sent_{}, next_{};
  std::string buf_;
};

// dom0's daemons as processes, with xenstored started (and restored) the way its technique needs.
class dom0_backend {
 public:
  dom0_backend(const rec::supervise_config& cfg, event_log& log) : cfg_(cfg), log_(log), started_(cfg.components.size(), false) {
    for (const auto& c : cfg.components) {
      pvmkit::linux_process::process_spec p;
      p.name = c.spec.name;
      p.path = c.command.front();
      p.args.assign(c.command.begin() + 1, c.command.end());
      p.env = c.env;
      p.stop_grace = c.stop_grace;
      p.leave_running = c.leave_running;
      auto id = procs_.add_component(std::move(p));
      if (!id) throw std::system_error(id.error(), "cannot register component " + c.spec.name);
      if (c.spec.kind == rec::component_kind::xenstore && c.spec.recover_by == rec::technique::snapshot_log_replay) {
        // xenstored's state and database go where the keeper reads them.
        procs_.spec(*id).env.push_back("XENSTORED_RUNDIR=" + cfg.xenstored.rundir);
        store_ = c.spec.id;
        keeper_ = std::make_unique<xs::xenstored_keeper>(cfg.xenstored);
        if (auto r = keeper_->open_trace(); !r)
          throw std::system_error(r.error(), "cannot make xenstored's trace FIFO " + cfg.xenstored.trace);
      }
    }
  }

  // ---- ComponentControl --------------------------------------------------------------------------
  pvmkit::result<void> start_component(component_id c) {
    const auto& comp = cfg_.components.at(c.index());
    auto& spec = procs_.spec(c);
    spec.args.assign(comp.command.begin() + 1, comp.command.end());
    spec.inherit_fds.clear();
    bool restored = false;
    if (store_ && *store_ == c) {
      if (started_[c.index()] && keeper_->has_database()) {
        xs::restore_report rep;
        const auto t0 = std::chrono::steady_clock::now();
        auto fds = keeper_->prepare_restore([this](std::uint16_t d) { return domains_.alive(d); }, rep);
        const double prep_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        log_.line("restore", [&](pvmkit::json_writer& w) {
          w.field("component", comp.spec.name).field("ok", static_cast<bool>(fds)).field("prepare_ms", prep_ms);
          if (!fds) w.field("error", fds.error().message());
          w.key("report");
          rep.write_json(w);
        });
        if (fds) {
          spec.inherit_fds = *fds;
          restored = true;
        } else {
          keeper_->prepare_fresh();  // the host needs a xenstored, even an empty one
        }
      } else {
        keeper_->prepare_fresh();
      }
      for (auto& a : keeper_->extra_args(restored)) spec.args.push_back(std::move(a));
    }
    if (auto r = procs_.start_component(c); !r) return r;
    if (comp.spec.kind == rec::component_kind::xenstore) {
      if (!wait_ready(comp)) {
        log_.line("not_ready", [&](pvmkit::json_writer& w) { w.field("component", comp.spec.name); });
        (void)procs_.stop_component(c);
        return pvmkit::unexpected{pvmkit::errc::timeout};
      }
      if (keeper_ && store_ && *store_ == c)
        if (auto r = keeper_->started(procs_.pid(c)); !r)
          log_.line("warning", [&](pvmkit::json_writer& w) {
            w.field("component", comp.spec.name).field("detail", "no copy of the listening socket: " + r.error().message());
          });
    }
    log_.line("started", [&](pvmkit::json_writer& w) {
      w.field("component", comp.spec.name).field("pid", static_cast<std::int64_t>(procs_.pid(c))).field("restored", restored);
    });
    if (!started_[c.index()]) {
      started_[c.index()] = true;
      for (const auto& cmd : comp.after_first_start) {
        const int st = run_command(cmd, 60s);
        log_.line("after_first_start", [&](pvmkit::json_writer& w) {
          w.field("component", comp.spec.name).field("command", cmd.front()).field("status", static_cast<std::int64_t>(st));
        });
      }
    }
    return {};
  }
  pvmkit::result<void> stop_component(component_id c) { return procs_.stop_component(c); }
  pvmkit::result<pvmkit::component_status> status(component_id c) { return procs_.status(c); }

  // ---- FrontendReconnect: a dependent of a restarted daemon lost its connection with the old one
  pvmkit::result<void> reconnect_frontends(component_id c) {
    const auto st = procs_.status(c);
    if (!st || *st != pvmkit::component_status::running) return {};
    (void)procs_.stop_component(c);
    return start_component(c);
  }

  pvmkit::linux_process::process_backend& procs() noexcept { return procs_; }
  xs::xenstored_keeper* keeper() noexcept { return keeper_.get(); }

  // Stops what must not outlive the supervisor; the rest is left running.
  void shut_down() {
    for (const auto& c : cfg_.components)
      if (!c.leave_running) (void)procs_.stop_component(c.spec.id);
  }

 private:
  // A xenstore is ready when it answers on its socket: its dependents need it.
  bool wait_ready(const rec::supervised_component& comp) {
    const auto end = std::chrono::steady_clock::now() + comp.ready_timeout;
    const pid_t pid = procs_.pid(comp.spec.id);
    while (std::chrono::steady_clock::now() < end) {
      siginfo_t info{};
      // Exited (a zombie still answers kill(pid, 0)): not reaped here, the backend's event does that.
      if (pid <= 0 || ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == pid) return false;
      if (auto c = xs::wire_client::connect(cfg_.xenstored.socket))
        if (c->directory("/", 2s)) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  const rec::supervise_config& cfg_;
  event_log& log_;
  pvmkit::linux_process::process_backend procs_;
  std::optional<component_id> store_;
  std::unique_ptr<xs::xenstored_keeper> keeper_;
  std::vector<bool> started_;
  domain_table domains_;
};

static_assert(pvmkit::ComponentControl<dom0_backend>);
static_assert(rec::FrontendReconnect<dom0_backend>);

struct options {
  std::string config;
  std::string events;
  bool check = false;
};

int run(const options& o) {
  const rec::supervise_config cfg = rec::load_supervise_config(o.config);
  std::FILE* out = stdout;
  if (!o.events.empty()) {
    out = std::fopen(o.events.c_str(), "a");
    if (!out) throw pvmkit::config_error("--events: cannot open " + o.events + " (" + std::strerror(errno) + ")");
  }
  event_log log(out);
  if (o.check) {
    log.line("config", [&](pvmkit::json_writer& w) {
      w.key("components").begin_array();
      for (const auto& c : cfg.components) {
        w.begin_object();
        w.field("name", c.spec.name).field("kind", rec::to_string(c.spec.kind)).field("technique", rec::to_string(c.spec.recover_by));
        w.field("detector", c.detector_kind).field("command", c.command.front());
        w.key("depends_on").begin_array();
        for (auto d : c.spec.depends_on) w.value(cfg.components.at(d.index()).spec.name);
        w.end_array();
        w.end_object();
      }
      w.end_array();
    });
    return 0;
  }
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGTERM, on_supervise_stop);
  std::signal(SIGINT, on_supervise_stop);

  dom0_backend backend(cfg, log);
  std::vector<rec::any_detector> detectors;
  std::vector<rec::component_spec> specs;
  for (const auto& c : cfg.components) {
    detectors.push_back(c.detector);
    specs.push_back(c.spec);
  }
  auto name = [&](component_id c) -> std::string { return c.valid() ? cfg.components.at(c.index()).spec.name : std::string{}; };
  rec::watcher<dom0_backend> w(backend, specs, cfg.supervisor, detectors);
  const pvmkit::steady_clock clock;
  w.set_clock(clock);
  w.supervisor().set_event_sink([&](const rec::recovery_event& e) {
    log.line("event", [&](pvmkit::json_writer& j) {
      j.field("event", rec::to_string(e.kind)).field("component", name(e.component)).field("level", rec::to_string(e.level));
      j.field("delay_ms", ms(e.delay)).field("detail", e.detail);
    });
  });
  w.set_record_sink([&](const rec::watch_record& r) {
    log.line("action", [&](pvmkit::json_writer& j) {
      j.field("action", rec::to_string(r.applied.action.kind)).field("component", name(r.applied.action.component));
      j.field("ok", !r.applied.error).field("reason", r.applied.action.reason);
      if (r.applied.error) j.field("error", r.applied.error.message());
      if (r.since_failure) {
        j.field("since_failure_ms", ms(*r.since_failure));
        const auto& c = cfg.components.at(r.applied.action.component.index());
        if (c.recover_within) j.field("within_budget", *r.since_failure <= *c.recover_within);
      }
    });
  });

  std::vector<std::unique_ptr<xenstore_probe>> probes(cfg.components.size());
  for (const auto& c : cfg.components)
    if (c.probe.type == rec::probe_config::kind::xenstore) probes[c.spec.id.index()] = std::make_unique<xenstore_probe>(cfg.xenstored.socket, c.probe);

  log.line("supervise", [&](pvmkit::json_writer& j) {
    j.field("config", o.config).field("components", static_cast<std::uint64_t>(cfg.components.size()));
  });
  w.start(clock.now());
  auto& procs = backend.procs();
  while (!stop_requested && !w.supervisor().gave_up()) {
    std::vector<pollfd> fds{{procs.event_fd(), POLLIN, 0}};
    if (auto* k = backend.keeper()) fds.push_back({k->trace_fd(), POLLIN, 0});
    const std::size_t first_probe = fds.size();
    std::vector<std::size_t> probe_of;
    for (std::size_t i = 0; i < probes.size(); ++i)
      if (probes[i] && probes[i]->fd() >= 0) {
        fds.push_back({probes[i]->fd(), POLLIN, 0});
        probe_of.push_back(i);
      }
    int timeout_ms = 50;
    if (const auto d = w.next_deadline()) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(*d - clock.now()).count();
      timeout_ms = static_cast<int>(std::clamp<long long>(left, 0, timeout_ms));
    }
    const int n = ::poll(fds.data(), fds.size(), timeout_ms);
    if (n < 0 && errno != EINTR) throw std::system_error(errno, std::system_category(), "poll");
    if (auto* k = backend.keeper()) k->drain();
    rec::pump(w, procs, duration::zero());
    const auto now = clock.now();
    for (std::size_t k = 0; k < probe_of.size(); ++k)
      if (n > 0 && (fds[first_probe + k].revents & (POLLIN | POLLHUP | POLLERR)) && probes[probe_of[k]]->readable())
        w.heartbeat(component_id{static_cast<component_id::rep>(probe_of[k])}, now);
    for (std::size_t i = 0; i < probes.size(); ++i) {
      if (!probes[i]) continue;
      const component_id c{static_cast<component_id::rep>(i)};
      if (w.supervisor().state(c) == rec::supervised_state::running) probes[i]->tick(now);
      else probes[i]->drop();
    }
    w.tick(now);
  }
  const bool gave_up = w.supervisor().gave_up();
  log.line("exit", [&](pvmkit::json_writer& j) { j.field("gave_up", gave_up); });
  backend.shut_down();
  if (out != stdout) std::fclose(out);
  return gave_up ? 1 : 0;
}

const pvmkit::cli::register_command reg{"supervise", [](CLI::App& app) {
  auto o = std::make_shared<options>();
  auto* cmd = app.add_subcommand("supervise",
                                 "Run the pVM's daemons (xenstored, xenconsoled, the agent) under pvmkit's recovery policies, "
                                 "from a configuration file (docs/recovery.md); xenstored comes back with its state after a kill -9");
  cmd->add_option("--config", o->config, "the configuration file (JSON)")->required();
  cmd->add_option("--events", o->events, "append the JSON event lines to this file instead of stdout");
  cmd->add_flag("--check", o->check, "read and check the configuration, print what it supervises, start nothing");
  return pvmkit::cli::command{cmd, [o]() -> int { return run(*o); }};
}};

}  // namespace
