// The host the page-flipping model runs on: free memory per node, the pVM's pages, and each
// guest's memory and network frontend. The frontend is the guest model of docs/flipping.md: it
// keeps `rx_ring_slots` receive buffers posted; of the pages it receives by flipping it posts
// again the share `recycle_share` (only once informed flipping is agreed) and gives the rest to
// its applications, replacing them with fresh buffers from `fresh_buffers`. What a guest posts
// next is therefore its own behaviour, not a rule of the host. Models FlipPoolControl so the
// real receive path and policies run on it; it has no vCPUs or memory targets to set.
#pragma once

#include <pvmkit/backend/concepts.hpp>
#include <pvmkit/model/host_view.hpp>
#include <pvmkit/core/error.hpp>
#include <pvmkit/core/ids.hpp>
#include <pvmkit/core/result.hpp>
#include <pvmkit/core/units.hpp>
#include <pvmkit/sim/flipping_scenario.hpp>
#include <pvmkit/topology/topology.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace pvmkit::sim {

class flip_host {
 public:
  // Builds the host of `s` (checked first). Guests advertise recycling only when the backend
  // offers informed flipping (`offers_recycling`) and their recycle_share is above 0.
  flip_host(const flip_scenario& s, bool offers_recycling)
      : topo_(std::make_shared<const pvmkit::topology>(s.topo)), slots_(s.rx_ring_slots) {
    check_flip_scenario(s);
    const std::size_t nodes = topo_->node_count();
    owner_.resize(nodes);
    pvm_pages_.assign(nodes, to_pages(s.pvm_memory / nodes).count());
    for (std::size_t n = 0; n < nodes; ++n) {
      std::uint64_t used = pvm_pages_[n];
      for (const auto& g : s.guests) used += guest_pages_on(g, n, nodes);
      const std::uint64_t left = to_pages(topo_->nodes()[n].memory).count() - used;  // checked above
      free_.push_back(s.free_memory.empty() ? left : to_pages(s.free_memory[n]).count());
    }
    for (std::size_t i = 0; i < s.guests.size(); ++i) {
      const auto& g = s.guests[i];
      guest_state st;
      st.id = domain_id{static_cast<domain_id::rep>(i + 1)};
      st.name = g.name;
      st.home = g.home;
      for (std::size_t n = 0; n < nodes; ++n) st.app_pages.push_back(guest_pages_on(g, n, nodes));
      st.ring_pages.assign(nodes, 0);
      st.recycle_share = g.recycle_share;
      st.recycles = offers_recycling && g.recycle_share > 0;
      st.source = g.fresh_buffers;
      guests_.push_back(std::move(st));
      post(guests_.back());
    }
  }

  [[nodiscard]] domain_id guest_id(std::size_t i) const { return guests_.at(i).id; }

  // Pages of guest d in its receive ring (posted buffers), per node: its applications never see them.
  [[nodiscard]] std::vector<pages> ring_pages_per_node(domain_id d) const {
    std::vector<pages> out;
    for (auto p : require(d).ring_pages) out.emplace_back(p);
    return out;
  }
  [[nodiscard]] std::uint64_t free_pages_on(node_id n) const { return free_.at(n.index()); }

  // ---- Backend ----------------------------------------------------------------------------------

  result<std::shared_ptr<const pvmkit::topology>> topology() { return topo_; }

  result<host_view> snapshot() {
    host_view v;
    v.topo = topo_;
    v.pvm.id = pvm_domain;
    v.pvm.name = "pvm";
    for (auto p : pvm_pages_) v.pvm.memory_per_node.push_back(pages{p}.to_bytes());
    for (const auto& g : guests_) {
      domain_state d;
      d.id = g.id;
      d.name = g.name;
      d.home_node = g.home;
      for (std::size_t n = 0; n < g.app_pages.size(); ++n)
        d.memory_per_node.push_back(pages{g.app_pages[n] + g.ring_pages[n]}.to_bytes());
      d.memory_target = d.memory();
      d.max_memory = d.memory_target;
      v.guests.push_back(std::move(d));
    }
    return v;
  }
  result<void> set_vcpu_affinity(domain_id, vcpu_id, const cpuset&) { return unexpected{errc::not_supported}; }
  result<void> set_vcpu_online(domain_id, vcpu_id, bool) { return unexpected{errc::not_supported}; }
  result<void> set_memory_target(domain_id, bytes) { return unexpected{errc::not_supported}; }
  result<void> set_node_affinity(domain_id, const nodeset&) { return unexpected{errc::not_supported}; }

  // ---- FlipPoolControl --------------------------------------------------------------------------

  result<std::size_t> allocate_node_pages(node_id n, std::span<page_frame> out) {
    if (!topo_->has_node(n)) return unexpected{errc::unknown_node};
    const auto k = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), free_[n.index()]));
    for (std::size_t i = 0; i < k; ++i) out[i] = new_frame(n, pvm_domain);
    free_[n.index()] -= k;
    pvm_pages_[n.index()] += k;
    return k;
  }

  result<void> free_pages(std::span<const page_frame> in) {
    for (const auto& p : in)
      if (!owned_by(p, pvm_domain)) return unexpected{errc::unknown_page};
    for (const auto& p : in) {
      owner_of(p) = no_owner;
      ++free_[p.node.index()];
      --pvm_pages_[p.node.index()];
    }
    return {};
  }

  result<std::size_t> posted_rx_pages(domain_id d, std::span<page_frame> out) {
    auto* g = find(d);
    if (!g) return unexpected{errc::unknown_domain};
    const std::size_t k = std::min(out.size(), g->ring.size());
    std::copy_n(g->ring.begin(), static_cast<std::ptrdiff_t>(k), out.begin());
    return k;
  }

  result<void> exchange_pages(domain_id d, std::span<const page_frame> in, std::span<page_frame> out) {
    auto* g = find(d);
    if (!g) return unexpected{errc::unknown_domain};
    if (out.size() != in.size() || in.size() > g->ring.size()) return unexpected{errc::invalid_argument};
    for (const auto& p : in)
      if (!owned_by(p, pvm_domain)) return unexpected{errc::unknown_page};
    for (std::size_t i = 0; i < in.size(); ++i) {
      out[i] = g->ring.front();
      g->ring.pop_front();
      const auto on = out[i].node.index(), to = in[i].node.index();
      owner_of(out[i]) = pvm_domain.value();
      --g->ring_pages[on];
      ++pvm_pages_[on];
      owner_of(in[i]) = d.value();
      --pvm_pages_[to];
      // The frontend: recycle this page as a buffer, or hand it to the applications. A running
      // credit turns the share into a deterministic sequence (share 0.5: every other page).
      g->credit += g->recycles ? g->recycle_share : 0.0;
      if (g->credit >= 1.0 - 1e-9) {
        g->credit -= 1.0;
        g->ring.push_back(in[i]);
        ++g->ring_pages[to];
      } else {
        ++g->app_pages[to];
      }
    }
    post(*g);
    return {};
  }

  result<std::vector<pages>> guest_pages_per_node(domain_id d) {
    auto* g = find(d);
    if (!g) return unexpected{errc::unknown_domain};
    std::vector<pages> out;
    for (std::size_t n = 0; n < g->app_pages.size(); ++n) out.emplace_back(g->app_pages[n] + g->ring_pages[n]);
    return out;
  }

  result<bool> guest_recycles_rx_pages(domain_id d) {
    auto* g = find(d);
    if (!g) return unexpected{errc::unknown_domain};
    return g->recycles;
  }

 private:
  static constexpr std::uint32_t no_owner = ~std::uint32_t{0};

  struct guest_state {
    domain_id id;
    std::string name;
    node_id home;
    std::vector<std::uint64_t> app_pages;   // per node: memory outside the receive ring
    std::vector<std::uint64_t> ring_pages;  // per node: posted buffers
    std::deque<page_frame> ring;            // posted buffers, in the order exchanges take them
    double recycle_share = 0;
    double credit = 0;
    bool recycles = false;
    buffer_source source = buffer_source::spread;
  };

  guest_state* find(domain_id d) noexcept {
    const auto i = d.index();
    return i >= 1 && i <= guests_.size() ? &guests_[i - 1] : nullptr;
  }
  const guest_state& require(domain_id d) const {
    const auto i = d.index();
    if (i < 1 || i > guests_.size()) throw config_error("flip host: domain " + std::to_string(d.value()) + " is not a guest");
    return guests_[i - 1];
  }

  // Tops the ring up with fresh buffers taken from the applications' memory.
  void post(guest_state& g) {
    while (g.ring.size() < slots_) {
      std::size_t n = g.home.index();
      if (g.source == buffer_source::spread || g.app_pages[n] == 0)
        n = static_cast<std::size_t>(std::max_element(g.app_pages.begin(), g.app_pages.end()) - g.app_pages.begin());
      if (g.app_pages[n] == 0) return;  // no memory left to post (the scenario check rules this out)
      --g.app_pages[n];
      ++g.ring_pages[n];
      g.ring.push_back(new_frame(node_id{static_cast<node_id::rep>(n)}, g.id));
    }
  }

  // Frames are numbered per node, the node in the high bits, so a frame's node is never ambiguous.
  page_frame new_frame(node_id n, domain_id owner) {
    auto& o = owner_[n.index()];
    o.push_back(owner.value());
    return {(std::uint64_t{n.value()} << 40) | (o.size() - 1), n};
  }
  std::uint32_t& owner_of(const page_frame& p) { return owner_[p.node.index()][p.frame & ((std::uint64_t{1} << 40) - 1)]; }
  bool owned_by(const page_frame& p, domain_id d) const {
    if (!topo_->has_node(p.node) || (p.frame >> 40) != p.node.value()) return false;
    const auto& o = owner_[p.node.index()];
    const auto i = p.frame & ((std::uint64_t{1} << 40) - 1);
    return i < o.size() && o[i] == d.value();
  }

  std::shared_ptr<const pvmkit::topology> topo_;
  std::size_t slots_;
  std::vector<std::uint64_t> free_;
  std::vector<std::uint64_t> pvm_pages_;
  std::vector<guest_state> guests_;  // guests_[i] is domain i + 1
  std::vector<std::vector<std::uint32_t>> owner_;  // per node, per frame: owning domain
};

static_assert(FlipPoolControl<flip_host>);

}  // namespace pvmkit::sim
