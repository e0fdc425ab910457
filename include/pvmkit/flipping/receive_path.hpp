// Delivers batches of received packets to a guest by page flipping: peek at the buffers the guest
// posted, make sure the pools can serve them (node-exact refills, trims), let the policy choose,
// exchange pages through the backend, and put the guest pages received in exchange back into the
// pools of their own nodes. Every buffer is sized at construction, so a delivery allocates only
// what the backend itself allocates.
#pragma once

#include <pvmkit/backend/concepts.hpp>
#include <pvmkit/core/error.hpp>
#include <pvmkit/core/result.hpp>
#include <pvmkit/flipping/concepts.hpp>
#include <pvmkit/flipping/page_pool.hpp>

#include <algorithm>
#include <cstddef>
#include <span>
#include <vector>

namespace pvmkit::flipping {

struct delivery {
  std::size_t flipped = 0;
  std::size_t copied = 0;
  std::size_t dropped = 0;  // the guest had no buffer posted for them
};

template <FlipPoolControl B, FlipPolicy P>
class receive_path {
 public:
  // Throws config_error for a bad pool configuration; queries the topology once.
  receive_path(B& backend, P policy, pool_config cfg = {})
      : backend_(&backend), policy_(policy), pools_(node_count_of(backend), cfg), replaced_(cfg.max_batch),
        choices_(cfg.max_batch), give_(cfg.max_batch), got_(cfg.max_batch), demand_(pools_.node_count()) {}

  [[nodiscard]] const page_pools& pools() const noexcept { return pools_; }
  [[nodiscard]] page_pools& pools() noexcept { return pools_; }
  [[nodiscard]] const P& policy() const noexcept { return policy_; }
  // The decisions of the last successful delivery, one per posted buffer it used, in order.
  [[nodiscard]] std::span<const flip_choice> last_choices() const noexcept { return {choices_.data(), last_}; }

  // Fills every pool to its high watermark (a no-op for a policy that never flips).
  result<void> prime() {
    if constexpr (!P::flips_pages) return {};
    for (std::size_t i = 0; i < pools_.node_count(); ++i)
      if (auto r = pools_.refill(*backend_, node_id{static_cast<node_id::rep>(i)}, pools_.config().high_watermark); !r)
        return unexpected{r.error()};
    return {};
  }

  // Feature negotiation when the guest's channel connects: informed flipping needs the guest's
  // word that it recycles received pages.
  result<flip_request> connect(domain_id guest) {
    auto recycles = backend_->guest_recycles_rx_pages(guest);
    if (!recycles) return unexpected{recycles.error()};
    return flip_request{guest, *recycles};
  }

  // Delivers `packets` packets (at most pool_config::max_batch). On error nothing changed in the
  // pools and no page changed hands.
  result<delivery> deliver(const flip_request& req, std::size_t packets) {
    last_ = 0;
    if (packets > pools_.max_batch()) return unexpected{errc::over_capacity};
    auto posted = backend_->posted_rx_pages(req.guest, std::span<page_frame>{replaced_.data(), packets});
    if (!posted) return unexpected{posted.error()};
    const std::size_t n = *posted;
    const std::span<const page_frame> replaced{replaced_.data(), n};
    for (const auto& p : replaced)
      if (!pools_.has_node(p.node)) return unexpected{errc::unknown_node};
    delivery d;
    d.dropped = packets - n;
    if constexpr (P::flips_pages) {
      if (auto r = prepare(replaced); !r) return unexpected{r.error()};
    }
    const std::span<flip_choice> choices{choices_.data(), n};
    auto flips = policy_.select(req, replaced, pools_, choices);
    if (!flips) return unexpected{flips.error()};
    std::size_t k = 0;
    for (const auto& c : choices)
      if (!c.copy) give_[k++] = c.page;
    d.flipped = *flips;
    d.copied = n - *flips;
    if (k == 0) {
      last_ = n;
      return d;
    }
    const std::span<const page_frame> give{give_.data(), k};
    const std::span<page_frame> got{got_.data(), k};
    if (auto r = backend_->exchange_pages(req.guest, give, got); !r) {
      // Back where they came from, in reverse, which restores each pool's exact order.
      for (std::size_t i = k; i-- > 0;) (void)pools_.put(give[i]);
      return unexpected{r.error()};
    }
    // The page received for replaced[i] is replaced[i] itself: it lands in its own node's pool.
    // prepare() made room for it, so put cannot fail here.
    for (const auto& p : got) (void)pools_.put(p);
    last_ = n;
    return d;
  }

 private:
  static std::size_t node_count_of(B& backend) {
    auto topo = backend.topology();
    if (!topo) throw config_error("receive path: the backend did not report a topology: " + topo.error().message());
    return (*topo)->node_count();
  }

  // Before selection: each node's pool should hold as many pages as this batch replaces on that
  // node (refill node-exactly; a shortfall is left to the policy, which copies), and leave room
  // for as many received pages (trim to the high watermark when over it).
  result<void> prepare(std::span<const page_frame> replaced) {
    std::fill(demand_.begin(), demand_.end(), std::size_t{0});
    for (const auto& p : replaced) ++demand_[p.node.index()];
    // Trims first: a failed trim then leaves the pools exactly as they were.
    for (std::size_t i = 0; i < demand_.size(); ++i) {
      const node_id node{static_cast<node_id::rep>(i)};
      if (pools_[node].size() + demand_[i] > pools_[node].capacity())
        if (auto r = pools_.trim(*backend_, node); !r) return unexpected{r.error()};
    }
    for (std::size_t i = 0; i < demand_.size(); ++i) {
      const node_id node{static_cast<node_id::rep>(i)};
      auto& pool = pools_[node];
      if (pool.size() < demand_[i] || pool.size() < pools_.config().low_watermark)
        (void)pools_.refill(*backend_, node, std::max(demand_[i], pools_.config().high_watermark));
    }
    return {};
  }

  B* backend_;
  P policy_;
  page_pools pools_;
  std::vector<page_frame> replaced_;
  std::vector<flip_choice> choices_;
  std::vector<page_frame> give_, got_;
  std::vector<std::size_t> demand_;
  std::size_t last_ = 0;
};

}  // namespace pvmkit::flipping
