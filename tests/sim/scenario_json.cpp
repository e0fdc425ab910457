#include <pvmkit/sim/fault_scenario_json.hpp>
#include <pvmkit/sim/scenario_json.hpp>
#include <pvmkit/sim/suite.hpp>

#include "config_errors.hpp"
#include "mutations.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <memory>
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

// A scenario on 2 nodes of 4 CPUs with `n` guests, alternating homes, each with `vcpus` vCPUs.
std::string many_guests(std::size_t n, std::size_t vcpus = 2) {
  std::string text = R"({"host": {"nodes": 2, "cpus_per_node": 4, "memory_per_node_gib": 1024}, "guests": [)";
  for (std::size_t i = 0; i < n; ++i)
    text += std::string{i ? ",\n" : "\n"} + R"({"name": "g)" + std::to_string(i) + R"(", "home": )" + std::to_string(i % 2) +
            R"(, "vcpus": )" + std::to_string(vcpus) + R"(, "memory_gib": 0.01, "workload": {"kind": "steady", "net_pps": 100}})";
  return text + "]}";
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

TEST_CASE("every example scenario file parses") {
  const auto files = suite_files(PVMKIT_SCENARIOS_DIR);
  CHECK(files.size() >= 9);
  for (const auto& f : files) {
    CAPTURE(f);
    CHECK_NOTHROW((void)read_scenario_file(std::string{PVMKIT_SCENARIOS_DIR} + "/" + f));
  }
  CHECK_NOTHROW((void)read_scenario_file(PVMKIT_SCENARIOS_DIR "/../traces/traced.json"));
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
        "s.json:7: guests[0].colour: unknown field (expected one of name, home, vcpus, memory_gib, cpu_cores, net_device, block_device, workload)");
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
  // An asymmetric matrix is real (row = from, column = to) and kept as given.
  const auto asym = parse_scenario(replace(base, "\"memory_per_node_gib\": 16,", "\"memory_per_node_gib\": 16, \"distances\": [[10, 21], [20, 10]],"), "s.json");
  CHECK(make_topology(asym.host).distance(node_id{0}, node_id{1}) == 21);
  CHECK(make_topology(asym.host).distance(node_id{1}, node_id{0}) == 20);
  // Guests' own CPU use cannot exceed their node's CPUs.
  CHECK(error_of(replace(base, "\"home\": 0,", "\"home\": 0, \"vcpus\": 8, \"cpu_cores\": 5,")).find("cpu_cores: node 0 has 4 CPUs; its guests' cpu_cores add up to 5") !=
        std::string::npos);
  CHECK(error_of(replace(base, "\"memory_per_node_gib\": 16,", "\"memory_per_node_gib\": 16, \"distances\": [[10, 21]],")) ==
        "s.json:4: host.distances: expected 2 rows (one per node), found 1");
  CHECK(error_of(replace(base, "\"memory_per_node_gib\": 16,", "\"memory_per_node_gib\": 16, \"distances\": [[12, 21], [21, 10]],")) ==
        "s.json:4: host.distances[0][0]: a node's distance to itself must be 10");
  CHECK(error_of(replace(base, "\"home\": 0,", "\"home\": 0, \"memory_gib\": 40,")).find("s.json:7: guests[0]: node 0 runs out of memory") == 0);
  CHECK(error_of(replace(base, "\"kind\": \"steady\", \"net_pps\": 1000, \"block_iops\": 10", "\"kind\": \"trace\", \"file\": \"t.csv\"")) ==
        "s.json:7: guests[0].workload.file: trace files cannot be read here");
  CHECK(error_of(replace(base, "\"peak\": 3", "\"peak\": 3, \"slot_s\": 0")) == "s.json:8: guests[1].workload.slot_s: must be at least 0.001, found 0");
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
    return std::make_shared<const io_trace>(parse_trace("0,a,100,1\n5,a,200,2\n0,other,1,1\n", file));
  };
  const auto s = parse_scenario(text, "s.json", loader);
  CHECK(loads == 1);
  CHECK(rate_at(s.guests[0].load, 6) == io_rates{200, 2});
  const std::string missing = replace(text, "\"file\": \"t.csv\"", "\"file\": \"t.csv\", \"guest\": \"zz\"");
  CHECK_THROWS_WITH_AS((void)parse_scenario(missing, "s.json", loader),
                       "s.json:7: guests[0].workload.file: trace 't.csv' has no rows for guest 'zz'", config_error);
  // A bad row in the trace names the trace file and its line.
  const trace_loader bad = [](const std::string& file) {
    return std::make_shared<const io_trace>(parse_trace("0,a,1,2\n1,a,x,2\n", file));
  };
  CHECK_THROWS_WITH_AS((void)parse_scenario(text, "s.json", bad), "t.csv:2: column 3 (net_pps): not a number: 'x'", config_error);
}

TEST_CASE("every number of a scenario is bounded, and the error names the field") {
  // The issue's case: a 1e-300 s tick asked for 1e301 ticks and died in vector::reserve.
  CHECK(error_of(replace(base, "\"duration_s\": 10", "\"duration_s\": 10, \"tick_s\": 1e-300")) ==
        "s.json:3: tick_s: must be at least 0.001, found 1e-300");
  // Ticks and control rounds, each within bounds, may still make too long a run.
  CHECK(error_of(replace(base, "\"duration_s\": 10", "\"duration_s\": 1e7, \"tick_s\": 0.001")) ==
        "s.json:3: duration_s: a run of 1e+07 s in ticks of 0.001 s is 1e+10 ticks, over the limit of 10000000");
  CHECK(error_of(replace(base, "\"duration_s\": 10", "\"duration_s\": 1e7, \"tick_s\": 1, \"control_period_s\": 1")) ==
        "s.json:3: duration_s: a run of 1e+07 s with a control period of 1 s is 1e+07 control rounds, over the limit of 1000000");
  CHECK(error_of(replace(base, "\"duration_s\": 10", "\"duration_s\": 1e300")) == "s.json:3: duration_s: must be at most 1e+07, found 1e+300");
  // Rates of 1e300 printed a table of nan: a guest offers at most 1e9 packets/s and 1e8 requests/s.
  CHECK(error_of(replace(base, "\"net_pps\": 1000, \"block_iops\": 10", "\"net_pps\": 1e300, \"block_iops\": 10")) ==
        "s.json:7: guests[0].workload.net_pps: must be at most 1e+09, found 1e+300");
  CHECK(error_of(replace(base, "\"block_iops\": 10", "\"block_iops\": 1e300")) ==
        "s.json:7: guests[0].workload.block_iops: must be at most 1e+08, found 1e+300");
  // So does a workload's peak, whatever multiplies the base.
  CHECK(error_of(replace(base, "\"peak\": 3", "\"peak\": 1e7")) ==
        "s.json:8: guests[1].workload: peaks at net_pps x peak = 1e+10, over the limit of 1e+09 packets/s (docs/simulator.md, Input limits)");
  CHECK(error_of(replace(base, "\"peak\": 3", "\"peak\": 1e300")) == "s.json:8: guests[1].workload.peak: must be at most 1e+09, found 1e+300");
  const std::string flash = replace(base, "\"kind\": \"bursty\", \"net_pps\": 1000, \"peak\": 3", "\"kind\": \"flash_crowd\", \"block_iops\": 1e6, \"multiple\": 1000");
  CHECK(error_of(flash) ==
        "s.json:8: guests[1].workload: peaks at block_iops x multiple = 1e+09, over the limit of 1e+08 requests/s (docs/simulator.md, Input limits)");
  CHECK(error_of(replace(flash, "\"multiple\": 1000", "\"decay_s\": 1e-300")) == "s.json:8: guests[1].workload.decay_s: must be at least 0.001, found 1e-300");
  const std::string diurnal = replace(base, "\"kind\": \"bursty\", \"net_pps\": 1000, \"peak\": 3", "\"kind\": \"diurnal\", \"net_pps\": 9e8, \"amplitude\": 0.5");
  CHECK(error_of(diurnal) ==
        "s.json:8: guests[1].workload: peaks at net_pps x (1 + amplitude) = 1.35e+09, over the limit of 1e+09 packets/s (docs/simulator.md, Input limits)");
  CHECK(error_of(replace(diurnal, "\"amplitude\": 0.5", "\"amplitude\": 0, \"period_s\": 1e-300")) ==
        "s.json:8: guests[1].workload.period_s: must be at least 0.001, found 1e-300");
  CHECK(error_of(replace(diurnal, "\"amplitude\": 0.5", "\"amplitude\": 0, \"phase_s\": -1e300")) ==
        "s.json:8: guests[1].workload.phase_s: must be at least -1e+07, found -1e+300");
  // The model and the pVM.
  CHECK(error_of(replace(base, "\"duration_s\": 10,", "\"duration_s\": 10, \"model\": {\"net_packet_us\": 1e-300},")) ==
        "s.json:3: model.net_packet_us: must be at least 0.001, found 1e-300");
  CHECK(error_of(replace(base, "\"duration_s\": 10,", "\"duration_s\": 10, \"pvm\": {\"boot_memory_mib\": 1e300},")) ==
        "s.json:3: pvm.boot_memory_mib: must be at most 32768, found 1e+300");
  CHECK(error_of(replace(base, "\"duration_s\": 10,", "\"duration_s\": 10, \"pvm\": {\"boot_vcpus\": 9},")) ==
        "s.json:3: pvm.boot_vcpus: must be at most 8, found 9");
}

TEST_CASE("the host is bounded in nodes x CPUs, the guests in number and vCPUs") {
  // 1,024 nodes x 4,096 CPUs ran out of memory; 8,192 CPUs is Linux's largest NR_CPUS.
  CHECK(error_of(replace(base, "\"nodes\": 2, \"cpus_per_node\": 4", "\"nodes\": 1024, \"cpus_per_node\": 4096")) ==
        "s.json:4: host.cpus_per_node: 1024 nodes x 4096 CPUs is 4194304 CPUs, over the limit of 8192 (docs/simulator.md, Input limits)");
  CHECK(error_of(replace(base, "\"nodes\": 2", "\"nodes\": 1025")) == "s.json:4: host.nodes: must be at most 1024, found 1025");
  CHECK_NOTHROW((void)parse_scenario(replace(base, "\"nodes\": 2, \"cpus_per_node\": 4", "\"nodes\": 1024, \"cpus_per_node\": 8"), "s.json"));
  CHECK(error_of(replace(base, "\"home\": 0,", "\"home\": 0, \"vcpus\": 4097,")) == "s.json:7: guests[0].vcpus: must be at most 4096, found 4097");
  // 20,000 guests must load; the limit is Xen's last guest domid.
  CHECK(parse_scenario(many_guests(20'000), "s.json").guests.size() == 20'000);
  CHECK(parse_scenario(many_guests(limits::max_guests, 1), "s.json").guests.size() == limits::max_guests);
  CHECK(error_of(many_guests(limits::max_guests + 1, 1)) == "s.json:1: guests: 32753 guests, over the limit of 32752 (docs/simulator.md, Input limits)");
  CHECK(error_of(many_guests(17, 4096)) ==
        "s.json:18: guests[16]: the guests so far have 69632 vCPUs, over the limit of 65536 for all guests (docs/simulator.md, Input limits)");
}

TEST_CASE("names keep every character: a surrogate pair is one code point, a lone surrogate an error") {
  // The issue's case: "\ud800\udc00" was written as two 3-byte halves, which is not UTF-8.
  CHECK(parse_scenario(replace(base, "\"name\": \"small\"", R"("name": "x\ud800\udc00")"), "s.json").name == "x\xF0\x90\x80\x80");
  CHECK(parse_scenario(replace(base, "\"name\": \"small\"", R"("name": "a\u0000<b>&c")"), "s.json").name == std::string{"a\0<b>&c", 7});
  CHECK(error_of(replace(base, "\"name\": \"small\"", R"("name": "\ud800")")) ==
        R"(s.json:2:12: lone surrogate \ud800: a high surrogate must be followed by a low one (\udc00 to \udfff))");
  CHECK(error_of(replace(base, "\"name\": \"small\"", "\"name\": \"\xC0\xAF\"")) == "s.json:2:12: invalid UTF-8 in a string (byte 0xc0)");
}

TEST_CASE("scenario and trace files: regular files only, of bounded size") {
  CHECK(pvmkit::test::error_of([] { (void)read_scenario_file("/dev/zero"); }) ==
        "/dev/zero: not a regular file (it is a character device); a scenario file must be one");
  pvmkit::test::temp_dir dir;
  const std::string big = (dir.path() / "big.json").string();
  std::ofstream{big}.put('{');
  std::filesystem::resize_file(big, scenario_bytes_limit + 1);
  CHECK(pvmkit::test::error_of([&] { (void)read_scenario_file(big); }) ==
        big + ": scenario file is 16777217 bytes, over the limit of 16 MiB");
  // A trace at /dev/zero read until memory ran out.
  const std::string traced = replace(base, "\"kind\": \"steady\", \"net_pps\": 1000, \"block_iops\": 10", "\"kind\": \"trace\", \"file\": \"/dev/zero\"");
  CHECK(pvmkit::test::error_of([&] { (void)read_scenario_file(dir.write("traced.json", traced)); }) ==
        "/dev/zero: not a regular file (it is a character device); a trace file must be one");
  // All the trace files of one scenario share one budget.
  const std::string rows = "0,a,1,1\n0,b,1,1\n";
  (void)dir.write("t1.csv", rows);
  (void)dir.write("t2.csv", rows);
  const auto loader = file_trace_loader(dir.path().string() + "/", 30);
  CHECK(loader("t1.csv")->guests.size() == 2);
  CHECK(loader("t1.csv") == loader("t1.csv"));  // read once
  CHECK(pvmkit::test::error_of([&] { (void)loader("t2.csv"); }) ==
        dir.path().string() + "/t2.csv: the trace files of one scenario come to 32 bytes together, over the limit of 30 bytes"
                              " (docs/simulator.md, Input limits)");
}

TEST_CASE("scenario, fault scenario and trace parsers throw nothing but config_error on a mutated file") {
  const std::string faults = R"({"name": "f", "guests": 2, "components": [{"name": "nb", "kind": "netback", "technique": "warm_spare"}],
    "faults": [{"component": "nb", "at_s": 5, "kind": "hang"}], "parameters": {"hang_detection_s": 0.5}})";
  const std::string trace = "time_s,guest,net_pps,block_iops\n0,a,100,1\n5,a,200,2\n0,b,1,1\n";
  const trace_loader loader = [&](const std::string& file) { return std::make_shared<const io_trace>(parse_trace(trace, file)); };
  const std::string traced = replace(base, "\"kind\": \"steady\", \"net_pps\": 1000, \"block_iops\": 10", "\"kind\": \"trace\", \"file\": \"t.csv\"");
  int outcomes = 0;
  auto outcome = [&](auto&& parse) {
    try {
      parse();
    } catch (const config_error&) {
    }
    ++outcomes;
  };
  test::for_each_mutation(traced, 3000, [&](const std::string& t) { outcome([&] { (void)parse_scenario(t, "s.json", loader); }); });
  test::for_each_mutation(faults, 3000, [&](const std::string& t) { outcome([&] { (void)parse_fault_scenario(t, "f.json"); }); });
  test::for_each_mutation(trace, 3000, [&](const std::string& t) { outcome([&] { (void)parse_trace(t, "t.csv"); }); });
  CHECK(outcomes == 9000);
}
