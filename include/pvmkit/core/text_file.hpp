// Reading a whole input file a user names (a scenario, a fault scenario, a trace). The path is
// untrusted: it may be /dev/zero, a FIFO nobody writes to, a directory or a file of gigabytes. So
// only regular files are read, never more than the caller's limit, and every refusal is a
// config_error naming the file, what it was meant to be and why.
#pragma once

#include <pvmkit/core/error.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>

namespace pvmkit {

namespace detail {

[[nodiscard]] inline std::string size_text(std::size_t n) {
  constexpr std::size_t mib = std::size_t{1} << 20;
  if (n >= mib && n % mib == 0) return std::to_string(n / mib) + " MiB";
  return std::to_string(n) + " bytes";
}

[[nodiscard]] inline std::string_view file_type_name(mode_t m) noexcept {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISSOCK(m)) return "a socket";
  return "not a regular file";
}

class fd_closer {
 public:
  explicit fd_closer(int fd) noexcept : fd_(fd) {}
  fd_closer(const fd_closer&) = delete;
  fd_closer& operator=(const fd_closer&) = delete;
  ~fd_closer() { ::close(fd_); }

 private:
  int fd_;
};

}  // namespace detail

// The whole of the regular file `path`, at most `max_bytes` long; `what` names the kind of file in
// errors ("scenario" gives "x.json: cannot open scenario file (No such file or directory)").
[[nodiscard]] inline std::string read_text_file(const std::string& path, std::string_view what, std::size_t max_bytes) {
  const std::string kind = std::string{what} + " file";
  auto fail = [&](const std::string& why) -> void { throw config_error(path + ": " + why); };
  auto errno_text = [] { return std::system_category().message(errno); };
  // O_NONBLOCK: opening a FIFO must not wait for a writer; the type check below then refuses it.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) fail("cannot open " + kind + " (" + errno_text() + ")");
  const detail::fd_closer closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail("cannot read " + kind + " (" + errno_text() + ")");
  if (!S_ISREG(st.st_mode))
    fail("not a regular file (it is " + std::string{detail::file_type_name(st.st_mode)} + "); a " + kind + " must be one");
  auto too_big = [&](const std::string& size) {
    fail(kind + " is " + size + ", over the limit of " + detail::size_text(max_bytes));
  };
  const auto size = static_cast<std::size_t>(st.st_size);
  if (size > max_bytes) too_big(std::to_string(size) + " bytes");
  // Read up to one byte past the limit: the file may have grown since fstat.
  std::string out(size + 1, '\0');
  std::size_t got = 0;
  for (;;) {
    if (got == out.size()) {
      if (got > max_bytes) too_big("more than " + std::to_string(max_bytes) + " bytes");
      out.resize(std::min(max_bytes + 1, out.size() * 2));
    }
    const ssize_t n = ::read(fd, out.data() + got, out.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot read " + kind + " (" + errno_text() + ")");
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got > max_bytes) too_big("more than " + std::to_string(max_bytes) + " bytes");
  out.resize(got);
  return out;
}

}  // namespace pvmkit
