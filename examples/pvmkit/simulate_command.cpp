// pvmkit simulate: runs the host simulator (include/pvmkit/sim/) on a scenario for several
// placement x sizing pairs and the oracle, then the page-flipping drift model for each flipping
// policy, and with --faults (or --fault-scenario FILE) the fault model for each recovery strategy.
// --suite DIR runs every scenario of a folder instead and sums them up; --check-targets exits 3
// when Closer misses a target (sim/targets.hpp). Every figure is modelled.
#include "command.hpp"

#include <pvmkit/core/error.hpp>
#include <pvmkit/runtime/registry.hpp>
#include <pvmkit/sim/default_scenario.hpp>
#include <pvmkit/sim/engine.hpp>
#include <pvmkit/sim/fault_scenario_json.hpp>
#include <pvmkit/sim/faults.hpp>
#include <pvmkit/sim/flipping_model.hpp>
#include <pvmkit/sim/report.hpp>
#include <pvmkit/sim/scenario_json.hpp>
#include <pvmkit/sim/suite.hpp>
#include <pvmkit/sim/targets.hpp>

#include <CLI/CLI.hpp>

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace {

struct options {
  std::string placement;
  std::string sizing;
  std::string scenario_file;
  std::optional<double> duration;
  bool json = false;
  std::string csv_dir;
  std::string plot_file;
  std::string flipping = "all";
  std::optional<std::uint64_t> flip_packets;
  bool faults = false;
  std::string fault_scenario_file;
  std::string suite_dir;
  bool check_targets = false;
  std::string model;  // KEY=VALUE,... over every scenario's cost model
};

// Exit status when --check-targets finds a target missed (2 is bad input).
constexpr int targets_missed = 3;
constexpr const char* judged_pair = "closer+closer_dynamic";

// The pairs deployments run today, then Closer.
const std::pair<const char*, const char*> default_pairs[] = {
    {"xen_default", "static_xen_default"}, {"xen_default", "static_xenserver"}, {"pinned_node0", "static_xenserver"},
    {"pinned_node0", "static_fixed"},      {"closer", "closer_dynamic"},
};

// A bar on stderr, shown only when stderr is a terminal and the run has taken over a second.
class progress_bar {
 public:
  explicit progress_bar(std::size_t runs) : runs_(runs), tty_(isatty(STDERR_FILENO) == 1), start_(clock::now()) {}
  ~progress_bar() {
    if (shown_) std::fprintf(stderr, "\r%*s\r", 78, "");
  }
  progress_bar(const progress_bar&) = delete;
  progress_bar& operator=(const progress_bar&) = delete;

  void update(std::size_t run, double fraction, const std::string& label) {
    if (!tty_ || std::chrono::duration<double>(clock::now() - start_).count() < 1.0) return;
    shown_ = true;
    const double total = (static_cast<double>(run) + fraction) / static_cast<double>(runs_);
    constexpr int width = 30;
    const int filled = static_cast<int>(total * width);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "\r[%s] %3d%% %-36.36s", bar.c_str(), static_cast<int>(total * 100), label.c_str());
    std::fflush(stderr);
  }

 private:
  using clock = std::chrono::steady_clock;
  std::size_t runs_;
  bool tty_;
  bool shown_ = false;
  clock::time_point start_;
};

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  if (!out) throw pvmkit::config_error(path + ": cannot write");
  out << text;
  if (!out) throw std::runtime_error(path + ": write failed");
}

namespace sim = pvmkit::sim;
namespace rt = pvmkit::runtime;

struct pair_run {
  std::string label;
  rt::any_sizing_policy sizing;
  rt::any_placement_policy placement;
};

// Built before anything runs, so a bad name fails fast with nothing written.
std::vector<pair_run> make_pairs(const options& o) {
  if (o.placement.empty() != o.sizing.empty())
    throw pvmkit::config_error("--placement and --sizing go together (one pair), or neither (the comparison)");
  std::vector<pair_run> pairs;
  if (!o.placement.empty()) {
    pairs.push_back({o.placement + "+" + o.sizing, rt::make_sizing(o.sizing), rt::make_placement(o.placement)});
  } else {
    for (const auto& [p, z] : default_pairs) pairs.push_back({std::string{p} + "+" + z, rt::make_sizing(z), rt::make_placement(p)});
  }
  return pairs;
}

// --model remote_latency=2,device_share=0.2: the cost model of every scenario run, overridden (for
// sensitivity tables). Names and ranges are the scenario file's (sim::cost_model_fields).
void apply_model(const std::string& spec, sim::cost_model& m) {
  std::size_t at = 0;
  while (at <= spec.size()) {
    const std::size_t end = std::min(spec.find(',', at), spec.size());
    const std::string item = spec.substr(at, end - at);
    const std::size_t eq = item.find('=');
    if (eq == std::string::npos) throw pvmkit::config_error("--model: '" + item + "' is not KEY=VALUE");
    const std::string key = item.substr(0, eq), text = item.substr(eq + 1);
    const sim::cost_model_field* f = nullptr;
    std::string known;
    for (const auto& c : sim::cost_model_fields) {
      if (key == c.name) f = &c;
      known += (known.empty() ? "" : ", ") + std::string{c.name};
    }
    if (!f) throw pvmkit::config_error("--model: unknown parameter '" + key + "' (known: " + known + ")");
    double v = 0;
    const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || p != text.data() + text.size() || !(v >= f->min && v <= f->max))
      throw pvmkit::config_error("--model: " + key + " must be a number in [" + std::to_string(f->min) + ", " + std::to_string(f->max) +
                                 "], got '" + text + "'");
    m.*f->member = v;
    at = end + 1;
  }
  if (const std::string why = sim::cost_model_problem(m); !why.empty()) throw pvmkit::config_error("--model: " + why);
}

void apply_overrides(const options& o, sim::scenario& s) {
  if (!o.model.empty()) apply_model(o.model, s.model);
  if (!o.duration) return;
  if (!(*o.duration >= s.tick_s) || *o.duration > sim::limits::max_duration_s)
    throw pvmkit::config_error("--duration: must be at least one tick (" + std::to_string(s.tick_s) + " s) and at most 1e7 s");
  if (const std::string why = sim::run_length_problem(*o.duration, s.tick_s, s.control_period_s); !why.empty())
    throw pvmkit::config_error("--duration: " + why);
  s.duration_s = *o.duration;
}

// The pairs, then the oracle; `bar` counts runs from `first`.
std::vector<sim::run_result> run_pairs(const sim::scenario& s, const std::vector<pair_run>& pairs, progress_bar& bar,
                                       std::size_t first, const std::string& prefix) {
  std::vector<sim::run_result> results;
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    sim::run_options ro;
    ro.progress = [&, i](double f) { bar.update(first + i, f, prefix + pairs[i].label); };
    results.push_back(sim::simulate(s, sim::controlled_by(pairs[i].sizing, pairs[i].placement), pairs[i].label, ro));
  }
  sim::run_options ro;
  ro.progress = [&](double f) { bar.update(first + pairs.size(), f, prefix + "oracle"); };
  results.push_back(sim::simulate_oracle(s, ro));
  return results;
}

std::optional<sim::target_set> judge(const sim::scenario& s, const std::vector<sim::run_result>& results) {
  for (const auto& r : results)
    if (r.label == judged_pair) return sim::evaluate_targets(s, results, judged_pair);
  return std::nullopt;
}

int run_suite(const options& o) {
  if (!o.scenario_file.empty()) throw pvmkit::config_error("--suite and --scenario: one or the other");
  if (o.faults || !o.fault_scenario_file.empty()) throw pvmkit::config_error("--suite runs no fault model: drop --faults/--fault-scenario");
  auto pairs = make_pairs(o);
  // Every scenario is read before anything runs: a bad file fails with nothing printed.
  std::vector<sim::suite_entry> suite;
  for (const auto& f : sim::suite_files(o.suite_dir)) {
    sim::suite_entry e;
    e.file = f;
    e.s = sim::read_scenario_file((std::filesystem::path{o.suite_dir} / f).string());
    apply_overrides(o, e.s);
    suite.push_back(std::move(e));
  }
  for (const std::string* dir : {&o.csv_dir, &o.plot_file})
    if (!dir->empty()) {
      std::error_code ec;
      std::filesystem::create_directories(*dir, ec);
      if (ec) throw pvmkit::config_error("cannot create " + *dir + ": " + ec.message());
    }
  {
    progress_bar bar(suite.size() * (pairs.size() + 1));
    for (std::size_t k = 0; k < suite.size(); ++k) {
      auto& e = suite[k];
      e.runs = run_pairs(e.s, pairs, bar, k * (pairs.size() + 1), e.file + ": ");
      e.targets = judge(e.s, e.runs);
      if (e.s.flipping)
        for (const auto& f : sim::flipping_policy_names()) e.flips.push_back(sim::run_flipping(*e.s.flipping, f));
    }
  }
  bool all_met = true;
  for (const auto& e : suite) all_met = all_met && e.met();
  if (o.json) {
    pvmkit::json_writer w;
    w.begin_object().field("figures", "modelled").field("targets_met", all_met);
    w.key("suite");
    sim::write_json(w, suite);
    w.end_object();
    std::cout << w.str() << '\n';
  } else {
    for (const auto& e : suite) {
      std::cout << "=== " << e.file << '\n' << sim::format_table(e.s, e.runs);
      if (e.targets) std::cout << '\n' << sim::format_targets(*e.targets);
      if (!e.flips.empty()) std::cout << '\n' << sim::format_flip_table(e.flips);
      std::cout << '\n';
    }
    std::cout << sim::format_suite_summary(suite) << "\n" << judged_pair
              << " against the oracle and the best baseline (modelled):\n\n"
              << sim::format_suite_verdict(suite);
  }
  for (const auto& e : suite) {
    const std::string stem = std::filesystem::path{e.file}.stem().string();
    if (!o.csv_dir.empty()) {
      const std::string d = o.csv_dir + "/" + stem;
      std::error_code ec;
      std::filesystem::create_directories(d, ec);
      if (ec) throw pvmkit::config_error("cannot create " + d + ": " + ec.message());
      for (const auto& r : e.runs) write_file(d + "/" + sim::file_stem(r.label) + ".csv", sim::to_csv(r));
    }
    if (!o.plot_file.empty()) write_file(o.plot_file + "/" + stem + ".svg", sim::to_svg(e.s, e.runs));
  }
  if (!o.csv_dir.empty()) write_file(o.csv_dir + "/summary.csv", sim::suite_summary_csv(suite));
  return o.check_targets && !all_met ? targets_missed : 0;
}

int run(const options& o) {
  if (!o.suite_dir.empty()) return run_suite(o);
  auto pairs = make_pairs(o);
  sim::scenario s = o.scenario_file.empty() ? sim::default_scenario() : sim::read_scenario_file(o.scenario_file);
  apply_overrides(o, s);
  std::vector<std::string> flip_policies;
  if (o.flipping == "all") flip_policies = sim::flipping_policy_names();
  else if (o.flipping != "none") {
    const auto names = sim::flipping_policy_names();
    if (std::find(names.begin(), names.end(), o.flipping) == names.end()) {
      std::string known;
      for (const auto& n : names) known += ", " + n;
      throw pvmkit::config_error("--flipping: unknown policy '" + o.flipping + "' (known: all, none" + known + ")");
    }
    flip_policies.push_back(o.flipping);
  }
  sim::flip_scenario flips = s.flipping ? *s.flipping : sim::default_flip_scenario();
  if (o.flip_packets) {
    if (*o.flip_packets == 0 || *o.flip_packets > 100'000'000)
      throw pvmkit::config_error("--flip-packets: must be between 1 and 100000000");
    flips.packets_per_guest = *o.flip_packets;
  }
  // Read before anything runs: a bad fault scenario file fails with nothing printed.
  std::optional<sim::fault_scenario> fault_scenario;
  if (!o.fault_scenario_file.empty()) fault_scenario = sim::read_fault_scenario_file(o.fault_scenario_file);
  else if (o.faults) fault_scenario = sim::default_fault_scenario();
  if (!o.csv_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(o.csv_dir, ec);
    if (ec) throw pvmkit::config_error("--csv " + o.csv_dir + ": " + ec.message());
  }

  std::vector<sim::run_result> results;
  std::vector<sim::flip_report> flip_results;
  {
    progress_bar bar(pairs.size() + 1 + flip_policies.size());
    results = run_pairs(s, pairs, bar, 0, "");
    for (std::size_t i = 0; i < flip_policies.size(); ++i) {
      bar.update(pairs.size() + 1 + i, 0, "flipping: " + flip_policies[i]);
      flip_results.push_back(sim::run_flipping(flips, flip_policies[i]));
    }
  }
  std::optional<sim::fault_report> fault_results;
  if (fault_scenario) fault_results = sim::run_faults(*fault_scenario);

  const std::optional<sim::target_set> targets = judge(s, results);

  if (o.json) {
    pvmkit::json_writer w;
    w.begin_object().field("figures", "modelled");
    w.key("placement_sizing");
    w.raw(sim::to_json(s, results, targets));
    w.key("flipping").begin_array();
    for (const auto& f : flip_results) sim::write_json(w, f);
    w.end_array();
    if (fault_results) {
      w.key("faults");
      fault_results->write_json(w);
    }
    w.end_object();
    std::cout << w.str() << '\n';
  } else {
    std::cout << sim::format_table(s, results);
    if (targets) std::cout << '\n' << sim::format_targets(*targets);
    if (!flip_results.empty()) std::cout << '\n' << sim::format_flip_table(flip_results);
    if (fault_results) std::cout << '\n' << sim::format_fault_table(*fault_results);
  }
  if (!o.csv_dir.empty())
    for (const auto& r : results) write_file(o.csv_dir + "/" + sim::file_stem(r.label) + ".csv", sim::to_csv(r));
  if (!o.plot_file.empty()) {
    auto panels = sim::time_panels(results);
    if (!flip_results.empty()) panels.push_back(sim::flip_panel(flip_results));
    write_file(o.plot_file, sim::render_svg("pvmkit simulate: " + s.name + " (MODELLED, not measured)", panels, "policies"));
  }
  bool met = !targets || targets->met();
  for (const auto& t : sim::flip_targets(flip_results)) met = met && t.met;
  return o.check_targets && !met ? targets_missed : 0;
}

const pvmkit::cli::register_command reg{"simulate", [](CLI::App& app) {
  auto o = std::make_shared<options>();
  auto* sub = app.add_subcommand(
      "simulate",
      "Compare pVM placement x sizing policies on a simulated host (modelled figures; docs/simulator.md). With no "
      "options: the embedded default scenario, the pairs deployments run today and Closer, and the oracle");
  std::string placements, sizings;
  for (const auto& n : pvmkit::runtime::placement_names()) placements += (placements.empty() ? "" : ", ") + n;
  for (const auto& n : pvmkit::runtime::sizing_names()) sizings += (sizings.empty() ? "" : ", ") + n;
  sub->add_option("--placement", o->placement, "run only this placement policy (with --sizing): " + placements + "; name[:key=value,...]");
  sub->add_option("--sizing", o->sizing, "run only this sizing policy (with --placement): " + sizings + "; name[:key=value,...]");
  auto* scenario = sub->add_option("--scenario", o->scenario_file, "scenario file (JSON, format in docs/simulator.md) instead of the default");
  sub->add_option("--model", o->model,
                  "override the cost model of every scenario run: KEY=VALUE,... (remote_latency, device_share, "
                  "guest_memory_share, buffer_share, net_packet_us, block_request_us; docs/simulator.md)");
  auto* suite = sub->add_option("--suite", o->suite_dir,
                  "run every *.json scenario in this folder (e.g. examples/scenarios) and sum them up; --csv and --plot "
                  "then name folders (one CSV folder / one SVG per scenario)");
  sub->add_flag("--check-targets", o->check_targets,
                "exit with status 3 when closer+closer_dynamic misses a target on any scenario (docs/simulator.md)");
  sub->add_option("--duration", o->duration, "simulated seconds (overrides the scenario's duration_s)");
  sub->add_flag("--json", o->json, "print one JSON document instead of the table");
  sub->add_option("--csv", o->csv_dir, "write a time series per run (per control period) into this directory");
  sub->add_option("--plot", o->plot_file,
                  "write an SVG plot: served I/O and pVM cores over time, and guests' remote memory under page flipping");
  std::string flips;
  for (const auto& n : pvmkit::sim::flipping_policy_names()) flips += ", " + n;
  sub->add_option("--flipping", o->flipping, "page-flipping policies to compare: all (default), none" + flips);
  sub->add_option("--flip-packets", o->flip_packets, "packets received per guest in the flipping model (default 1000000)");
  sub->add_flag("--faults", o->faults, "also compare recovery strategies on the default fault scenario (docs/recovery.md)");
  auto* fault_scenario = sub->add_option("--fault-scenario", o->fault_scenario_file,
                  "compare recovery strategies on this fault scenario file (JSON, format in docs/recovery.md); implies --faults");
  // An empty path would silently mean "the default"; refuse it where the user sees why (exit 2).
  for (auto* opt : {scenario, fault_scenario, suite})
    opt->check(CLI::Validator([](const std::string& v) { return v.empty() ? std::string("must not be empty") : std::string(); }, "", "non-empty"));
  return pvmkit::cli::command{sub, [o] { return run(*o); }};
}};

}  // namespace
