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
    // Until the first copy, packet i flips and replaces replaced[i]. One pool access per page, in
    // whatever order the guest's buffers alternate between nodes.
    std::size_t i = 0;
    page_frame p;
    for (; i < out.size() && pools[replaced[i].node].try_take(p); ++i) out[i] = flip_choice::flip(p);
    detail::copy_rest(out, i);
    return i;
  }
};

static_assert(FlipPolicy<numa_local>);

}  // namespace pvmkit::flipping
