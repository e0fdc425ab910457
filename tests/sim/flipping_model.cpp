#include <pvmkit/sim/flipping_model.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace pvmkit;
using namespace pvmkit::literals;
using namespace pvmkit::sim;

namespace {
// The default scenario, shrunk so that a test runs in a moment: 64 MiB guests (16384 pages),
// 40 000 packets each, i.e. 2.4 to 10 times each guest's memory flipped through.
flip_scenario small() {
  auto s = default_flip_scenario();
  for (auto& g : s.guests) g.memory = 64_MiB;
  s.pvm_memory = 256_MiB;
  s.free_memory = {1_GiB, 0_GiB};
  s.packets_per_guest = 40'000;
  s.samples = 10;
  return s;
}

std::vector<flip_report> run_all(const flip_scenario& s) {
  std::vector<flip_report> out;
  for (const auto& p : flipping_policy_names()) out.push_back(run_flipping(s, p));
  return out;
}

const flip_guest_result& guest(const flip_report& r, std::string_view name) {
  for (const auto& g : r.guests)
    if (g.name == name) return g;
  FAIL("no guest " << name);
  return r.guests.front();
}
}  // namespace

TEST_CASE("the slowdown equation: intensity x remote share x (distance / 10 - 1)") {
  const auto topo = make_uniform_topology(2, 2, 1_GiB, 21);
  CHECK(flip_slowdown(topo, node_id{0}, 0.3, {0.5, 0.5}) == doctest::Approx(0.3 * 0.5 * 1.1));
  CHECK(flip_slowdown(topo, node_id{1}, 0.3, {0.0, 1.0}) == 0.0);
  CHECK(flip_slowdown(topo, node_id{0}, 0.0, {0.0, 1.0}) == 0.0);
}

TEST_CASE("policy names and scenario errors are checked at the boundary") {
  CHECK(flipping_policy_names() == std::vector<std::string>{"numa_local", "informed", "xen_default_flip", "grant_copy"});
  CHECK_THROWS_WITH_AS((void)run_flipping(small(), "random"),
                       "unknown flipping policy 'random' (valid: numa_local, informed, xen_default_flip, grant_copy)",
                       config_error);
  auto s = small();
  s.batch = 0;
  CHECK_THROWS_AS((void)run_flipping(s, "numa_local"), config_error);
  s = small();
  s.guests[1].sizes = {{70000, 1.0}};
  CHECK_THROWS_WITH_AS((void)run_flipping(s, "numa_local"),
                       "flipping scenario: guest 'backup': packet size 70000 is not in 1..65536", config_error);
  s = small();
  s.guests[0].home = node_id{5};
  CHECK_THROWS_WITH_AS((void)run_flipping(s, "numa_local"), "flipping scenario: guest 'web': home node 5 does not exist",
                       config_error);
  s = small();
  s.free_memory = {16_GiB, 0_GiB};  // node 0 also holds the pVM's share and two guests
  CHECK_THROWS_AS((void)run_flipping(s, "numa_local"), config_error);
  s = small();
  s.guests[2].recycle_share = 1.5;
  CHECK_THROWS_WITH_AS((void)run_flipping(s, "numa_local"), "flipping scenario: guest 'nfs': recycle_share must be in [0, 1]",
                       config_error);
}

TEST_CASE("default scenario: each policy wins where it should, xen_default_flip scatters memory") {
  const auto s = small();
  const auto all = run_all(s);
  const auto& local = all[0];
  const auto& inf = all[1];
  const auto& xen = all[2];
  const auto& copy = all[3];
  for (const auto& r : all) {
    CHECK(r.modelled);
    REQUIRE(r.guests.size() == 3);
    for (const auto& g : r.guests) {
      CHECK(g.packets == s.packets_per_guest);
      CHECK(g.flipped + g.copied + g.dropped == g.pages);
      CHECK(g.series.size() >= s.samples);
      CHECK(g.series.front().packets == 0);
      CHECK(g.series.back().packets == s.packets_per_guest);
    }
  }
  // Node 1 has no free memory: numa_local copies every page for nfs, informed (nfs recycles)
  // flips pages from node 0 that stay in nfs's receive ring.
  CHECK(guest(local, "nfs").copied == guest(local, "nfs").pages);
  CHECK(guest(inf, "nfs").recycling);
  CHECK(guest(inf, "nfs").copied == 0);
  CHECK(guest(inf, "nfs").end.remote_share > 0);
  CHECK(guest(inf, "nfs").end.app_remote_share == 0.0);
  // backup does not recycle: informed is numa_local for it.
  CHECK_FALSE(guest(inf, "backup").recycling);
  CHECK(guest(inf, "backup").pvm_cpu_seconds == guest(local, "backup").pvm_cpu_seconds);
  // Where each wins on pVM CPU among the policies that keep memory in place.
  CHECK(recommend_flip_policy(all, 0).policy == "grant_copy");  // web: 1500-byte MTU
  CHECK(recommend_flip_policy(all, 1).policy == "numa_local");  // backup: 16 KiB aggregates
  CHECK(recommend_flip_policy(all, 2).policy == "informed");    // nfs: jumbo frames, node full
  // Without node awareness the guests' memory converges towards an even split, and grows over time.
  CHECK(local.max_remote_gain < 0.01);
  CHECK(inf.max_app_remote_gain < 0.01);
  CHECK(xen.max_remote_share > 0.3);
  CHECK(xen.max_slowdown > 0.1);
  const auto& series = guest(xen, "web").series;
  CHECK(series[1].remote_share < series.back().remote_share);
  // grant_copy: no page moves, every page is copied.
  CHECK(copy.max_remote_share == 0.0);
  CHECK(guest(copy, "web").copied == guest(copy, "web").pages);
  CHECK(copy.pools.pages_allocated == 0);
}

TEST_CASE("the guest's recycling is its behaviour: a guest that does not recycle gets nothing from informed") {
  auto s = small();
  s.guests[2].recycle_share = 0;
  const auto local = run_flipping(s, "numa_local");
  const auto inf = run_flipping(s, "informed");
  CHECK_FALSE(guest(inf, "nfs").recycling);
  CHECK(guest(inf, "nfs").copied == guest(local, "nfs").copied);
  CHECK(guest(inf, "nfs").copied == guest(inf, "nfs").pages);
}

TEST_CASE("a guest that recycles part of its pages lets some remote pages reach its applications") {
  auto s = small();
  s.guests[2].recycle_share = 0.5;
  const auto half = run_flipping(s, "informed");
  s.guests[2].recycle_share = 1;
  const auto full = run_flipping(s, "informed");
  CHECK(guest(full, "nfs").end.app_remote_share == 0.0);
  CHECK(guest(half, "nfs").end.app_remote_share > 0.0);
  CHECK(guest(half, "nfs").copied == 0);
}

TEST_CASE("a guest split over nodes keeps its split under numa_local and drifts under xen_default_flip") {
  auto s = small();
  s.guests[1].memory_per_node = {48_MiB, 16_MiB};
  const auto local = run_flipping(s, "numa_local");
  CHECK(guest(local, "backup").start.remote_share == doctest::Approx(0.25));
  CHECK(guest(local, "backup").end.remote_share == doctest::Approx(0.25));
  CHECK(guest(local, "backup").end.slowdown == doctest::Approx(0.2 * 0.25 * 1.1).epsilon(0.01));
  const auto xen = run_flipping(s, "xen_default_flip");
  CHECK(guest(xen, "backup").end.remote_share > 0.3);
}

TEST_CASE("pVM CPU: a delivery pays per page and once per batch") {
  flip_costs c;
  c.flip_page_ns = 100;
  c.flip_batch_ns = 1000;
  c.copy_op_ns = 10;
  c.copy_batch_ns = 500;
  c.copy_ns_per_byte = 0.5;
  CHECK(delivery_cost_ns(c, 4, 0, 0) == 1400);
  CHECK(delivery_cost_ns(c, 0, 2, 3000) == 2020);
  CHECK(delivery_cost_ns(c, 1, 1, 100) == 1660);
  CHECK(delivery_cost_ns(c, 0, 0, 0) == 0);
  // More pages per delivery at a higher rate, at least one, at most the batch.
  auto s = small();
  auto g = s.guests[0];
  g.packets_per_second = 1;
  CHECK(delivery_pages(s, g) == 1);
  g.packets_per_second = 1e9;
  CHECK(delivery_pages(s, g) == s.batch);
  g.packets_per_second = 200'000;
  g.sizes = {{9000, 1}};
  CHECK(delivery_pages(s, g) == 30);  // 200 000 x 3 pages x 50 us
}

TEST_CASE("targets: met by both mechanisms, missed when informed stops recycling") {
  auto s = small();
  auto all = run_all(s);
  auto t = flip_targets(all);
  REQUIRE(t.size() == 3);
  for (const auto& x : t) CHECK_MESSAGE(x.met, x.name << " = " << x.value);
  CHECK(t[2].value == 0.0);  // informed copied nothing for the recycling guests
  // Informed without recycling: it copies as much as numa_local, and the target fails.
  for (auto& g : s.guests) g.recycle_share = 0;
  all = run_all(s);
  t = flip_targets(all);
  // No guest negotiated recycling: the copy target has no guest to judge and is left out.
  CHECK(t.size() == 2);
  auto r = all;
  r[1] = run_flipping(small(), "numa_local");  // a broken "informed" that behaves as numa_local
  r[1].policy = "informed";
  for (auto& g : r[1].guests) g.recycling = true;
  t = flip_targets(r);
  REQUIRE(t.size() == 3);
  CHECK_FALSE(t[2].met);
  CHECK(t[2].value == doctest::Approx(1.0));
  // A "numa_local" that drifts like xen_default_flip misses the remote-share target.
  r = all;
  r[0] = all[2];
  r[0].policy = "numa_local";
  t = flip_targets(r);
  CHECK_FALSE(t[0].met);
  CHECK(format_flip_targets(t).find("MISS") != std::string::npos);
}

TEST_CASE("the report serialises with its label and the table names the pick") {
  auto s = small();
  s.packets_per_guest = 1000;
  const auto all = run_all(s);
  json_writer w;
  write_json(w, all[0]);
  CHECK(w.str().find("\"modelled\":true") != std::string::npos);
  CHECK(w.str().find("\"policy\":\"numa_local\"") != std::string::npos);
  const auto table = format_flip_table(all);
  CHECK(table.find("MODELLED") != std::string::npos);
  CHECK(table.find("web") != std::string::npos);
  CHECK(table.find("Pick for the scenario: ") != std::string::npos);
}
