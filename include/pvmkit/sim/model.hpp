// The simulator's cost model: what one request costs the pVM, and how much more it costs when
// the CPU doing it, the guest's memory, the pVM's buffers and the device it drives sit on
// different NUMA nodes. docs/simulator.md gives every parameter's value and source.
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
  // Share spent on the device's side of the work (descriptor rings, doorbells, DMA'd data that
  // lands in the device socket's cache): it stretches with the distance from the CPU to the
  // device's node.
  double device_share = 0.1;
  // Latency of a memory access at SLIT distance 21 (one hop on a 2-socket machine) relative to a
  // local one; other distances scale linearly in (d - 10).
  double remote_latency = 1.75;
  // Requests a backend can hold queued per guest before the guest must wait or drop: a
  // one-page ring (Xen netif: 256 slots, blkif: 32 slots). 0 = unbounded.
  std::size_t net_ring_slots = 256;
  std::size_t block_ring_slots = 32;
};

// The model's real-valued parameters by name, with the range each may take: one table for the
// scenario reader ("model" object) and the CLI's --model overrides.
struct cost_model_field {
  const char* name;
  double cost_model::*member;
  double min;
  double max;
};
inline constexpr cost_model_field cost_model_fields[] = {
    {"net_packet_us", &cost_model::net_packet_us, 1e-3, 1e6},  // a nanosecond to a second per request
    {"block_request_us", &cost_model::block_request_us, 1e-3, 1e6},
    {"guest_memory_share", &cost_model::guest_memory_share, 0, 1},
    {"buffer_share", &cost_model::buffer_share, 0, 1},
    {"device_share", &cost_model::device_share, 0, 1},
    {"remote_latency", &cost_model::remote_latency, 1, 10},  // slower than local, never 10x
};
// What makes a model inconsistent, or "" when it is not.
[[nodiscard]] inline const char* cost_model_problem(const cost_model& m) noexcept {
  return m.guest_memory_share + m.buffer_share + m.device_share > 1
             ? "guest_memory_share + buffer_share + device_share must be at most 1 (they are shares of one request's cost)"
             : "";
}

// Relative memory latency at SLIT distance d: 1 when local (d = 10), remote_latency at d = 21,
// linear in between and beyond. The SLIT's own reading (d / 10) would be 2.1 at d = 21, more than
// 2-socket servers measure; see docs/simulator.md.
[[nodiscard]] constexpr double relative_latency(const cost_model& m, std::uint32_t d) noexcept {
  return 1 + (m.remote_latency - 1) * (static_cast<double>(d) - 10.0) / 11.0;
}

// Cost multiplier of a request run on node `cpu` for a guest homed on `home`, with the task's
// buffers spread over nodes as `buffer_share_per_node` (sums to 1) and driving a device on node
// `device` (invalid = none or unknown):
//   k = 1 + g (L(cpu, home) - 1) + b sum_m q(m) (L(cpu, m) - 1) + v (L(cpu, device) - 1)
// with L(x, y) = relative_latency(d(x, y)).
[[nodiscard]] inline double cost_multiplier(const cost_model& m, const topology& topo, node_id cpu, node_id home,
                                            std::span<const double> buffer_share_per_node,
                                            node_id device = node_id::invalid()) {
  double k = 1 + m.guest_memory_share * (relative_latency(m, topo.distance(cpu, home)) - 1);
  for (std::size_t n = 0; n < buffer_share_per_node.size(); ++n)
    if (buffer_share_per_node[n] > 0)
      k += m.buffer_share * buffer_share_per_node[n] *
           (relative_latency(m, topo.distance(cpu, node_id{static_cast<node_id::rep>(n)})) - 1);
  if (device.valid() && topo.has_node(device))
    k += m.device_share * (relative_latency(m, topo.distance(cpu, device)) - 1);
  return k;
}

}  // namespace pvmkit::sim
