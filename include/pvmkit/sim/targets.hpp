// The targets a policy pair is held to on a scenario, against the bounded oracle and the baselines
// of the same run (every figure modelled). The thresholds are data (target_thresholds), so a
// report prints what is checked and a test can tighten or loosen one on purpose:
//   served          >= 97 % of the oracle's served work
//   vs baselines    served >= the best baseline's - 1 point (both as % of the oracle's)
//   remote work     <= the oracle's remote share + 5 points
//   return home     after a burst, remote share back within 5 points of its pre-burst level
//                   within 30 s of the burst's end (only scenarios with a flash crowd)
//   cores held      <= 1.15 x the oracle's cores held
// A burst starts at the earliest flash crowd's start_s and ends at the first control period after
// its peak whose demand is back within 10 % of the mean demand before it; a run whose demand never
// comes back has no "return home" target (it says so).
#pragma once

#include <pvmkit/core/json_writer.hpp>
#include <pvmkit/sim/engine.hpp>
#include <pvmkit/sim/scenario.hpp>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace pvmkit::sim {

struct target_thresholds {
  double served_of_oracle_min_pct = 97;
  double below_best_baseline_max_points = 1;
  double remote_over_oracle_max_points = 5;
  double return_within_s = 30;
  double return_over_pre_burst_max_points = 5;
  double held_vs_oracle_max = 1.15;
  double burst_end_demand_band = 0.10;  // demand within 10 % of its pre-burst mean: the burst is over
};

struct target_result {
  std::string name;
  double value = 0;
  double limit = 0;
  bool at_least = false;  // value >= limit (else value <= limit)
  bool applies = true;    // false: the scenario has nothing to check (note says why)
  bool met = true;
  std::string unit;
  std::string note;
};

struct target_set {
  std::string scenario;
  std::string policy;
  std::vector<target_result> items;
  [[nodiscard]] bool met() const noexcept {
    return std::all_of(items.begin(), items.end(), [](const target_result& t) { return !t.applies || t.met; });
  }
};

// When a scenario's burst starts and ends, from its workloads and the demand series of a run.
struct burst_window {
  double start_s = 0;
  double peak_s = 0;
  std::optional<double> end_s;  // empty: demand did not come back before the run ended
};

[[nodiscard]] inline std::optional<burst_window> find_burst(const scenario& s, const run_result& run,
                                                            const target_thresholds& th = {}) {
  std::optional<burst_window> b;
  for (const auto& g : s.guests)
    if (const auto* f = std::get_if<flash_crowd_load>(&g.load)) {
      if (!b || f->start_s < b->start_s) b = burst_window{f->start_s, f->start_s + f->ramp_s, std::nullopt};
    }
  if (!b) return b;
  double pre = 0;
  std::size_t n = 0;
  for (const auto& p : run.series)
    if (p.time_s < b->start_s) {
      pre += p.demanded_cores;
      ++n;
    }
  if (n == 0) return b;
  pre /= static_cast<double>(n);
  for (const auto& p : run.series)
    if (p.time_s >= b->peak_s && p.demanded_cores <= pre * (1 + th.burst_end_demand_band)) {
      b->end_s = p.time_s;
      break;
    }
  return b;
}

namespace detail {

[[nodiscard]] inline target_result bound(std::string name, double value, double limit, bool at_least, std::string unit) {
  target_result t{std::move(name), value, limit, at_least, true, false, std::move(unit), {}};
  t.met = at_least ? value >= limit - 1e-9 : value <= limit + 1e-9;
  return t;
}

}  // namespace detail

// `policy` is the label of the run under test; every other non-oracle run is a baseline.
[[nodiscard]] inline target_set evaluate_targets(const scenario& s, const std::vector<run_result>& runs,
                                                 std::string_view policy, const target_thresholds& th = {}) {
  target_set set;
  set.scenario = s.name;
  set.policy = std::string{policy};
  const run_result* oracle = nullptr;
  const run_result* mine = nullptr;
  for (const auto& r : runs) {
    if (r.oracle) oracle = &r;
    else if (r.label == policy) mine = &r;
  }
  if (!oracle || !mine) return set;
  auto of_oracle = [&](const run_result& r) { return oracle->served_work > 0 ? 100.0 * r.served_work / oracle->served_work : 100.0; };

  set.items.push_back(detail::bound("served, % of the oracle's", of_oracle(*mine), th.served_of_oracle_min_pct, true, "%"));

  const run_result* best = nullptr;
  for (const auto& r : runs)
    if (!r.oracle && &r != mine && (!best || of_oracle(r) > of_oracle(*best))) best = &r;
  if (best) {
    auto t = detail::bound("served, % of the oracle's, vs the best baseline", of_oracle(*mine),
                           of_oracle(*best) - th.below_best_baseline_max_points, true, "%");
    t.note = "best baseline: " + best->label;
    set.items.push_back(std::move(t));
  }

  set.items.push_back(detail::bound("remote pVM work", 100.0 * mine->remote_work_share,
                                    100.0 * oracle->remote_work_share + th.remote_over_oracle_max_points, false, "%"));

  if (const auto burst = find_burst(s, *mine, th)) {
    target_result t{"remote pVM work " + std::to_string(static_cast<int>(th.return_within_s)) + " s after the burst", 0, 0,
                    false, true, true, "%", {}};
    double pre = 0;
    std::size_t n = 0;
    for (const auto& p : mine->series)
      if (p.time_s < burst->start_s) {
        pre += 100.0 * p.remote_share;
        ++n;
      }
    pre = n ? pre / static_cast<double>(n) : 0;
    t.limit = pre + th.return_over_pre_burst_max_points;
    if (!burst->end_s) {
      t.applies = false;
      t.note = "demand has not come back to its pre-burst level by the end of the run";
    } else {
      const double from = *burst->end_s + th.return_within_s;
      bool any = false;
      for (const auto& p : mine->series)
        if (p.time_s >= from) {
          t.value = any ? std::max(t.value, 100.0 * p.remote_share) : 100.0 * p.remote_share;
          any = true;
        }
      char buf[160];
      std::snprintf(buf, sizeof buf, "burst %.0f-%.0f s; worst period from %.0f s; pre-burst %.1f %%", burst->start_s,
                    *burst->end_s, from, pre);
      t.note = buf;
      if (!any) {
        t.applies = false;
        t.note += "; the run ends before then";
      }
      t.met = !any || t.value <= t.limit + 1e-9;
    }
    set.items.push_back(std::move(t));
  }

  auto held = detail::bound("cores held, x the oracle's", oracle->cores_held_mean > 0 ? mine->cores_held_mean / oracle->cores_held_mean : 0,
                            th.held_vs_oracle_max, false, "x");
  set.items.push_back(std::move(held));
  return set;
}

[[nodiscard]] inline std::string format_targets(const target_set& t) {
  std::string out = "Targets for " + t.policy + " (modelled):\n";
  std::size_t width = 0;
  for (const auto& i : t.items) width = std::max(width, i.name.size());
  for (const auto& i : t.items) {
    char buf[256];
    if (!i.applies) {
      std::snprintf(buf, sizeof buf, "  %-*s  n/a (%s)\n", static_cast<int>(width), i.name.c_str(), i.note.c_str());
    } else {
      const int d = 2;
      std::snprintf(buf, sizeof buf, "  %-*s  %.*f %s %s %.*f %s  %s%s%s%s\n", static_cast<int>(width), i.name.c_str(), d, i.value,
                    i.unit.c_str(), i.at_least ? ">=" : "<=", d, i.limit, i.unit.c_str(), i.met ? "met" : "NOT met",
                    i.note.empty() ? "" : " (", i.note.c_str(), i.note.empty() ? "" : ")");
    }
    out += buf;
  }
  return out;
}

inline void write_json(json_writer& w, const target_set& t) {
  w.begin_object().field("scenario", t.scenario).field("policy", t.policy).field("met", t.met());
  w.key("targets").begin_array();
  for (const auto& i : t.items)
    w.begin_object().field("name", i.name).field("applies", i.applies).field("value", i.value).field("limit", i.limit)
        .field("at_least", i.at_least).field("met", i.met).field("unit", i.unit).field("note", i.note).end_object();
  w.end_array().end_object();
}

}  // namespace pvmkit::sim
