// Outcomes on the scenario suite (examples/scenarios), as a user reads them off the table: each
// scenario family under pressure, Closer + closer_dynamic against the bounded oracle and the
// baselines deployments run today. Every figure is modelled.
#include "judged_runs.hpp"

#include <pvmkit/placement/closer.hpp>
#include <pvmkit/placement/pinned_node0.hpp>
#include <pvmkit/placement/xen_default.hpp>
#include <pvmkit/sim/engine.hpp>
#include <pvmkit/sim/scenario_json.hpp>
#include <pvmkit/sim/suite.hpp>
#include <pvmkit/sim/targets.hpp>
#include <pvmkit/sizing/closer_dynamic.hpp>
#include <pvmkit/sizing/static_xen_default.hpp>
#include <pvmkit/sizing/static_xenserver.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace pvmkit;
using namespace pvmkit::sim;
using pvmkit::sim::test::every_target_met;

namespace {

// Closer, xen_default and pinned_node0, then the oracle.
struct outcome : pvmkit::sim::test::judged_runs {
  const run_result& closer() const { return runs[0]; }
  const run_result& xen_default() const { return runs[1]; }
  const run_result& pinned_node0() const { return runs[2]; }
};

outcome run(const std::string& file) {
  outcome o;
  judge(o, file, [](auto& r) {
    r.runs.push_back(simulate(r.s, controlled_by(sizing::closer_dynamic{}, placement::closer{}), "closer"));
    r.runs.push_back(simulate(r.s, controlled_by(sizing::static_xen_default{}, placement::xen_default{}), "xen_default"));
    r.runs.push_back(simulate(r.s, controlled_by(sizing::static_xenserver{}, placement::pinned_node0{}), "pinned_node0"));
  });
  return o;
}

}  // namespace

TEST_CASE("suite: one node overloaded beyond its CPUs: Closer spills and serves all, the static layouts cannot") {
  const auto o = run("overload-one-node.json");
  every_target_met(o);
  CHECK(o.of_oracle(o.closer()) >= 99);
  CHECK(o.of_oracle(o.pinned_node0()) < 70);  // the whole pVM inside node 0's 4 CPUs
  // Closer spills only what node 0 cannot hold: its remote work is the oracle's, not xen_default's
  // (which floats half of everything).
  CHECK(o.closer().remote_work_share < o.oracle().remote_work_share + 0.05);
  CHECK(o.closer().remote_work_share < o.xen_default().remote_work_share - 0.1);
  CHECK(o.closer().cores_held_mean < o.xen_default().cores_held_mean);
}

TEST_CASE("suite: after a flash crowd the spilled work comes home") {
  const auto o = run("flash-crowd-return.json");
  every_target_met(o);
  const auto burst = find_burst(o.s, o.closer());
  REQUIRE(burst);
  REQUIRE(burst->end_s);
  double peak_remote = 0, late_remote = 0;
  for (const auto& p : o.closer().series) {
    if (p.time_s >= burst->start_s && p.time_s < *burst->end_s) peak_remote = std::max(peak_remote, p.remote_share);
    if (p.time_s >= *burst->end_s + 30) late_remote = std::max(late_remote, p.remote_share);
  }
  CHECK(peak_remote > 0.05);  // the burst did push work off node 0
  CHECK(late_remote < 0.05);  // and it is back home 30 s after the burst
  CHECK(o.of_oracle(o.closer()) >= 99);
}

TEST_CASE("suite: guests' own vCPUs crowd their node: Closer works around them") {
  const auto o = run("guest-cpu-competition.json");
  every_target_met(o);
  CHECK(o.of_oracle(o.closer()) > o.of_oracle(o.pinned_node0()));
}

TEST_CASE("suite: an asymmetric 4-node host: spill follows the direction of the SLIT") {
  const auto o = run("four-node-asymmetric.json");
  every_target_met(o);
  CHECK(o.closer().remote_work_share <= o.oracle().remote_work_share + 0.05);
}

TEST_CASE("suite: an asymmetric 8-node ring with two hot nodes") {
  const auto o = run("eight-node-asymmetric.json");
  every_target_met(o);
  CHECK(o.of_oracle(o.closer()) >= 99);
}

TEST_CASE("suite: a NIC far from the guests; light load; small bursty host") {
  for (const char* f : {"nic-far-node.json", "light.json", "small.json"}) {
    CAPTURE(f);
    every_target_met(run(f));
  }
}

TEST_CASE("suite: every scenario file in the folder is judged, and a scenario file is found by name") {
  const auto files = suite_files(PVMKIT_SCENARIOS_DIR);
  for (const char* f : {"overload-one-node.json", "flash-crowd-return.json", "guest-cpu-competition.json", "nic-far-node.json",
                        "four-node-asymmetric.json", "eight-node-asymmetric.json", "many-small-guests.json", "diurnal-day.json",
                        "light.json"})
    CHECK(std::find(files.begin(), files.end(), f) != files.end());
}
