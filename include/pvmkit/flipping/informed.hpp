// Mechanism 2, informed flipping: a guest that agreed (at connect time) to recycle the pages it
// receives by flipping as its next receive buffers keeps any page it is given inside its receive
// ring, so a remote page never reaches its applications. For such a guest a dry local pool is no
// reason to copy: a page from another non-empty pool is flipped instead and will come back to
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
    std::size_t i = 0;
    page_frame p;
    for (; i < out.size(); ++i) {
      const node_id want = replaced[i].node;  // until the first copy, packet i replaces replaced[i]
      if (!pools[want].try_take(p) && !take_elsewhere(pools, want, p)) break;
      out[i] = flip_choice::flip(p);
    }
    detail::copy_rest(out, i);
    return i;
  }

 private:
  // The other pools in id order after `want` (distance does not matter: the page stays in the
  // ring and is flipped back out). Off the common path: only when the local pool is dry.
  static bool take_elsewhere(page_pools& pools, node_id want, page_frame& p) noexcept {
    const std::size_t nodes = pools.node_count();
    for (std::size_t step = 1; step < nodes; ++step)
      if (pools[node_id{static_cast<node_id::rep>((want.index() + step) % nodes)}].try_take(p)) return true;
    return false;
  }
};

static_assert(FlipPolicy<informed>);

}  // namespace pvmkit::flipping
