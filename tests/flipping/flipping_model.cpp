#include <pvmkit/sim/flipping_model.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace pvmkit;
using namespace pvmkit::literals;
using namespace pvmkit::sim;

namespace {
// The default scenario, shrunk so that a test runs in a moment: 64 MiB guests (16384 pages),
// 200 000 packets each, i.e. 12 times each guest's memory flipped through.
flip_scenario small() {
  auto s = default_flip_scenario();
  for (auto& g : s.guests) g.memory = 64_MiB;
  s.pvm_memory = 256_MiB;
  s.packets_per_guest = 200'000;
  s.samples = 10;
  return s;
}
}  // namespace

TEST_CASE("the slowdown equation: intensity x remote share x (distance / 10 - 1)") {
  const auto topo = make_uniform_topology(2, 2, 1_GiB, 21);
  CHECK(flip_slowdown(topo, node_id{0}, 0.3, {0.5, 0.5}) == doctest::Approx(0.3 * 0.5 * 1.1));
  CHECK(flip_slowdown(topo, node_id{1}, 0.3, {0.0, 1.0}) == 0.0);
  CHECK(flip_slowdown(topo, node_id{0}, 0.0, {0.0, 1.0}) == 0.0);
  topology four({{node_id{0}, cpuset::range(0, 1), 1_GiB, 1_GiB}, {node_id{1}, cpuset::range(1, 2), 1_GiB, 1_GiB},
                 {node_id{2}, cpuset::range(2, 3), 1_GiB, 1_GiB}},
                {10, 16, 22, 16, 10, 16, 22, 16, 10});
  CHECK(flip_slowdown(four, node_id{0}, 1.0, {0.5, 0.25, 0.25}) == doctest::Approx(0.25 * 0.6 + 0.25 * 1.2));
}

TEST_CASE("policy names and scenario errors are checked at the boundary") {
  CHECK(flipping_policy_names() == std::vector<std::string>{"numa_local", "informed", "xen_default_flip", "grant_copy"});
  CHECK_THROWS_WITH_AS((void)run_flipping(small(), "random"),
                       "unknown flipping policy 'random' (known: numa_local, informed, xen_default_flip, grant_copy)",
                       config_error);
  auto s = small();
  s.batch = 0;
  CHECK_THROWS_AS((void)run_flipping(s, "numa_local"), config_error);
  s = small();
  s.guests[1].sizes = {{9000, 1.0}};
  CHECK_THROWS_WITH_AS((void)run_flipping(s, "numa_local"),
                       "flipping scenario: guest 'db': packet size 9000 is not in 1..4096 (one packet per page)", config_error);
  s = small();
  s.guests[0].home = node_id{5};
  CHECK_THROWS_AS((void)run_flipping(s, "numa_local"), config_error);
}

TEST_CASE("modelled drift: numa_local and informed keep guests local, xen_default_flip scatters them") {
  const auto s = small();
  const auto local = run_flipping(s, "numa_local");
  const auto inf = run_flipping(s, "informed");
  const auto xen = run_flipping(s, "xen_default_flip");
  const auto copy = run_flipping(s, "grant_copy");
  for (const auto* r : {&local, &inf, &xen, &copy}) {
    CHECK(r->modelled);
    REQUIRE(r->guests.size() == 2);
    for (const auto& g : r->guests) {
      CHECK(g.packets == s.packets_per_guest);
      CHECK(g.flipped + g.copied + g.dropped == g.packets);
      CHECK(g.series.size() == s.samples + 1);
      CHECK(g.series.front().packets == 0);
      CHECK(g.series.back().packets == s.packets_per_guest);
    }
  }
  CHECK(local.max_remote_share == 0.0);
  CHECK(local.max_slowdown == 0.0);
  CHECK(local.guests[0].flipped == s.packets_per_guest);
  CHECK_FALSE(local.guests[0].recycling);
  CHECK(inf.guests[0].recycling);
  CHECK(inf.max_app_remote_share == 0.0);
  CHECK(inf.max_slowdown == 0.0);
  // Without node awareness about half of the flipped pages come from the other node, and the
  // guests' memory converges towards an even split.
  CHECK(xen.max_remote_share > 0.3);
  CHECK(xen.guests[0].end.app_remote_share > 0.3);
  CHECK(xen.guests[1].end.app_remote_share > 0.3);
  CHECK(xen.max_slowdown > 0.1);
  // The drift grows over time.
  const auto& series = xen.guests[0].series;
  CHECK(series[1].remote_share < series.back().remote_share);
  // grant_copy: no page moves, every packet is copied and costs bytes.
  CHECK(copy.max_remote_share == 0.0);
  CHECK(copy.guests[0].copied == s.packets_per_guest);
  CHECK(copy.guests[0].copied_bytes > 64 * s.packets_per_guest);
  CHECK(copy.guests[0].copied_bytes < 1500 * s.packets_per_guest);
  CHECK(copy.pools.pages_allocated == 0);
}

TEST_CASE("a guest split over nodes keeps its split under numa_local and drifts under xen_default_flip") {
  auto s = small();
  s.guests[0].memory_per_node = {48_MiB, 16_MiB};
  const auto local = run_flipping(s, "numa_local");
  CHECK(local.guests[0].start.remote_share == doctest::Approx(0.25));
  CHECK(local.guests[0].end.remote_share == doctest::Approx(0.25));
  CHECK(local.guests[0].end.slowdown == doctest::Approx(0.3 * 0.25 * 1.1));
  const auto xen = run_flipping(s, "xen_default_flip");
  CHECK(xen.guests[0].end.remote_share > 0.3);
}

TEST_CASE("the report serialises with its label") {
  auto s = small();
  s.packets_per_guest = 1000;
  const auto r = run_flipping(s, "numa_local");
  json_writer w;
  write_json(w, r);
  CHECK(w.str().find("\"modelled\":true") != std::string::npos);
  CHECK(w.str().find("\"policy\":\"numa_local\"") != std::string::npos);
  const auto table = format_flip_table({r});
  CHECK(table.find("MODELLED") != std::string::npos);
  CHECK(table.find("web") != std::string::npos);
}
