// The state stream xenstored --live-update reads (docs/designs/xenstore-migration.md in Xen):
// its layout, a round trip, and what it refuses. The real thing runs in the Xen harness
// (tests/xen/dom0-recovery.sh).
#include <pvmkit/recovery/xenstore_state.hpp>

#include "config_errors.hpp"
#include "xenstore_files.hpp"

#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <string>

using namespace pvmkit::recovery::xenstore;
using pvmkit::test::error_of;
using pvmkit::test::get;

namespace {

state small_state() {
  state s;
  s.socket_fd = 60;
  s.evtchn_fd = 61;
  s.connections = {{1, 0, domid_invalid, 5}, {2, 3, domid_invalid, 9}};
  s.watches = {{2, "device", "ffff8880"}, {1, "backend/vif", "be"}};
  s.nodes = {{"/local", "", {{'n', false, 0}}},
             {"/local/domain/3/name", "g0", {{'n', false, 3}, {'r', false, 0}}},
             {"/local/domain/3/data", std::string("a\0b", 3), {{'b', false, 3}, {'r', true, 7}}},
             {"@releaseDomain", "", {{'n', false, 0}}}};
  return s;
}

}  // namespace

TEST_CASE("the state stream is laid out as xenstored reads it: preamble, 8-byte records, little-endian fields") {
  const std::string s = write_state(small_state());
  CHECK(s.substr(0, 8) == "xenstore");
  CHECK(s.substr(8, 4) == std::string("\0\0\0\1", 4));  // version 1, big-endian
  CHECK(get<std::uint32_t>(s, 12) == 0);                 // little-endian records
  // GLOBAL: type 1, length 8, the two descriptors.
  CHECK(get<std::uint32_t>(s, 16) == 1);
  CHECK(get<std::uint32_t>(s, 20) == 8);
  CHECK(get<std::int32_t>(s, 24) == 60);
  CHECK(get<std::int32_t>(s, 28) == 61);
  // CONNECTION of dom0: id 1, ring, domid 0, no target, port 5, no pending data: 24 bytes.
  CHECK(get<std::uint32_t>(s, 32) == 2);
  CHECK(get<std::uint32_t>(s, 36) == 24);
  CHECK(get<std::uint32_t>(s, 40) == 1);
  CHECK(get<std::uint16_t>(s, 44) == 0);
  CHECK(get<std::uint16_t>(s, 48) == 0);
  CHECK(get<std::uint16_t>(s, 50) == domid_invalid);
  CHECK(get<std::uint32_t>(s, 52) == 5);
  CHECK(get<std::uint32_t>(s, 56) == 0);
  CHECK(get<std::uint32_t>(s, 60) == 0);
  // Every record's length is a multiple of 8 and the stream ends with an empty END record.
  std::size_t off = 16, records = 0;
  while (get<std::uint32_t>(s, off) != 0) {
    CHECK(get<std::uint32_t>(s, off + 4) % 8 == 0);
    off += 8 + get<std::uint32_t>(s, off + 4);
    ++records;
  }
  CHECK(records == 1 + 2 + 2 + 4);
  CHECK(off + 8 == s.size());
  CHECK(get<std::uint32_t>(s, off + 4) == 0);
}

TEST_CASE("a state stream reads back as written, values with NUL bytes included") {
  const state s = small_state();
  CHECK(read_state(write_state(s)) == s);
  state empty;
  CHECK(read_state(write_state(empty)) == empty);
}

TEST_CASE("a state that does not fit the format is refused before anything is written") {
  auto s = small_state();
  s.connections[1].conn_id = 1;
  CHECK(error_of([&] { (void)write_state(s); }) == "xenstore state: connection id 1 used twice");
  s = small_state();
  s.connections[0].conn_id = 0;
  CHECK(error_of([&] { (void)write_state(s); }) == "xenstore state: connection of domain 0 has id 0");
  s = small_state();
  s.watches.push_back({7, "x", "t"});
  CHECK(error_of([&] { (void)write_state(s); }) == "xenstore state: watch 'x' names connection 7, which is not in the state");
  s = small_state();
  s.nodes[1].value.assign(70000, 'x');
  CHECK(error_of([&] { (void)write_state(s); }).find("value of node '/local/domain/3/name' is 70000 bytes, the stream allows 65535") !=
        std::string::npos);
  s = small_state();
  s.nodes[1].perms[0].access = 'x';
  CHECK(error_of([&] { (void)write_state(s); }) == "xenstore state: node '/local/domain/3/name' has permission letter 'x'");
  s = small_state();
  s.nodes[0].perms.clear();
  CHECK(error_of([&] { (void)write_state(s); }) == "xenstore state: node '/local' has no owner");
}

TEST_CASE("a damaged state stream is refused with the offset of the damage") {
  const std::string good = write_state(small_state());
  CHECK(error_of([&] { (void)read_state("xenstorf" + good.substr(8)); }).find("not a xenstore state stream") != std::string::npos);
  CHECK(error_of([&] { (void)read_state(good.substr(0, 40)); }) == "xenstore state: at byte 32: truncated record body");
  std::string bad = good;
  bad[11] = 2;
  CHECK(error_of([&] { (void)read_state(bad); }).find("version is not 1") != std::string::npos);
  bad = good;
  bad[20] = 9;  // GLOBAL's length
  CHECK(error_of([&] { (void)read_state(bad); }).find("is not a multiple of 8") != std::string::npos);
}
