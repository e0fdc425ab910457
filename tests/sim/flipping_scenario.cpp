// The flipping scenario's vocabulary on its own: pages per packet, a guest's pages per node, and
// the checks a scenario must pass. Reading one from a file is tested in flipping_scenarios.cpp.
#include <pvmkit/sim/flipping_scenario.hpp>

#include "config_errors.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace pvmkit;
using namespace pvmkit::literals;
using namespace pvmkit::sim;
using pvmkit::test::error_of;

namespace {
flip_scenario small() {
  flip_scenario s{make_uniform_topology(2, 4, 8_GiB)};
  s.guests = {flip_guest{}};
  return s;
}
}  // namespace

TEST_CASE("pages_of: a packet takes whole 4 KiB pages") {
  CHECK(pages_of(1) == 1);
  CHECK(pages_of(1500) == 1);
  CHECK(pages_of(4096) == 1);
  CHECK(pages_of(4097) == 2);
  CHECK(pages_of(max_packet_bytes) == 16);
}

TEST_CASE("guest_pages_on: all at home, or as split; nothing on a node past the host's") {
  flip_guest g;
  g.home = node_id{1};
  g.memory = 1_GiB;
  CHECK(guest_pages_on(g, 1, 2) == (1ULL << 30) / 4096);
  CHECK(guest_pages_on(g, 0, 2) == 0);
  CHECK(guest_pages_on(g, 1, 1) == 0);  // its home is not on a one-node host
  g.memory_per_node = {bytes{8192}, bytes{4096}};
  CHECK(guest_pages_on(g, 0, 2) == 2);
  CHECK(guest_pages_on(g, 1, 2) == 1);
  CHECK(guest_pages_on(g, 2, 3) == 0);
}

TEST_CASE("check_flip_scenario: a valid scenario passes; each bad value is named") {
  CHECK_NOTHROW(check_flip_scenario(small()));
  auto s = small();
  s.guests.clear();
  CHECK(error_of([&] { check_flip_scenario(s); }) == "flipping scenario: no guests");
  s = small();
  s.packets_per_guest = 0;
  CHECK(error_of([&] { check_flip_scenario(s); }) == "flipping scenario: packets_per_guest must be at least 1");
  s = small();
  s.batch = 0;
  CHECK(error_of([&] { check_flip_scenario(s); }).find("batch (0) must be between 1 and pools.max_batch") != std::string::npos);
  s = small();
  s.rx_ring_slots = s.batch - 1;
  CHECK(error_of([&] { check_flip_scenario(s); }) == "flipping scenario: rx_ring_slots (63) must be at least batch (64)");
  s = small();
  s.delivery_interval_us = 0;
  CHECK(error_of([&] { check_flip_scenario(s); }) == "flipping scenario: delivery_interval_us must be positive");
}
