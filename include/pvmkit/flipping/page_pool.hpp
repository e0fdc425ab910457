// Per-node pools of free pVM pages for page flipping. Each node's pool is a fixed-capacity stack
// whose storage is reserved at construction, so taking and returning a page is O(1) and never
// allocates. Pools are not synchronised: a receive path (one per backend queue) owns its pools,
// which keeps the selection path free of locks.
#pragma once

#include <pvmkit/backend/concepts.hpp>
#include <pvmkit/core/error.hpp>
#include <pvmkit/core/ids.hpp>
#include <pvmkit/core/result.hpp>

#include <algorithm>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace pvmkit::flipping {

struct pool_config {
  std::size_t low_watermark = 256;    // below this a pool is refilled before selection
  std::size_t high_watermark = 2048;  // refills stop here; pages above it go back to the host
  std::size_t refill_batch = 512;     // at most this many pages per node-exact allocation call
  std::size_t max_batch = 256;        // the largest receive batch; capacity = high + max_batch
};

// The free pages of one node. Storage is fixed; the pool never grows.
class node_page_pool {
 public:
  node_page_pool(node_id node, std::size_t capacity) : node_(node), pages_(capacity) {}

  [[nodiscard]] node_id node() const noexcept { return node_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::size_t capacity() const noexcept { return pages_.size(); }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] std::span<const page_frame> contents() const noexcept { return {pages_.data(), size_}; }

  // The hot path: no checks beyond emptiness, nothing but a load and a decrement.
  bool try_take(page_frame& out) noexcept {
    if (size_ == 0) return false;
    out = pages_[--size_];
    return true;
  }

  // Rejects a page of another node and a full pool; the pool is untouched on error.
  result<void> put(const page_frame& p) noexcept {
    if (p.node != node_) return unexpected{errc::invalid_argument};
    if (size_ == pages_.size()) return unexpected{errc::over_capacity};
    pages_[size_++] = p;
    return {};
  }

  // Removes the newest `n` pages (n <= size()); they are the ones trim hands back to the host.
  std::span<const page_frame> top(std::size_t n) const noexcept { return {pages_.data() + (size_ - n), n}; }
  void drop_top(std::size_t n) noexcept { size_ -= n; }

 private:
  node_id node_;
  std::vector<page_frame> pages_;
  std::size_t size_ = 0;
};

struct pool_counters {
  std::size_t refill_calls = 0;
  std::size_t pages_allocated = 0;
  std::size_t trim_calls = 0;
  std::size_t pages_freed = 0;
};

// One pool per NUMA node. Every page in pool n is on node n (put rejects anything else), and a
// page is in at most one place: the pools own pVM pages between an allocation and a flip.
class page_pools {
 public:
  // Throws config_error for an unusable configuration (this is set-up, not the hot path).
  page_pools(std::size_t node_count, pool_config cfg) : cfg_(cfg), scratch_(cfg.refill_batch) {
    if (node_count == 0) throw config_error("page pools: need at least one NUMA node");
    if (cfg.max_batch == 0) throw config_error("page pools: max_batch must be at least 1");
    if (cfg.refill_batch == 0) throw config_error("page pools: refill_batch must be at least 1");
    if (cfg.low_watermark > cfg.high_watermark)
      throw config_error("page pools: low_watermark (" + std::to_string(cfg.low_watermark) +
                         ") is above high_watermark (" + std::to_string(cfg.high_watermark) + ")");
    pools_.reserve(node_count);
    for (std::size_t i = 0; i < node_count; ++i)
      pools_.emplace_back(node_id{static_cast<node_id::rep>(i)}, cfg.high_watermark + cfg.max_batch);
  }

  [[nodiscard]] const pool_config& config() const noexcept { return cfg_; }
  [[nodiscard]] std::size_t node_count() const noexcept { return pools_.size(); }
  [[nodiscard]] std::size_t max_batch() const noexcept { return cfg_.max_batch; }
  [[nodiscard]] bool has_node(node_id n) const noexcept { return n.index() < pools_.size(); }
  [[nodiscard]] const pool_counters& counters() const noexcept { return counters_; }

  // Unchecked access for the selection path: callers validate node ids once per batch.
  node_page_pool& operator[](node_id n) noexcept { return pools_[n.index()]; }
  const node_page_pool& operator[](node_id n) const noexcept { return pools_[n.index()]; }

  [[nodiscard]] std::size_t size(node_id n) const noexcept { return has_node(n) ? pools_[n.index()].size() : 0; }
  [[nodiscard]] std::size_t total_size() const noexcept {
    std::size_t t = 0;
    for (const auto& p : pools_) t += p.size();
    return t;
  }

  // Returns a page to the pool of its own node.
  result<void> put(const page_frame& p) noexcept {
    if (!has_node(p.node)) return unexpected{errc::unknown_node};
    return pools_[p.node.index()].put(p);
  }
  // Returns a page to the pool the caller names; a page of another node is rejected.
  result<void> put(node_id pool, const page_frame& p) noexcept {
    if (!has_node(pool)) return unexpected{errc::unknown_node};
    return pools_[pool.index()].put(p);
  }
  result<page_frame> take(node_id n) noexcept {
    if (!has_node(n)) return unexpected{errc::unknown_node};
    page_frame p;
    if (!pools_[n.index()].try_take(p)) return unexpected{errc::pool_exhausted};
    return p;
  }

  // Node-exact refill of pool n towards `want` pages (capped at the high watermark), at most
  // refill_batch pages per allocation call. A page the backend returns from another node is a
  // backend bug: everything from that call is freed again and the pool keeps what it had.
  // Returns how many pages were added; fewer than asked means the node has no more to give.
  template <FlipPoolControl B>
  result<std::size_t> refill(B& backend, node_id n, std::size_t want) {
    if (!has_node(n)) return unexpected{errc::unknown_node};
    auto& pool = pools_[n.index()];
    const std::size_t target = std::min(want, cfg_.high_watermark);
    std::size_t added = 0;
    while (pool.size() < target) {
      const std::size_t ask = std::min(target - pool.size(), cfg_.refill_batch);
      auto got = backend.allocate_node_pages(n, std::span<page_frame>{scratch_.data(), ask});
      ++counters_.refill_calls;
      if (!got) return added ? result<std::size_t>{added} : result<std::size_t>{unexpected{got.error()}};
      const std::span<const page_frame> fresh{scratch_.data(), *got};
      if (std::any_of(fresh.begin(), fresh.end(), [n](const page_frame& p) { return p.node != n; })) {
        (void)backend.free_pages(fresh);
        return unexpected{errc::backend_failure};
      }
      for (const auto& p : fresh) (void)pool.put(p);  // room: target <= high < capacity
      counters_.pages_allocated += *got;
      added += *got;
      if (*got < ask) break;
    }
    return added;
  }
  // Refills every pool below its low watermark up to the high watermark.
  template <FlipPoolControl B>
  result<void> refill_low(B& backend) {
    for (auto& pool : pools_)
      if (pool.size() < cfg_.low_watermark)
        if (auto r = refill(backend, pool.node(), cfg_.high_watermark); !r) return unexpected{r.error()};
    return {};
  }

  // Gives pages above the high watermark on node n back to the host. On failure the pool keeps
  // them (nothing is lost).
  template <FlipPoolControl B>
  result<std::size_t> trim(B& backend, node_id n) {
    if (!has_node(n)) return unexpected{errc::unknown_node};
    auto& pool = pools_[n.index()];
    if (pool.size() <= cfg_.high_watermark) return std::size_t{0};
    const std::size_t excess = pool.size() - cfg_.high_watermark;
    ++counters_.trim_calls;
    if (auto r = backend.free_pages(pool.top(excess)); !r) return unexpected{r.error()};
    pool.drop_top(excess);
    counters_.pages_freed += excess;
    return excess;
  }

  // Every page on its pool's node and no frame twice. O(n log n): for tests and debugging.
  [[nodiscard]] result<void> audit() const {
    std::vector<std::uint64_t> frames;
    for (const auto& pool : pools_)
      for (const auto& p : pool.contents()) {
        if (p.node != pool.node()) return unexpected{errc::invalid_state};
        frames.push_back(p.frame);
      }
    std::sort(frames.begin(), frames.end());
    if (std::adjacent_find(frames.begin(), frames.end()) != frames.end()) return unexpected{errc::invalid_state};
    return {};
  }

 private:
  pool_config cfg_;
  std::vector<node_page_pool> pools_;
  std::vector<page_frame> scratch_;  // the landing area of refill allocations, sized once
  pool_counters counters_;
};

}  // namespace pvmkit::flipping
