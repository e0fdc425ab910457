// The flipping family: which pVM page a received packet is flipped to a guest in, or whether it
// is copied instead. Policies decide a whole batch in one call (erasure, if any, is per batch).
#pragma once

#include <pvmkit/backend/concepts.hpp>
#include <pvmkit/core/ids.hpp>
#include <pvmkit/core/result.hpp>
#include <pvmkit/flipping/page_pool.hpp>

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
  for (std::size_t i = 0; i < out.size(); ++i)
    if (!pools.has_node(replaced[i].node)) return unexpected{errc::unknown_node};
  return {};
}
// Moves the newest min(n, pool size) pages of `pool` into out[0..), newest first, as flips.
// Works on a run at once so the pool's size is read and written once per run, not per page.
inline std::size_t take_run(node_page_pool& pool, flip_choice* out, std::size_t n) noexcept {
  const std::size_t k = n < pool.size() ? n : pool.size();
  const auto top = pool.top(k);
  for (std::size_t j = 0; j < k; ++j) out[j] = flip_choice::flip(top[k - 1 - j]);
  pool.drop_top(k);
  return k;
}

// Length of the run of replaced pages from `from` on the same node, at most `limit`.
inline std::size_t same_node_run(std::span<const page_frame> replaced, std::size_t from, std::size_t limit) noexcept {
  const node_id n = replaced[from].node;
  std::size_t run = 1;
  while (run < limit && replaced[from + run].node == n) ++run;
  return run;
}
}  // namespace detail

}  // namespace pvmkit::flipping
