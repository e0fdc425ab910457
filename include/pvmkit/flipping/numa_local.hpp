// Mechanism 1 of NUMA-aware flipping: the page flipped to a guest comes from the pool of the node
// of the guest page it replaces, so the guest's pages stay on the nodes they were on. When that
// pool is dry the packet is copied (the driver refills pools node-exactly before selecting, so
// this happens only when the node has no free memory left).
#pragma once

#include <pvmkit/flipping/concepts.hpp>

namespace pvmkit::flipping {

struct numa_local {
  static constexpr bool flips_pages = true;
  [[nodiscard]] static constexpr std::string_view name() noexcept { return "numa_local"; }

  result<std::size_t> select(const flip_request&, std::span<const page_frame> replaced, page_pools& pools,
                             std::span<flip_choice> out) const noexcept {
    if (auto ok = detail::check_batch(replaced, pools, out); !ok) return unexpected{ok.error()};
    // Packets go in runs of buffers on one node: one pool access per run, not per page.
    std::size_t flips = 0, i = 0;
    while (i < out.size()) {
      const std::size_t run = detail::same_node_run(replaced, flips, out.size() - i);
      const std::size_t k = detail::take_run(pools[replaced[flips].node], out.data() + i, run);
      flips += k;
      i += k;
      // A copy leaves replaced[flips] posted, so every remaining packet faces the same dry pool.
      if (k < run) {
        for (; i < out.size(); ++i) out[i] = flip_choice::copy_packet();
      }
    }
    return flips;
  }
};

static_assert(FlipPolicy<numa_local>);

}  // namespace pvmkit::flipping
