// pvmkit-forwarder: a stateless component (a stand-in for a network backend): it forwards each
// request line to the store and returns the reply; "ping" it answers itself ("pong PID"). Being
// stateless, a fresh instance serves as well as the old one. Fault knobs for the tests:
//   --crash-at-start       exits with status 3 at once (a broken build or configuration)
//   --leak-mb-per-s N      allocates and touches N MiB per second (drives rejuvenation)
//   --heartbeat-ms N       heartbeat period (default 10)
#include <pvmkit/linux/process_component.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace {
std::string arg(int argc, char** argv, const char* name, const char* fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  return fallback;
}
bool flag(int argc, char** argv, const char* name) {
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return true;
  return false;
}

std::string ask(const std::string& path, const std::string& line) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  std::string reply;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const std::string out = line + "\n";
    if (::write(fd, out.data(), out.size()) == static_cast<ssize_t>(out.size())) {
      char buf[4096];
      for (ssize_t n; reply.find('\n') == std::string::npos && (n = ::read(fd, buf, sizeof buf)) > 0;)
        reply.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  if (reply.empty()) return "error upstream unavailable\n";
  return reply.substr(0, reply.find('\n') + 1);
}
}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a client that went away must not kill the component
  if (flag(argc, argv, "--crash-at-start")) return 3;
  const std::string upstream = arg(argc, argv, "--upstream", "/tmp/pvmkit-store.sock");
  const long leak_mb = std::atol(arg(argc, argv, "--leak-mb-per-s", "0").c_str());
  const long heartbeat_ms = std::atol(arg(argc, argv, "--heartbeat-ms", "10").c_str());
  pvmkit::linux_process::component_channel ch;
  if (ch.is_spare() && !ch.wait_for_promotion()) return 0;
  const int lfd = ch.listening_socket();
  if (lfd < 0) {
    std::fprintf(stderr, "pvmkit-forwarder: run me under the process backend (no listening socket)\n");
    return 2;
  }
  ch.ready();
  std::vector<std::unique_ptr<char[]>> leaked;
  auto next_beat = std::chrono::steady_clock::now();
  auto next_leak = next_beat;
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_beat) {
      ch.heartbeat();
      next_beat = now + std::chrono::milliseconds(heartbeat_ms);
    }
    if (leak_mb > 0 && now >= next_leak) {  // a tenth of the rate, ten times a second
      const std::size_t n = static_cast<std::size_t>(leak_mb) * (1U << 20) / 10;
      leaked.emplace_back(new char[n]);
      std::memset(leaked.back().get(), 1, n);  // touched, so it is resident
      next_leak = now + std::chrono::milliseconds(100);
    }
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_beat - now).count();
    pollfd p{lfd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait < 1 ? 1 : wait)) <= 0) continue;
    const int c = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    std::string in;
    char buf[4096];
    for (ssize_t n; in.find('\n') == std::string::npos && (n = ::read(c, buf, sizeof buf)) > 0;)
      in.append(buf, static_cast<std::size_t>(n));
    const std::string line = in.substr(0, in.find('\n'));
    const std::string reply = line == "ping" ? "pong " + std::to_string(::getpid()) + "\n" : ask(upstream, line);
    (void)!::write(c, reply.data(), reply.size());
    ::close(c);
  }
}
