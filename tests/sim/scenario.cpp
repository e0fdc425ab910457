// The scenario's vocabulary on its own: the run-length bound, GiB to bytes, and the host it builds.
// Reading scenario files is tested in scenario_json.cpp.
#include <pvmkit/sim/scenario.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace pvmkit;
using namespace pvmkit::sim;

TEST_CASE("run_length_problem: within the limits nothing; past them the count and the limit are named") {
  CHECK(run_length_problem(60, 0.1, 1).empty());
  CHECK(run_length_problem(1e6, 0.1, 1).empty());  // exactly the limits: 1e7 ticks, 1e6 rounds
  CHECK(run_length_problem(1e7, 0.1, 1) == "a run of 1e+07 s in ticks of 0.1 s is 1e+08 ticks, over the limit of 10000000");
  CHECK(run_length_problem(2e6, 0.5, 1) == "a run of 2e+06 s with a control period of 1 s is 2e+06 control rounds, over the limit of 1000000");
}

TEST_CASE("gib_to_bytes rounds to whole MiB") {
  CHECK(gib_to_bytes(1) == bytes{1ULL << 30});
  CHECK(gib_to_bytes(0.5) == bytes{512ULL << 20});
  CHECK(gib_to_bytes(0.0001) == bytes{0});  // 0.1 MiB rounds down
  CHECK(gib_to_bytes(0.001) == bytes{1ULL << 20});
}

TEST_CASE("make_topology: consecutive CPUs per node, 10 local and 21 remote unless distances are given") {
  host_spec h;
  h.nodes = 3;
  h.cpus_per_node = 2;
  h.memory_per_node_gib = 4;
  const topology t = make_topology(h);
  REQUIRE(t.node_count() == 3);
  CHECK(t.node(node_id{2}).cpus == cpuset::range(4, 6));
  CHECK(t.node(node_id{1}).memory == bytes{4ULL << 30});
  CHECK(t.distance(node_id{0}, node_id{0}) == 10);
  CHECK(t.distance(node_id{0}, node_id{2}) == 21);
  h.distances = {10, 12, 30, 12, 10, 20, 30, 20, 10};
  CHECK(make_topology(h).distance(node_id{0}, node_id{2}) == 30);
}

TEST_CASE("host kinds print as the CLI names them") {
  CHECK(to_string(host_kind::xen) == "xen");
  CHECK(to_string(host_kind::kvm) == "kvm");
}
