// xenstore_wire: a small client of XenStore's wire protocol (xen/include/public/io/xs_wire.h) over
// xenstored's Unix socket: a 16-byte header (type, request id, transaction id, length, host byte
// order) then at most 4096 bytes of NUL-separated strings. pvmkit uses it to probe xenstored's
// liveness and to read back what a restore brought back; it never needs libxenstore.
// Every call is bounded by a timeout: a hung xenstored must not hang its supervisor.
#pragma once

#include <pvmkit/core/clock.hpp>
#include <pvmkit/core/error.hpp>
#include <pvmkit/core/result.hpp>
#include <pvmkit/recovery/xenstore_state.hpp>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace pvmkit::recovery::xenstore {

enum class message : std::uint32_t {
  control = 0, directory = 1, read = 2, get_perms = 3, watch = 4, unwatch = 5, transaction_start = 6, transaction_end = 7,
  introduce = 8, release = 9, get_domain_path = 10, write = 11, mkdir = 12, rm = 13, set_perms = 14, watch_event = 15,
  error = 16, is_domain_introduced = 17, resume = 18, set_target = 19, reset_watches = 21, directory_part = 22,
};

struct wire_header {
  std::uint32_t type = 0;
  std::uint32_t req_id = 0;
  std::uint32_t tx_id = 0;
  std::uint32_t len = 0;
};
static_assert(sizeof(wire_header) == 16);

inline constexpr std::size_t payload_max = 4096;

// The errno an XS_ERROR reply names ("ENOENT"), as xs_wire.h's xsd_errors lists them.
[[nodiscard]] inline std::error_code error_from_name(std::string_view name) {
  static constexpr std::pair<std::string_view, int> names[] = {
      {"EINVAL", EINVAL}, {"EACCES", EACCES}, {"EEXIST", EEXIST}, {"EISDIR", EISDIR}, {"ENOENT", ENOENT}, {"ENOMEM", ENOMEM},
      {"ENOSPC", ENOSPC}, {"EIO", EIO},       {"ENOTEMPTY", ENOTEMPTY}, {"ENOSYS", ENOSYS}, {"EROFS", EROFS}, {"EBUSY", EBUSY},
      {"EAGAIN", EAGAIN}, {"EISCONN", EISCONN}, {"E2BIG", E2BIG}, {"EPERM", EPERM}};
  if (!name.empty() && name.back() == '\0') name.remove_suffix(1);
  for (const auto& [n, e] : names)
    if (n == name) return {e, std::generic_category()};
  return make_error_code(errc::backend_failure);
}

// "r0" "b5": the SET_PERMS / GET_PERMS spelling of a permission.
[[nodiscard]] inline std::string perm_string(const permission& p) { return std::string(1, p.access) + std::to_string(p.domid); }

class wire_client {
 public:
  explicit wire_client(int fd) noexcept : fd_(fd) {}
  wire_client(wire_client&& o) noexcept : fd_(std::exchange(o.fd_, -1)), next_id_(o.next_id_) {}
  wire_client& operator=(wire_client&& o) noexcept {
    if (this != &o) {
      close();
      fd_ = std::exchange(o.fd_, -1);
      next_id_ = o.next_id_;
    }
    return *this;
  }
  wire_client(const wire_client&) = delete;
  wire_client& operator=(const wire_client&) = delete;
  ~wire_client() { close(); }

  // Connects to xenstored's socket (ECONNREFUSED or ENOENT while no xenstored listens).
  static result<wire_client> connect(const std::string& path) {
    sockaddr_un a{};
    if (path.size() >= sizeof a.sun_path) return unexpected{errc::invalid_argument};
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return unexpected{std::error_code{errno, std::system_category()}};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
      const std::error_code ec{errno, std::system_category()};
      ::close(fd);
      return unexpected{ec};
    }
    return wire_client{fd};
  }

  [[nodiscard]] int fd() const noexcept { return fd_; }
  void close() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // One request and its reply's payload. An XS_ERROR reply is its errno; no reply within
  // `timeout` is errc::timeout (the connection is then closed: a late reply would be misread).
  result<std::string> request(message type, std::string_view payload, duration timeout, std::uint32_t tx = 0) {
    if (fd_ < 0) return unexpected{errc::invalid_state};
    if (payload.size() > payload_max) return unexpected{errc::invalid_argument};
    const wire_header h{static_cast<std::uint32_t>(type), ++next_id_, tx, static_cast<std::uint32_t>(payload.size())};
    std::string msg(reinterpret_cast<const char*>(&h), sizeof h);
    msg.append(payload);
    const time_point end = clock_.now() + timeout;
    if (auto r = send_all(msg, end); !r) return fail(r.error());
    for (;;) {
      wire_header reply{};
      if (auto r = recv_all(reinterpret_cast<char*>(&reply), sizeof reply, end); !r) return fail(r.error());
      if (reply.len > payload_max) return fail(make_error_code(errc::corrupt_data));
      std::string body(reply.len, '\0');
      if (auto r = recv_all(body.data(), body.size(), end); !r) return fail(r.error());
      if (reply.type == static_cast<std::uint32_t>(message::watch_event)) continue;  // not ours to handle
      if (reply.req_id != h.req_id) return fail(make_error_code(errc::corrupt_data));
      if (reply.type == static_cast<std::uint32_t>(message::error)) return unexpected{error_from_name(body)};
      return body;
    }
  }

  result<std::string> read(std::string_view path, duration timeout) { return request(message::read, z(path), timeout); }
  result<void> write(std::string_view path, std::string_view value, duration timeout) {
    std::string p = z(path);
    p.append(value);
    auto r = request(message::write, p, timeout);
    if (!r) return unexpected{r.error()};
    return {};
  }
  result<std::vector<std::string>> directory(std::string_view path, duration timeout) {
    auto r = request(message::directory, z(path), timeout);
    if (!r) return unexpected{r.error()};
    return split(*r);
  }
  result<std::vector<permission>> get_perms(std::string_view path, duration timeout) {
    auto r = request(message::get_perms, z(path), timeout);
    if (!r) return unexpected{r.error()};
    std::vector<permission> out;
    for (const auto& s : split(*r)) {
      std::uint16_t id = 0;
      const auto parsed = std::from_chars(s.data() + (s.empty() ? 0 : 1), s.data() + s.size(), id);
      if (s.size() < 2 || !detail::valid_access(s[0]) || parsed.ec != std::errc{} || parsed.ptr != s.data() + s.size())
        return unexpected{errc::corrupt_data};
      out.push_back({s[0], false, id});
    }
    return out;
  }
  result<void> set_perms(std::string_view path, const std::vector<permission>& perms, duration timeout) {
    std::string p = z(path);
    for (const auto& x : perms) p += z(perm_string(x));
    auto r = request(message::set_perms, p, timeout);
    if (!r) return unexpected{r.error()};
    return {};
  }

 private:
  static std::string z(std::string_view s) {
    std::string out{s};
    out.push_back('\0');
    return out;
  }
  static std::vector<std::string> split(std::string_view s) {
    std::vector<std::string> out;
    while (!s.empty()) {
      const auto nul = s.find('\0');
      out.emplace_back(s.substr(0, nul));
      if (nul == std::string_view::npos) break;
      s.remove_prefix(nul + 1);
    }
    return out;
  }
  unexpected fail(std::error_code ec) {
    close();
    return unexpected{ec};
  }
  int wait(short events, time_point end) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(end - clock_.now()).count();
    if (left <= 0) return 0;
    pollfd p{fd_, events, 0};
    int r;
    do r = ::poll(&p, 1, static_cast<int>(left));
    while (r < 0 && errno == EINTR);
    return r;
  }
  result<void> send_all(std::string_view m, time_point end) {
    while (!m.empty()) {
      const int w = wait(POLLOUT, end);
      if (w == 0) return unexpected{errc::timeout};
      if (w < 0) return unexpected{std::error_code{errno, std::system_category()}};
      const ssize_t n = ::send(fd_, m.data(), m.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n < 0) return unexpected{std::error_code{errno, std::system_category()}};
      m.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
  }
  result<void> recv_all(char* p, std::size_t n, time_point end) {
    while (n > 0) {
      const int w = wait(POLLIN, end);
      if (w == 0) return unexpected{errc::timeout};
      if (w < 0) return unexpected{std::error_code{errno, std::system_category()}};
      const ssize_t r = ::recv(fd_, p, n, MSG_DONTWAIT);
      if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (r < 0) return unexpected{std::error_code{errno, std::system_category()}};
      if (r == 0) return unexpected{std::error_code{ECONNRESET, std::system_category()}};
      p += r;
      n -= static_cast<std::size_t>(r);
    }
    return {};
  }

  int fd_ = -1;
  std::uint32_t next_id_ = 0;
  steady_clock clock_;
};

}  // namespace pvmkit::recovery::xenstore
