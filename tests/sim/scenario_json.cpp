#include <pvmkit/sim/default_scenario.hpp>
#include <pvmkit/sim/scenario_json.hpp>

#include "config_errors.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

using namespace pvmkit;
using namespace pvmkit::sim;

namespace {

// A valid scenario; each rejection test changes one thing in it.
const std::string base = R"({
  "name": "small",
  "duration_s": 10,
  "host": {"nodes": 2, "cpus_per_node": 4, "memory_per_node_gib": 16,
           "devices": [{"name": "eth0", "kind": "network", "node": 0}]},
  "guests": [
    {"name": "a", "home": 0, "workload": {"kind": "steady", "net_pps": 1000, "block_iops": 10}},
    {"name": "b", "home": 1, "workload": {"kind": "bursty", "net_pps": 1000, "peak": 3}}
  ]
})";

using pvmkit::test::replace;

std::string error_of(const std::string& text) {
  return pvmkit::test::error_of([&] { (void)parse_scenario(text, "s.json"); });
}

}  // namespace

TEST_CASE("a valid scenario is read with its defaults") {
  const auto s = parse_scenario(base, "s.json");
  CHECK(s.name == "small");
  CHECK(s.duration_s == 10);
  CHECK(s.tick_s == doctest::Approx(0.1));
  CHECK(s.ticks() == 100);
  CHECK(s.ticks_per_control() == 10);
  CHECK(s.host.nodes == 2);
  REQUIRE(s.guests.size() == 2);
  CHECK(s.guests[1].home == node_id{1});
  CHECK(s.guests[0].net_device == "eth0");
  CHECK(std::get<steady_load>(s.guests[0].load).base == io_rates{1000, 10});
  CHECK(std::get<bursty_load>(s.guests[1].load).peak == 3);
  CHECK(s.model.net_ring_slots == 256);
}

TEST_CASE("the embedded default scenario is the example file") {
  std::ifstream in(PVMKIT_SCENARIOS_DIR "/default.json", std::ios::binary);
  REQUIRE(in);
  std::ostringstream text;
  text << in.rdbuf();
  CHECK(text.str() == std::string{default_scenario_json});
  CHECK(default_scenario().guests.size() == 16);
}

TEST_CASE("every example scenario file parses") {
  for (const char* f : {"/default.json", "/small.json", "/traced.json"}) {
    CAPTURE(f);
    CHECK_NOTHROW((void)read_scenario_file(std::string{PVMKIT_SCENARIOS_DIR} + f));
  }
}

TEST_CASE("JSON syntax errors name the line and column") {
  CHECK(error_of("{\n  \"name\": \"x\",\n  \"seed\": 1,,\n}") == "s.json:3:13: expected a field name in double quotes, found ','");
  CHECK(error_of("{\"name\": \"x\"") == "s.json:1:13: expected ',' or '}', found the end of the file");
  CHECK(error_of("{\"name\": tru}") == "s.json:1:10: expected a value (object, array, string, number, true, false or null), found 't'");
  CHECK(error_of("{\"a\": 1, \"a\": 2}") == "s.json:1:10: field 'a' appears twice");
  CHECK(error_of("{\"name\": \"x\"} extra") == "s.json:1:15: unexpected text after the top-level value");
  CHECK(error_of("{\"seed\": 1.2.3}") == "s.json:1:10: malformed number '1.2.3'");
  CHECK(error_of("{\"name\": \"a\nb\"}").find("s.json:1:") == 0);
  CHECK(error_of(std::string(100, '[')).find("nesting deeper than 64 levels") != std::string::npos);
}

TEST_CASE("scenario rejections name the field and the line") {
  // The unknown workload kind of the brief.
  CHECK(error_of(replace(base, "\"kind\": \"bursty\"", "\"kind\": \"burstyy\"")) ==
        "s.json:8: guests[1].workload.kind: unknown kind 'burstyy' (expected one of steady, bursty, diurnal, flash_crowd, trace)");
  // Wrong types.
  CHECK(error_of(replace(base, "\"duration_s\": 10", "\"duration_s\": \"10\"")) == "s.json:3: duration_s: expected a number, found a string");
  CHECK(error_of(replace(base, "\"nodes\": 2", "\"nodes\": true")) == "s.json:4: host.nodes: expected a number, found a boolean");
  CHECK(error_of(replace(base, "\"name\": \"a\"", "\"name\": 7")) == "s.json:7: guests[0].name: expected a string, found a number");
  CHECK(error_of("{\"host\": [], \"guests\": []}") == "s.json:1: host: expected an object, found an array");
  CHECK(error_of(replace(base, "\"home\": 0", "\"home\": 0.5")) == "s.json:7: guests[0].home: must be a whole number, found 0.5");
  CHECK(error_of("{\"host\": {\"nodes\": 1, \"cpus_per_node\": 2}, \"guests\": 5}") == "s.json:1: guests: expected an array, found a number");
  // Unknown fields, at every level.
  CHECK(error_of(replace(base, "\"duration_s\": 10", "\"duration\": 10")) ==
        "s.json:3: duration: unknown field (expected one of name, seed, duration_s, tick_s, control_period_s, host, pvm, model, guests, flipping)");
  CHECK(error_of(replace(base, "\"cpus_per_node\": 4", "\"cpus_per_node\": 4, \"sockets\": 2")) ==
        "s.json:4: host.sockets: unknown field (expected one of nodes, cpus_per_node, memory_per_node_gib, distances, devices)");
  CHECK(error_of(replace(base, "\"home\": 0,", "\"home\": 0, \"colour\": \"red\",")) ==
        "s.json:7: guests[0].colour: unknown field (expected one of name, home, vcpus, memory_gib, net_device, block_device, workload)");
  CHECK(error_of(replace(base, "\"peak\": 3", "\"peak\": 3, \"multiple\": 2")) == "s.json:8: guests[1].workload.multiple: not a field of a 'bursty' workload");
  CHECK(error_of(replace(base, "\"peak\": 3", "\"peek\": 3")).find("s.json:8: guests[1].workload.peek: unknown field") == 0);
  // Negative rates and out-of-range values.
  CHECK(error_of(replace(base, "\"net_pps\": 1000, \"block_iops\": 10", "\"net_pps\": -5, \"block_iops\": 10")) ==
        "s.json:7: guests[0].workload.net_pps: must not be negative, found -5");
  CHECK(error_of(replace(base, "\"block_iops\": 10", "\"block_iops\": -1")) == "s.json:7: guests[0].workload.block_iops: must not be negative, found -1");
  CHECK(error_of(replace(base, "\"duration_s\": 10", "\"duration_s\": 0")) == "s.json:3: duration_s: must be greater than 0, found 0");
  CHECK(error_of(replace(base, "\"duration_s\": 10", "\"duration_s\": 10, \"tick_s\": 0.1, \"control_period_s\": 0.25")) ==
        "s.json:3: control_period_s: must be a whole number of ticks (tick_s = 0.100000)");
  CHECK(error_of(replace(base, "\"peak\": 3", "\"peak\": 3, \"on_probability\": 1.5")) ==
        "s.json:8: guests[1].workload.on_probability: must be at most 1, found 1.5");
  CHECK(error_of(replace(base, "\"nodes\": 2", "\"nodes\": 0")) == "s.json:4: host.nodes: must be at least 1, found 0");
  // A guest on a node that does not exist.
  CHECK(error_of(replace(base, "\"home\": 1", "\"home\": 2")) ==
        "s.json:8: guests[1].home: node 2 does not exist (the host has 2 nodes: 0..1)");
  CHECK(error_of(replace(base, "\"kind\": \"network\", \"node\": 0", "\"kind\": \"network\", \"node\": 5")) ==
        "s.json:5: host.devices[0].node: node 5 does not exist (the host has 2 nodes)");
  // Missing required fields.
  CHECK(error_of(replace(base, "\"home\": 1, ", "")) == "s.json:8: guests[1]: missing required field 'home'");
  CHECK(error_of(replace(base, "\"kind\": \"steady\", ", "")) == "s.json:7: guests[0].workload: missing required field 'kind'");
  CHECK(error_of(replace(base, "\"nodes\": 2, ", "")) == "s.json:4: host: missing required field 'nodes'");
  CHECK(error_of("{\"host\": {\"nodes\": 1, \"cpus_per_node\": 2}}") == "s.json:1: scenario: missing required field 'guests'");
  CHECK(error_of("{\"guests\": []}") == "s.json:1: scenario: missing required field 'host'");
  CHECK(error_of("[1]") == "s.json:1: scenario: expected an object, found an array");
  // Cross-references and consistency.
  CHECK(error_of(replace(base, "\"name\": \"b\"", "\"name\": \"a\"")) == "s.json:8: guests[1].name: guest 'a' is defined twice");
  CHECK(error_of(replace(base, "\"home\": 0,", "\"home\": 0, \"net_device\": \"eth9\",")) ==
        "s.json:7: guests[0].net_device: device 'eth9' is not in host.devices");
  CHECK(error_of("{\"host\": {\"nodes\": 1, \"cpus_per_node\": 2},\n \"guests\": []}") == "s.json:2: guests: needs at least one guest");
  CHECK(error_of(replace(base, "\"memory_per_node_gib\": 16,", "\"memory_per_node_gib\": 16, \"distances\": [[10, 21], [20, 10]],")) ==
        "s.json:4: host.distances[1][0]: the matrix must be symmetric (distances[0][1] = 21)");
  CHECK(error_of(replace(base, "\"memory_per_node_gib\": 16,", "\"memory_per_node_gib\": 16, \"distances\": [[10, 21]],")) ==
        "s.json:4: host.distances: expected 2 rows (one per node), found 1");
  CHECK(error_of(replace(base, "\"memory_per_node_gib\": 16,", "\"memory_per_node_gib\": 16, \"distances\": [[12, 21], [21, 10]],")) ==
        "s.json:4: host.distances[0][0]: a node's distance to itself must be 10");
  CHECK(error_of(replace(base, "\"home\": 0,", "\"home\": 0, \"memory_gib\": 40,")).find("s.json:7: guests[0]: node 0 runs out of memory") == 0);
  CHECK(error_of(replace(base, "\"kind\": \"steady\", \"net_pps\": 1000, \"block_iops\": 10", "\"kind\": \"trace\", \"file\": \"t.csv\"")) ==
        "s.json:7: guests[0].workload.file: trace files cannot be read here");
  CHECK(error_of(replace(base, "\"peak\": 3", "\"peak\": 3, \"slot_s\": 0")) == "s.json:8: guests[1].workload.slot_s: must be greater than 0, found 0");
  CHECK(error_of(replace(base, "\"kind\": \"bursty\", \"net_pps\": 1000, \"peak\": 3",
                         "\"kind\": \"flash_crowd\", \"multiple\": 0.5")) ==
        "s.json:8: guests[1].workload.multiple: must be at least 1, found 0.5");
  CHECK(error_of(replace(base, "\"kind\": \"bursty\", \"net_pps\": 1000, \"peak\": 3", "\"kind\": \"diurnal\", \"amplitude\": 2")) ==
        "s.json:8: guests[1].workload.amplitude: must be at most 1, found 2");
}

TEST_CASE("trace workloads read their rows through the loader, by guest name") {
  const std::string text = replace(base, "\"kind\": \"steady\", \"net_pps\": 1000, \"block_iops\": 10", "\"kind\": \"trace\", \"file\": \"t.csv\"");
  int loads = 0;
  const trace_loader loader = [&](const std::string& file) {
    ++loads;
    CHECK(file == "t.csv");
    return parse_trace("0,a,100,1\n5,a,200,2\n0,other,1,1\n", file);
  };
  const auto s = parse_scenario(text, "s.json", loader);
  CHECK(loads == 1);
  CHECK(rate_at(s.guests[0].load, 6) == io_rates{200, 2});
  const std::string missing = replace(text, "\"file\": \"t.csv\"", "\"file\": \"t.csv\", \"guest\": \"zz\"");
  CHECK_THROWS_WITH_AS((void)parse_scenario(missing, "s.json", loader),
                       "s.json:7: guests[0].workload.file: trace 't.csv' has no rows for guest 'zz'", config_error);
  // A bad row in the trace names the trace file and its line.
  const trace_loader bad = [](const std::string& file) { return parse_trace("0,a,1,2\n1,a,x,2\n", file); };
  CHECK_THROWS_WITH_AS((void)parse_scenario(text, "s.json", bad), "t.csv:2: column 3 (net_pps): not a number: 'x'", config_error);
}
