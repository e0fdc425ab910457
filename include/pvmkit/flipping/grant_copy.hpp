// Baseline: no flipping at all. Every packet is copied into a buffer the guest posted (grant copy,
// what Xen's netback does since flipping was dropped), so guest memory never moves between nodes
// and the price is a copy per packet, paid by the pVM.
#pragma once

#include <pvmkit/flipping/concepts.hpp>

namespace pvmkit::flipping {

struct grant_copy {
  static constexpr bool flips_pages = false;
  [[nodiscard]] static constexpr std::string_view name() noexcept { return "grant_copy"; }

  result<std::size_t> select(const flip_request&, std::span<const page_frame> replaced, page_pools& pools,
                             std::span<flip_choice> out) const noexcept {
    if (auto ok = detail::check_batch(replaced, pools, out); !ok) return unexpected{ok.error()};
    for (auto& choice : out) choice = flip_choice::copy_packet();
    return std::size_t{0};
  }
};

static_assert(FlipPolicy<grant_copy>);

}  // namespace pvmkit::flipping
