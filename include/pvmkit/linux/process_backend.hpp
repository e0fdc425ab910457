// process_backend: runs pVM components as real Linux processes and models ComponentControl.
//  - start: posix_spawn (vfork-like, cheap) with fixed inherited fds: a heartbeat pipe (fd 3),
//    a control pipe (fd 4) and, when the spec names one, a listening Unix socket (fd 5) that the
//    backend creates once and keeps across restarts (socket activation: clients connecting while
//    the component restarts wait in the backlog instead of failing);
//  - crash detection: a pidfd per process in one epoll set with the heartbeat pipes: wait_events()
//    returns exits and heartbeats as they happen, nothing polls;
//  - stop: SIGTERM, then SIGKILL after the grace period;
//  - warm spare: a second instance started ahead with PVMKIT_ROLE=spare that blocks on its control
//    pipe; promote_spare() writes one byte to it and it starts serving.
// Single-threaded: one thread owns the backend (the supervisor's loop).
#pragma once

#include <pvmkit/backend/concepts.hpp>
#include <pvmkit/core/clock.hpp>
#include <pvmkit/core/error.hpp>
#include <pvmkit/core/ids.hpp>
#include <pvmkit/core/result.hpp>
#include <pvmkit/linux/pidfd.hpp>
#include <pvmkit/linux/process_component.hpp>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

extern char** environ;  // NOLINT: POSIX

namespace pvmkit::linux_process {

struct process_spec {
  std::string name;
  std::string path;                    // executable
  std::vector<std::string> args;       // argv[1..]
  std::vector<std::string> env;        // extra NAME=value entries
  std::string listen_path;             // Unix socket the backend owns and passes as fd 5 (optional)
  duration stop_grace{std::chrono::milliseconds{500}};
  // More descriptors the process inherits: (a descriptor of this process, its number in the
  // child). Numbers above 5; a daemon restoring its state finds them where its state says.
  std::vector<std::pair<int, int>> inherit_fds;
  bool leave_running = false;          // left running when the backend is destroyed (a daemon the host needs)
};

enum class process_event_kind : std::uint8_t { exited, heartbeat, ready };

struct process_event {
  component_id component;
  process_event_kind kind{};
  time_point at{};
  bool spare = false;            // the event is about the standby instance
  int status = 0;                // exited: exit code, or minus the signal number
  std::uint64_t incarnation = 0; // of the instance
};

class process_backend {
 public:
  process_backend() : epoll_(::epoll_create1(EPOLL_CLOEXEC)) {
    if (epoll_ < 0) throw std::system_error(errno, std::system_category(), "epoll_create1");
  }
  process_backend(const process_backend&) = delete;
  process_backend& operator=(const process_backend&) = delete;
  ~process_backend() {
    for (std::size_t i = 0; i < comps_.size(); ++i) {
      if (comps_[i].spec.leave_running) release(comps_[i].primary);
      else kill_now(comps_[i].primary);
      kill_now(comps_[i].spare);
      if (comps_[i].listen >= 0) {
        ::close(comps_[i].listen);
        ::unlink(comps_[i].spec.listen_path.c_str());
      }
    }
    ::close(epoll_);
  }

  // Registers a component (does not start it). Creates its listening socket if it has one.
  result<component_id> add_component(process_spec spec) {
    comp c;
    if (!spec.listen_path.empty()) {
      auto fd = make_listener(spec.listen_path);
      if (!fd) return unexpected{fd.error()};
      c.listen = *fd;
    }
    c.spec = std::move(spec);
    comps_.push_back(std::move(c));
    return component_id{static_cast<component_id::rep>(comps_.size() - 1)};
  }

  // ---- ComponentControl ------------------------------------------------------------------------

  result<void> start_component(component_id id) {
    auto* c = find(id);
    if (!c) return unexpected{errc::unknown_component};
    if (c->primary) return unexpected{errc::invalid_state};
    auto inst = spawn(id, *c, false);
    if (!inst) return unexpected{inst.error()};
    c->primary = std::move(*inst);
    c->status = component_status::running;
    return {};
  }

  result<void> stop_component(component_id id) {
    auto* c = find(id);
    if (!c) return unexpected{errc::unknown_component};
    stop_instance(c->spare, c->spec.stop_grace);
    stop_instance(c->primary, c->spec.stop_grace);
    c->status = component_status::stopped;
    return {};
  }

  result<component_status> status(component_id id) {
    auto* c = find(id);
    if (!c) return unexpected{errc::unknown_component};
    return c->status;
  }

  // ---- warm spare ------------------------------------------------------------------------------

  result<void> start_spare(component_id id) {
    auto* c = find(id);
    if (!c) return unexpected{errc::unknown_component};
    if (c->spare) return unexpected{errc::invalid_state};
    auto inst = spawn(id, *c, true);
    if (!inst) return unexpected{inst.error()};
    c->spare = std::move(*inst);
    return {};
  }

  // The standby becomes the serving instance; a primary still alive (rejuvenation) is then
  // stopped gracefully. Serving resumes before the old instance is gone.
  result<void> promote_spare(component_id id) {
    auto* c = find(id);
    if (!c) return unexpected{errc::unknown_component};
    if (!c->spare) return unexpected{errc::invalid_state};
    const char b = promote_byte;
    ssize_t n;
    do n = ::write(c->spare->control, &b, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1) return unexpected{std::error_code{errno, std::system_category()}};
    std::optional<instance> old = std::exchange(c->primary, std::nullopt);
    c->primary = std::exchange(c->spare, std::nullopt);  // a moved-from optional stays engaged
    c->primary->spare = false;
    c->status = component_status::running;
    stop_instance(old, c->spec.stop_grace);
    return {};
  }

  [[nodiscard]] bool has_spare(component_id id) const {
    const auto* c = find(id);
    return c && c->spare.has_value();
  }

  // ---- events ----------------------------------------------------------------------------------

  // Readable when wait_events() has something: a caller that waits on other descriptors too
  // polls this one with them.
  [[nodiscard]] int event_fd() const noexcept { return epoll_; }

  // Waits up to `timeout` for exits and heartbeats; returns as soon as any arrived.
  std::vector<process_event> wait_events(duration timeout) {
    std::vector<process_event> out;
    epoll_event evs[32];
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(timeout).count();
    int n;
    do n = ::epoll_wait(epoll_, evs, 32, static_cast<int>(ms < 0 ? 0 : ms));
    while (n < 0 && errno == EINTR);
    const time_point now = clock_.now();
    for (int i = 0; i < n; ++i) {
      const std::uint64_t key = evs[i].data.u64;
      auto it = keys_.find(key >> 1);
      if (it == keys_.end()) continue;
      const auto id = it->second;
      auto& c = comps_[id.index()];
      const bool is_spare = c.spare && c.spare->serial == (key >> 1);
      auto& slot = is_spare ? c.spare : c.primary;
      if (!slot || slot->serial != (key >> 1)) continue;
      if ((key & 1U) == 0) {  // the pidfd: the process exited
        int status = 0;
        if (!pidfd_reap(slot->pidfd, status, false)) continue;
        out.push_back({id, process_event_kind::exited, now, is_spare, status, slot->incarnation});
        release(slot);
        if (!is_spare) c.status = component_status::failed;
      } else {
        char buf[256];
        const ssize_t r = ::read(slot->heartbeat, buf, sizeof buf);
        if (r == 0) {  // writer closed (the process is exiting): stop watching the pipe
          ::epoll_ctl(epoll_, EPOLL_CTL_DEL, slot->heartbeat, nullptr);
          continue;
        }
        if (r < 0) continue;
        bool ready = false;
        for (ssize_t k = 0; k < r; ++k) ready = ready || buf[k] == ready_byte;
        out.push_back({id, ready ? process_event_kind::ready : process_event_kind::heartbeat, now, is_spare, 0, slot->incarnation});
      }
    }
    return out;
  }

  // ---- fault injection and inspection ----------------------------------------------------------

  // Sends a signal to the serving instance (or the standby): kill -9, SIGSTOP for a hang.
  result<void> signal(component_id id, int sig, bool spare = false) {
    auto* c = find(id);
    if (!c) return unexpected{errc::unknown_component};
    auto& slot = spare ? c->spare : c->primary;
    if (!slot) return unexpected{errc::invalid_state};
    if (pidfd_send_signal(slot->pidfd, sig) != 0) return unexpected{std::error_code{errno, std::system_category()}};
    return {};
  }

  [[nodiscard]] pid_t pid(component_id id, bool spare = false) const {
    const auto* c = find(id);
    if (!c) return -1;
    const auto& slot = spare ? c->spare : c->primary;
    return slot ? slot->pid : -1;
  }
  [[nodiscard]] std::uint64_t incarnation(component_id id) const {
    const auto* c = find(id);
    return c && c->primary ? c->primary->incarnation : 0;
  }
  [[nodiscard]] const process_spec& spec(component_id id) const { return comps_.at(id.index()).spec; }
  // Changed between starts (a restart with other arguments or descriptors).
  [[nodiscard]] process_spec& spec(component_id id) { return comps_.at(id.index()).spec; }

 private:
  struct instance {
    pid_t pid = -1;
    int pidfd = -1;
    int heartbeat = -1;  // read end
    int control = -1;    // write end
    std::uint64_t serial = 0;
    std::uint64_t incarnation = 0;
    bool spare = false;
  };
  struct comp {
    process_spec spec;
    std::optional<instance> primary;
    std::optional<instance> spare;
    component_status status = component_status::stopped;
    int listen = -1;
    std::uint64_t incarnations = 0;
  };

  comp* find(component_id id) { return id.index() < comps_.size() ? &comps_[id.index()] : nullptr; }
  const comp* find(component_id id) const { return id.index() < comps_.size() ? &comps_[id.index()] : nullptr; }

  static std::error_code last_error() { return {errno, std::system_category()}; }

  // Parent-side fds live above the fixed child numbers so that the dup2s in the child never
  // overwrite a source fd before it is used.
  static int lift(int fd) {
    if (fd < 0 || fd > listen_fd) return fd;
    const int hi = ::fcntl(fd, F_DUPFD_CLOEXEC, 16);
    ::close(fd);
    return hi;
  }

  static result<int> make_listener(const std::string& path) {
    sockaddr_un addr{};
    if (path.size() >= sizeof addr.sun_path) return unexpected{errc::invalid_argument};
    const int fd = lift(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd < 0) return unexpected{last_error()};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    ::unlink(path.c_str());
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 128) != 0) {
      const auto ec = last_error();
      ::close(fd);
      return unexpected{ec};
    }
    return fd;
  }

  result<instance> spawn(component_id id, comp& c, bool spare) {
    int hb[2], ctl[2];
    if (::pipe2(hb, O_CLOEXEC) != 0) return unexpected{last_error()};
    if (::pipe2(ctl, O_CLOEXEC) != 0) {
      const auto ec = last_error();
      ::close(hb[0]);
      ::close(hb[1]);
      return unexpected{ec};
    }
    for (int* p : {&hb[0], &hb[1], &ctl[0], &ctl[1]}) *p = lift(*p);
    ::fcntl(hb[0], F_SETFL, O_NONBLOCK);
    ::fcntl(hb[1], F_SETFL, O_NONBLOCK);  // a component never blocks on its heartbeat

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, hb[1], heartbeat_fd);
    posix_spawn_file_actions_adddup2(&fa, ctl[0], control_fd);
    if (c.listen >= 0) posix_spawn_file_actions_adddup2(&fa, c.listen, listen_fd);
    for (const auto& [here, there] : c.spec.inherit_fds)
      if (here >= 0 && there > listen_fd) posix_spawn_file_actions_adddup2(&fa, here, there);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    for (int s : {SIGTERM, SIGINT, SIGPIPE, SIGUSR1, SIGUSR2, SIGHUP}) sigaddset(&defaults, s);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    std::vector<std::string> env_store = c.spec.env;
    env_store.push_back("PVMKIT_HEARTBEAT_FD=" + std::to_string(heartbeat_fd));
    env_store.push_back("PVMKIT_CONTROL_FD=" + std::to_string(control_fd));
    if (c.listen >= 0) env_store.push_back("PVMKIT_LISTEN_FD=" + std::to_string(listen_fd));
    env_store.push_back(std::string{"PVMKIT_ROLE="} + (spare ? "spare" : "primary"));
    env_store.push_back("PVMKIT_COMPONENT=" + c.spec.name);
    std::vector<char*> envp;
    for (char** e = environ; e && *e; ++e)
      if (std::strncmp(*e, "PVMKIT_", 7) != 0) envp.push_back(*e);
    for (auto& e : env_store) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv_store{c.spec.path};
    for (const auto& a : c.spec.args) argv_store.push_back(a);
    std::vector<char*> argv;
    for (auto& a : argv_store) argv.push_back(a.data());
    argv.push_back(nullptr);

    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, c.spec.path.c_str(), &fa, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    ::close(hb[1]);
    ::close(ctl[0]);
    if (rc != 0) {
      ::close(hb[0]);
      ::close(ctl[1]);
      return unexpected{std::error_code{rc, std::system_category()}};
    }
    instance inst;
    inst.pid = pid;
    inst.pidfd = lift(pidfd_open(pid));
    inst.heartbeat = hb[0];
    inst.control = ctl[1];
    inst.serial = ++serials_;
    inst.incarnation = ++c.incarnations;
    inst.spare = spare;
    if (inst.pidfd < 0) {
      const auto ec = last_error();
      ::kill(pid, SIGKILL);
      int st = 0;
      ::waitpid(pid, &st, 0);
      ::close(hb[0]);
      ::close(ctl[1]);
      return unexpected{ec};
    }
    keys_[inst.serial] = id;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = inst.serial << 1;
    ::epoll_ctl(epoll_, EPOLL_CTL_ADD, inst.pidfd, &ev);
    ev.data.u64 = (inst.serial << 1) | 1U;
    ::epoll_ctl(epoll_, EPOLL_CTL_ADD, inst.heartbeat, &ev);
    return inst;
  }

  void release(std::optional<instance>& slot) {
    if (!slot) return;
    ::epoll_ctl(epoll_, EPOLL_CTL_DEL, slot->pidfd, nullptr);
    ::epoll_ctl(epoll_, EPOLL_CTL_DEL, slot->heartbeat, nullptr);
    ::close(slot->pidfd);
    ::close(slot->heartbeat);
    ::close(slot->control);
    keys_.erase(slot->serial);
    slot.reset();
  }

  // SIGTERM, wait for the exit on the pidfd up to `grace`, then SIGKILL; always reaps.
  void stop_instance(std::optional<instance>& slot, duration grace) {
    if (!slot) return;
    int status = 0;
    if (!pidfd_reap(slot->pidfd, status, false)) {
      pidfd_send_signal(slot->pidfd, SIGCONT);  // a stopped (hung) process cannot act on SIGTERM
      pidfd_send_signal(slot->pidfd, SIGTERM);
      pollfd p{slot->pidfd, POLLIN, 0};
      const auto ms = std::chrono::ceil<std::chrono::milliseconds>(grace).count();
      int r;
      do r = ::poll(&p, 1, static_cast<int>(ms));
      while (r < 0 && errno == EINTR);
      if (r == 0) pidfd_send_signal(slot->pidfd, SIGKILL);
      pidfd_reap(slot->pidfd, status, true);
    }
    release(slot);
  }

  void kill_now(std::optional<instance>& slot) {
    if (!slot) return;
    pidfd_send_signal(slot->pidfd, SIGKILL);
    int status = 0;
    pidfd_reap(slot->pidfd, status, true);
    release(slot);
  }

  int epoll_ = -1;
  std::vector<comp> comps_;
  std::unordered_map<std::uint64_t, component_id> keys_;
  std::uint64_t serials_ = 0;
  steady_clock clock_;
};


}  // namespace pvmkit::linux_process

static_assert(pvmkit::ComponentControl<pvmkit::linux_process::process_backend>);
