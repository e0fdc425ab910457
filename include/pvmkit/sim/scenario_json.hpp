// Reading scenarios from JSON: a decoder, over core/json_reader.hpp, that checks every field (type,
// range, unknown names, references to nodes and devices, the limits of sim/scenario.hpp) and names
// it in the error: "scenario.json:12: guests[3].workload.kind: unknown kind 'burstyy' (expected one
// of steady, bursty, diurnal, flash_crowd, trace)". docs/simulator.md has the format and the limits.
#pragma once

#include <pvmkit/core/error.hpp>
#include <pvmkit/core/json_reader.hpp>
#include <pvmkit/core/json_writer.hpp>
#include <pvmkit/core/text_file.hpp>
#include <pvmkit/sim/scenario.hpp>
#include <pvmkit/sim/trace.hpp>
#include <pvmkit/sim/workload.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace pvmkit::sim {

// The largest scenario file read: a few thousand times the largest example, and with the
// document's 16 bytes per value, parsing one stays within a few hundred MiB.
inline constexpr std::size_t scenario_bytes_limit = std::size_t{16} << 20;

namespace detail {

using field = json_field;

template <class F>
void optional_field(const field& obj, std::string_view key, F&& f) {
  if (obj.has(key)) f(obj.at(key));
}

inline io_rates read_rates(const field& w, bool required) {
  io_rates r;
  if (required || w.has("net_pps")) r.net_pps = w.at("net_pps").number(0, limits::max_net_pps);
  if (required || w.has("block_iops")) r.block_iops = w.at("block_iops").number(0, limits::max_block_iops);
  return r;
}

// A workload's highest demand is its base rates times `factor`; both must stay within the limits.
inline void check_peak(const field& w, const io_rates& base, double factor, std::string_view how) {
  for (auto [rate, max, name, unit] : {std::tuple{base.net_pps, limits::max_net_pps, "net_pps", "packets/s"},
                                       std::tuple{base.block_iops, limits::max_block_iops, "block_iops", "requests/s"}})
    if (rate * factor > max)
      w.fail(std::string{"peaks at "} + name + " x " + std::string{how} + " = " + to_shortest_string(rate * factor) +
             ", over the limit of " + to_shortest_string(max) + " " + unit + " (docs/simulator.md, Input limits)");
}

// A length of time a workload names (a slot, a period, a ramp): at least the shortest tick.
inline double span_s(const field& f) { return f.number(limits::min_tick_s, limits::max_duration_s); }

}  // namespace detail

// Loads the trace files "trace" workloads name (shared: one file may serve thousands of guests).
using trace_loader = std::function<std::shared_ptr<const io_trace>(const std::string& path)>;

[[nodiscard]] inline workload read_workload(const detail::field& w, const std::string& guest_name, std::uint64_t seed,
                                            std::size_t guest_index, const trace_loader& traces) {
  using detail::field;
  using detail::optional_field;
  using detail::span_s;
  w.object({"kind", "net_pps", "block_iops", "peak", "on_probability", "slot_s", "amplitude", "period_s", "phase_s",
            "start_s", "ramp_s", "multiple", "decay_s", "file", "guest"});
  const auto kind_f = w.at("kind");
  const std::string kind = kind_f.string();
  // Fields that only some kinds take are rejected for the others, so a typo'd kind cannot
  // silently drop its parameters.
  auto only = [&](std::initializer_list<std::string_view> allowed) {
    for (std::size_t i = 0; i < w.json().size(); ++i) {
      const std::string_view k = w.json().key(i);
      if (k != "kind" && std::find(allowed.begin(), allowed.end(), k) == allowed.end())
        w.at(k).fail("not a field of a '" + kind + "' workload");
    }
  };
  constexpr double max_factor = limits::max_net_pps;  // a peak or multiple; check_peak bounds the product
  if (kind == "steady") {
    only({"net_pps", "block_iops"});
    return steady_load{detail::read_rates(w, false)};
  }
  if (kind == "bursty") {
    only({"net_pps", "block_iops", "peak", "on_probability", "slot_s"});
    bursty_load b;
    b.base = detail::read_rates(w, false);
    optional_field(w, "peak", [&](const field& f) { b.peak = f.number(0, max_factor); });
    optional_field(w, "on_probability", [&](const field& f) { b.on_probability = f.number(0, 1); });
    optional_field(w, "slot_s", [&](const field& f) { b.slot_s = span_s(f); });
    detail::check_peak(w, b.base, std::max(1.0, b.peak), "peak");
    b.seed = mix64(seed ^ mix64(guest_index + 1));
    return b;
  }
  if (kind == "diurnal") {
    only({"net_pps", "block_iops", "amplitude", "period_s", "phase_s"});
    diurnal_load d;
    d.mean = detail::read_rates(w, false);
    optional_field(w, "amplitude", [&](const field& f) { d.amplitude = f.number(0, 1); });
    optional_field(w, "period_s", [&](const field& f) { d.period_s = span_s(f); });
    optional_field(w, "phase_s", [&](const field& f) { d.phase_s = f.number(-limits::max_duration_s, limits::max_duration_s); });
    detail::check_peak(w, d.mean, 1 + d.amplitude, "(1 + amplitude)");
    return d;
  }
  if (kind == "flash_crowd") {
    only({"net_pps", "block_iops", "start_s", "ramp_s", "multiple", "decay_s"});
    flash_crowd_load f;
    f.base = detail::read_rates(w, false);
    optional_field(w, "start_s", [&](const field& x) { f.start_s = x.number(0, limits::max_duration_s); });
    optional_field(w, "ramp_s", [&](const field& x) { f.ramp_s = span_s(x); });
    optional_field(w, "multiple", [&](const field& x) { f.multiple = x.number(1, max_factor); });
    optional_field(w, "decay_s", [&](const field& x) { f.decay_s = span_s(x); });
    detail::check_peak(w, f.base, f.multiple, "multiple");
    return f;
  }
  if (kind == "trace") {
    only({"file", "guest"});
    const auto file_f = w.at("file");
    const std::string file = file_f.string();
    std::string who = guest_name;
    optional_field(w, "guest", [&](const field& x) { who = x.string(); });
    if (!traces) file_f.fail("trace files cannot be read here");
    const auto t = traces(file);
    trace_load l = t ? t->load_for(who) : trace_load{};
    if (!l.points) file_f.fail("trace '" + file + "' has no rows for guest '" + who + "'");
    return l;
  }
  kind_f.fail("unknown kind '" + kind + "' (expected one of steady, bursty, diurnal, flash_crowd, trace)");
}

// Parses and validates a scenario. `source` names the file in error messages; `traces` reads
// the trace files that "trace" workloads name (nullptr: such workloads are rejected). Throws
// only config_error on bad input.
[[nodiscard]] inline scenario parse_scenario(std::string_view text, const std::string& source,
                                             const trace_loader& traces = nullptr) {
  using detail::field;
  using detail::optional_field;
  const json_document doc = parse_json(text, source);
  const field root = field::root(doc, "scenario");
  root.object({"name", "seed", "duration_s", "tick_s", "control_period_s", "host", "pvm", "model", "guests", "flipping"});
  scenario s;
  if (root.has("name")) s.name = root.at("name").string();
  if (root.has("seed")) s.seed = root.at("seed").integer(0, std::uint64_t{1} << 53);
  if (root.has("duration_s")) s.duration_s = root.at("duration_s").number(0, limits::max_duration_s, true);
  if (root.has("tick_s")) s.tick_s = root.at("tick_s").number(limits::min_tick_s, limits::max_tick_s);
  if (root.has("control_period_s")) {
    const auto f = root.at("control_period_s");
    s.control_period_s = f.number(s.tick_s, 3600);
    const double k = s.control_period_s / s.tick_s;
    if (std::abs(k - std::round(k)) > 1e-9 * k) f.fail("must be a whole number of ticks (tick_s = " + std::to_string(s.tick_s) + ")");
  }
  if (s.duration_s < s.tick_s) root.at("duration_s").fail("shorter than one tick");
  if (const std::string why = run_length_problem(s.duration_s, s.tick_s, s.control_period_s); !why.empty()) {
    for (const char* blame : {"duration_s", "tick_s", "control_period_s"})
      if (root.has(blame)) root.at(blame).fail(why);
    root.fail(why);
  }

  if (!root.has("host")) root.fail("missing required field 'host'");
  std::set<std::string, std::less<>> device_names;
  {
    const field h = root.at("host");
    h.object({"nodes", "cpus_per_node", "memory_per_node_gib", "distances", "devices"});
    s.host.nodes = static_cast<std::size_t>(h.at("nodes").integer(1, limits::max_nodes));
    const auto cpus_f = h.at("cpus_per_node");
    s.host.cpus_per_node = static_cast<std::size_t>(cpus_f.integer(1, limits::max_cpus));
    if (s.host.nodes * s.host.cpus_per_node > limits::max_cpus)
      cpus_f.fail(std::to_string(s.host.nodes) + " nodes x " + std::to_string(s.host.cpus_per_node) + " CPUs is " +
                  std::to_string(s.host.nodes * s.host.cpus_per_node) + " CPUs, over the limit of " + std::to_string(limits::max_cpus) +
                  " (docs/simulator.md, Input limits)");
    optional_field(h, "memory_per_node_gib", [&](const field& f) { s.host.memory_per_node_gib = f.number(0, 1 << 20, true); });
    const std::size_t n = s.host.nodes;
    if (h.has("distances")) {
      const auto rows = h.at("distances").items();
      if (rows.size() != n) h.at("distances").fail("expected " + std::to_string(n) + " rows (one per node), found " + std::to_string(rows.size()));
      for (std::size_t i = 0; i < n; ++i) {
        const auto cols = rows[i].items();
        if (cols.size() != n) rows[i].fail("expected " + std::to_string(n) + " entries, found " + std::to_string(cols.size()));
        for (std::size_t j = 0; j < n; ++j) {
          const auto d = static_cast<std::uint32_t>(cols[j].integer(10, 255));
          if (i == j && d != 10) cols[j].fail("a node's distance to itself must be 10");
          if (i != j && d <= 10) cols[j].fail("a remote node must be farther than 10");
          s.host.distances.push_back(d);
        }
      }
      // Asymmetric matrices are real (row = from, column = to, as in the ACPI SLIT): kept as given.
    }
    if (h.has("devices")) {
      const auto devices = h.at("devices").items();
      if (devices.size() > limits::max_devices)
        h.at("devices").fail(std::to_string(devices.size()) + " devices, over the limit of " + std::to_string(limits::max_devices));
      for (const auto& d : devices) {
        d.object({"name", "kind", "node"});
        device dev;
        dev.name = d.at("name").string();
        if (dev.name.empty()) d.at("name").fail("must not be empty");
        if (!device_names.insert(dev.name).second) d.at("name").fail("device '" + dev.name + "' is defined twice");
        const auto kf = d.at("kind");
        const std::string k = kf.string();
        if (k == "network") dev.kind = device_kind::network;
        else if (k == "block") dev.kind = device_kind::block;
        else if (k == "other") dev.kind = device_kind::other;
        else kf.fail("unknown kind '" + k + "' (expected one of network, block, other)");
        const auto nf = d.at("node");
        const auto node = nf.integer(0, 1u << 20);
        if (node >= n) nf.fail("node " + std::to_string(node) + " does not exist (the host has " + std::to_string(n) + " nodes)");
        dev.node = node_id{static_cast<node_id::rep>(node)};
        s.host.devices.push_back(std::move(dev));
      }
    } else {
      s.host.devices.push_back({"eth0", device_kind::network, node_id{0}});
      device_names.insert("eth0");
    }
  }
  const std::size_t host_cpus = s.host.nodes * s.host.cpus_per_node;
  const double host_memory_mib = static_cast<double>(s.host.nodes) * s.host.memory_per_node_gib * 1024;

  // Page flipping (docs/flipping.md): its own guests, on this file's host.
  if (root.has("flipping")) s.flipping = read_flip_scenario(root.at("flipping"), make_topology(s.host), s.name);

  if (root.has("pvm")) {
    const field p = root.at("pvm");
    p.object({"boot_vcpus", "boot_memory_mib"});
    optional_field(p, "boot_vcpus", [&](const field& f) { s.pvm.vcpus = static_cast<std::size_t>(f.integer(0, host_cpus)); });
    optional_field(p, "boot_memory_mib", [&](const field& f) { s.pvm.memory_mib = f.number(1, host_memory_mib); });
  }

  if (root.has("model")) {
    const field m = root.at("model");
    m.object({"net_packet_us", "block_request_us", "guest_memory_share", "buffer_share", "device_share", "remote_latency",
              "net_ring_slots", "block_ring_slots"});
    for (const auto& c : cost_model_fields)
      optional_field(m, c.name, [&](const field& f) { s.model.*c.member = f.number(c.min, c.max); });
    if (const std::string why = cost_model_problem(s.model); !why.empty()) m.fail(why);
    optional_field(m, "net_ring_slots", [&](const field& f) { s.model.net_ring_slots = static_cast<std::size_t>(f.integer(0, 1u << 30)); });
    optional_field(m, "block_ring_slots", [&](const field& f) { s.model.block_ring_slots = static_cast<std::size_t>(f.integer(0, 1u << 30)); });
  }

  if (!root.has("guests")) root.fail("missing required field 'guests'");
  const auto guests_f = root.at("guests");
  const auto guests = guests_f.items();
  if (guests.empty()) guests_f.fail("needs at least one guest");
  if (guests.size() > limits::max_guests)
    guests_f.fail(std::to_string(guests.size()) + " guests, over the limit of " + std::to_string(limits::max_guests) +
                  " (docs/simulator.md, Input limits)");
  std::set<std::string, std::less<>> names;
  std::size_t guest_vcpus = 0;
  std::vector<double> memory_on(s.host.nodes, s.pvm.memory_mib / 1024.0 / static_cast<double>(s.host.nodes));
  std::vector<double> cpu_on(s.host.nodes, 0.0);
  for (std::size_t i = 0; i < guests.size(); ++i) {
    const field& g = guests[i];
    g.object({"name", "home", "vcpus", "memory_gib", "cpu_cores", "net_device", "block_device", "workload"});
    guest_spec gs;
    gs.name = g.at("name").string();
    if (gs.name.empty()) g.at("name").fail("must not be empty");
    if (!names.insert(gs.name).second) g.at("name").fail("guest '" + gs.name + "' is defined twice");
    const auto hf = g.at("home");
    const auto home = hf.integer(0, 1u << 20);
    if (home >= s.host.nodes)
      hf.fail("node " + std::to_string(home) + " does not exist (the host has " + std::to_string(s.host.nodes) + " nodes: 0.." +
              std::to_string(s.host.nodes - 1) + ")");
    gs.home = node_id{static_cast<node_id::rep>(home)};
    optional_field(g, "vcpus", [&](const field& f) { gs.vcpus = static_cast<std::size_t>(f.integer(1, limits::max_guest_vcpus)); });
    guest_vcpus += gs.vcpus;
    if (guest_vcpus > limits::max_total_guest_vcpus)
      g.fail("the guests so far have " + std::to_string(guest_vcpus) + " vCPUs, over the limit of " +
             std::to_string(limits::max_total_guest_vcpus) + " for all guests (docs/simulator.md, Input limits)");
    optional_field(g, "memory_gib", [&](const field& f) { gs.memory_gib = f.number(0, 1 << 20, true); });
    memory_on[home] += gs.memory_gib;
    optional_field(g, "cpu_cores", [&](const field& f) {
      gs.cpu_cores = f.number(0, static_cast<double>(gs.vcpus));
      cpu_on[home] += gs.cpu_cores;
      if (cpu_on[home] > static_cast<double>(s.host.cpus_per_node) + 1e-9)
        f.fail("node " + std::to_string(home) + " has " + std::to_string(s.host.cpus_per_node) + " CPUs; its guests' cpu_cores add up to " +
               std::to_string(cpu_on[home]));
    });
    if (memory_on[home] > s.host.memory_per_node_gib)
      g.fail("node " + std::to_string(home) + " runs out of memory (" + std::to_string(memory_on[home]) + " GiB asked of " +
             std::to_string(s.host.memory_per_node_gib) + ")");
    for (auto [key, dst] : {std::pair{"net_device", &gs.net_device}, std::pair{"block_device", &gs.block_device}})
      optional_field(g, key, [&, dst = dst](const field& f) {
        *dst = f.string();
        if (!dst->empty() && !device_names.count(*dst)) f.fail("device '" + *dst + "' is not in host.devices");
      });
    gs.load = read_workload(g.at("workload"), gs.name, s.seed, i, traces);
    s.guests.push_back(std::move(gs));
  }
  return s;
}

// A trace_loader reading files relative to `dir`, each once, refusing to read more than
// `max_bytes` of trace text in all (read_scenario_file gives it trace_bytes_limit).
[[nodiscard]] inline trace_loader file_trace_loader(std::string dir, std::size_t max_bytes) {
  struct state {
    std::map<std::string, std::shared_ptr<const io_trace>, std::less<>> cache;
    std::size_t bytes = 0;
  };
  return [dir = std::move(dir), max_bytes, st = std::make_shared<state>()](const std::string& file) {
    const std::string full = !file.empty() && file.front() == '/' ? file : dir + file;
    auto it = st->cache.find(full);
    if (it == st->cache.end()) {
      const std::string text = read_text_file(full, "trace", max_bytes);
      st->bytes += text.size();
      if (st->bytes > max_bytes)
        throw config_error(full + ": the trace files of one scenario come to " + std::to_string(st->bytes) +
                           " bytes together, over the limit of " + pvmkit::detail::size_text(max_bytes) +
                           " (docs/simulator.md, Input limits)");
      it = st->cache.emplace(full, std::make_shared<const io_trace>(parse_trace(text, full))).first;
    }
    return it->second;
  };
}

// Reads a scenario file (at most scenario_bytes_limit) and the trace files it names, relative to
// its directory (at most trace_bytes_limit together).
[[nodiscard]] inline scenario read_scenario_file(const std::string& path) {
  const std::string text = read_text_file(path, "scenario", scenario_bytes_limit);
  const auto slash = path.find_last_of('/');
  return parse_scenario(text, path, file_trace_loader(slash == std::string::npos ? std::string{} : path.substr(0, slash + 1),
                                                      trace_bytes_limit));
}

}  // namespace pvmkit::sim
