#include <pvmkit/core/text_file.hpp>

#include "config_errors.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>

#include <filesystem>
#include <string>

using namespace pvmkit;

TEST_CASE("read_text_file reads a regular file whole, up to its limit") {
  test::temp_dir dir;
  const std::string text = std::string{"line 1\nline 2\n"} + std::string(5000, 'x') + std::string(1, '\0');
  const std::string p = dir.write("a.txt", text);
  CHECK(read_text_file(p, "scenario", text.size()) == text);
  CHECK(read_text_file(dir.write("empty.txt", ""), "scenario", 0).empty());
  CHECK(test::error_of([&] { (void)read_text_file(p, "scenario", text.size() - 1); }) ==
        p + ": scenario file is 5015 bytes, over the limit of 5014 bytes");
  // The limit is checked before anything is read: a sparse file of 1 GiB costs nothing.
  const std::string big = (dir.path() / "big").string();
  (void)dir.write("big", "");
  std::filesystem::resize_file(big, std::size_t{1} << 30);
  CHECK(test::error_of([&] { (void)read_text_file(big, "trace", std::size_t{64} << 20); }) ==
        big + ": trace file is 1073741824 bytes, over the limit of 64 MiB");
}

TEST_CASE("read_text_file refuses what is not a regular file, without blocking or reading it") {
  // /dev/zero was read until memory ran out.
  CHECK(test::error_of([] { (void)read_text_file("/dev/zero", "scenario", 1 << 20); }) ==
        "/dev/zero: not a regular file (it is a character device); a scenario file must be one");
  test::temp_dir dir;
  CHECK(test::error_of([&] { (void)read_text_file(dir.path().string(), "trace", 1 << 20); }) ==
        dir.path().string() + ": not a regular file (it is a directory); a trace file must be one");
  // A FIFO with no writer: opening it must not wait for one.
  const std::string fifo = (dir.path() / "fifo").string();
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK(test::error_of([&] { (void)read_text_file(fifo, "scenario", 1 << 20); }) ==
        fifo + ": not a regular file (it is a FIFO); a scenario file must be one");
  CHECK(test::error_of([] { (void)read_text_file("/nonexistent/x.json", "scenario", 1 << 20); }) ==
        "/nonexistent/x.json: cannot open scenario file (No such file or directory)");
}
