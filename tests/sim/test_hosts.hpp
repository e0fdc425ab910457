// The small host the simulator's tests work on, where the right figures are known by hand.
#pragma once

#include <pvmkit/sim/scenario.hpp>

#include <utility>
#include <vector>

namespace pvmkit::sim::test {

// 2 nodes x 4 CPUs at distance 21, the NIC on node 0, rings unbounded so nothing is dropped.
inline scenario two_nodes(std::vector<guest_spec> guests, double duration = 20) {
  scenario s;
  s.name = "test";
  s.duration_s = duration;
  s.host.nodes = 2;
  s.host.cpus_per_node = 4;
  s.host.memory_per_node_gib = 16;
  s.host.devices = {{"eth0", device_kind::network, node_id{0}}};
  s.model.net_ring_slots = 0;
  s.model.block_ring_slots = 0;
  s.guests = std::move(guests);
  return s;
}

}  // namespace pvmkit::sim::test
