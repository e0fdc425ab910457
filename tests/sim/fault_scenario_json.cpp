#include <pvmkit/sim/fault_scenario_json.hpp>

#include "config_errors.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace pvmkit;
using namespace pvmkit::sim;

namespace {

// A valid fault scenario; each rejection test changes one thing in it.
const std::string base = R"({
  "name": "two components",
  "guests": 4,
  "components": [
    {"name": "store", "kind": "xenstore", "technique": "snapshot_log_replay", "state_entries": 500},
    {"name": "net", "kind": "netback", "technique": "warm_spare"}
  ],
  "faults": [
    {"component": "store", "at_s": 10, "kind": "crash"},
    {"component": "net", "at_s": 20, "kind": "hang"}
  ]
})";

using pvmkit::test::replace;

std::string error_of(const std::string& text) {
  return pvmkit::test::error_of([&] { (void)parse_fault_scenario(text, "f.json"); });
}

}  // namespace

TEST_CASE("fault scenario file: a minimal file takes every default") {
  const auto s = parse_fault_scenario(R"({"guests": 3,
    "components": [{"name": "a", "kind": "custom"}, {"name": "ts", "kind": "toolstack"}, {"name": "dm", "kind": "device_model"}],
    "faults": [{"component": "dm", "at_s": 0}]})",
                                      "min.json");
  CHECK(s.name == "min.json");  // no name: the file names the scenario
  CHECK(s.guests == 3);
  REQUIRE(s.components.size() == 3);
  CHECK(s.components[0].technique == recovery::technique::restart);
  CHECK(s.components[0].state_entries == 0);
  // control_plane and data_path follow the kind unless the file says otherwise.
  CHECK_FALSE(s.components[0].control_plane);
  CHECK_FALSE(s.components[0].data_path);
  CHECK(s.components[1].control_plane);
  CHECK_FALSE(s.components[1].data_path);
  CHECK_FALSE(s.components[2].control_plane);
  CHECK(s.components[2].data_path);
  REQUIRE(s.faults.size() == 1);
  CHECK(s.faults[0].kind == fault_kind::crash);
  CHECK(s.faults[0].at_s == 0);
  CHECK(s.params == fault_parameters{});
}

TEST_CASE("fault scenario file: fields given override the defaults") {
  const auto s = parse_fault_scenario(
      replace(replace(base, R"("technique": "warm_spare"})", R"("technique": "warm_spare", "control_plane": true, "data_path": false})"),
              "\n}", ",\n  \"parameters\": {\"restart_s\": 0.5, \"guest_boot_s\": 45, \"failover_s\": 0}\n}"),
      "f.json");
  CHECK(s.name == "two components");
  CHECK(s.components[0].kind == recovery::component_kind::xenstore);
  CHECK(s.components[0].technique == recovery::technique::snapshot_log_replay);
  CHECK(s.components[0].state_entries == 500);
  CHECK(s.components[1].control_plane);
  CHECK_FALSE(s.components[1].data_path);
  CHECK(s.faults[1].kind == fault_kind::hang);
  fault_parameters expected;
  expected.restart_s = 0.5;
  expected.guest_boot_s = 45;
  expected.failover_s = 0;
  CHECK(s.params == expected);
  CHECK(s.params != fault_parameters{});
}

TEST_CASE("fault scenario file: every parameter is read by its C++ name") {
  std::string params;
  double v = 1;
  for (const auto& f : sim::detail::fault_parameter_fields) {
    params += (params.empty() ? "" : ", ") + ("\"" + std::string{f.first} + "\": " + std::to_string(v));
    v += 1;
  }
  const auto s = parse_fault_scenario(replace(base, "\n}", ",\n  \"parameters\": {" + params + "}\n}"), "f.json");
  v = 1;
  for (const auto& f : sim::detail::fault_parameter_fields) {
    CAPTURE(f.first);
    CHECK(s.params.*f.second == v);
    v += 1;
  }
}

TEST_CASE("fault scenario file: examples/faults/default.json is default_fault_scenario()") {
  const auto from_file = read_fault_scenario_file(PVMKIT_SCENARIOS_DIR "/../faults/default.json");
  const auto built_in = default_fault_scenario();
  CHECK(from_file == built_in);
  // The same check field by field, so a failure says which part drifted.
  CHECK(from_file.name == built_in.name);
  CHECK(from_file.guests == built_in.guests);
  CHECK(from_file.components == built_in.components);
  CHECK(from_file.faults == built_in.faults);
  CHECK(from_file.params == built_in.params);
  CHECK(run_faults(from_file).to_json() == run_faults(built_in).to_json());
}

TEST_CASE("fault scenario file: run_faults on a parsed file equals run_faults on the same scenario in C++") {
  const auto parsed = parse_fault_scenario(R"({
    "name": "mixed",
    "guests": 5,
    "components": [
      {"name": "store", "kind": "xenstore", "technique": "snapshot_log_replay", "state_entries": 2500},
      {"name": "blk", "kind": "blkback", "technique": "reconnect_frontends"},
      {"name": "agent", "kind": "custom", "state_entries": 7, "control_plane": true}
    ],
    "faults": [
      {"component": "blk", "at_s": 5},
      {"component": "store", "at_s": 5, "kind": "hang"},
      {"component": "agent", "at_s": 90.5},
      {"component": "store", "at_s": 100}
    ],
    "parameters": {"crash_detection_s": 0.001, "reconnect_s": 0.25, "host_reboot_s": 600}
  })",
                                           "mixed.json");
  using recovery::component_kind;
  using recovery::technique;
  fault_scenario cpp;
  cpp.name = "mixed";
  cpp.guests = 5;
  cpp.components = {{"store", component_kind::xenstore, technique::snapshot_log_replay, 2500, true, false},
                    {"blk", component_kind::blkback, technique::reconnect_frontends, 0, false, true},
                    {"agent", component_kind::custom, technique::restart, 7, true, false}};
  cpp.faults = {{"blk", 5, fault_kind::crash}, {"store", 5, fault_kind::hang}, {"agent", 90.5, fault_kind::crash},
                {"store", 100, fault_kind::crash}};
  cpp.params.crash_detection_s = 0.001;
  cpp.params.reconnect_s = 0.25;
  cpp.params.host_reboot_s = 600;
  REQUIRE(parsed == cpp);

  const auto a = run_faults(parsed);
  const auto b = run_faults(cpp);
  CHECK(a.to_json() == b.to_json());
  REQUIRE(a.strategies.size() == 3);
  // The parameters reached the model: the reconnect and reboot figures are the file's, not the defaults.
  const auto& spec = a.strategies[2];
  REQUIRE(spec.strategy == recovery_strategy::specialised);
  CHECK(spec.faults[0].data_path_down_s == doctest::Approx(0.001 + cpp.params.restart_s + 0.25));
  const auto& stock = a.strategies[0];
  REQUIRE(stock.strategy == recovery_strategy::stock_xen);
  CHECK(stock.faults[0].data_path_down_s == doctest::Approx(600 + cpp.params.guest_boot_s));  // blkback crash: host reboot
  CHECK(a.to_json() != run_faults(default_fault_scenario()).to_json());
}

TEST_CASE("fault scenario file: faults at the same time are accepted, out of order rejected") {
  CHECK(parse_fault_scenario(replace(base, "\"at_s\": 20", "\"at_s\": 10"), "f.json").faults.size() == 2);
  CHECK(error_of(replace(base, "\"at_s\": 20", "\"at_s\": 9.5")) ==
        "f.json:10: faults[1].at_s: faults must be listed in time order: 9.5 s is before faults[0] at 10 s");
}

TEST_CASE("fault scenario file: every rejection names the file, the line and the field") {
  // Unknown fields, at every level.
  CHECK(error_of(replace(base, "\"guests\": 4", "\"guests\": 4, \"seed\": 1")) ==
        "f.json:3: seed: unknown field (expected one of name, guests, components, faults, parameters)");
  CHECK(error_of(replace(base, "\"state_entries\": 500", "\"state_entries\": 500, \"entries\": 1")) ==
        "f.json:5: components[0].entries: unknown field (expected one of name, kind, technique, state_entries, "
        "control_plane, data_path)");
  CHECK(error_of(replace(base, "\"kind\": \"hang\"", "\"kind\": \"hang\", \"guest\": \"a\"")) ==
        "f.json:10: faults[1].guest: unknown field (expected one of component, at_s, kind)");
  CHECK(error_of(replace(base, "\n}", ",\n  \"parameters\": {\"restart_s\": 1,\n \"restart\": 2}\n}")) ==
        "f.json:13: parameters.restart: unknown field (expected one of crash_detection_s, hang_detection_s, restart_s, "
        "failover_s, replay_per_entry_s, reconnect_s, xl_restart_delay_s, operator_reaction_s, host_reboot_s, guest_boot_s)");

  // Wrong types.
  CHECK(error_of(replace(base, "\"guests\": 4", "\"guests\": \"4\"")) == "f.json:3: guests: expected a number, found a string");
  CHECK(error_of(replace(base, "\"at_s\": 10", "\"at_s\": \"10\"")) ==
        "f.json:9: faults[0].at_s: expected a number, found a string");
  CHECK(error_of(replace(base, "\"warm_spare\"}", "\"warm_spare\", \"data_path\": 1}")) ==
        "f.json:6: components[1].data_path: expected a boolean, found a number");
  CHECK(error_of(replace(base, "\"state_entries\": 500", "\"state_entries\": 2.5")) ==
        "f.json:5: components[0].state_entries: must be a whole number, found 2.5");
  CHECK(error_of(replace(base, "\n}", ",\n  \"parameters\": [1]\n}")) == "f.json:12: parameters: expected an object, found an array");
  CHECK(error_of(replace(base, "\n}", ",\n  \"parameters\": {\"host_reboot_s\": null}\n}")) ==
        "f.json:12: parameters.host_reboot_s: expected a number, found null");
  CHECK(error_of(R"({"guests": 1, "components": {}, "faults": []})") == "f.json:1: components: expected an array, found an object");
  CHECK(error_of("[]") == "f.json:1: scenario: expected an object, found an array");

  // Ranges.
  CHECK(error_of(replace(base, "\"at_s\": 10", "\"at_s\": -1")) == "f.json:9: faults[0].at_s: must not be negative, found -1");
  CHECK(error_of(replace(base, "\n}", ",\n  \"parameters\": {\"restart_s\": -0.5}\n}")) ==
        "f.json:12: parameters.restart_s: must not be negative, found -0.5");
  CHECK(error_of(replace(base, "\"guests\": 4", "\"guests\": 0")) == "f.json:3: guests: must be at least 1, found 0");
  CHECK(error_of(replace(base, "\"state_entries\": 500", "\"state_entries\": -3")) ==
        "f.json:5: components[0].state_entries: must not be negative, found -3");

  // Names and references.
  CHECK(error_of(replace(base, "\"component\": \"net\"", "\"component\": \"netbak\"")) ==
        "f.json:10: faults[1].component: unknown component 'netbak' (components: store, net)");
  CHECK(error_of(replace(base, "{\"name\": \"net\"", "{\"name\": \"store\"")) ==
        "f.json:6: components[1].name: component 'store' is defined twice");
  CHECK(error_of(replace(base, "{\"name\": \"net\"", "{\"name\": \"\"")) == "f.json:6: components[1].name: must not be empty");
  CHECK(error_of(replace(base, "\"kind\": \"netback\"", "\"kind\": \"netfront\"")) ==
        "f.json:6: components[1].kind: unknown kind 'netfront' (expected one of xenstore, netback, blkback, toolstack, "
        "device_model, custom)");
  CHECK(error_of(replace(base, "\"technique\": \"warm_spare\"", "\"technique\": \"spare\"")) ==
        "f.json:6: components[1].technique: unknown technique 'spare' (expected one of restart, warm_spare, "
        "snapshot_log_replay, reconnect_frontends)");
  CHECK(error_of(replace(base, "\"kind\": \"hang\"", "\"kind\": \"freeze\"")) ==
        "f.json:10: faults[1].kind: unknown fault kind 'freeze' (expected one of crash, hang)");

  // Missing and empty.
  CHECK(error_of(replace(base, "\"guests\": 4,", "")) == "f.json:1: scenario: missing required field 'guests'");
  CHECK(error_of(replace(base, "\"kind\": \"xenstore\", ", "")) == "f.json:5: components[0]: missing required field 'kind'");
  CHECK(error_of(replace(base, "\"at_s\": 20, ", "")) == "f.json:10: faults[1]: missing required field 'at_s'");
  CHECK(error_of(R"({"guests": 1, "components": [{"name": "a", "kind": "custom"}],
  "faults": []})") == "f.json:2: faults: needs at least one fault");
  CHECK(error_of(R"({"guests": 1, "components": [], "faults": [{"component": "a", "at_s": 1}]})") ==
        "f.json:1: components: needs at least one component");

  // JSON syntax, from the shared parser: line and column.
  CHECK(error_of("{\n  \"guests\": 4,,\n}") == "f.json:2:15: expected a field name in double quotes, found ','");
}

TEST_CASE("fault scenario file: a missing file is named") {
  CHECK_THROWS_WITH_AS((void)read_fault_scenario_file("/nonexistent/faults.json"),
                       "/nonexistent/faults.json: cannot open fault scenario file (No such file or directory)", config_error);
}

TEST_CASE("fault scenario file: a regular file, with times and counts bounded") {
  CHECK_THROWS_WITH_AS((void)read_fault_scenario_file("/dev/zero"),
                       "/dev/zero: not a regular file (it is a character device); a fault scenario file must be one", config_error);
  CHECK(error_of(replace(base, "\"at_s\": 20", "\"at_s\": 1e300")) == "f.json:10: faults[1].at_s: must be at most 1e+07, found 1e+300");
  CHECK(error_of(replace(base, "\n}", ",\n  \"parameters\": {\"host_reboot_s\": 1e300}\n}")) ==
        "f.json:12: parameters.host_reboot_s: must be at most 1e+07, found 1e+300");
  auto with = [](std::size_t components, std::size_t faults) {
    std::string text = R"({"guests": 1, "components": [)";
    for (std::size_t i = 0; i < components; ++i)
      text += std::string{i ? "," : ""} + R"({"name": "c)" + std::to_string(i) + R"(", "kind": "custom"})";
    text += R"(], "faults": [)";
    for (std::size_t i = 0; i < faults; ++i) text += std::string{i ? "," : ""} + R"({"component": "c0", "at_s": 1})";
    return text + "]}";
  };
  CHECK(parse_fault_scenario(with(max_fault_components, max_faults), "f.json").faults.size() == max_faults);
  CHECK(error_of(with(max_fault_components + 1, 1)) == "f.json:1: components: 1025 components, over the limit of 1024");
  CHECK(error_of(with(1, max_faults + 1)) == "f.json:1: faults: 100001 faults, over the limit of 100000");
}
