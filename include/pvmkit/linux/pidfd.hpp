// pidfd: a file descriptor that refers to a process (Linux >= 5.3). It becomes readable when the
// process exits, so a crash is an event in poll/epoll like any other, with no waitpid polling and
// no SIGCHLD handler; signals sent through it can never hit a recycled pid.
#pragma once

#include <cerrno>
#include <csignal>
#include <system_error>

#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace pvmkit::linux_process {

// Returns the pidfd (close-on-exec) or -1 with errno set.
inline int pidfd_open(pid_t pid) noexcept { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0U)); }

// A copy of descriptor `fd` of the process behind pidfd (Linux >= 5.6; needs the right to ptrace
// it), close-on-exec. Returns -1 with errno set.
inline int pidfd_getfd(int pidfd, int fd) noexcept { return static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd, fd, 0U)); }

inline int pidfd_send_signal(int pidfd, int sig) noexcept {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0U));
}

// Reaps the process behind pidfd if it has exited. Returns true when reaped; `status` is the exit
// code, or minus the signal number that killed it.
inline bool pidfd_reap(int pidfd, int& status, bool block) noexcept {
  siginfo_t info{};
  const int flags = WEXITED | (block ? 0 : WNOHANG);
  for (;;) {
    const int r = ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, flags);
    if (r == 0) break;
    if (errno == EINTR) continue;
    return false;
  }
  if (info.si_pid == 0) return false;  // WNOHANG and still running
  status = info.si_code == CLD_EXITED ? info.si_status : -info.si_status;
  return true;
}

}  // namespace pvmkit::linux_process
