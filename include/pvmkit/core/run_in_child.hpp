// Runs a function in a forked child process and collects what it writes, so that code that may
// crash, hang or exhaust memory on hostile input (a C library parsing an untrusted file) cannot take
// the caller down: a crash, a hang or a runaway allocation ends the child, and the caller gets an
// outcome to report. POSIX (Linux).
//
// The child is a fork of the caller: in a multi-threaded caller it may only do what is safe after
// fork. glibc keeps malloc usable there; a lock another thread held at the fork (a library's own
// mutex) would hang the child, which the timeout then ends.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace pvmkit {

struct child_limits {
  std::chrono::milliseconds timeout{10'000};       // wall clock from the fork; then SIGKILL
  std::size_t memory_budget = std::size_t{512} << 20;  // address space the child may add to what it inherits; 0 = none
  std::size_t max_output = std::size_t{64} << 20;      // bytes of output read before the child is killed
  std::size_t max_errors = 4096;                       // bytes of its stderr kept (the rest is read and dropped)
};

struct child_outcome {
  enum class end { exited, signalled, timed_out, output_too_large, not_started };
  end how = end::not_started;
  int code = 0;        // exit code, signal number, or errno (not_started)
  std::string output;  // what `work` wrote to its descriptor
  std::string errors;  // the start of its stderr and stdout

  [[nodiscard]] bool clean() const noexcept { return how == end::exited && code == 0; }
};

// Writes all of `data` to fd; false on an error (a closed pipe included).
inline bool write_all(int fd, std::string_view data) noexcept {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

namespace detail {

// The address space this process has now (VmSize), 0 when /proc does not say.
inline std::size_t address_space_bytes() noexcept {
  const int fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[64];
  const ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  std::size_t pages = 0;
  for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; ++i) pages = pages * 10 + static_cast<std::size_t>(buf[i] - '0');
  const long page = ::sysconf(_SC_PAGESIZE);
  return page > 0 ? pages * static_cast<std::size_t>(page) : 0;
}

[[noreturn]] inline void child_main(const std::function<void(int)>& work, int out_fd, int err_fd,
                                    const child_limits& limits) noexcept {
  ::dup2(err_fd, STDERR_FILENO);
  ::dup2(err_fd, STDOUT_FILENO);
  if (err_fd != STDERR_FILENO && err_fd != STDOUT_FILENO) ::close(err_fd);
  // A crash ends the child with its signal, also where a sanitizer or the caller installed handlers.
  for (int sig : {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL}) ::signal(sig, SIG_DFL);
  if (limits.memory_budget > 0) {
    // The budget is on top of the inherited address space (the caller's heap, a sanitizer's shadow).
    if (const std::size_t now = address_space_bytes(); now > 0) {
      const rlimit r{now + limits.memory_budget, now + limits.memory_budget};
      ::setrlimit(RLIMIT_AS, &r);
    }
  }
  try {
    work(out_fd);
  } catch (...) {
    ::_exit(70);  // EX_SOFTWARE
  }
  ::_exit(0);  // no atexit handlers, no flush of the stdio buffers the parent also holds
}

inline void sleep_briefly() noexcept {
  const timespec ts{0, 1'000'000};
  ::nanosleep(&ts, nullptr);
}

}  // namespace detail

// Forks; the child runs `work(fd)` and writes its result to fd. Returning ends the child with exit
// code 0, an exception with 70. The caller reads the output until the child closes it, within
// `limits`; anything else the child prints is kept in `errors`.
[[nodiscard]] inline child_outcome run_in_child(const std::function<void(int)>& work, const child_limits& limits = {}) {
  using clock = std::chrono::steady_clock;
  child_outcome out;
  int o[2], e[2];
  if (::pipe2(o, O_CLOEXEC) != 0) {
    out.code = errno;
    return out;
  }
  if (::pipe2(e, O_CLOEXEC) != 0) {
    out.code = errno;
    ::close(o[0]);
    ::close(o[1]);
    return out;
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    out.code = errno;
    for (int fd : {o[0], o[1], e[0], e[1]}) ::close(fd);
    return out;
  }
  if (pid == 0) {
    ::close(o[0]);
    ::close(e[0]);
    detail::child_main(work, o[1], e[1], limits);
  }
  ::close(o[1]);
  ::close(e[1]);

  const auto deadline = clock::now() + limits.timeout;
  enum class stop { no, timeout, too_much } why = stop::no;
  int fds[2] = {o[0], e[0]};
  char buf[1 << 16];
  while ((fds[0] >= 0 || fds[1] >= 0) && why == stop::no) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now()).count();
    if (left <= 0) {
      why = stop::timeout;
      break;
    }
    pollfd p[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};  // poll skips a negative fd
    const int r = ::poll(p, 2, static_cast<int>(left < INT_MAX ? left : INT_MAX));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      why = stop::timeout;  // cannot watch it any more: treated as not finishing
      break;
    }
    for (int k = 0; k < 2; ++k) {
      if (fds[k] < 0 || p[k].revents == 0) continue;
      const ssize_t n = ::read(fds[k], buf, sizeof buf);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) {
        ::close(fds[k]);
        fds[k] = -1;
        continue;
      }
      const auto got = static_cast<std::size_t>(n);
      if (k == 0) {
        if (out.output.size() + got > limits.max_output) {
          why = stop::too_much;
          break;
        }
        out.output.append(buf, got);
      } else if (out.errors.size() < limits.max_errors) {
        out.errors.append(buf, std::min(got, limits.max_errors - out.errors.size()));
      }
    }
  }
  for (int fd : fds)
    if (fd >= 0) ::close(fd);
  if (why != stop::no) ::kill(pid, SIGKILL);

  // The child closed its output and is ending; wait for it, but not past the deadline.
  int status = 0;
  bool reaped = false;
  while (!reaped) {
    const pid_t r = ::waitpid(pid, &status, why == stop::no ? WNOHANG : 0);
    if (r == pid) {
      reaped = true;
    } else if (r < 0 && errno != EINTR) {
      break;  // ECHILD: the caller set SIGCHLD to be ignored; the status is lost
    } else if (r == 0) {
      if (clock::now() >= deadline) {
        why = stop::timeout;
        ::kill(pid, SIGKILL);
      } else {
        detail::sleep_briefly();
      }
    }
  }
  if (why == stop::timeout) {
    out.how = child_outcome::end::timed_out;
  } else if (why == stop::too_much) {
    out.how = child_outcome::end::output_too_large;
  } else if (reaped && WIFSIGNALED(status)) {
    out.how = child_outcome::end::signalled;
    out.code = WTERMSIG(status);
  } else {
    out.how = child_outcome::end::exited;
    out.code = reaped && WIFEXITED(status) ? WEXITSTATUS(status) : 0;
  }
  return out;
}

// "SIGSEGV" for the signals a crash raises, "signal N" for the others.
[[nodiscard]] inline std::string signal_name(int sig) {
  switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGABRT: return "SIGABRT";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGKILL: return "SIGKILL";
    case SIGPIPE: return "SIGPIPE";
    default: return "signal " + std::to_string(sig);
  }
}

}  // namespace pvmkit
