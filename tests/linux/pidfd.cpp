// pidfd on real child processes: an exit becomes readable and reaped with its code, a signal
// through the descriptor reaches the child and is reported as minus its number.
#include <pvmkit/linux/pidfd.hpp>

#include <doctest/doctest.h>

#include <cerrno>
#include <csignal>

#include <poll.h>
#include <unistd.h>

using namespace pvmkit::linux_process;

namespace {

// A child that exits with `code` once it reads a byte from the returned pipe (or at once if -1).
pid_t child(int code, int& go) {
  int p[2];
  REQUIRE(::pipe(p) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(p[1]);
    char c = 0;
    (void)!::read(p[0], &c, 1);
    ::_exit(code);
  }
  ::close(p[0]);
  go = p[1];
  return pid;
}

}  // namespace

TEST_CASE("pidfd: a running child is not reaped; its exit is readable and reaped with the exit code") {
  int go = -1;
  const pid_t pid = child(7, go);
  const int fd = pidfd_open(pid);
  REQUIRE(fd >= 0);
  int status = -100;
  CHECK_FALSE(pidfd_reap(fd, status, false));  // still running
  CHECK(status == -100);
  REQUIRE(::write(go, "x", 1) == 1);
  pollfd pfd{fd, POLLIN, 0};
  CHECK(::poll(&pfd, 1, 5000) == 1);
  CHECK(pidfd_reap(fd, status, true));
  CHECK(status == 7);
  ::close(go);
  ::close(fd);
}

TEST_CASE("pidfd: a signal sent through the descriptor kills the child; the status is minus the signal") {
  int go = -1;
  const pid_t pid = child(0, go);
  const int fd = pidfd_open(pid);
  REQUIRE(fd >= 0);
  REQUIRE(pidfd_send_signal(fd, SIGKILL) == 0);
  int status = 0;
  CHECK(pidfd_reap(fd, status, true));
  CHECK(status == -SIGKILL);
  // Reaped: the descriptor now refers to no process it can signal.
  CHECK(pidfd_send_signal(fd, SIGTERM) == -1);
  CHECK(errno == ESRCH);
  ::close(go);
  ::close(fd);
}

TEST_CASE("pidfd: a pid that is not a process is refused") {
  errno = 0;
  CHECK(pidfd_open(-1) == -1);
  CHECK(errno == EINVAL);
  int status = 0;
  CHECK_FALSE(pidfd_reap(-1, status, false));
}
