// A scenario suite: every scenario file of a folder run under the same policy pairs and the
// oracle, each judged by the same targets (sim/targets.hpp), and one summary across them. Every
// figure is modelled.
#pragma once

#include <pvmkit/core/text_table.hpp>
#include <pvmkit/core/error.hpp>
#include <pvmkit/core/json_writer.hpp>
#include <pvmkit/sim/engine.hpp>
#include <pvmkit/sim/flipping_model.hpp>
#include <pvmkit/sim/report.hpp>
#include <pvmkit/sim/scenario.hpp>
#include <pvmkit/sim/targets.hpp>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace pvmkit::sim {

struct suite_entry {
  std::string file;  // as found in the folder (the file name only)
  scenario s;
  std::vector<run_result> runs;  // the pairs, then the oracle
  std::optional<target_set> targets;
  std::vector<flip_report> flips;  // one per flipping policy, when the scenario has a "flipping" object

  // Every target of the scenario met: the placement and sizing ones, and the flipping ones.
  [[nodiscard]] bool met() const {
    if (targets && !targets->met()) return false;
    for (const auto& t : flip_targets(flips))
      if (!t.met) return false;
    return true;
  }

  // The oracle's run, if the entry has one.
  [[nodiscard]] const run_result* oracle() const {
    const run_result* o = nullptr;
    for (const auto& r : runs)
      if (r.oracle) o = &r;
    return o;
  }
  // A run's served work as a share of the oracle's, in percent (100 without an oracle to compare).
  [[nodiscard]] double of_oracle_pct(const run_result& r) const {
    const run_result* o = oracle();
    return o && o->served_work > 0 ? 100.0 * r.served_work / o->served_work : 100.0;
  }
};

// The scenario files of a suite folder: its regular *.json files, by name.
[[nodiscard]] inline std::vector<std::string> suite_files(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) throw config_error("--suite " + dir + ": not a directory");
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (!e.is_regular_file(ec) || e.path().extension() != ".json") continue;
    files.push_back(e.path().filename().string());
  }
  if (ec) throw config_error("--suite " + dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  if (files.empty()) throw config_error("--suite " + dir + ": no *.json scenario files");
  return files;
}

// One row per scenario and run: the figures a user compares across scenarios.
[[nodiscard]] inline std::string format_suite_summary(const std::vector<suite_entry>& suite) {
  text_table table{{"scenario", "placement + sizing", "served %", "of oracle %", "remote work %", "cores held", "p99 ms", "task moves"},
                   {0, 1}};
  std::size_t checked = 0, met = 0;
  for (const auto& e : suite) {
    for (const auto& r : e.runs) {
      const double of = e.of_oracle_pct(r);
      std::string label = r.label;
      if (e.targets && r.label == e.targets->policy) label += e.met() ? " [targets met]" : " [targets NOT met]";
      table.add({e.file, label, detail::fixed(r.served_pct, 2), detail::fixed(of, 2), detail::fixed(100.0 * r.remote_work_share, 1),
                 detail::fixed(r.cores_held_mean, 2), detail::fixed(r.delay_p99_ms, 3), detail::fixed(static_cast<double>(r.task_moves), 0)});
    }
    if (e.targets || !e.flips.empty()) {
      ++checked;
      met += e.met() ? 1U : 0U;
    }
  }
  std::string out = "Suite summary: " + std::to_string(suite.size()) + " scenarios. " + modelled_note + "\n\n";
  out += table.render();
  if (checked) out += "\nTargets met on " + std::to_string(met) + " of " + std::to_string(checked) + " scenarios.\n";
  return out;
}

// One row per scenario: the judged pair against the oracle and the best baseline (by served work),
// the figures the targets are about.
[[nodiscard]] inline std::string format_suite_verdict(const std::vector<suite_entry>& suite) {
  text_table table{{"scenario", "served % of oracle", "best baseline", "remote % (oracle)", "cores held (oracle)", "p99 ms",
                    "moves", "targets"},
                   {0, 2, 7}};
  for (const auto& e : suite) {
    if (!e.targets) continue;
    const run_result* oracle = e.oracle();
    const run_result *mine = nullptr, *best = nullptr;
    for (const auto& r : e.runs)
      if (!r.oracle && r.label == e.targets->policy) mine = &r;
    if (!oracle || !mine) continue;
    for (const auto& r : e.runs)
      if (!r.oracle && &r != mine && (!best || r.served_work > best->served_work)) best = &r;
    table.add({e.file, detail::fixed(e.of_oracle_pct(*mine), 2), best ? detail::fixed(e.of_oracle_pct(*best), 2) + " " + best->label : "-",
                     detail::fixed(100.0 * mine->remote_work_share, 1) + " (" + detail::fixed(100.0 * oracle->remote_work_share, 1) + ")",
                     detail::fixed(mine->cores_held_mean, 2) + " (" + detail::fixed(oracle->cores_held_mean, 2) + ")",
                     detail::fixed(mine->delay_p99_ms, 3), std::to_string(mine->task_moves), e.met() ? "met" : "NOT met"});
  }
  return table.render();
}

[[nodiscard]] inline std::string suite_summary_csv(const std::vector<suite_entry>& suite) {
  std::string out = "# " + std::string{modelled_note} + "\n";
  out += "file,scenario,run,served_pct,of_oracle_pct,remote_work_pct,cores_held,cores_used,delay_p99_ms,task_moves,targets_met\n";
  auto quoted = [](const std::string& v) {
    std::string q = "\"";
    for (char c : v) q += c == '"' ? std::string{"\"\""} : std::string(1, c);
    return q + "\"";
  };
  for (const auto& e : suite) {
    for (const auto& r : e.runs) {
      const double of = e.of_oracle_pct(r);
      const bool judged = e.targets && r.label == e.targets->policy;
      out += quoted(e.file) + "," + quoted(e.s.name) + "," + quoted(r.label) + "," + detail::fixed(r.served_pct, 4) + "," +
             detail::fixed(of, 4) + "," + detail::fixed(100.0 * r.remote_work_share, 4) + "," + detail::fixed(r.cores_held_mean, 4) +
             "," + detail::fixed(r.cores_used_mean, 4) + "," + detail::fixed(r.delay_p99_ms, 4) + "," +
             std::to_string(r.task_moves) + "," + (judged ? (e.met() ? "yes" : "no") : "") + "\n";
    }
  }
  return out;
}

inline void write_json(json_writer& w, const std::vector<suite_entry>& suite) {
  w.begin_array();
  for (const auto& e : suite) {
    w.begin_object().field("file", e.file).field("targets_met", e.met());
    w.key("placement_sizing").raw(to_json(e.s, e.runs, e.targets));
    if (!e.flips.empty()) {
      w.key("flipping").begin_array();
      for (const auto& f : e.flips) write_json(w, f);
      w.end_array();
    }
    w.end_object();
  }
  w.end_array();
}

}  // namespace pvmkit::sim
