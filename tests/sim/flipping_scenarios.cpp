// The flipping scenarios of examples/scenarios/: each file reads, and the outcome each one is
// there to show holds (modelled). A broken mechanism (informed that stops recycling, numa_local
// that stops matching nodes) fails these.
#include <pvmkit/sim/flipping_model.hpp>
#include <pvmkit/sim/scenario_json.hpp>

#include "config_errors.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace pvmkit;
using namespace pvmkit::sim;

namespace {

flip_scenario load(const std::string& file) {
  const auto s = read_scenario_file(std::string{PVMKIT_SCENARIOS_DIR} + "/" + file);
  REQUIRE(s.flipping.has_value());
  return *s.flipping;
}

// The files run 10^6 packets per guest (`pvmkit simulate --scenario FILE` prints the targets on
// that run); the tests run a twentieth, which reaches the same steady state (the picks) and shows
// the same mechanisms at work, in a time a sanitizer build can afford.
constexpr std::uint64_t test_packets = 50'000;

// Every policy on `test_packets` packets per guest.
std::vector<flip_report> run_all(flip_scenario s) {
  s.packets_per_guest = test_packets;
  std::vector<flip_report> out;
  for (const auto& p : flipping_policy_names()) out.push_back(run_flipping(s, p));
  return out;
}

std::size_t index_of(const flip_scenario& s, std::string_view name) {
  for (std::size_t i = 0; i < s.guests.size(); ++i)
    if (s.guests[i].name == name) return i;
  FAIL("no guest " << name);
  return 0;
}

void check_targets(const std::vector<flip_report>& all, std::size_t expected) {
  const auto t = flip_targets(all);
  CHECK(t.size() == expected);
  for (const auto& x : t) CHECK_MESSAGE(x.met, x.name << " = " << x.value << " (threshold " << x.threshold << ")");
}

}  // namespace

TEST_CASE("pool pressure: numa_local falls back to copies, informed keeps flipping") {
  const auto s = load("flipping-pool-pressure.json");
  CHECK(s.packets_per_guest == 1'000'000);
  const auto all = run_all(s);
  check_targets(all, 3);
  const auto stream = index_of(s, "stream"), legacy = index_of(s, "legacy");
  CHECK(all[0].guests[stream].copied > all[0].guests[stream].pages / 4);
  CHECK(all[1].guests[stream].copied == 0);
  CHECK(all[1].guests[stream].end.app_remote_share == 0.0);
  CHECK_FALSE(all[1].guests[legacy].recycling);
  CHECK(recommend_flip_policy(all, stream).policy == "informed");
  CHECK(recommend_flip_policy(all, index_of(s, "web")).policy == "grant_copy");
  CHECK(recommend_flip_policy(all).policy == "informed");
  CHECK(all[2].max_app_remote_gain > 0.1);  // xen_default_flip
}

TEST_CASE("pool pressure without recycling guests: informed is numa_local, both copy") {
  const auto s = load("flipping-pool-pressure-no-recycling.json");
  const auto all = run_all(s);
  check_targets(all, 2);  // no recycling guest: no copy target to judge
  const auto stream = index_of(s, "stream");
  CHECK(all[0].guests[stream].copied == all[0].guests[stream].pages);
  CHECK(all[1].guests[stream].copied == all[0].guests[stream].copied);
  CHECK(recommend_flip_policy(all).policy == "grant_copy");
}

TEST_CASE("jumbo frames and large aggregates: flipping beats copying on pVM CPU, not at low rates or 1500 bytes") {
  const auto s = load("flipping-jumbo-frames.json");
  const auto all = run_all(s);
  check_targets(all, 2);
  CHECK(recommend_flip_policy(all, index_of(s, "nfs")).policy == "numa_local");
  CHECK(recommend_flip_policy(all, index_of(s, "bulk")).policy == "numa_local");
  CHECK(recommend_flip_policy(all, index_of(s, "web")).policy == "grant_copy");
  CHECK(recommend_flip_policy(all, index_of(s, "archive")).policy == "grant_copy");  // 5 000 packets/s: one page per delivery
  const auto nfs = index_of(s, "nfs");
  CHECK(all[0].guests[nfs].pvm_cpu_seconds < all[3].guests[nfs].pvm_cpu_seconds);
}

TEST_CASE("guests split over two nodes keep their split under both mechanisms") {
  const auto s = load("flipping-split-guests.json");
  const auto all = run_all(s);
  check_targets(all, 2);
  for (std::size_t i = 0; i < s.guests.size(); ++i) {
    CHECK(all[0].guests[i].start.remote_share > 0.2);
    CHECK(all[0].guests[i].end.remote_share == doctest::Approx(all[0].guests[i].start.remote_share).epsilon(0.001));
  }
  CHECK(all[2].max_app_remote_gain > 0.05);
}

TEST_CASE("4 and 8 nodes: both mechanisms keep memory in place, informed copies 10x less on the full nodes") {
  for (const std::string file : {"flipping-4-nodes.json", "flipping-8-nodes.json"}) {
    CAPTURE(file);
    auto s = load(file);
    s.packets_per_guest = test_packets;
    std::vector<flip_report> all;
    for (const auto& p : {"numa_local", "informed", "xen_default_flip"}) all.push_back(run_flipping(s, p));
    check_targets(all, 3);
    CHECK(all[2].max_app_remote_gain > 0.1);
  }
}

TEST_CASE("a scenario file's flipping object: errors name the file, line and field") {
  const std::string base = R"({
  "host": {"nodes": 2, "cpus_per_node": 2, "memory_per_node_gib": 4},
  "guests": [{"name": "a", "home": 0, "memory_gib": 1, "workload": {"kind": "steady", "net_pps": 1000}}],
  "flipping": {
    "free_mib_per_node": [512, 0],
    "guests": [{"name": "a", "home": 1, "memory_mib": 256, "packets_per_second": 1000, "sizes": [{"bytes": 9000}]}]
  }
})";
  using pvmkit::test::replace;
  auto error_of = [](const std::string& text) { return pvmkit::test::error_of([&] { (void)parse_scenario(text, "f.json"); }); };
  const auto s = parse_scenario(base, "f.json");
  REQUIRE(s.flipping);
  CHECK(s.flipping->topo.node_count() == 2);
  CHECK(s.flipping->guests[0].home == node_id{1});
  CHECK(s.flipping->guests[0].recycle_share == 1.0);
  CHECK(s.flipping->free_memory[1].count() == 0);
  CHECK(error_of(replace(base, "\"home\": 1", "\"home\": 2")) ==
        "f.json:6: flipping.guests[0].home: node 2 does not exist (the host has 2 nodes)");
  CHECK(error_of(replace(base, "[512, 0]", "[512]")) ==
        "f.json:5: flipping.free_mib_per_node: expected 2 entries (one per node), found 1");
  CHECK(error_of(replace(base, "\"sizes\"", "\"recycle_share\": 2, \"sizes\"")) ==
        "f.json:6: flipping.guests[0].recycle_share: must be at most 1, found 2");
  CHECK(error_of(replace(base, "\"sizes\"", "\"fresh_buffers\": \"near\", \"sizes\"")) ==
        "f.json:6: flipping.guests[0].fresh_buffers: unknown source 'near' (expected spread or home)");
  CHECK(error_of(replace(base, "\"free_mib_per_node\"", "\"pools\": {\"low\": 1}, \"free_mib_per_node\"")).find(
            "flipping.pools.low: unknown field") != std::string::npos);
  CHECK(error_of(replace(base, "\"bytes\": 9000", "\"bytes\": 70000")) ==
        "f.json:6: flipping.guests[0].sizes[0].bytes: must be at most 65536, found 70000");
  CHECK(error_of(replace(base, "\"memory_mib\": 256", "\"memory_mib\": 4000")).find(
            "f.json:4: flipping: flipping scenario: node 1 has") != std::string::npos);
  CHECK(error_of(replace(base, "\"memory_mib\": 256", "\"memory_mib\": 0.5")).find("fewer than the 256 receive buffers") !=
        std::string::npos);
}
