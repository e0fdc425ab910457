// The component side of the process backend: what a program started by process_backend uses to
// send heartbeats, say it is ready, wait to be promoted from standby, and find the listening
// socket the backend keeps open across its restarts. Plain POSIX, no threads.
#pragma once

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include <unistd.h>

namespace pvmkit::linux_process {

// The fds a component inherits (fixed numbers, also announced in the environment).
inline constexpr int heartbeat_fd = 3;  // write end of the heartbeat pipe
inline constexpr int control_fd = 4;    // read end of the control pipe (promotion of a standby)
inline constexpr int listen_fd = 5;     // the component's listening socket, if it has one

inline constexpr char heartbeat_byte = 'H';
inline constexpr char ready_byte = 'R';
inline constexpr char promote_byte = 'P';

class component_channel {
 public:
  component_channel() noexcept {
    const char* role = std::getenv("PVMKIT_ROLE");
    spare_ = role && std::string_view{role} == "spare";
    const char* hb = std::getenv("PVMKIT_HEARTBEAT_FD");
    supervised_ = hb != nullptr;
    const char* l = std::getenv("PVMKIT_LISTEN_FD");
    has_listen_ = l != nullptr;
  }

  [[nodiscard]] bool supervised() const noexcept { return supervised_; }
  [[nodiscard]] bool is_spare() const noexcept { return spare_; }
  [[nodiscard]] int listening_socket() const noexcept { return has_listen_ ? listen_fd : -1; }

  // Non-blocking in effect: one byte into a pipe the supervisor drains; a full pipe means the
  // supervisor is behind, and dropping the byte loses nothing (one byte or many is one heartbeat).
  void heartbeat() const noexcept { send(heartbeat_byte); }
  void ready() const noexcept { send(ready_byte); }

  // A standby blocks here until promoted. Returns false if the supervisor went away.
  [[nodiscard]] bool wait_for_promotion() const noexcept {
    char c = 0;
    for (;;) {
      const ssize_t n = ::read(control_fd, &c, 1);
      if (n == 1 && c == promote_byte) return true;
      if (n == 0) return false;
      if (n < 0 && errno != EINTR) return false;
    }
  }

 private:
  void send(char c) const noexcept {
    if (!supervised_) return;
    ssize_t n;
    do n = ::write(heartbeat_fd, &c, 1);
    while (n < 0 && errno == EINTR);
  }

  bool supervised_ = false;
  bool spare_ = false;
  bool has_listen_ = false;
};

}  // namespace pvmkit::linux_process
