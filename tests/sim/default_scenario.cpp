// The scenario `pvmkit simulate` runs without --scenario: what it holds, and that it is the
// example file examples/scenarios/light.json, embedded.
#include <pvmkit/sim/default_scenario.hpp>
#include <pvmkit/sim/model.hpp>

#include <doctest/doctest.h>

#include <cstddef>
#include <fstream>
#include <sstream>
#include <string>
#include <variant>

using namespace pvmkit;
using namespace pvmkit::sim;

TEST_CASE("the embedded default scenario is the example file") {
  std::ifstream in(PVMKIT_SCENARIOS_DIR "/light.json", std::ios::binary);
  REQUIRE(in);
  std::ostringstream text;
  text << in.rdbuf();
  CHECK(text.str() == std::string{default_scenario_json});
  CHECK(default_scenario().guests.size() == 16);
}

TEST_CASE("the default scenario: two nodes, 16 guests on both, a flash crowd, a NIC on node 0") {
  const auto s = default_scenario();
  CHECK(s.host.nodes == 2);
  CHECK(s.host.cpus_per_node == 16);
  CHECK(make_topology(s.host).distance(node_id{0}, node_id{1}) == 21);
  CHECK(s.guests.size() == 16);
  std::size_t on0 = 0, flash = 0;
  for (const auto& g : s.guests) {
    on0 += g.home == node_id{0} ? 1U : 0U;
    flash += std::holds_alternative<flash_crowd_load>(g.load) ? 1U : 0U;
  }
  CHECK(on0 == 8);
  CHECK(flash == 1);
  REQUIRE(s.host.devices.size() == 1);
  CHECK(s.host.devices[0].node == node_id{0});
}
