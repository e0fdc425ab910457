// The file operations of the state journal, as a concept: posix_journal_io (the default) makes the
// real system calls and is empty, so the journal costs nothing for the indirection; a test passes
// its own type (power_cut_io simulates a power cut at any write or sync).
//
// Files are int handles. Every call that can fail returns result; a missing file is
// std::errc::no_such_file_or_directory. Data is durable only after sync_data/sync of its file, a
// name (create, rename, remove) only after sync_dir of its directory.
#pragma once

#include <pvmkit/core/random.hpp>
#include <pvmkit/core/result.hpp>
#include <pvmkit/recovery/journal_error.hpp>

#include <cerrno>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <random>
#include <span>
#include <system_error>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace pvmkit::recovery {

template <class Io>
concept JournalIo = std::copyable<Io> &&
    requires(Io& io, const std::filesystem::path& p, int fd, std::span<char> out, std::span<const char> in,
             std::uint64_t n) {
      { io.open_read(p) } -> std::same_as<result<int>>;    // an existing file, for read_at
      { io.open_append(p) } -> std::same_as<result<int>>;  // an existing file; append writes at its end
      { io.create(p) } -> std::same_as<result<int>>;       // empty (truncated if it exists), for append
      { io.close(fd) } noexcept;
      { io.size(fd) } -> std::same_as<result<std::uint64_t>>;
      { io.read_at(fd, out, n) } -> std::same_as<result<std::size_t>>;  // short only at the end of the file
      { io.append(fd, in) } -> std::same_as<result<void>>;              // all of it, or an error
      { io.truncate(fd, n) } -> std::same_as<result<void>>;
      { io.sync_data(fd) } -> std::same_as<result<void>>;  // fdatasync
      { io.sync(fd) } -> std::same_as<result<void>>;       // fsync
      { io.rename(p, p) } -> std::same_as<result<void>>;   // atomic replacement
      { io.remove(p) } -> std::same_as<result<void>>;      // a missing file is not an error
      { io.make_dir(p) } -> std::same_as<result<bool>>;    // one level; true if it was created
      { io.sync_dir(p) } -> std::same_as<result<void>>;
      { io.lock(p) } -> std::same_as<result<int>>;  // exclusive, not waiting: journal_errc::locked if held
      { io.unlock(fd) } noexcept;
      { io.new_salt() } -> std::same_as<std::uint64_t>;  // unpredictable, for each new log file
    };

// The real thing: POSIX calls, EINTR retried, the lock an flock(2) on a file (held by the open file
// description: a second open in the same process is refused too, and a crash releases it).
struct posix_journal_io {
  static result<int> open_read(const std::filesystem::path& p) { return open_fd(p, O_RDONLY); }
  static result<int> open_append(const std::filesystem::path& p) { return open_fd(p, O_WRONLY | O_APPEND); }
  static result<int> create(const std::filesystem::path& p) { return open_fd(p, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND); }
  static void close(int fd) noexcept { (void)::close(fd); }

  static result<std::uint64_t> size(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return unexpected{error()};
    return static_cast<std::uint64_t>(st.st_size);
  }

  static result<std::size_t> read_at(int fd, std::span<char> out, std::uint64_t offset) {
    std::size_t done = 0;
    while (done < out.size()) {
      const ssize_t n = ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return unexpected{error()};
      }
      if (n == 0) break;
      done += static_cast<std::size_t>(n);
    }
    return done;
  }

  static result<void> append(int fd, std::span<const char> in) {
    std::size_t done = 0;
    while (done < in.size()) {
      const ssize_t n = ::write(fd, in.data() + done, in.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        return unexpected{error()};
      }
      if (n == 0) return unexpected{std::make_error_code(std::errc::io_error)};
      done += static_cast<std::size_t>(n);
    }
    return {};
  }

  static result<void> truncate(int fd, std::uint64_t n) { return check(::ftruncate(fd, static_cast<off_t>(n))); }
  static result<void> sync_data(int fd) { return check(::fdatasync(fd)); }
  static result<void> sync(int fd) { return check(::fsync(fd)); }
  static result<void> rename(const std::filesystem::path& from, const std::filesystem::path& to) {
    return check(::rename(from.c_str(), to.c_str()));
  }
  static result<void> remove(const std::filesystem::path& p) {
    if (::unlink(p.c_str()) != 0 && errno != ENOENT) return unexpected{error()};
    return {};
  }
  static result<bool> make_dir(const std::filesystem::path& p) {
    if (::mkdir(p.c_str(), 0755) == 0) return true;
    if (errno == EEXIST) return false;
    return unexpected{error()};
  }
  static result<void> sync_dir(const std::filesystem::path& p) {
    auto fd = open_fd(p, O_RDONLY | O_DIRECTORY);
    if (!fd) return unexpected{fd.error()};
    const auto r = check(::fsync(*fd));
    ::close(*fd);
    return r;
  }

  static result<int> lock(const std::filesystem::path& p) {
    auto fd = open_fd(p, O_RDWR | O_CREAT);
    if (!fd) return fd;
    int rc = 0;
    while ((rc = ::flock(*fd, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR) {
    }
    if (rc != 0) {
      const auto ec = errno == EWOULDBLOCK ? make_error_code(journal_errc::locked) : error();
      ::close(*fd);
      return unexpected{ec};
    }
    return fd;
  }
  static void unlock(int fd) noexcept { (void)::close(fd); }

  static std::uint64_t new_salt() {
    try {
      std::random_device rd;
      return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
    } catch (...) {  // no entropy source: the clock still differs from the last log's
      return mix64(static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
    }
  }

 private:
  static std::error_code error() noexcept { return {errno, std::system_category()}; }
  static result<void> check(int rc) {
    if (rc != 0) return unexpected{error()};
    return {};
  }
  static result<int> open_fd(const std::filesystem::path& p, int flags) {
    for (;;) {
      const int fd = ::open(p.c_str(), flags | O_CLOEXEC, 0644);
      if (fd >= 0) return fd;
      if (errno != EINTR) return unexpected{error()};
    }
  }
};

static_assert(JournalIo<posix_journal_io>);

}  // namespace pvmkit::recovery
