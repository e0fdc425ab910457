// power_cut_io's model of a disk, on its own: what reaches the disk when, and what a power cut
// leaves. The journal under every such cut is tested in state_journal_power_cut.cpp.
#include <pvmkit/recovery/power_cut_io.hpp>

#include <doctest/doctest.h>

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

using namespace pvmkit;
using namespace pvmkit::recovery;

namespace {
std::span<const char> bytes_of(std::string_view s) { return {s.data(), s.size()}; }
}  // namespace

static_assert(JournalIo<power_cut_io>);

TEST_CASE("a write is seen at once, and reaches the disk only with the file's sync and its directory's") {
  auto disk = std::make_shared<power_cut_fs>();
  power_cut_io io{disk};
  REQUIRE(io.make_dir("d"));
  const auto fd = io.create("d/f");
  REQUIRE(fd);
  REQUIRE(io.append(*fd, bytes_of("hello")));
  CHECK(disk->file("d/f") == std::optional<std::string>{"hello"});
  CHECK_FALSE(disk->after({}).file("d/f").has_value());  // not even its name is durable
  REQUIRE(io.sync_dir("d"));
  CHECK(disk->after({}).file("d/f") == std::optional<std::string>{""});  // the name, not the data
  REQUIRE(io.sync_data(*fd));
  CHECK(disk->after({}).file("d/f") == std::optional<std::string>{"hello"});
  CHECK(disk->pending().empty());
}

TEST_CASE("a cut keeps the first pending operations, tears the next one, or drops one of them") {
  auto disk = std::make_shared<power_cut_fs>();
  power_cut_io io{disk};
  disk->set_file("f", "");
  const auto fd = io.open_append("f");
  REQUIRE(fd);
  REQUIRE(io.append(*fd, bytes_of("abc")));
  REQUIRE(io.append(*fd, bytes_of("def")));
  REQUIRE(disk->pending().size() == 2);
  CHECK(disk->after({.keep = 1}).file("f") == std::optional<std::string>{"abc"});
  CHECK(disk->after({.keep = 1, .torn = 2}).file("f") == std::optional<std::string>{"abcde"});
  CHECK(disk->after({.keep = 1, .torn = 2, .zero_fill = true}).file("f") == std::optional<std::string>{std::string("abcde\0", 6)});
  CHECK(disk->after({.drop = 0}).file("f") == std::optional<std::string>{std::string("\0\0\0def", 6)});
}

TEST_CASE("a failed sync loses the file's pending data for good; inject fails a call without effect") {
  auto disk = std::make_shared<power_cut_fs>();
  power_cut_io io{disk};
  disk->set_file("f", "");
  const auto fd = io.open_append("f");
  REQUIRE(fd);
  REQUIRE(io.append(*fd, bytes_of("lost")));
  disk->inject = [](const power_cut_fs::call& c) {
    return c.kind == power_cut_fs::call_kind::sync_data ? std::make_error_code(std::errc::io_error) : std::error_code{};
  };
  CHECK(io.sync_data(*fd).error() == std::errc::io_error);
  disk->inject = nullptr;
  REQUIRE(io.sync_data(*fd));
  CHECK(disk->file("f") == std::optional<std::string>{"lost"});  // the reader still sees it
  CHECK(disk->after({}).file("f") == std::optional<std::string>{""});  // the disk never will
  CHECK(io.rename("nope", "g").error() == std::errc::no_such_file_or_directory);
}
