// Synthetic hosts for the placement and sizing benchmarks: 256 CPUs split into 2, 8 or 32 nodes,
// one pVM vCPU per CPU pinned to its node (a pVM sized like Xen's default, pinned per node) or, as
// the pVM boots, floating over every CPU; one NIC per node, and `guests` guests spread round-robin over the nodes, each served by a net
// backend (driving its node's NIC) and a block backend of 0.02 cores each: 164 cores of pVM work
// for 4096 guests, within the 205 cores of room at the default target utilisation.
#pragma once

#include <pvmkit/backend/mock.hpp>
#include <pvmkit/model/plan.hpp>
#include <pvmkit/topology/topology.hpp>

#include <cstddef>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace pvmkit::bench {

inline constexpr std::size_t host_cpus = 256;
inline constexpr double task_load = 0.02;

enum class pvm_boot { pinned, floating };

inline host_view synthetic_view(std::size_t nodes, std::size_t guests, pvm_boot pvm = pvm_boot::pinned) {
  using namespace pvmkit::literals;
  std::vector<device> nics;
  for (std::size_t n = 0; n < nodes; ++n)
    nics.push_back({"eth" + std::to_string(n), device_kind::network, node_id{static_cast<node_id::rep>(n)}});
  const std::size_t per_node = host_cpus / nodes;
  mock_host host{make_uniform_topology(nodes, per_node, 512_GiB, 21, nics), mock_pvm_spec{host_cpus, 4_GiB}};
  const auto topo = host.state().topo;
  for (std::size_t v = 0; v < host_cpus && pvm == pvm_boot::pinned; ++v)
    (void)host.set_vcpu_affinity(pvm_domain, vcpu_id{static_cast<vcpu_id::rep>(v)},
                                 topo->node(node_id{static_cast<node_id::rep>(v / per_node)}).cpus);
  for (std::size_t g = 0; g < guests; ++g) {
    const node_id home{static_cast<node_id::rep>(g % nodes)};
    const std::string name = "g" + std::to_string(g);
    const domain_id d = host.add_guest({name, 2, home, 64_MiB, {}, false});
    host.add_task({"vif" + std::to_string(d.value()) + ".0", task_kind::net_backend, d, "eth" + std::to_string(home.value()), task_load});
    host.add_task({"blkback." + std::to_string(d.value()), task_kind::block_backend, d, {}, task_load});
  }
  return host.state();
}

// Views are built once per shape and shared by every benchmark that needs them.
inline const host_view& cached_view(std::size_t nodes, std::size_t guests, pvm_boot pvm = pvm_boot::pinned) {
  static std::map<std::tuple<std::size_t, std::size_t, pvm_boot>, host_view> cache;
  const std::tuple key{nodes, guests, pvm};
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, synthetic_view(nodes, guests, pvm)).first;
  return it->second;
}

}  // namespace pvmkit::bench
