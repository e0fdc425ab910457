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
    std::size_t flips = 0;
    for (auto& choice : out) {
      const node_id want = replaced[flips].node;
      page_frame p;
      bool got = pools[want].try_take(p);
      // Local first; otherwise the next node in id order (distance does not matter: the page
      // stays in the ring and is flipped back out).
      for (std::size_t k = 1; !got && k < nodes; ++k)
        got = pools[node_id{static_cast<node_id::rep>((want.index() + k) % nodes)}].try_take(p);
      if (got) {
        choice = flip_choice::flip(p);
        ++flips;
      } else {
        choice = flip_choice::copy_packet();
      }
    }
    return flips;
  }
};

static_assert(FlipPolicy<informed>);

}  // namespace pvmkit::flipping
