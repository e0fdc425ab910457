// Mechanism 2, informed flipping: a guest that agreed (at connect time) to recycle the pages it
// receives by flipping as its next receive buffers keeps any page it is given inside its receive
// ring, so a remote page never reaches its applications. For such a guest a dry local pool is no
// reason to copy: a page from the nearest non-empty pool is flipped instead and will come back to
// the pVM with the next flip. A guest that did not agree gets plain numa_local.
#pragma once

#include <pvmkit/flipping/concepts.hpp>
#include <pvmkit/flipping/numa_local.hpp>

namespace pvmkit::flipping {

struct informed {
  static constexpr bool flips_pages = true;
  [[nodiscard]] static constexpr std::string_view name() noexcept { return "informed"; }

  result<std::size_t> select(const flip_request& req, std::span<const page_frame> replaced, page_pools& pools,
                             std::span<flip_choice> out) const noexcept {
    if (!req.guest_recycles) return numa_local{}.select(req, replaced, pools, out);
    if (auto ok = detail::check_batch(replaced, pools, out); !ok) return unexpected{ok.error()};
    const std::size_t nodes = pools.node_count();
    std::size_t flips = 0, i = 0;
    while (i < out.size()) {
      const node_id want = replaced[flips].node;
      const std::size_t run = detail::same_node_run(replaced, flips, out.size() - i);
      std::size_t k = detail::take_run(pools[want], out.data() + i, run);
      // Local first; then the other pools in id order (distance does not matter: the page stays
      // in the ring and is flipped back out).
      for (std::size_t step = 1; k < run && step < nodes; ++step)
        k += detail::take_run(pools[node_id{static_cast<node_id::rep>((want.index() + step) % nodes)}],
                              out.data() + i + k, run - k);
      flips += k;
      i += k;
      if (k < run) {  // every pool is dry
        for (; i < out.size(); ++i) out[i] = flip_choice::copy_packet();
      }
    }
    return flips;
  }
};

static_assert(FlipPolicy<informed>);

}  // namespace pvmkit::flipping
