// The KVM host's pVM reservation file: written and read back whole, every malformed text refused,
// a missing file is "not sized yet", and a save replaces the old file at once.
#include "temp_dir.hpp"

#include <pvmkit/libvirt/host_reservation.hpp>

#include <doctest/doctest.h>

#include <filesystem>
#include <string>

using namespace pvmkit;
using namespace pvmkit::literals;

namespace {

host_reservation sample() { return {cpuset{cpu_id{0}, cpu_id{8}}, 1_GiB, nodeset{node_id{0}, node_id{1}}}; }

}  // namespace

TEST_CASE("host_reservation: the text form reads back to the same reservation") {
  const std::string text = to_text(sample());
  CHECK(text == "# pvmkit: the KVM host's pVM (pvmkit's libvirt backend writes this file)\ncpus 0,8\n"
                "memory_target 1073741824\nnodes 0-1\n");
  CHECK(parse_host_reservation(text) == sample());
  CHECK(parse_host_reservation("nodes 0-1\n\n# any order\ncpus 0,8\nmemory_target 1073741824") == sample());
}

TEST_CASE("host_reservation: a key missing, repeated or unknown, or a bad value, is not a reservation") {
  for (const char* bad : {"cpus 0,8\nmemory_target 1073741824\n",                                  // nodes missing
                          "cpus 0,8\ncpus 1\nmemory_target 1\nnodes 0\n",                          // repeated
                          "cpus 0,8\nmemory_target 1\nnodes 0\ncolour blue\n",                     // unknown key
                          "cpus 0,8\nmemory_target 1\nnodes\n",                                    // no value
                          "cpus 0,8\nmemory_target -1\nnodes 0\n",                                 // not a number
                          "cpus 0,8\nmemory_target 12345678901234567890\nnodes 0\n",               // 20 digits
                          "cpus 8-0\nmemory_target 1\nnodes 0\n",                                  // bad range
                          "cpus \nmemory_target 1\nnodes 0\n",                                     // empty set
                          ""})
    CHECK_MESSAGE(!parse_host_reservation(bad), bad);
}

TEST_CASE("host_reservation: a missing file is no reservation yet; a damaged one is corrupt_data") {
  test::temp_dir dir;
  const auto file = dir.path() / "pvm";
  const auto none = load_host_reservation(file);
  REQUIRE(none);
  CHECK_FALSE(none->has_value());
  (void)dir.write("pvm", "cpus 0\n");
  CHECK(load_host_reservation(file).error() == errc::corrupt_data);
}

TEST_CASE("host_reservation: save makes the directory, replaces the file whole and leaves no temporary") {
  test::temp_dir dir;
  const auto file = dir.path() / "state" / "pvm";
  REQUIRE(save_host_reservation(file, sample()));
  host_reservation next = sample();
  next.cpus = cpuset{cpu_id{4}};
  REQUIRE(save_host_reservation(file, next));
  CHECK(load_host_reservation(file).value() == next);
  CHECK_FALSE(std::filesystem::exists(file.string() + ".tmp"));
  // A path under a regular file cannot be written: an error, and the old reservation stays.
  CHECK_FALSE(save_host_reservation(file / "below", sample()));
  CHECK(load_host_reservation(file).value() == next);
}
