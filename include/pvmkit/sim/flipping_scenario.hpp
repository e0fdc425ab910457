// What the page-flipping model runs: the host, the pVM, the guests (traffic and the behaviour of
// their network frontends), the receive path's batching and pools, and the cost of a flip and of
// a copy. Read from a scenario file's optional "flipping" object by read_flip_scenario.
// docs/flipping.md gives the source or the sensitivity range of every value.
#pragma once

#include <pvmkit/core/error.hpp>
#include <pvmkit/core/ids.hpp>
#include <pvmkit/core/units.hpp>
#include <pvmkit/flipping/page_pool.hpp>
#include <pvmkit/topology/topology.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pvmkit::sim {

struct packet_size_share {
  std::uint32_t bytes = 1500;  // up to 65536: a jumbo frame or a GSO/LRO aggregate spans pages
  double weight = 1;
};

inline constexpr std::uint32_t max_packet_bytes = 65536;

[[nodiscard]] constexpr std::size_t pages_of(std::uint32_t packet_bytes) noexcept {
  return static_cast<std::size_t>((packet_bytes + page_size_bytes - 1) / page_size_bytes);
}

// Where a guest's allocator finds a fresh receive buffer (one that is not a recycled page).
enum class buffer_source {
  spread,  // no vNUMA (a PV guest's default): from its memory wherever it is, the node holding most first
  home,    // a NUMA-aware allocator: from its home node while it has memory there
};

struct flip_guest {
  std::string name;
  node_id home{0};
  bytes memory{1ULL << 30};
  std::vector<bytes> memory_per_node;  // for a guest split over nodes (overrides memory)
  double packets_per_second = 100'000;
  std::vector<packet_size_share> sizes{{1500, 1.0}};
  // Share of the guest's run time that its memory accesses would stretch if all its memory were
  // remote at latency ratio 2 (see docs/flipping.md); 0 = compute bound, 1 = memory bound.
  double memory_intensity = 0.3;
  // The frontend: of the pages it receives by flipping, the share it posts again as receive
  // buffers once informed flipping is agreed (1 = every page comes back, as with a driver-private
  // page pool; 0 = the guest does not recycle and does not advertise the feature). The rest go
  // to its applications and are replaced by fresh buffers from `fresh_buffers`.
  double recycle_share = 1.0;
  buffer_source fresh_buffers = buffer_source::spread;
};

// pVM CPU cost of delivering received pages (docs/flipping.md, "Costs": source or range of each).
struct flip_costs {
  double flip_page_ns = 700;      // per flipped page: ownership transfer, P2M/M2P updates, remap
  double flip_batch_ns = 2000;    // per delivery that flips: the TLB flush of the pVM's vCPUs, the hypercall
  double copy_op_ns = 300;        // per copied page: one grant-copy op (grant checks, page references)
  double copy_batch_ns = 500;     // per delivery that copies: the GNTTABOP_copy hypercall
  double copy_ns_per_byte = 0.26;  // a cache-cold copy at 3.8 GB/s (measured, docs/flipping.md)
};

struct flip_scenario {
  pvmkit::topology topo;
  std::string name = "default";
  bytes pvm_memory{2ULL << 30};
  // Free memory of each node when the run starts (what pools can be refilled from); the rest,
  // beyond the pVM and the guests, is held by domains that receive nothing. Empty = all of it.
  std::vector<bytes> free_memory;
  std::vector<flip_guest> guests;
  std::uint64_t packets_per_guest = 1'000'000;
  std::size_t batch = 64;              // most pages per delivery: NAPI's poll weight
  double delivery_interval_us = 50;    // packets arriving within this interval form one delivery
  std::size_t rx_ring_slots = 256;     // receive buffers a guest keeps posted (netif.h, 4 KiB pages)
  flipping::pool_config pools{};
  std::size_t samples = 50;  // points of each guest's time series after t = 0
  std::uint64_t seed = 1;
  flip_costs costs{};
};

// Pages guest g holds on node n when the run starts.
[[nodiscard]] inline std::uint64_t guest_pages_on(const flip_guest& g, std::size_t n, std::size_t nodes) noexcept {
  if (!g.memory_per_node.empty()) return n < g.memory_per_node.size() ? to_pages(g.memory_per_node[n]).count() : 0;
  return n == g.home.index() && n < nodes ? to_pages(g.memory).count() : 0;
}

// Throws config_error naming what is wrong.
inline void check_flip_scenario(const flip_scenario& s) {
  auto bad = [](const std::string& what) { throw config_error("flipping scenario: " + what); };
  if (s.guests.empty()) bad("no guests");
  if (s.packets_per_guest == 0) bad("packets_per_guest must be at least 1");
  if (s.batch == 0 || s.batch > s.pools.max_batch)
    bad("batch (" + std::to_string(s.batch) + ") must be between 1 and pools.max_batch (" + std::to_string(s.pools.max_batch) + ")");
  if (s.rx_ring_slots < s.batch)
    bad("rx_ring_slots (" + std::to_string(s.rx_ring_slots) + ") must be at least batch (" + std::to_string(s.batch) + ")");
  if (!(s.delivery_interval_us > 0)) bad("delivery_interval_us must be positive");
  if (s.samples == 0) bad("samples must be at least 1");
  if (!s.free_memory.empty() && s.free_memory.size() != s.topo.node_count())
    bad("free memory is given for " + std::to_string(s.free_memory.size()) + " nodes, the host has " +
        std::to_string(s.topo.node_count()));
  const auto& c = s.costs;
  for (double v : {c.flip_page_ns, c.flip_batch_ns, c.copy_op_ns, c.copy_batch_ns, c.copy_ns_per_byte})
    if (!(v >= 0) || !std::isfinite(v)) bad("costs must be finite and not negative");
  for (const auto& g : s.guests) {
    const std::string who = "guest '" + g.name + "': ";
    if (!s.topo.has_node(g.home)) bad(who + "home node " + std::to_string(g.home.value()) + " does not exist");
    if (!g.memory_per_node.empty() && g.memory_per_node.size() != s.topo.node_count())
      bad(who + "memory per node has " + std::to_string(g.memory_per_node.size()) + " entries for " +
          std::to_string(s.topo.node_count()) + " nodes");
    std::uint64_t total = 0;
    for (std::size_t n = 0; n < s.topo.node_count(); ++n) total += guest_pages_on(g, n, s.topo.node_count());
    if (total < s.rx_ring_slots)
      bad(who + "has " + std::to_string(total) + " pages, fewer than the " + std::to_string(s.rx_ring_slots) +
          " receive buffers it keeps posted");
    if (!(g.packets_per_second > 0)) bad(who + "packets_per_second must be positive");
    if (!(g.memory_intensity >= 0 && g.memory_intensity <= 1)) bad(who + "memory_intensity must be in [0, 1]");
    if (!(g.recycle_share >= 0 && g.recycle_share <= 1)) bad(who + "recycle_share must be in [0, 1]");
    if (g.sizes.empty()) bad(who + "needs a packet size distribution");
    for (const auto& z : g.sizes) {
      if (z.bytes == 0 || z.bytes > max_packet_bytes)
        bad(who + "packet size " + std::to_string(z.bytes) + " is not in 1..65536");
      if (pages_of(z.bytes) > s.batch)
        bad(who + "a packet of " + std::to_string(z.bytes) + " bytes needs more pages than a delivery holds (batch " +
            std::to_string(s.batch) + ")");
      if (!(z.weight > 0)) bad(who + "packet size weights must be positive");
    }
  }
  // Every node holds its share of the pVM, its guests' memory and the free memory asked for.
  const std::size_t nodes = s.topo.node_count();
  for (std::size_t n = 0; n < nodes; ++n) {
    std::uint64_t need = to_pages(s.pvm_memory / nodes).count();
    for (const auto& g : s.guests) need += guest_pages_on(g, n, nodes);
    if (!s.free_memory.empty()) need += to_pages(s.free_memory[n]).count();
    const std::uint64_t has = to_pages(s.topo.nodes()[n].memory).count();
    if (need > has)
      bad("node " + std::to_string(n) + " has " + std::to_string(has) + " pages, the pVM, the guests" +
          (s.free_memory.empty() ? "" : " and the free memory asked for") + " need " + std::to_string(need));
  }
}

// Decodes a scenario file's "flipping" object on the host the file describes. `Field` is the
// scenario reader's field cursor (object / at / has / items / number / integer / string / fail),
// so every error names the file, the line and the field.
template <class Field>
[[nodiscard]] flip_scenario read_flip_scenario(const Field& f, pvmkit::topology topo, std::string name) {
  f.object({"name", "pvm_memory_mib", "free_mib_per_node", "packets_per_guest", "batch", "delivery_interval_us", "rx_ring_slots",
            "pools", "samples", "seed", "costs", "guests"});
  flip_scenario s{std::move(topo)};
  s.name = f.has("name") ? f.at("name").string() : std::move(name);
  const std::size_t nodes = s.topo.node_count();
  auto mib = [](double m) { return bytes{static_cast<std::uint64_t>(std::llround(m * 1024.0 * 1024.0))}; };
  auto size = [](const Field& x, std::uint64_t lo, std::uint64_t hi) { return static_cast<std::size_t>(x.integer(lo, hi)); };
  auto per_node = [&](const Field& x) {
    const auto items = x.items();
    if (items.size() != nodes)
      x.fail("expected " + std::to_string(nodes) + " entries (one per node), found " + std::to_string(items.size()));
    std::vector<bytes> out;
    for (const auto& i : items) out.push_back(mib(i.number(0, 1e9)));
    return out;
  };
  if (f.has("pvm_memory_mib")) s.pvm_memory = mib(f.at("pvm_memory_mib").number(0, 1e9, true));
  if (f.has("free_mib_per_node")) s.free_memory = per_node(f.at("free_mib_per_node"));
  if (f.has("packets_per_guest")) s.packets_per_guest = f.at("packets_per_guest").integer(1, 100'000'000);
  if (f.has("pools")) {
    const Field p = f.at("pools");
    p.object({"low_watermark", "high_watermark", "refill_batch", "max_batch"});
    if (p.has("low_watermark")) s.pools.low_watermark = size(p.at("low_watermark"), 0, 1u << 24);
    if (p.has("high_watermark")) s.pools.high_watermark = size(p.at("high_watermark"), 1, 1u << 24);
    if (p.has("refill_batch")) s.pools.refill_batch = size(p.at("refill_batch"), 1, 1u << 24);
    if (p.has("max_batch")) s.pools.max_batch = size(p.at("max_batch"), 1, 1u << 16);
    if (s.pools.low_watermark > s.pools.high_watermark) p.fail("low_watermark is above high_watermark");
  }
  if (f.has("batch")) s.batch = size(f.at("batch"), 1, s.pools.max_batch);
  if (f.has("rx_ring_slots")) s.rx_ring_slots = size(f.at("rx_ring_slots"), s.batch, 1u << 16);
  if (f.has("delivery_interval_us")) s.delivery_interval_us = f.at("delivery_interval_us").number(0, 1e6, true);
  if (f.has("samples")) s.samples = size(f.at("samples"), 1, 10'000);
  if (f.has("seed")) s.seed = f.at("seed").integer(0, std::uint64_t{1} << 53);
  if (f.has("costs")) {
    const Field c = f.at("costs");
    c.object({"flip_page_ns", "flip_batch_ns", "copy_op_ns", "copy_batch_ns", "copy_ns_per_byte"});
    for (auto [key, dst] : {std::pair{"flip_page_ns", &s.costs.flip_page_ns}, std::pair{"flip_batch_ns", &s.costs.flip_batch_ns},
                            std::pair{"copy_op_ns", &s.costs.copy_op_ns}, std::pair{"copy_batch_ns", &s.costs.copy_batch_ns},
                            std::pair{"copy_ns_per_byte", &s.costs.copy_ns_per_byte}})
      if (c.has(key)) *dst = c.at(key).number(0, 1e9);
  }
  const Field gs = f.at("guests");
  const auto guests = gs.items();
  if (guests.empty()) gs.fail("needs at least one guest");
  for (const auto& g : guests) {
    g.object({"name", "home", "memory_mib", "memory_mib_per_node", "packets_per_second", "sizes", "memory_intensity",
              "recycle_share", "fresh_buffers"});
    flip_guest fg;
    fg.name = g.at("name").string();
    if (fg.name.empty()) g.at("name").fail("must not be empty");
    for (const auto& other : s.guests)
      if (other.name == fg.name) g.at("name").fail("guest '" + fg.name + "' is defined twice");
    const Field hf = g.at("home");
    const auto home = hf.integer(0, 1u << 20);
    if (home >= nodes) hf.fail("node " + std::to_string(home) + " does not exist (the host has " + std::to_string(nodes) + " nodes)");
    fg.home = node_id{static_cast<node_id::rep>(home)};
    if (g.has("memory_mib") && g.has("memory_mib_per_node")) g.fail("give memory_mib or memory_mib_per_node, not both");
    if (g.has("memory_mib")) fg.memory = mib(g.at("memory_mib").number(0, 1e9, true));
    if (g.has("memory_mib_per_node")) fg.memory_per_node = per_node(g.at("memory_mib_per_node"));
    fg.packets_per_second = g.at("packets_per_second").number(0, 1e9, true);
    if (g.has("sizes")) {
      fg.sizes.clear();
      const auto zs = g.at("sizes").items();
      if (zs.empty()) g.at("sizes").fail("needs at least one packet size");
      for (const auto& z : zs) {
        z.object({"bytes", "weight"});
        packet_size_share p;
        p.bytes = static_cast<std::uint32_t>(z.at("bytes").integer(1, max_packet_bytes));
        if (pages_of(p.bytes) > s.batch)
          z.at("bytes").fail("needs " + std::to_string(pages_of(p.bytes)) + " pages, more than a delivery holds (batch " +
                             std::to_string(s.batch) + ")");
        if (z.has("weight")) p.weight = z.at("weight").number(0, 1e9, true);
        fg.sizes.push_back(p);
      }
    }
    if (g.has("memory_intensity")) fg.memory_intensity = g.at("memory_intensity").number(0, 1);
    if (g.has("recycle_share")) fg.recycle_share = g.at("recycle_share").number(0, 1);
    if (g.has("fresh_buffers")) {
      const Field b = g.at("fresh_buffers");
      if (b.string() == "spread") fg.fresh_buffers = buffer_source::spread;
      else if (b.string() == "home") fg.fresh_buffers = buffer_source::home;
      else b.fail("unknown source '" + b.string() + "' (expected spread or home)");
    }
    s.guests.push_back(std::move(fg));
  }
  try {
    check_flip_scenario(s);
  } catch (const config_error& e) {
    f.fail(e.what());
  }
  return s;
}

}  // namespace pvmkit::sim
