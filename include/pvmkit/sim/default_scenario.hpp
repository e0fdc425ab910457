// The default scenario of `pvmkit simulate`, embedded so the command runs with no input. It is the
// same text as examples/scenarios/light.json (a test checks they stay equal).
#pragma once

#include <pvmkit/sim/scenario.hpp>
#include <pvmkit/sim/scenario_json.hpp>

#include <string_view>

namespace pvmkit::sim {

inline constexpr std::string_view default_scenario_json = R"pvmkit({
  "name": "light: 2-socket host, 16 mixed guests, a small flash crowd",
  "seed": 42,
  "duration_s": 300,
  "tick_s": 0.1,
  "control_period_s": 1,
  "host": {
    "nodes": 2,
    "cpus_per_node": 16,
    "memory_per_node_gib": 64,
    "distances": [[10, 21], [21, 10]],
    "devices": [{"name": "eth0", "kind": "network", "node": 0}]
  },
  "pvm": {"boot_vcpus": 0, "boot_memory_mib": 1024},
  "model": {
    "net_packet_us": 2.0,
    "block_request_us": 10.0,
    "guest_memory_share": 0.3,
    "buffer_share": 0.2,
    "net_ring_slots": 256,
    "block_ring_slots": 32
  },
  "guests": [
    {"name": "web-0", "home": 0, "vcpus": 4, "memory_gib": 4,
     "workload": {"kind": "steady", "net_pps": 250000, "block_iops": 1000}},
    {"name": "web-1", "home": 0, "vcpus": 4, "memory_gib": 4,
     "workload": {"kind": "steady", "net_pps": 250000, "block_iops": 1000}},
    {"name": "db-0", "home": 0, "vcpus": 8, "memory_gib": 8,
     "workload": {"kind": "steady", "net_pps": 50000, "block_iops": 20000}},
    {"name": "cache-0", "home": 0, "vcpus": 2, "memory_gib": 4,
     "workload": {"kind": "bursty", "net_pps": 100000, "block_iops": 200, "peak": 4, "on_probability": 0.25, "slot_s": 5}},
    {"name": "shop-0", "home": 0, "vcpus": 4, "memory_gib": 4,
     "workload": {"kind": "flash_crowd", "net_pps": 60000, "block_iops": 1000, "start_s": 100, "ramp_s": 10, "multiple": 8, "decay_s": 40}},
    {"name": "api-0", "home": 0, "vcpus": 4, "memory_gib": 4,
     "workload": {"kind": "diurnal", "net_pps": 300000, "block_iops": 2000, "amplitude": 0.6, "period_s": 300}},
    {"name": "batch-0", "home": 0, "vcpus": 2, "memory_gib": 2,
     "workload": {"kind": "steady", "net_pps": 20000, "block_iops": 10000}},
    {"name": "stream-0", "home": 0, "vcpus": 2, "memory_gib": 2,
     "workload": {"kind": "diurnal", "net_pps": 400000, "block_iops": 500, "amplitude": 0.4, "period_s": 300, "phase_s": 75}},
    {"name": "web-2", "home": 1, "vcpus": 4, "memory_gib": 4,
     "workload": {"kind": "steady", "net_pps": 250000, "block_iops": 1000}},
    {"name": "web-3", "home": 1, "vcpus": 4, "memory_gib": 4,
     "workload": {"kind": "steady", "net_pps": 250000, "block_iops": 1000}},
    {"name": "db-1", "home": 1, "vcpus": 8, "memory_gib": 8,
     "workload": {"kind": "steady", "net_pps": 50000, "block_iops": 20000}},
    {"name": "cache-1", "home": 1, "vcpus": 2, "memory_gib": 4,
     "workload": {"kind": "bursty", "net_pps": 100000, "block_iops": 200, "peak": 4, "on_probability": 0.25, "slot_s": 5}},
    {"name": "api-1", "home": 1, "vcpus": 4, "memory_gib": 4,
     "workload": {"kind": "diurnal", "net_pps": 300000, "block_iops": 2000, "amplitude": 0.6, "period_s": 300, "phase_s": 150}},
    {"name": "stream-1", "home": 1, "vcpus": 2, "memory_gib": 2,
     "workload": {"kind": "diurnal", "net_pps": 400000, "block_iops": 500, "amplitude": 0.4, "period_s": 300, "phase_s": 225}},
    {"name": "mail-1", "home": 1, "vcpus": 2, "memory_gib": 2,
     "workload": {"kind": "bursty", "net_pps": 30000, "block_iops": 3000, "peak": 3, "on_probability": 0.3, "slot_s": 10}},
    {"name": "log-1", "home": 1, "vcpus": 2, "memory_gib": 2,
     "workload": {"kind": "steady", "net_pps": 30000, "block_iops": 5000}}
  ]
}
)pvmkit";

[[nodiscard]] inline scenario default_scenario() { return parse_scenario(default_scenario_json, "<default scenario>"); }

}  // namespace pvmkit::sim
