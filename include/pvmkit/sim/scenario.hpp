// A simulation scenario: the host, the pVM at boot, the cost model, the guests and their
// workloads, and the clock (duration, tick, control period). Read from JSON by
// sim/scenario_json.hpp; the CLI's default is sim/default_scenario.hpp.
#pragma once

#include <pvmkit/core/error.hpp>
#include <pvmkit/core/ids.hpp>
#include <pvmkit/core/units.hpp>
#include <pvmkit/sim/flipping_scenario.hpp>
#include <pvmkit/sim/model.hpp>
#include <pvmkit/sim/workload.hpp>
#include <pvmkit/topology/topology.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pvmkit::sim {

struct host_spec {
  std::size_t nodes = 2;
  std::size_t cpus_per_node = 16;
  double memory_per_node_gib = 64;
  std::vector<std::uint32_t> distances;  // row-major nodes x nodes; empty = every remote pair at 21
  std::vector<device> devices;
};

struct pvm_boot_spec {
  std::size_t vcpus = 0;  // 0 = one per host CPU, as an unconfigured dom0 boots
  double memory_mib = 1024;
};

struct guest_spec {
  std::string name;
  node_id home{0};
  std::size_t vcpus = 2;
  double memory_gib = 4;
  std::string net_device = "eth0";  // "" = the guest has no net backend
  std::string block_device;         // "" = a block backend that drives no named device
  workload load = steady_load{};
};

struct scenario {
  std::string name = "unnamed";
  std::uint64_t seed = 1;
  double duration_s = 600;
  double tick_s = 0.1;
  double control_period_s = 1;
  host_spec host;
  pvm_boot_spec pvm;
  cost_model model;
  std::vector<guest_spec> guests;
  std::optional<flip_scenario> flipping;  // the "flipping" object: the page-flipping model's run

  [[nodiscard]] std::size_t ticks() const noexcept { return static_cast<std::size_t>(std::llround(duration_s / tick_s)); }
  [[nodiscard]] std::size_t ticks_per_control() const noexcept {
    return static_cast<std::size_t>(std::max(1LL, std::llround(control_period_s / tick_s)));
  }
};

[[nodiscard]] inline bytes gib_to_bytes(double gib) noexcept {
  return bytes{static_cast<std::uint64_t>(std::llround(gib * 1024.0)) << 20};
}

[[nodiscard]] inline topology make_topology(const host_spec& h) {
  std::vector<numa_node> ns;
  for (std::size_t i = 0; i < h.nodes; ++i)
    ns.push_back({node_id{static_cast<node_id::rep>(i)}, cpuset::range(i * h.cpus_per_node, (i + 1) * h.cpus_per_node),
                  gib_to_bytes(h.memory_per_node_gib), gib_to_bytes(h.memory_per_node_gib)});
  std::vector<std::uint32_t> d = h.distances;
  if (d.empty()) {
    d.assign(h.nodes * h.nodes, 21);
    for (std::size_t i = 0; i < h.nodes; ++i) d[i * h.nodes + i] = local_distance;
  }
  return topology{std::move(ns), std::move(d), h.devices};
}

}  // namespace pvmkit::sim
