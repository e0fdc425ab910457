// Pools for the flipping tests: pages whose frame number carries their node, stocked pools, and
// what each node's pool holds, for comparing pools before and after a call.
#pragma once

#include <pvmkit/flipping/page_pool.hpp>

#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace pvmkit::test {

// Frames carry their node in the high bits, like the mock's.
inline page_frame page(std::uint32_t node, std::uint64_t i) { return {(std::uint64_t{node} << 40) | i, node_id{node}}; }

// Pools holding per_node[n] pages on node n (frames from 1000 up), taking at most max_batch a call.
inline flipping::page_pools stocked(std::vector<std::size_t> per_node, std::size_t max_batch = 64) {
  flipping::page_pools pools(per_node.size(), flipping::pool_config{.low_watermark = 0, .high_watermark = 256,
                                                                    .refill_batch = 16, .max_batch = max_batch});
  for (std::uint32_t n = 0; n < per_node.size(); ++n)
    for (std::size_t i = 0; i < per_node[n]; ++i) REQUIRE(pools.put(page(n, 1000 + i)));
  return pools;
}

// A guest's posted receive buffers, the i-th on nodes[i] (frames from 500000 up).
inline std::vector<page_frame> guest_buffers(std::vector<std::uint32_t> nodes) {
  std::vector<page_frame> out;
  for (std::size_t i = 0; i < nodes.size(); ++i) out.push_back(page(nodes[i], 500000 + i));
  return out;
}

inline std::vector<std::vector<page_frame>> contents(const flipping::page_pools& pools) {
  std::vector<std::vector<page_frame>> out;
  for (std::size_t i = 0; i < pools.node_count(); ++i) {
    auto c = pools[node_id{static_cast<node_id::rep>(i)}].contents();
    out.emplace_back(c.begin(), c.end());
  }
  return out;
}

}  // namespace pvmkit::test
