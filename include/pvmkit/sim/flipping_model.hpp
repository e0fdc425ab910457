// Simulated receive traffic delivered by page flipping: guests receive packets at a rate, a
// receive path with one of the flipping policies flips pages into them on the mock host, and the
// model follows, per guest, the share of its memory that ended up on remote nodes and the
// slowdown that share costs it. Every figure is MODELLED; docs/flipping.md gives the equations
// and the source of every parameter.
#pragma once

#include <pvmkit/backend/mock.hpp>
#include <pvmkit/core/error.hpp>
#include <pvmkit/core/json_writer.hpp>
#include <pvmkit/core/units.hpp>
#include <pvmkit/flipping/grant_copy.hpp>
#include <pvmkit/flipping/informed.hpp>
#include <pvmkit/flipping/numa_local.hpp>
#include <pvmkit/flipping/page_pool.hpp>
#include <pvmkit/flipping/receive_path.hpp>
#include <pvmkit/flipping/xen_default_flip.hpp>
#include <pvmkit/sim/svg_chart.hpp>
#include <pvmkit/topology/topology.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pvmkit::sim {

struct packet_size_share {
  std::uint32_t bytes = 1500;  // one packet fits one page: at most 4096
  double weight = 1;
};

struct flip_guest {
  std::string name;
  node_id home{0};
  bytes memory{1ULL << 30};
  std::vector<bytes> memory_per_node;  // for a guest split over nodes (overrides memory)
  // The guest's frontend can recycle received pages as receive buffers. It does so only when
  // the backend offers the feature, which only the informed policy does.
  bool supports_recycling = true;
  double packets_per_second = 100'000;
  std::vector<packet_size_share> sizes{{1500, 1.0}};
  // Share of the guest's run time that its memory accesses would stretch if all its memory were
  // remote at latency ratio 2 (see docs/flipping.md); 0 = compute bound, 1 = memory bound.
  double memory_intensity = 0.3;
};

// pVM CPU cost of delivering a packet (assumptions, see docs/flipping.md).
struct flip_costs {
  double flip_ns = 1500;          // per flipped page: page-table update, TLB flush, hypercall share
  double copy_fixed_ns = 300;     // per copied packet: grant-copy hypercall share
  double copy_ns_per_byte = 0.2;  // 5 bytes per ns: an uncontended memcpy of cache-cold data
};

struct flip_scenario {
  pvmkit::topology topo;
  bytes pvm_memory{2ULL << 30};
  std::vector<flip_guest> guests;
  std::uint64_t packets_per_guest = 1'000'000;
  std::size_t batch = 64;  // packets per delivery, at most pools.max_batch
  flipping::pool_config pools{};
  std::size_t samples = 50;  // points of each guest's time series after t = 0
  std::uint64_t seed = 1;
  flip_costs costs{};
};

struct flip_sample {
  double time_s = 0;
  std::uint64_t packets = 0;
  double remote_share = 0;      // of all the guest's pages, off its home node
  double app_remote_share = 0;  // the same, not counting pages held in the receive ring
  double slowdown = 0;          // modelled, relative to the same guest with all memory local
};

struct flip_guest_result {
  std::string name;
  node_id home;
  bool recycling = false;  // informed flipping was negotiated
  std::uint64_t packets = 0, flipped = 0, copied = 0, dropped = 0;
  std::uint64_t copied_bytes = 0;
  flip_sample start, end;
  std::vector<flip_sample> series;  // start, then `samples` points
  double pvm_cpu_seconds = 0;       // modelled cost of flips and copies for this guest
};

struct flip_report {
  std::string policy;
  bool modelled = true;
  std::vector<flip_guest_result> guests;
  flipping::pool_counters pools;
  double max_remote_share = 0;      // worst guest, at the end
  double max_app_remote_share = 0;  // worst guest, at the end
  double max_slowdown = 0;          // worst guest, at the end
  double pvm_cpu_seconds = 0;
};

[[nodiscard]] inline std::vector<std::string> flipping_policy_names() {
  return {"numa_local", "informed", "xen_default_flip", "grant_copy"};
}

// Two sockets of 8 cores and 16 GiB, SLIT 10/21; a 2 GiB pVM spread over both; one 1 GiB guest
// per node with different traffic. Values are illustrative (docs/flipping.md).
[[nodiscard]] inline flip_scenario default_flip_scenario() {
  using namespace pvmkit::literals;
  flip_scenario s{make_uniform_topology(2, 8, 16_GiB, 21)};
  s.pvm_memory = 2_GiB;
  s.guests.push_back({.name = "web",
                      .home = node_id{0},
                      .memory = 1_GiB,
                      .packets_per_second = 200'000,
                      .sizes = {{64, 0.3}, {576, 0.2}, {1500, 0.5}},
                      .memory_intensity = 0.3});
  s.guests.push_back({.name = "db",
                      .home = node_id{1},
                      .memory = 1_GiB,
                      .packets_per_second = 80'000,
                      .sizes = {{128, 0.5}, {4096, 0.5}},
                      .memory_intensity = 0.35});
  return s;
}

// Modelled slowdown of a guest whose home is `home` and whose application memory sits on the
// nodes in the proportions `share` (summing to 1):
//   slowdown = intensity * sum_n share[n] * (distance(home, n) / 10 - 1)
[[nodiscard]] inline double flip_slowdown(const pvmkit::topology& topo, node_id home, double intensity,
                                          const std::vector<double>& share) {
  double s = 0;
  for (std::size_t n = 0; n < share.size(); ++n)
    s += share[n] * (static_cast<double>(topo.distance(home, node_id{static_cast<node_id::rep>(n)})) /
                         static_cast<double>(local_distance) -
                     1.0);
  return intensity * s;
}

namespace detail {

inline void check_flip_scenario(const flip_scenario& s) {
  auto bad = [](const std::string& what) { throw config_error("flipping scenario: " + what); };
  if (s.guests.empty()) bad("no guests");
  if (s.packets_per_guest == 0) bad("packets_per_guest must be at least 1");
  if (s.batch == 0 || s.batch > s.pools.max_batch)
    bad("batch (" + std::to_string(s.batch) + ") must be between 1 and pools.max_batch (" +
        std::to_string(s.pools.max_batch) + ")");
  if (s.samples == 0) bad("samples must be at least 1");
  for (const auto& g : s.guests) {
    const std::string who = "guest '" + g.name + "': ";
    if (!(g.packets_per_second > 0)) bad(who + "packets_per_second must be positive");
    if (!(g.memory_intensity >= 0 && g.memory_intensity <= 1)) bad(who + "memory_intensity must be in [0, 1]");
    if (g.sizes.empty()) bad(who + "needs a packet size distribution");
    for (const auto& z : g.sizes) {
      if (z.bytes == 0 || z.bytes > page_size_bytes)
        bad(who + "packet size " + std::to_string(z.bytes) + " is not in 1..4096 (one packet per page)");
      if (!(z.weight > 0)) bad(who + "packet size weights must be positive");
    }
  }
}

// splitmix64: a tiny, portable generator so runs are identical across standard libraries.
struct flip_rng {
  std::uint64_t state;
  std::uint64_t next() noexcept {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
};

struct guest_run {
  domain_id id;
  flipping::flip_request req;
  std::vector<double> cumulative;  // of the size weights, normalised
  std::uint64_t sent = 0;
  std::uint64_t next_sample = 0;
  std::size_t sampled = 0;
};

inline flip_sample measure(mock_host& host, const flip_scenario& s, const flip_guest& g, domain_id id,
                           std::uint64_t packets) {
  const auto per_node = host.guest_pages_per_node(id).value();
  const auto ring = host.rx_buffer_pages_per_node(id);
  std::uint64_t total = 0, app_total = 0;
  for (std::size_t n = 0; n < per_node.size(); ++n) {
    total += per_node[n].count();
    app_total += per_node[n].count() - ring[n].count();
  }
  flip_sample out;
  out.packets = packets;
  out.time_s = static_cast<double>(packets) / g.packets_per_second;
  std::vector<double> app_share(per_node.size(), 0.0);
  for (std::size_t n = 0; n < per_node.size(); ++n) {
    if (app_total) app_share[n] = static_cast<double>(per_node[n].count() - ring[n].count()) / static_cast<double>(app_total);
    if (n == g.home.index()) continue;
    if (total) out.remote_share += static_cast<double>(per_node[n].count()) / static_cast<double>(total);
    out.app_remote_share += app_share[n];
  }
  out.slowdown = flip_slowdown(s.topo, g.home, g.memory_intensity, app_share);
  return out;
}

template <flipping::FlipPolicy P>
flip_report run_flipping_with(const flip_scenario& s, P policy) {
  check_flip_scenario(s);
  const bool offers_recycling = std::string_view{policy.name()} == "informed";
  mock_host host(s.topo, mock_pvm_spec{.memory = s.pvm_memory});
  std::vector<guest_run> runs;
  for (const auto& g : s.guests) {
    guest_run r;
    r.id = host.add_guest({.name = g.name,
                           .home = g.home,
                           .memory = g.memory,
                           .memory_per_node = g.memory_per_node,
                           .recycles_rx_pages = offers_recycling && g.supports_recycling});
    double sum = 0;
    for (const auto& z : g.sizes) sum += z.weight;
    double acc = 0;
    for (const auto& z : g.sizes) r.cumulative.push_back((acc += z.weight) / sum);
    runs.push_back(std::move(r));
  }
  flipping::receive_path<mock_host, P> path(host, policy, s.pools);
  if (auto ok = path.prime(); !ok) throw config_error("flipping scenario: priming the pools failed: " + ok.error().message());

  flip_report rep;
  rep.policy = std::string{policy.name()};
  for (std::size_t i = 0; i < runs.size(); ++i) {
    auto req = path.connect(runs[i].id);
    if (!req) throw config_error("flipping scenario: connecting guest '" + s.guests[i].name + "' failed");
    runs[i].req = *req;
    flip_guest_result res;
    res.name = s.guests[i].name;
    res.home = s.guests[i].home;
    res.recycling = req->guest_recycles;
    res.start = measure(host, s, s.guests[i], runs[i].id, 0);
    res.series.push_back(res.start);
    rep.guests.push_back(std::move(res));
  }
  const std::uint64_t per_sample = std::max<std::uint64_t>(1, s.packets_per_guest / s.samples);
  for (auto& r : runs) r.next_sample = per_sample;
  flip_rng rng{s.seed};

  // Batches in arrival order: a guest's next batch is complete when its last packet arrives.
  for (;;) {
    std::size_t next = runs.size();
    double when = std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < runs.size(); ++i) {
      if (runs[i].sent >= s.packets_per_guest) continue;
      const auto b = std::min<std::uint64_t>(s.batch, s.packets_per_guest - runs[i].sent);
      const double t = static_cast<double>(runs[i].sent + b) / s.guests[i].packets_per_second;
      if (t < when) when = t, next = i;
    }
    if (next == runs.size()) break;
    auto& r = runs[next];
    auto& res = rep.guests[next];
    const auto& g = s.guests[next];
    const auto b = static_cast<std::size_t>(std::min<std::uint64_t>(s.batch, s.packets_per_guest - r.sent));
    auto d = path.deliver(r.req, b);
    if (!d) throw config_error("flipping scenario: delivery to guest '" + g.name + "' failed: " + d.error().message());
    r.sent += b;
    res.packets += b;
    res.flipped += d->flipped;
    res.copied += d->copied;
    res.dropped += d->dropped;
    for (std::size_t k = 0; k < d->copied; ++k) {
      const double u = rng.uniform();
      std::size_t z = 0;
      while (z + 1 < r.cumulative.size() && u >= r.cumulative[z]) ++z;
      res.copied_bytes += g.sizes[z].bytes;
    }
    if (r.sent >= r.next_sample || r.sent == s.packets_per_guest) {
      res.series.push_back(measure(host, s, g, r.id, r.sent));
      r.next_sample += per_sample;
      host.clear_calls();  // the record of calls is for tests; a long run would only grow it
    }
  }
  for (auto& res : rep.guests) {
    res.end = res.series.back();
    res.pvm_cpu_seconds = (static_cast<double>(res.flipped) * s.costs.flip_ns +
                           static_cast<double>(res.copied) * s.costs.copy_fixed_ns +
                           static_cast<double>(res.copied_bytes) * s.costs.copy_ns_per_byte) *
                          1e-9;
    rep.max_remote_share = std::max(rep.max_remote_share, res.end.remote_share);
    rep.max_app_remote_share = std::max(rep.max_app_remote_share, res.end.app_remote_share);
    rep.max_slowdown = std::max(rep.max_slowdown, res.end.slowdown);
    rep.pvm_cpu_seconds += res.pvm_cpu_seconds;
  }
  rep.pools = path.pools().counters();
  return rep;
}

}  // namespace detail

// Runs the scenario with the named policy (one of flipping_policy_names()). Throws config_error
// for an unknown policy or a bad scenario, naming what is wrong.
[[nodiscard]] inline flip_report run_flipping(const flip_scenario& s, std::string_view policy) {
  if (policy == "numa_local") return detail::run_flipping_with(s, flipping::numa_local{});
  if (policy == "informed") return detail::run_flipping_with(s, flipping::informed{});
  if (policy == "xen_default_flip") return detail::run_flipping_with(s, flipping::xen_default_flip{});
  if (policy == "grant_copy") return detail::run_flipping_with(s, flipping::grant_copy{});
  std::string names;
  for (const auto& n : flipping_policy_names()) names += (names.empty() ? "" : ", ") + n;
  throw config_error("unknown flipping policy '" + std::string{policy} + "' (known: " + names + ")");
}

// A fixed-width comparison table, one row per guest and policy, labelled as modelled.
[[nodiscard]] inline std::string format_flip_table(const std::vector<flip_report>& reports) {
  std::string out = "Page flipping (MODELLED, see docs/flipping.md)\n";
  char line[256];
  std::snprintf(line, sizeof line, "%-18s %-8s %9s %9s %9s %10s %10s %9s %9s\n", "policy", "guest", "packets", "flipped",
                "copied", "remote %", "app rem %", "slowdn %", "pVM cpu s");
  out += line;
  for (const auto& r : reports)
    for (const auto& g : r.guests) {
      std::snprintf(line, sizeof line, "%-18s %-8s %9llu %9llu %9llu %10.3f %10.3f %9.3f %9.3f\n", r.policy.c_str(),
                    g.name.c_str(), static_cast<unsigned long long>(g.packets), static_cast<unsigned long long>(g.flipped),
                    static_cast<unsigned long long>(g.copied), 100 * g.end.remote_share, 100 * g.end.app_remote_share,
                    100 * g.end.slowdown, g.pvm_cpu_seconds);
      out += line;
    }
  return out;
}

// A plot panel: each policy's guest memory on remote nodes over the run (mean over its guests).
[[nodiscard]] inline chart_panel flip_panel(const std::vector<flip_report>& reports) {
  chart_panel p{"page flipping: guest memory on remote nodes (mean over guests)", "packets received per guest (millions)",
                "remote %", {}};
  for (const auto& r : reports) {
    if (r.guests.empty()) continue;
    chart_series s{r.policy, {}, false};
    for (std::size_t i = 0; i < r.guests.front().series.size(); ++i) {
      double share = 0;
      for (const auto& g : r.guests) share += i < g.series.size() ? g.series[i].remote_share : g.end.remote_share;
      s.points.emplace_back(static_cast<double>(r.guests.front().series[i].packets) / 1e6,
                            100 * share / static_cast<double>(r.guests.size()));
    }
    p.series.push_back(std::move(s));
  }
  return p;
}

inline void write_json(json_writer& w, const flip_report& r) {
  w.begin_object().field("policy", r.policy).field("modelled", r.modelled);
  w.field("max_remote_share", r.max_remote_share).field("max_app_remote_share", r.max_app_remote_share);
  w.field("max_slowdown", r.max_slowdown).field("pvm_cpu_seconds", r.pvm_cpu_seconds);
  w.key("pools").begin_object();
  w.field("refill_calls", std::uint64_t{r.pools.refill_calls}).field("pages_allocated", std::uint64_t{r.pools.pages_allocated});
  w.field("trim_calls", std::uint64_t{r.pools.trim_calls}).field("pages_freed", std::uint64_t{r.pools.pages_freed});
  w.end_object();
  w.key("guests").begin_array();
  for (const auto& g : r.guests) {
    w.begin_object().field("name", g.name).field("home", g.home.value()).field("recycling", g.recycling);
    w.field("packets", g.packets).field("flipped", g.flipped).field("copied", g.copied).field("dropped", g.dropped);
    w.field("copied_bytes", g.copied_bytes).field("pvm_cpu_seconds", g.pvm_cpu_seconds);
    w.key("series").begin_array();
    for (const auto& p : g.series)
      w.begin_object()
          .field("time_s", p.time_s)
          .field("packets", p.packets)
          .field("remote_share", p.remote_share)
          .field("app_remote_share", p.app_remote_share)
          .field("slowdown", p.slowdown)
          .end_object();
    w.end_array().end_object();
  }
  w.end_array().end_object();
}

}  // namespace pvmkit::sim
