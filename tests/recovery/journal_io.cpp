// posix_journal_io, the journal's real file operations, on a scratch directory: what the JournalIo
// contract promises (short reads only at the end, a missing file named as such, an exclusive lock).
#include "temp_dir.hpp"

#include <pvmkit/recovery/journal_io.hpp>
#include <pvmkit/recovery/power_cut_io.hpp>

#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

using namespace pvmkit;
using namespace pvmkit::recovery;

namespace {

std::span<const char> bytes_of(std::string_view s) { return {s.data(), s.size()}; }

}  // namespace

TEST_CASE("JournalIo: the real and the simulated file operations model it; a type missing one does not") {
  static_assert(JournalIo<posix_journal_io>);
  static_assert(JournalIo<power_cut_io>);
  static_assert(!JournalIo<int>);
  CHECK(JournalIo<posix_journal_io>);
}

TEST_CASE("posix_journal_io: create, append, read back at an offset, truncate") {
  test::temp_dir dir;
  posix_journal_io io;
  const auto file = dir.path() / "log";
  auto fd = io.create(file);
  REQUIRE(fd);
  REQUIRE(io.append(*fd, bytes_of("hello, ")));
  REQUIRE(io.append(*fd, bytes_of("journal")));
  REQUIRE(io.sync_data(*fd));
  CHECK(io.size(*fd).value() == 14);
  io.close(*fd);

  auto rd = io.open_read(file);
  REQUIRE(rd);
  std::array<char, 32> buf{};
  CHECK(io.read_at(*rd, std::span<char>{buf.data(), 7}, 7).value() == 7);
  CHECK(std::string_view{buf.data(), 7} == "journal");
  CHECK(io.read_at(*rd, buf, 10).value() == 4);  // short only at the end of the file
  CHECK(io.read_at(*rd, buf, 100).value() == 0);
  io.close(*rd);

  auto ap = io.open_append(file);
  REQUIRE(ap);
  REQUIRE(io.truncate(*ap, 5));
  REQUIRE(io.append(*ap, bytes_of("!")));  // appends at the new end
  CHECK(io.size(*ap).value() == 6);
  io.close(*ap);
}

TEST_CASE("posix_journal_io: a missing file is no_such_file_or_directory; removing one is not an error") {
  test::temp_dir dir;
  posix_journal_io io;
  const auto missing = dir.path() / "nothing";
  CHECK(io.open_read(missing).error() == std::errc::no_such_file_or_directory);
  CHECK(io.open_append(missing).error() == std::errc::no_such_file_or_directory);
  CHECK(io.remove(missing));
  CHECK(io.rename(missing, dir.path() / "other").error() == std::errc::no_such_file_or_directory);
}

TEST_CASE("posix_journal_io: rename replaces, make_dir says whether it created, sync_dir on a directory") {
  test::temp_dir dir;
  posix_journal_io io;
  const auto a = dir.write("a", "new"), b = dir.write("b", "old");
  REQUIRE(io.rename(a, b));
  auto fd = io.open_read(b);
  REQUIRE(fd);
  CHECK(io.size(*fd).value() == 3);
  io.close(*fd);
  CHECK(io.make_dir(dir.path() / "sub").value());
  CHECK_FALSE(io.make_dir(dir.path() / "sub").value());
  CHECK(io.make_dir(dir.path() / "no" / "such").error() == std::errc::no_such_file_or_directory);
  CHECK(io.sync_dir(dir.path()));
  CHECK_FALSE(io.sync_dir(dir.path() / "missing"));
}

TEST_CASE("posix_journal_io: the lock is exclusive, even within one process, until unlocked") {
  test::temp_dir dir;
  posix_journal_io io;
  const auto lock_file = dir.path() / "lock";
  auto first = io.lock(lock_file);
  REQUIRE(first);
  CHECK(io.lock(lock_file).error() == journal_errc::locked);
  io.unlock(*first);
  auto again = io.lock(lock_file);
  CHECK(again);
  if (again) io.unlock(*again);
}

TEST_CASE("posix_journal_io: each new log gets another salt") {
  posix_journal_io io;
  CHECK(io.new_salt() != io.new_salt());
}
