// A client of the example components' line protocol over a Unix socket: one request line, one
// reply line. Shared by the measurement program and the fault-injection tests.
#pragma once

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace pvmkit::examples {

class line_client {
 public:
  explicit line_client(const std::string& path) : fd_(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    ok_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    // The listening socket outlives the component (the backend owns it): a request queued in
    // the backlog of a killed instance is answered only by the next one. Give up after 1 s.
    timeval tv{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~line_client() { ::close(fd_); }
  line_client(const line_client&) = delete;
  line_client& operator=(const line_client&) = delete;

  // Sends a line and returns the reply line ("" if the peer went away or did not answer).
  std::string ask(const std::string& line) {
    if (!ok_) return {};
    const std::string out = line + "\n";
    if (::send(fd_, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size())) return ok_ = false, std::string{};
    while (buf_.find('\n') == std::string::npos) {
      char b[4096];
      const ssize_t n = ::read(fd_, b, sizeof b);
      if (n <= 0) return ok_ = false, std::string{};
      buf_.append(b, static_cast<std::size_t>(n));
    }
    const auto nl = buf_.find('\n');
    std::string r = buf_.substr(0, nl);
    buf_.erase(0, nl + 1);
    return r;
  }

 private:
  int fd_;
  bool ok_ = false;
  std::string buf_;
};

}  // namespace pvmkit::examples
