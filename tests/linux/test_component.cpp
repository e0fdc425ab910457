// A configurable component for the process backend's tests: heartbeats, crashes, ignores
// SIGTERM, serves "ping" on the inherited socket with its pid, waits for promotion as a spare.
#include <pvmkit/linux/process_component.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {
long arg_ms(int argc, char** argv, const char* name, long fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return std::atol(argv[i + 1]);
  return fallback;
}
bool flag(int argc, char** argv, const char* name) {
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return true;
  return false;
}
}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a client that went away must not kill the component
  const long heartbeat_ms = arg_ms(argc, argv, "--heartbeat-ms", 10);
  const long crash_after_ms = arg_ms(argc, argv, "--crash-after-ms", -1);
  if (flag(argc, argv, "--ignore-term")) std::signal(SIGTERM, SIG_IGN);
  pvmkit::linux_process::component_channel ch;
  if (crash_after_ms == 0) return 3;
  if (ch.is_spare() && !ch.wait_for_promotion()) return 0;
  ch.ready();
  const int lfd = ch.listening_socket();
  const auto start = std::chrono::steady_clock::now();
  auto next_beat = start;
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    if (crash_after_ms > 0 && now - start >= std::chrono::milliseconds(crash_after_ms)) return 3;
    if (now >= next_beat) {
      ch.heartbeat();
      next_beat = now + std::chrono::milliseconds(heartbeat_ms);
    }
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_beat - now).count();
    pollfd p{lfd, POLLIN, 0};
    const int r = ::poll(&p, lfd >= 0 ? 1 : 0, static_cast<int>(wait < 1 ? 1 : wait));
    if (r > 0 && lfd >= 0) {
      const int c = ::accept(lfd, nullptr, nullptr);
      if (c < 0) continue;
      char buf[64];
      if (::read(c, buf, sizeof buf) > 0) {
        const std::string reply = "pong " + std::to_string(::getpid()) + "\n";
        (void)!::write(c, reply.data(), reply.size());
      }
      ::close(c);
    }
  }
}
