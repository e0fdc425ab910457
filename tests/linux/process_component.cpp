// The component side of the process backend, on its own: each case runs in a child process that
// lays out the inherited fds (3, 4) and the environment as process_backend does, so the test
// process's own fds and environment are left alone. process_backend.cpp runs it in real components.
#include <pvmkit/core/run_in_child.hpp>
#include <pvmkit/linux/process_component.hpp>

#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

#include <fcntl.h>
#include <unistd.h>

using namespace pvmkit;
using namespace pvmkit::linux_process;

namespace {

// Runs `work(out)` in a child with a pipe on heartbeat_fd (its read end returned in `heard`) and
// one on control_fd (fed `control`, then closed); `out` is what the child writes back.
template <class F>
std::string in_component(const char* env_role, bool supervised, const std::string& control, F work) {
  const auto r = run_in_child([&](int fd) {
    const int out = ::fcntl(fd, F_DUPFD_CLOEXEC, 100);  // above the fds a component inherits
    int hb[2], ctl[2];
    if (out < 0 || ::pipe(hb) != 0 || ::pipe(ctl) != 0) std::_Exit(1);
    for (int* end : {&hb[0], &hb[1], &ctl[0], &ctl[1]}) {  // off 3 and 4 before those are laid out
      const int moved = ::fcntl(*end, F_DUPFD_CLOEXEC, 100);
      ::close(*end);
      *end = moved;
    }
    if (::dup2(hb[1], heartbeat_fd) < 0 || ::dup2(ctl[0], control_fd) < 0) std::_Exit(1);
    if (!control.empty() && ::write(ctl[1], control.data(), control.size()) != static_cast<ssize_t>(control.size())) std::_Exit(1);
    ::close(ctl[1]);
    ::close(ctl[0]);
    ::unsetenv("PVMKIT_ROLE");
    ::unsetenv("PVMKIT_HEARTBEAT_FD");
    ::unsetenv("PVMKIT_LISTEN_FD");
    if (env_role) ::setenv("PVMKIT_ROLE", env_role, 1);
    if (supervised) {
      ::setenv("PVMKIT_HEARTBEAT_FD", "3", 1);
      ::setenv("PVMKIT_LISTEN_FD", "5", 1);
    }
    std::string said = work(component_channel{});
    // What reached the heartbeat pipe, after the child's writes.
    ::close(heartbeat_fd);
    ::close(hb[1]);
    ::fcntl(hb[0], F_SETFL, O_NONBLOCK);
    char buf[16];
    const ssize_t n = ::read(hb[0], buf, sizeof buf);
    said += "|" + (n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string{});
    (void)write_all(out, said);
  });
  REQUIRE_MESSAGE(r.clean(), r.errors);
  return r.output;
}

}  // namespace

TEST_CASE("outside a supervisor: not supervised, no socket, heartbeats go nowhere") {
  const auto said = in_component(nullptr, false, "", [](const component_channel& c) {
    c.heartbeat();
    c.ready();
    return std::string(c.supervised() ? "supervised" : "alone") + (c.is_spare() ? " spare " : " active ") +
           std::to_string(c.listening_socket());
  });
  CHECK(said == "alone active -1|");
}

TEST_CASE("under a supervisor: a heartbeat and ready are one byte each on fd 3; the socket is fd 5") {
  const auto said = in_component("active", true, "", [](const component_channel& c) {
    c.heartbeat();
    c.ready();
    c.heartbeat();
    return std::string(c.supervised() ? "supervised" : "alone") + (c.is_spare() ? " spare " : " active ") +
           std::to_string(c.listening_socket());
  });
  CHECK(said == std::string("supervised active 5|") + heartbeat_byte + ready_byte + heartbeat_byte);
}

TEST_CASE("a spare waits for the promotion byte; other bytes are skipped; a closed pipe is no promotion") {
  auto wait = [](const component_channel& c) { return std::string(c.is_spare() ? "spare " : "active ") + (c.wait_for_promotion() ? "promoted" : "gone"); };
  CHECK(in_component("spare", true, std::string("xy") + promote_byte, wait) == "spare promoted|");
  CHECK(in_component("spare", true, "xy", wait) == "spare gone|");
  CHECK(in_component("spare", true, "", wait) == "spare gone|");
}
