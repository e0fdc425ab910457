// A scenario of the suite (examples/scenarios) run under some policy pairs and the oracle, judged by
// its targets with Closer as the judged pair, as the suite tests read it.
#pragma once

#include <pvmkit/sim/engine.hpp>
#include <pvmkit/sim/scenario_json.hpp>
#include <pvmkit/sim/targets.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace pvmkit::sim::test {

struct judged_runs {
  scenario s;
  std::vector<run_result> runs;  // the pairs in the order given, then the oracle
  target_set targets;
  [[nodiscard]] const run_result& oracle() const { return runs.back(); }
  [[nodiscard]] double of_oracle(const run_result& r) const { return 100.0 * r.served_work / oracle().served_work; }
};

// Reads `file` from the scenarios folder; `add_runs(o)` appends the pairs' runs, one of them
// labelled "closer".
template <class AddRuns>
void judge(judged_runs& o, const std::string& file, AddRuns add_runs) {
  o.s = read_scenario_file(std::string{PVMKIT_SCENARIOS_DIR} + "/" + file);
  add_runs(o);
  o.runs.push_back(simulate_oracle(o.s));
  o.targets = evaluate_targets(o.s, o.runs, "closer");
}

inline void every_target_met(const judged_runs& o) {
  for (const auto& t : o.targets.items) {
    CAPTURE(t.name);
    CAPTURE(t.value);
    CAPTURE(t.limit);
    CHECK((!t.applies || t.met));
  }
}

}  // namespace pvmkit::sim::test
