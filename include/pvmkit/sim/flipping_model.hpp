// Simulated receive traffic delivered by page flipping: guests receive packets at a rate, a
// receive path with one of the flipping policies flips pages into them (or copies) on the flip
// host, whose guest model decides what each guest posts next, and the model follows, per guest,
// the share of its memory that ended up on remote nodes, the slowdown that share costs it, and
// the pVM CPU the deliveries cost. Every figure is MODELLED; docs/flipping.md gives the equations
// and the source or sensitivity range of every parameter.
#pragma once

#include <pvmkit/core/error.hpp>
#include <pvmkit/core/json_writer.hpp>
#include <pvmkit/core/random.hpp>
#include <pvmkit/core/units.hpp>
#include <pvmkit/flipping/grant_copy.hpp>
#include <pvmkit/flipping/informed.hpp>
#include <pvmkit/flipping/numa_local.hpp>
#include <pvmkit/flipping/page_pool.hpp>
#include <pvmkit/flipping/receive_path.hpp>
#include <pvmkit/flipping/xen_default_flip.hpp>
#include <pvmkit/runtime/policy_spec.hpp>
#include <pvmkit/sim/flip_host.hpp>
#include <pvmkit/sim/flipping_scenario.hpp>
#include <pvmkit/sim/svg_chart.hpp>
#include <pvmkit/topology/topology.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pvmkit::sim {

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
  std::uint64_t packets = 0;
  // In pages (a packet of more than 4096 bytes spans several): flipped + copied + dropped = pages.
  std::uint64_t pages = 0, flipped = 0, copied = 0, dropped = 0;
  std::uint64_t copied_bytes = 0;
  std::uint64_t deliveries = 0;
  flip_sample start, end;
  std::vector<flip_sample> series;  // start, then `samples` points
  double pvm_cpu_seconds = 0;       // modelled cost of this guest's flips and copies
};

struct flip_report {
  std::string scenario;
  std::string policy;
  bool modelled = true;
  std::vector<flip_guest_result> guests;
  flipping::pool_counters pools;
  double max_remote_share = 0;      // worst guest, at the end
  double max_app_remote_share = 0;  // worst guest, at the end
  double max_slowdown = 0;          // worst guest, at the end
  // Worst guest's growth over the run (end - start): what flipping moved, for guests that start
  // split over nodes as for guests that start local.
  double max_remote_gain = 0;
  double max_app_remote_gain = 0;
  double pvm_cpu_seconds = 0;
  std::uint64_t copied = 0;  // pages, all guests
};


// Two sockets of 8 cores and 16 GiB, SLIT 10/21, a 2 GiB pVM, and three guests that show where
// each policy wins: `web` (node 0, 1500-byte MTU: a copy is cheaper than a flip), `backup`
// (node 0, 16 KiB LRO aggregates, a stock frontend that does not recycle: flipping whole pages
// is cheaper) and `nfs` (node 1, 9000-byte jumbo frames, on a node with no free memory left:
// numa_local must copy, informed keeps flipping). Rates and sizes are illustrative; costs as
// documented in docs/flipping.md.
[[nodiscard]] inline flip_scenario default_flip_scenario() {
  using namespace pvmkit::literals;
  flip_scenario s{make_uniform_topology(2, 8, 16_GiB, 21)};
  s.name = "default";
  s.pvm_memory = 2_GiB;
  s.free_memory = {8_GiB, 0_GiB};
  s.guests.push_back({.name = "web",
                      .home = node_id{0},
                      .memory = 1_GiB,
                      .packets_per_second = 200'000,
                      .sizes = {{64, 0.3}, {576, 0.2}, {1500, 0.5}},
                      .memory_intensity = 0.3});
  s.guests.push_back({.name = "backup",
                      .home = node_id{0},
                      .memory = 1_GiB,
                      .packets_per_second = 100'000,
                      .sizes = {{16384, 1.0}},
                      .memory_intensity = 0.2,
                      .recycle_share = 0.0});
  s.guests.push_back({.name = "nfs",
                      .home = node_id{1},
                      .memory = 2_GiB,
                      .packets_per_second = 300'000,
                      .sizes = {{9000, 1.0}},
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

// Pages a guest's deliveries carry: its packets arriving within one delivery interval, at least
// one page and at most the batch.
[[nodiscard]] inline double mean_pages_per_packet(const flip_guest& g) noexcept {
  double pages = 0, weight = 0;
  for (const auto& z : g.sizes) pages += z.weight * static_cast<double>(pages_of(z.bytes)), weight += z.weight;
  return weight > 0 ? pages / weight : 1.0;
}

[[nodiscard]] inline std::size_t delivery_pages(const flip_scenario& s, const flip_guest& g) {
  const double per_interval = g.packets_per_second * mean_pages_per_packet(g) * s.delivery_interval_us * 1e-6;
  return std::clamp<std::size_t>(static_cast<std::size_t>(std::llround(per_interval)), 1, s.batch);
}

// pVM CPU of one delivery of `flips` flipped pages and `copies` copied pages holding `bytes`.
[[nodiscard]] inline double delivery_cost_ns(const flip_costs& c, std::size_t flips, std::size_t copies,
                                             std::uint64_t bytes) noexcept {
  double ns = static_cast<double>(flips) * c.flip_page_ns + static_cast<double>(copies) * c.copy_op_ns +
              static_cast<double>(bytes) * c.copy_ns_per_byte;
  if (flips) ns += c.flip_batch_ns;
  if (copies) ns += c.copy_batch_ns;
  return ns;
}

// The page size (bytes of packet data in one page) above which flipping a page costs the pVM less
// than copying it, for deliveries of `pages` pages (docs/flipping.md, "Crossover"):
//   flip_page + flip_batch / B  <  copy_op + s * copy_per_byte + copy_batch / B
//   s* = (flip_page - copy_op + (flip_batch - copy_batch) / B) / copy_per_byte
// Above page_size_bytes flipping never wins; infinity when copying costs nothing per byte.
[[nodiscard]] inline double flip_crossover_bytes(const flip_costs& c, std::size_t pages) noexcept {
  const double fixed = c.flip_page_ns - c.copy_op_ns + (c.flip_batch_ns - c.copy_batch_ns) / static_cast<double>(pages);
  if (c.copy_ns_per_byte <= 0) return fixed <= 0 ? 0.0 : std::numeric_limits<double>::infinity();
  return std::max(0.0, fixed / c.copy_ns_per_byte);
}

namespace detail {

// A guest's packets, drawn from its size distribution, cut into pages.
class page_stream {
 public:
  page_stream(const flip_guest& g, std::uint64_t packets, std::uint64_t seed) : g_(&g), left_(packets), rng_{seed} {
    double sum = 0;
    for (const auto& z : g.sizes) sum += z.weight;
    double acc = 0;
    for (const auto& z : g.sizes) cumulative_.push_back((acc += z.weight) / sum);
  }
  [[nodiscard]] bool done() const noexcept { return left_ == 0 && rest_ == 0; }
  [[nodiscard]] std::uint64_t packets_started() const noexcept { return started_; }
  // Bytes the next page carries; call only when !done().
  std::uint32_t next_page() noexcept {
    if (rest_ == 0) {
      const double u = rng_.uniform();
      std::size_t z = 0;
      while (z + 1 < cumulative_.size() && u >= cumulative_[z]) ++z;
      rest_ = g_->sizes[z].bytes;
      --left_;
      ++started_;
    }
    const auto take = static_cast<std::uint32_t>(std::min<std::uint64_t>(rest_, page_size_bytes));
    rest_ -= take;
    return take;
  }

 private:
  const flip_guest* g_;
  std::vector<double> cumulative_;
  std::uint64_t left_;
  std::uint64_t rest_ = 0;
  std::uint64_t started_ = 0;
  splitmix64 rng_;
};

inline flip_sample measure(flip_host& host, const flip_scenario& s, const flip_guest& g, domain_id id,
                           std::uint64_t packets) {
  const auto per_node = host.guest_pages_per_node(id).value();
  const auto ring = host.ring_pages_per_node(id);
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

struct guest_run {
  domain_id id;
  flipping::flip_request req;
  page_stream stream;
  std::size_t pages_per_delivery;
  double pages_per_second;
  std::uint64_t pages_sent = 0;
  std::uint64_t next_sample = 0;
};

template <flipping::FlipPolicy P>
flip_report run_flipping_with(const flip_scenario& s, P policy) {
  check_flip_scenario(s);
  flip_host host(s, std::string_view{policy.name()} == "informed");  // only informed offers recycling
  flipping::receive_path<flip_host, P> path(host, policy, s.pools);
  if (auto ok = path.prime(); !ok) throw config_error("flipping scenario: priming the pools failed: " + ok.error().message());

  flip_report rep;
  rep.scenario = s.name;
  rep.policy = std::string{policy.name()};
  std::vector<guest_run> runs;
  const std::uint64_t per_sample = std::max<std::uint64_t>(1, s.packets_per_guest / s.samples);
  for (std::size_t i = 0; i < s.guests.size(); ++i) {
    const auto& g = s.guests[i];
    const domain_id id = host.guest_id(i);
    auto req = path.connect(id);
    if (!req) throw config_error("flipping scenario: connecting guest '" + g.name + "' failed");
    runs.push_back({id, *req, page_stream(g, s.packets_per_guest, s.seed * 7919 + i), delivery_pages(s, g),
                    g.packets_per_second * mean_pages_per_packet(g), 0, per_sample});
    flip_guest_result res;
    res.name = g.name;
    res.home = g.home;
    res.recycling = req->guest_recycles;
    res.start = measure(host, s, g, id, 0);
    res.series.push_back(res.start);
    rep.guests.push_back(std::move(res));
  }

  // Deliveries in arrival order: a guest's next delivery is complete when its last page arrives.
  std::vector<std::uint32_t> page_bytes(s.batch);
  for (;;) {
    std::size_t next = runs.size();
    double when = std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < runs.size(); ++i) {
      if (runs[i].stream.done()) continue;
      const double t = static_cast<double>(runs[i].pages_sent + runs[i].pages_per_delivery) / runs[i].pages_per_second;
      if (t < when) when = t, next = i;
    }
    if (next == runs.size()) break;
    auto& r = runs[next];
    auto& res = rep.guests[next];
    const auto& g = s.guests[next];
    std::size_t n = 0;
    while (n < r.pages_per_delivery && !r.stream.done()) page_bytes[n++] = r.stream.next_page();
    auto d = path.deliver(r.req, n);
    if (!d) throw config_error("flipping scenario: delivery to guest '" + g.name + "' failed: " + d.error().message());
    std::uint64_t bytes = 0;
    const auto choices = path.last_choices();
    for (std::size_t k = 0; k < choices.size(); ++k)
      if (choices[k].copy) bytes += page_bytes[k];
    res.pvm_cpu_seconds += delivery_cost_ns(s.costs, d->flipped, d->copied, bytes) * 1e-9;
    r.pages_sent += n;
    res.pages += n;
    res.packets = r.stream.packets_started();
    res.flipped += d->flipped;
    res.copied += d->copied;
    res.dropped += d->dropped;
    res.copied_bytes += bytes;
    ++res.deliveries;
    if (res.packets >= r.next_sample || r.stream.done()) {
      res.series.push_back(measure(host, s, g, r.id, res.packets));
      while (r.next_sample <= res.packets) r.next_sample += per_sample;
    }
  }
  for (auto& res : rep.guests) {
    res.end = res.series.back();
    rep.max_remote_share = std::max(rep.max_remote_share, res.end.remote_share);
    rep.max_app_remote_share = std::max(rep.max_app_remote_share, res.end.app_remote_share);
    rep.max_slowdown = std::max(rep.max_slowdown, res.end.slowdown);
    rep.max_remote_gain = std::max(rep.max_remote_gain, res.end.remote_share - res.start.remote_share);
    rep.max_app_remote_gain = std::max(rep.max_app_remote_gain, res.end.app_remote_share - res.start.app_remote_share);
    rep.pvm_cpu_seconds += res.pvm_cpu_seconds;
    rep.copied += res.copied;
  }
  rep.pools = path.pools().counters();
  return rep;
}

}  // namespace detail

// The flipping policies the model runs, one row each (runtime/policy_spec.hpp): a row makes the
// function that runs a scenario with its policy.
using flip_runner = flip_report (*)(const flip_scenario&);

namespace detail {
template <class P>
flip_report run_with(const flip_scenario& s) {
  return run_flipping_with(s, P{});
}
template <class P>
flip_runner flip_row(runtime::detail::parsed_spec& s) {
  runtime::detail::no_options(s);
  return &run_with<P>;
}
}  // namespace detail

inline constexpr runtime::registry_row<flip_runner> flipping_rows[] = {
    {"numa_local", &detail::flip_row<flipping::numa_local>},
    {"informed", &detail::flip_row<flipping::informed>},
    {"xen_default_flip", &detail::flip_row<flipping::xen_default_flip>},
    {"grant_copy", &detail::flip_row<flipping::grant_copy>},
};

[[nodiscard]] inline std::vector<std::string> flipping_policy_names() { return runtime::detail::names_of(flipping_rows); }

// Runs the scenario with the named policy (one of flipping_policy_names()). Throws config_error
// for an unknown policy or a bad scenario, naming what is wrong.
[[nodiscard]] inline flip_report run_flipping(const flip_scenario& s, std::string_view policy) {
  return runtime::detail::make_from(flipping_rows, policy, "flipping")(s);
}

// ---- what a user should pick, and the flipping targets --------------------------------------------

// A policy keeps a guest's memory where it was while flipping moves less than this share of it
// to remote nodes over the run (the targets' 1 %).
inline constexpr double local_enough = 0.01;

struct flip_pick {
  std::string policy;  // empty when no report keeps the memory local
  std::string reason;
};

namespace detail {
// Simpler first: a tie (within 1 % of pVM CPU) goes to the policy that asks least of the host
// and the guest: no flipping at all, then flipping without a guest change, then informed.
inline int simplicity(std::string_view p) noexcept {
  if (p == "grant_copy") return 0;
  if (p == "numa_local") return 1;
  if (p == "informed") return 2;
  return 3;
}
inline std::string pct(double share) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f %%", 100 * share);
  return b;
}
inline std::string secs(double s) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3g s", s);
  return b;
}
// Picks among `reports` using cpu(r) and remote(r) for one guest or for all of them.
template <class Cpu, class Remote>
flip_pick pick(const std::vector<flip_report>& reports, Cpu cpu, Remote remote) {
  const flip_report* best = nullptr;
  for (const auto& r : reports) {
    if (remote(r) >= local_enough) continue;
    if (!best || cpu(r) < cpu(*best) * 0.99 ||
        (cpu(r) <= cpu(*best) * 1.01 && simplicity(r.policy) < simplicity(best->policy)))
      best = &r;
  }
  if (!best) return {"", "every policy moves application memory to remote nodes"};
  std::string why = "least pVM CPU (" + secs(cpu(*best)) + ") of the policies that keep application memory in place";
  for (const auto& r : reports) {
    if (&r == best) continue;
    why += "; " + r.policy + " ";
    if (remote(r) >= local_enough) why += "moves " + pct(remote(r)) + " remote";
    else why += secs(cpu(r));
  }
  return {best->policy, why};
}
}  // namespace detail

// The policy a user should pick for this scenario: the least modelled pVM CPU among the
// policies that keep every guest's application memory in place (its remote share grows by less
// than 1 % of its memory over the run); ties (within 1 %) go to the simpler policy.
// Documented in docs/flipping.md.
[[nodiscard]] inline flip_pick recommend_flip_policy(const std::vector<flip_report>& reports) {
  return detail::pick(reports, [](const flip_report& r) { return r.pvm_cpu_seconds; },
                      [](const flip_report& r) { return r.max_app_remote_gain; });
}
// The same for guest number `guest` alone.
[[nodiscard]] inline flip_pick recommend_flip_policy(const std::vector<flip_report>& reports, std::size_t guest) {
  return detail::pick(reports, [guest](const flip_report& r) { return r.guests.at(guest).pvm_cpu_seconds; },
                      [guest](const flip_report& r) {
                        const auto& g = r.guests.at(guest);
                        return g.end.app_remote_share - g.start.app_remote_share;
                      });
}

// One flipping target (docs/flipping.md), evaluated on a flipping run (modelled).
struct flip_target {
  std::string name;
  double value = 0;
  double threshold = 0;
  bool met = false;
};

// The targets, for the reports of one scenario (one report per policy):
// * per mechanism (numa_local, informed) present: the worst guest's remote share of all its
//   memory, receive ring included, gained over the run, below 1 % (value and threshold in
//   percent; for a guest that starts local this is its remote share);
// * when both are present and numa_local copied (pool pressure): informed's copied pages of the
//   guests that negotiated recycling, as a fraction of numa_local's for the same guests, at most
//   1/10.
[[nodiscard]] inline std::vector<flip_target> flip_targets(const std::vector<flip_report>& reports) {
  std::vector<flip_target> out;
  const flip_report* local = nullptr;
  const flip_report* inf = nullptr;
  for (const auto& r : reports) {
    if (r.policy == "numa_local") local = &r;
    if (r.policy == "informed") inf = &r;
  }
  for (const auto* r : {local, inf}) {
    if (!r) continue;
    std::uint64_t packets = std::numeric_limits<std::uint64_t>::max();
    for (const auto& g : r->guests) packets = std::min(packets, g.packets);
    out.push_back({r->scenario + ": " + r->policy + " remote share of guest memory gained after " + std::to_string(packets) +
                       " packets per guest (%)",
                   100 * r->max_remote_gain, 1.0, r->max_remote_gain < local_enough});
  }
  if (local && inf && local->guests.size() == inf->guests.size()) {
    std::uint64_t local_copies = 0, inf_copies = 0;
    for (std::size_t i = 0; i < inf->guests.size(); ++i)
      if (inf->guests[i].recycling) local_copies += local->guests[i].copied, inf_copies += inf->guests[i].copied;
    if (local_copies > 0)
      out.push_back({inf->scenario + ": informed copies / numa_local copies under pool pressure (recycling guests)",
                     static_cast<double>(inf_copies) / static_cast<double>(local_copies), 0.1,
                     static_cast<double>(inf_copies) * 10 <= static_cast<double>(local_copies)});
  }
  return out;
}

[[nodiscard]] inline std::string format_flip_targets(const std::vector<flip_target>& targets) {
  std::string out = "Flipping targets (MODELLED):\n";
  char line[512];
  for (const auto& t : targets) {
    std::snprintf(line, sizeof line, "  %-4s %s: %.4g (threshold %.4g)\n", t.met ? "met" : "MISS", t.name.c_str(), t.value,
                  t.threshold);
    out += line;
  }
  return out;
}

// A fixed-width comparison table, one row per guest and policy, labelled as modelled, with the
// pick for each guest and for the scenario.
[[nodiscard]] inline std::string format_flip_table(const std::vector<flip_report>& reports) {
  std::string out = "Page flipping (MODELLED, see docs/flipping.md)";
  if (!reports.empty()) out += ": scenario " + reports.front().scenario;
  out += "\n";
  char line[256];
  std::snprintf(line, sizeof line, "%-17s %-8s %9s %9s %9s %9s %9s %9s %9s %9s\n", "policy", "guest", "packets", "pages",
                "flipped", "copied", "remote %", "app rem %", "slowdn %", "pVM cpu s");
  out += line;
  for (const auto& r : reports)
    for (const auto& g : r.guests) {
      std::snprintf(line, sizeof line, "%-17s %-8s %9llu %9llu %9llu %9llu %9.3f %9.3f %9.3f %9.4f\n", r.policy.c_str(),
                    g.name.c_str(), static_cast<unsigned long long>(g.packets), static_cast<unsigned long long>(g.pages),
                    static_cast<unsigned long long>(g.flipped), static_cast<unsigned long long>(g.copied),
                    100 * g.end.remote_share, 100 * g.end.app_remote_share, 100 * g.end.slowdown, g.pvm_cpu_seconds);
      out += line;
    }
  if (reports.size() > 1) {
    out += "Pick per guest (least pVM CPU among policies moving < 1 % of its application memory to remote nodes):\n";
    for (std::size_t i = 0; i < reports.front().guests.size(); ++i) {
      const auto p = recommend_flip_policy(reports, i);
      out += "  " + reports.front().guests[i].name + ": " + (p.policy.empty() ? "none" : p.policy) + " (" + p.reason + ")\n";
    }
    const auto p = recommend_flip_policy(reports);
    out += "Pick for the scenario: " + (p.policy.empty() ? "none" : p.policy) + " (" + p.reason + ")\n";
  }
  if (const auto t = flip_targets(reports); !t.empty()) out += format_flip_targets(t);
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
  w.begin_object().field("policy", r.policy).field("scenario", r.scenario).field("modelled", r.modelled);
  w.field("max_remote_share", r.max_remote_share).field("max_app_remote_share", r.max_app_remote_share);
  w.field("max_slowdown", r.max_slowdown).field("max_remote_gain", r.max_remote_gain);
  w.field("max_app_remote_gain", r.max_app_remote_gain).field("pvm_cpu_seconds", r.pvm_cpu_seconds);
  w.key("pools").begin_object();
  w.field("refill_calls", std::uint64_t{r.pools.refill_calls}).field("pages_allocated", std::uint64_t{r.pools.pages_allocated});
  w.field("trim_calls", std::uint64_t{r.pools.trim_calls}).field("pages_freed", std::uint64_t{r.pools.pages_freed});
  w.end_object();
  w.key("guests").begin_array();
  for (const auto& g : r.guests) {
    w.begin_object().field("name", g.name).field("home", g.home.value()).field("recycling", g.recycling);
    w.field("packets", g.packets).field("pages", g.pages).field("flipped", g.flipped).field("copied", g.copied);
    w.field("dropped", g.dropped).field("deliveries", g.deliveries);
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
