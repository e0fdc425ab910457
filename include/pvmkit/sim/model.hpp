// The simulator's cost model: what one request costs the pVM, and how much more it costs when
// the CPU doing it, the guest's memory and the pVM's buffers sit on different NUMA nodes.
// docs/simulator.md gives every parameter's value and source.
#pragma once

#include <pvmkit/topology/topology.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

namespace pvmkit::sim {

struct cost_model {
  // pVM CPU time per request when everything is local (assumptions; see docs/simulator.md).
  double net_packet_us = 2.0;
  double block_request_us = 10.0;
  // Shares of a request's local cost spent on memory accesses to the guest's pages (copying
  // payload in or out) and to the pVM's own buffers; each share stretches by the relative
  // latency of the access (SLIT distance / 10) when it is remote.
  double guest_memory_share = 0.3;
  double buffer_share = 0.2;
  // Requests a backend can hold queued per guest before the guest must wait or drop: a
  // one-page ring (Xen netif: 256 slots, blkif: 32 slots). 0 = unbounded.
  std::size_t net_ring_slots = 256;
  std::size_t block_ring_slots = 32;
};

// Relative memory latency at SLIT distance d: the ACPI SLIT defines distances relative to 10
// for local access.
[[nodiscard]] constexpr double relative_latency(std::uint32_t d) noexcept { return static_cast<double>(d) / 10.0; }

// Cost multiplier of a request run on node `cpu` for a guest homed on `home`, with the task's
// buffers spread over nodes as `buffer_share_per_node` (sums to 1):
//   k = 1 + g (d(cpu, home)/10 - 1) + b sum_m q(m) (d(cpu, m)/10 - 1)
[[nodiscard]] inline double cost_multiplier(const cost_model& m, const topology& topo, node_id cpu, node_id home,
                                            std::span<const double> buffer_share_per_node) {
  double k = 1 + m.guest_memory_share * (relative_latency(topo.distance(cpu, home)) - 1);
  for (std::size_t n = 0; n < buffer_share_per_node.size(); ++n)
    if (buffer_share_per_node[n] > 0)
      k += m.buffer_share * buffer_share_per_node[n] *
           (relative_latency(topo.distance(cpu, node_id{static_cast<node_id::rep>(n)})) - 1);
  return k;
}

}  // namespace pvmkit::sim
