// The flipping family: which pVM page a received packet is flipped to a guest in, or whether it
// is copied instead. Policies decide a whole batch in one call (erasure, if any, is per batch).
#pragma once

#include <pvmkit/backend/concepts.hpp>
#include <pvmkit/core/ids.hpp>
#include <pvmkit/core/result.hpp>
#include <pvmkit/flipping/page_pool.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <span>
#include <string_view>

namespace pvmkit::flipping {

// The decision for one packet: flip `page` to the guest, or copy the packet into a posted buffer.
struct flip_choice {
  page_frame page;
  bool copy = false;

  static constexpr flip_choice flip(page_frame p) noexcept { return {p, false}; }
  static constexpr flip_choice copy_packet() noexcept { return {page_frame{}, true}; }
  friend constexpr bool operator==(const flip_choice&, const flip_choice&) = default;
};

// What the channel to a guest negotiated when it connected.
struct flip_request {
  domain_id guest;
  bool guest_recycles = false;  // informed flipping agreed: received pages become rx buffers again
};

// select(req, replaced, pools, out) decides out.size() packets. The k-th *flip* among out
// replaces replaced[k] (a copy consumes no posted buffer), so replaced must hold at least
// out.size() pages. Returns the number of flips; those pages have left the pools. Errors, with
// the pools untouched: out larger than replaced (invalid_argument), out larger than
// pools.max_batch() (over_capacity), a replaced page on a node the pools do not know
// (unknown_node). The call must not allocate or lock.
template <class P>
concept FlipPolicy = std::copyable<P> &&
    requires(const P& p, const flip_request& req, std::span<const page_frame> replaced, page_pools& pools,
             std::span<flip_choice> out) {
      { p.name() } -> std::convertible_to<std::string_view>;
      // False for a policy that never takes pages (grant copy): the driver then keeps no pools.
      { P::flips_pages } -> std::convertible_to<bool>;
      { p.select(req, replaced, pools, out) } -> std::same_as<result<std::size_t>>;
    };

namespace detail {
// The checks every policy makes before touching a pool, so that an error leaves them intact.
[[nodiscard]] inline result<void> check_batch(std::span<const page_frame> replaced, const page_pools& pools,
                                              std::span<const flip_choice> out) noexcept {
  if (out.size() > replaced.size()) return unexpected{errc::invalid_argument};
  if (out.size() > pools.max_batch()) return unexpected{errc::over_capacity};
  // The largest node id in one branch-free pass (an invalid id is the largest of all).
  node_id::rep worst = 0;
  for (std::size_t i = 0; i < out.size(); ++i) worst = std::max(worst, replaced[i].node.value());
  if (!out.empty() && !pools.has_node(node_id{worst})) return unexpected{errc::unknown_node};
  return {};
}
// Marks out[from..) as copies: once a pool is dry the posted buffer it failed stays first in
// line (a copy consumes none), so every later packet of the batch faces it and is copied too.
inline void copy_rest(std::span<flip_choice> out, std::size_t from) noexcept {
  for (std::size_t i = from; i < out.size(); ++i) out[i] = flip_choice::copy_packet();
}
}  // namespace detail

}  // namespace pvmkit::flipping
