// Baseline: what page flipping in Xen's netback did. The page handed to the guest is the one the
// NIC driver received the packet into, allocated by the pVM's kernel before it knew which guest
// the packet was for, and a PV dom0 kernel sees no NUMA topology: the page's node has nothing to
// do with the guest. Modelled as one global free list whose head comes from the node with the
// most free pVM pages (ties: lowest node id), i.e. pages are drawn in proportion to where the
// pVM's free memory is, whatever the guest's node.
#pragma once

#include <pvmkit/flipping/concepts.hpp>

namespace pvmkit::flipping {

struct xen_default_flip {
  static constexpr bool flips_pages = true;
  [[nodiscard]] static constexpr std::string_view name() noexcept { return "xen_default_flip"; }

  result<std::size_t> select(const flip_request&, std::span<const page_frame> replaced, page_pools& pools,
                             std::span<flip_choice> out) const noexcept {
    if (auto ok = detail::check_batch(replaced, pools, out); !ok) return unexpected{ok.error()};
    const std::size_t nodes = pools.node_count();
    std::size_t flips = 0;
    for (auto& choice : out) {
      std::size_t best = 0;
      for (std::size_t i = 1; i < nodes; ++i)
        if (pools[node_id{static_cast<node_id::rep>(i)}].size() > pools[node_id{static_cast<node_id::rep>(best)}].size())
          best = i;
      page_frame p;
      if (pools[node_id{static_cast<node_id::rep>(best)}].try_take(p)) {
        choice = flip_choice::flip(p);
        ++flips;
      } else {
        choice = flip_choice::copy_packet();  // every pool is empty
      }
    }
    return flips;
  }
};

static_assert(FlipPolicy<xen_default_flip>);

}  // namespace pvmkit::flipping
