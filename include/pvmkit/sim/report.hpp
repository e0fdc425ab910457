// Presenting simulator results: the comparison table (best per column marked), JSON, per-run CSV
// time series and an SVG plot. Every output says the figures are modelled.
#pragma once

#include <pvmkit/core/text_table.hpp>
#include <pvmkit/core/json_writer.hpp>
#include <pvmkit/core/utf8.hpp>
#include <pvmkit/sim/engine.hpp>
#include <pvmkit/sim/scenario.hpp>
#include <pvmkit/sim/svg_chart.hpp>
#include <pvmkit/sim/targets.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pvmkit::sim {

inline constexpr const char* modelled_note =
    "All figures are MODELLED by pvmkit's host simulator (equations and sources: docs/simulator.md), not measured.";

namespace detail {

[[nodiscard]] inline std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

struct column {
  std::string title;
  int decimals;
  bool higher_is_better;
  std::function<double(const run_result&)> get;
};

[[nodiscard]] inline std::vector<column> table_columns(const run_result* oracle) {
  std::vector<column> c;
  c.push_back({"served %", 2, true, [](const run_result& r) { return r.served_pct; }});
  if (oracle)
    c.push_back({"of oracle %", 2, true, [o = oracle->served_work](const run_result& r) { return o > 0 ? 100.0 * r.served_work / o : 100.0; }});
  c.push_back({"delay ms", 3, false, [](const run_result& r) { return r.delay_mean_ms; }});
  c.push_back({"p99 ms", 3, false, [](const run_result& r) { return r.delay_p99_ms; }});
  c.push_back({"cores held", 2, false, [](const run_result& r) { return r.cores_held_mean; }});
  c.push_back({"cores used", 2, false, [](const run_result& r) { return r.cores_used_mean; }});
  // pVM CPU time per unit of served work: 1.00 when every request ran at its local cost.
  c.push_back({"cost x", 2, false, [](const run_result& r) { return r.served_work > 0 ? r.cores_used_mean * r.duration_s / r.served_work : 1.0; }});
  c.push_back({"remote work %", 1, false, [](const run_result& r) { return 100.0 * r.remote_work_share; }});
  c.push_back({"remote buf %", 1, false, [](const run_result& r) { return 100.0 * r.remote_buffer_share; }});
  c.push_back({"task moves", 0, false, [](const run_result& r) { return static_cast<double>(r.task_moves); }});
  return c;
}

}  // namespace detail

// How a KVM host's table says so ("" on Xen).
[[nodiscard]] inline std::string kvm_host_note(const scenario& s) {
  if (s.pvm.kind != host_kind::kvm) return {};
  return std::string{", KVM host (pVM work on host CPUs reserved for it"} + (s.pvm.cgroup_v2 ? "; cgroup v2 cap)" : "; no cap)");
}

// One row per run, oracle last; '*' marks the best value of each column among the policies (the
// oracle is the reference, not a contender). Ties all get the mark.
[[nodiscard]] inline std::string format_table(const scenario& s, const std::vector<run_result>& runs) {
  const run_result* oracle = nullptr;
  for (const auto& r : runs)
    if (r.oracle) oracle = &r;
  const auto cols = detail::table_columns(oracle);
  std::vector<std::string> head{"placement + sizing"};
  for (const auto& c : cols) head.push_back(c.title);
  text_table table{std::move(head)};
  std::vector<std::string> best(cols.size());
  for (std::size_t j = 0; j < cols.size(); ++j) {
    std::optional<double> b;
    for (const auto& r : runs) {
      if (r.oracle) continue;
      const double v = std::stod(detail::fixed(cols[j].get(r), cols[j].decimals));
      if (!b || (cols[j].higher_is_better ? v > *b : v < *b)) b = v;
    }
    if (b) best[j] = detail::fixed(*b, cols[j].decimals);
  }
  auto row = [&](const run_result& r) {
    std::vector<std::string> line{r.label + (r.failed_rounds ? " (!)" : "")};
    for (std::size_t j = 0; j < cols.size(); ++j) {
      const std::string v = detail::fixed(cols[j].get(r), cols[j].decimals);
      line.push_back(v + (!r.oracle && v == best[j] ? "*" : " "));
    }
    table.add(std::move(line));
  };
  for (const auto& r : runs)
    if (!r.oracle) row(r);
  if (oracle) row(*oracle);
  std::string out;
  out += "pvmkit simulate: scenario '" + s.name + "', " + detail::fixed(s.duration_s, 0) + " s, tick " +
         detail::fixed(s.tick_s * 1000, 0) + " ms, control every " + detail::fixed(s.control_period_s, 1) + " s, " +
         std::to_string(s.guests.size()) + " guests on " + std::to_string(s.host.nodes) + " nodes x " +
         std::to_string(s.host.cpus_per_node) + " CPUs" + kvm_host_note(s) + "\n";
  out += std::string{modelled_note} + "\n\n";
  out += table.render();
  out += "\n* best among the policies. served = I/O served / demanded, weighted by each request's local pVM cost;\n"
         "delay = queueing delay (mean and p99 over ticks); cores held = CPU time the pVM may take at any moment\n"
         "(its vCPUs on the CPUs its guests leave, within its cap; the oracle holds what it uses); cores used = pVM\n"
         "CPU time spent; cost x = pVM CPU time per unit of served work (1.00 = all at local cost); remote = share\n"
         "of pVM work (buffers) on a node other than the guest's; task moves = changes of a task's node set after\n"
         "the first round. oracle = perfect knowledge on the same CPUs: each node serves its own guests first and\n"
         "spills the rest to the nearest nodes with CPUs to spare.\n";
  bool failed = false;
  for (const auto& r : runs) failed = failed || r.failed_rounds;
  if (failed) {
    out += "(!) some control rounds failed and were rolled back:";
    for (const auto& r : runs)
      if (r.failed_rounds) out += " " + r.label + " " + std::to_string(r.failed_rounds) + "/" + std::to_string(r.control_rounds) + ";";
    out += "\n";
  }
  return out;
}

[[nodiscard]] inline std::string to_json(const scenario& s, const std::vector<run_result>& runs,
                                         const std::optional<target_set>& targets) {
  json_writer w;
  w.begin_object().field("modelled", true).field("note", modelled_note);
  w.key("scenario").begin_object().field("name", s.name).field("duration_s", s.duration_s).field("tick_s", s.tick_s)
      .field("control_period_s", s.control_period_s).field("guests", std::uint64_t{s.guests.size()})
      .field("nodes", std::uint64_t{s.host.nodes}).field("cpus_per_node", std::uint64_t{s.host.cpus_per_node});
  if (s.pvm.kind == host_kind::kvm) w.field("host_kind", "kvm").field("cgroup_v2", s.pvm.cgroup_v2);  // absent on Xen
  w.end_object();
  w.key("runs").begin_array();
  for (const auto& r : runs) {
    w.begin_object().field("label", r.label).field("oracle", r.oracle).field("served_pct", r.served_pct)
        .field("demanded_core_seconds", r.demanded_work).field("served_core_seconds", r.served_work)
        .field("delay_mean_ms", r.delay_mean_ms).field("delay_p99_ms", r.delay_p99_ms)
        .field("pvm_cores_held_mean", r.cores_held_mean).field("pvm_cores_used_mean", r.cores_used_mean)
        .field("cost_per_served", r.served_work > 0 ? r.cores_used_mean * r.duration_s / r.served_work : 1.0)
        .field("remote_work_share", r.remote_work_share).field("remote_buffer_share", r.remote_buffer_share)
        .field("dropped_requests", r.dropped_requests).field("task_moves", std::uint64_t{r.task_moves})
        .field("control_rounds", std::uint64_t{r.control_rounds}).field("failed_rounds", std::uint64_t{r.failed_rounds})
        .end_object();
  }
  w.end_array();
  if (targets) {
    w.key("targets");
    write_json(w, *targets);
  }
  w.end_object();
  return w.take();
}

namespace detail {
// A label on the CSV's comment line: kept to one line of valid UTF-8 (a newline in it would end
// the comment and start a malformed row).
[[nodiscard]] inline std::string csv_comment_text(std::string_view s) {
  return utf8::make_valid(s, [](char32_t c) { return c < 0x20 || c == 0x7F; });
}
}  // namespace detail

// Numbers only, so no field needs quoting; the run's label is on the comment line.
[[nodiscard]] inline std::string to_csv(const run_result& r) {
  std::string out = "# " + detail::csv_comment_text(r.label) + ": per-control-period averages. " + modelled_note + "\n";
  out += "time_s,demanded_cores,served_cores,pvm_cores_held,pvm_cores_used,remote_share\n";
  for (const auto& p : r.series)
    out += detail::fixed(p.time_s, 3) + "," + detail::fixed(p.demanded_cores, 4) + "," + detail::fixed(p.served_cores, 4) + "," +
           detail::fixed(p.held_cores, 4) + "," + detail::fixed(p.used_cores, 4) + "," + detail::fixed(p.remote_share, 4) + "\n";
  return out;
}

// A file name for a run's label: letters, digits, '-', '_' and '.' kept, the rest becomes '_'.
[[nodiscard]] inline std::string file_stem(const std::string& label) {
  std::string out;
  for (char c : label) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    out += keep ? c : '_';
  }
  return out;
}

// Two panels over time: served I/O (with the demand dashed) and pVM cores held, one line
// per run.
[[nodiscard]] inline std::vector<chart_panel> time_panels(const std::vector<run_result>& runs) {
  chart_panel served{"served I/O (pVM cores of local work)", "time (s)", "cores", {}};
  chart_panel cores{"pVM cores held", "time (s)", "cores", {}};
  if (!runs.empty()) {
    chart_series demand{"demand", {}, true};
    for (const auto& p : runs.front().series) demand.points.emplace_back(p.time_s, p.demanded_cores);
    served.series.push_back(std::move(demand));
  }
  for (const auto& r : runs) {
    chart_series a{r.label, {}, false}, b{r.label, {}, false};
    for (const auto& p : r.series) {
      a.points.emplace_back(p.time_s, p.served_cores);
      b.points.emplace_back(p.time_s, p.held_cores);
    }
    served.series.push_back(std::move(a));
    cores.series.push_back(std::move(b));
  }
  return {std::move(served), std::move(cores)};
}

[[nodiscard]] inline std::string to_svg(const scenario& s, const std::vector<run_result>& runs) {
  return render_svg("pvmkit simulate: " + s.name + " (MODELLED, not measured)", time_panels(runs), "placement + sizing");
}

}  // namespace pvmkit::sim
