// A scenario suite: every scenario file of a folder run under the same policy pairs and the
// oracle, each judged by the same targets (sim/targets.hpp), and one summary across them. Every
// figure is modelled.
#pragma once

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
  std::vector<std::vector<std::string>> cells{
      {"scenario", "placement + sizing", "served %", "of oracle %", "remote work %", "cores held", "p99 ms", "task moves"}};
  std::size_t checked = 0, met = 0;
  for (const auto& e : suite) {
    const run_result* oracle = nullptr;
    for (const auto& r : e.runs)
      if (r.oracle) oracle = &r;
    for (const auto& r : e.runs) {
      const double of = oracle && oracle->served_work > 0 ? 100.0 * r.served_work / oracle->served_work : 100.0;
      std::string label = r.label;
      if (e.targets && r.label == e.targets->policy) label += e.met() ? " [targets met]" : " [targets NOT met]";
      cells.push_back({e.file, label, detail::fixed(r.served_pct, 2), detail::fixed(of, 2), detail::fixed(100.0 * r.remote_work_share, 1),
                       detail::fixed(r.cores_held_mean, 2), detail::fixed(r.delay_p99_ms, 3),
                       detail::fixed(static_cast<double>(r.task_moves), 0)});
    }
    if (e.targets || !e.flips.empty()) {
      ++checked;
      met += e.met() ? 1U : 0U;
    }
  }
  std::vector<std::size_t> width(cells.front().size(), 0);
  for (const auto& l : cells)
    for (std::size_t j = 0; j < l.size(); ++j) width[j] = std::max(width[j], l[j].size());
  std::string out = "Suite summary: " + std::to_string(suite.size()) + " scenarios. " + modelled_note + "\n\n";
  for (std::size_t i = 0; i < cells.size(); ++i) {
    for (std::size_t j = 0; j < cells[i].size(); ++j) {
      const auto pad = width[j] - cells[i][j].size();
      if (j < 2) out += (j ? "  " : "") + cells[i][j] + std::string(pad, ' ');
      else out += "  " + std::string(pad, ' ') + cells[i][j];
    }
    out += '\n';
    if (i == 0) {
      std::size_t total = 0;
      for (auto w : width) total += w + 2;
      out += std::string(total - 2, '-') + '\n';
    }
  }
  if (checked) out += "\nTargets met on " + std::to_string(met) + " of " + std::to_string(checked) + " scenarios.\n";
  return out;
}

// One row per scenario: the judged pair against the oracle and the best baseline (by served work),
// the figures the targets are about.
[[nodiscard]] inline std::string format_suite_verdict(const std::vector<suite_entry>& suite) {
  std::vector<std::vector<std::string>> cells{{"scenario", "served % of oracle", "best baseline", "remote % (oracle)",
                                               "cores held (oracle)", "p99 ms", "moves", "targets"}};
  for (const auto& e : suite) {
    if (!e.targets) continue;
    const run_result *oracle = nullptr, *mine = nullptr, *best = nullptr;
    for (const auto& r : e.runs) {
      if (r.oracle) oracle = &r;
      else if (r.label == e.targets->policy) mine = &r;
    }
    if (!oracle || !mine) continue;
    for (const auto& r : e.runs)
      if (!r.oracle && &r != mine && (!best || r.served_work > best->served_work)) best = &r;
    auto of = [&](const run_result& r) { return oracle->served_work > 0 ? 100.0 * r.served_work / oracle->served_work : 100.0; };
    cells.push_back({e.file, detail::fixed(of(*mine), 2), best ? detail::fixed(of(*best), 2) + " " + best->label : "-",
                     detail::fixed(100.0 * mine->remote_work_share, 1) + " (" + detail::fixed(100.0 * oracle->remote_work_share, 1) + ")",
                     detail::fixed(mine->cores_held_mean, 2) + " (" + detail::fixed(oracle->cores_held_mean, 2) + ")",
                     detail::fixed(mine->delay_p99_ms, 3), std::to_string(mine->task_moves), e.met() ? "met" : "NOT met"});
  }
  std::vector<std::size_t> width(cells.front().size(), 0);
  for (const auto& l : cells)
    for (std::size_t j = 0; j < l.size(); ++j) width[j] = std::max(width[j], l[j].size());
  std::string out;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    for (std::size_t j = 0; j < cells[i].size(); ++j) {
      const bool left = j == 0 || j == 2 || j == 7;
      const auto pad = std::string(width[j] - cells[i][j].size(), ' ');
      out += (j ? "  " : "") + (left ? cells[i][j] + pad : pad + cells[i][j]);
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    out += '\n';
    if (i == 0) {
      std::size_t total = 0;
      for (auto w : width) total += w + 2;
      out += std::string(total - 2, '-') + '\n';
    }
  }
  return out;
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
    const run_result* oracle = nullptr;
    for (const auto& r : e.runs)
      if (r.oracle) oracle = &r;
    for (const auto& r : e.runs) {
      const double of = oracle && oracle->served_work > 0 ? 100.0 * r.served_work / oracle->served_work : 100.0;
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
