#include "../placement/hosts.hpp"

#include <pvmkit/model/locality.hpp>
#include <pvmkit/sizing/closer_dynamic.hpp>

#include <doctest/doctest.h>

#include <optional>
#include <variant>

using namespace pvmkit;
using namespace pvmkit::literals;
using namespace pvmkit::test;
using sizing::closer_dynamic;

namespace {

std::size_t online_on(const host_view& v, node_id n) {
  pvm_vcpu_layout l;
  l.build(*v.topo, v.pvm);
  return l.online[n.index()];
}

std::size_t onlined(const plan& p) {
  std::size_t k = 0;
  for (const auto& s : p.steps())
    if (const auto* a = std::get_if<set_vcpu_online>(&s.what); a && a->online) ++k;
  return k;
}

std::optional<unsigned> cap_in(const plan& p) {
  std::optional<unsigned> cap;
  for (const auto& s : p.steps())
    if (const auto* c = std::get_if<set_cpu_cap>(&s.what)) cap = c->percent;
  return cap;
}

// 2 nodes x 8 CPUs; the pVM has one online and seven offline vCPUs pinned on each node.
mock_host two_nodes() { return host_with_pvm(make_uniform_topology(2, 8, 4_GiB), {1, 1}, {7, 7}); }

}  // namespace

TEST_CASE("closer_dynamic: scales up within one period, down one vCPU at a time after the delay") {
  mock_host host = two_nodes();
  const task_id busy = guest_with_task(host, "busy", node_id{0}, 2.5);
  guest_with_task(host, "idle", node_id{1}, 0.2);
  closer_dynamic::options uncapped;
  uncapped.cap_utilisation = 0;  // vCPUs alone: scale_down_periods applies
  closer_dynamic policy{uncapped};
  const plan up = apply_round(host, policy);
  CHECK(onlined(up) == 3);  // ceil(2.5 / 0.8) = 4 on node 0, in one period
  CHECK(online_on(host.state(), node_id{0}) == 4);
  CHECK(online_on(host.state(), node_id{1}) == 1);
  // The vCPUs brought online are the ones already pinned to node 0 (no affinity change needed).
  CHECK(count_actions<set_vcpu_affinity>(up) == 0);

  host.set_task_load(busy, 0.5);  // needs 1 vCPU now
  std::vector<std::size_t> seen;
  for (int r = 0; r < 6; ++r) {
    apply_round(host, policy);
    seen.push_back(online_on(host.state(), node_id{0}));
  }
  // Default scale_down_periods = 3: two periods of waiting, then one vCPU per period.
  CHECK(seen == std::vector<std::size_t>{4, 4, 3, 2, 1, 1});
  CHECK(online_on(host.state(), node_id{1}) == 1);
}

TEST_CASE("closer_dynamic: a capped pVM keeps its idle vCPUs for capped_scale_down_periods") {
  // Under a cap an idle vCPU holds no CPU time the cap does not bound; it stays for the next burst.
  mock_host host = two_nodes();
  const task_id busy = guest_with_task(host, "busy", node_id{0}, 2.5);
  closer_dynamic::options o;
  o.capped_scale_down_periods = 5;
  closer_dynamic policy{o};
  apply_round(host, policy);
  REQUIRE(online_on(host.state(), node_id{0}) == 4);
  host.set_task_load(busy, 0.5);
  std::vector<std::size_t> seen;
  for (int r = 0; r < 8; ++r) {
    apply_round(host, policy);
    seen.push_back(online_on(host.state(), node_id{0}));
  }
  CHECK(seen == std::vector<std::size_t>{4, 4, 4, 4, 3, 2, 1, 1});
  CHECK(host.state().pvm.cpu_cap == std::optional<unsigned>{100});  // the cap followed at once (the floor)
}

TEST_CASE("closer_dynamic: a burst during the wait scales up at once and resets the clock") {
  mock_host host = two_nodes();
  const task_id t = guest_with_task(host, "g", node_id{0}, 2.5);
  closer_dynamic policy;
  apply_round(host, policy);
  host.set_task_load(t, 0.5);
  apply_round(host, policy);
  apply_round(host, policy);
  CHECK(policy.low_periods(node_id{0}) == 2);
  host.set_task_load(t, 4.0);  // ceil(4 / 0.8) = 5
  apply_round(host, policy);
  CHECK(online_on(host.state(), node_id{0}) == 5);
  CHECK(policy.low_periods(node_id{0}) == 0);
}

TEST_CASE("closer_dynamic: floors") {
  SUBCASE("a node with guests keeps one vCPU, a node without drops to none after the delay") {
    mock_host host = two_nodes();
    host.add_guest({"quiet", 1, node_id{0}, 256_MiB, {}, false});  // no load, no tasks
    closer_dynamic::options uncapped;
    uncapped.cap_utilisation = 0;
    closer_dynamic policy{uncapped};
    for (int r = 0; r < 3; ++r) apply_round(host, policy);
    CHECK(online_on(host.state(), node_id{0}) == 1);
    CHECK(online_on(host.state(), node_id{1}) == 0);
    CHECK(host.state().pvm.node_affinity == nodeset{node_id{0}});
  }
  SUBCASE("never below what the backends running on a node need") {
    mock_host host = two_nodes();
    const task_id t = guest_with_task(host, "g", node_id{0}, 1.5);
    REQUIRE(host.set_task_affinity(t, host.state().topo->node(node_id{1}).cpus));  // runs on node 1 now
    closer_dynamic policy;
    apply_round(host, policy);
    CHECK(online_on(host.state(), node_id{0}) == 2);  // its guest's home: ceil(1.5 / 0.8)
    CHECK(online_on(host.state(), node_id{1}) == 2);  // where it runs: ceil(1.5)
  }
  SUBCASE("the pVM never goes to zero vCPUs") {
    mock_host host = two_nodes();
    closer_dynamic::options uncapped;
    uncapped.cap_utilisation = 0;
    closer_dynamic policy{uncapped};
    for (int r = 0; r < 8; ++r) apply_round(host, policy);
    CHECK(host.state().pvm.online_vcpus() == 1);
  }
}

TEST_CASE("closer_dynamic: ceilings") {
  mock_host host = host_with_pvm(make_uniform_topology(2, 8, 4_GiB), {1, 1}, {15, 0});
  guest_with_task(host, "huge", node_id{0}, 20.0);
  SUBCASE("the node's CPU count") {
    closer_dynamic policy;
    apply_round(host, policy);
    CHECK(online_on(host.state(), node_id{0}) == 8);
  }
  SUBCASE("max_vcpus_per_node") {
    closer_dynamic::options o;
    o.max_vcpus_per_node = 3;
    closer_dynamic policy{o};
    apply_round(host, policy);
    CHECK(online_on(host.state(), node_id{0}) == 3);
  }
}

TEST_CASE("closer_dynamic: moves an offline vCPU to the node that needs it") {
  mock_host host = host_with_pvm(make_uniform_topology(2, 8, 4_GiB), {1, 1}, {0, 6});
  guest_with_task(host, "g", node_id{0}, 3.0);  // needs 4 on node 0; spares are pinned on node 1
  guest_with_task(host, "h", node_id{1}, 0.1);
  closer_dynamic policy;
  const plan p = apply_round(host, policy);
  CHECK(count_actions<set_vcpu_affinity>(p) == 3);  // three set_vcpu_affinity moves
  CHECK(onlined(p) == 3);
  CHECK(online_on(host.state(), node_id{0}) == 4);
  CHECK(online_on(host.state(), node_id{1}) == 1);
}

TEST_CASE("closer_dynamic: floating vCPUs are adopted by nodes, the rest go offline; memory grows at once") {
  const topology topo = make_uniform_topology(2, 4, 4_GiB);
  mock_host host{topo, mock_pvm_spec{4, 256_MiB}};  // four vCPUs floating over both nodes
  guest_with_task(host, "a", node_id{0}, 1.0);
  guest_with_task(host, "b", node_id{1}, 0.6);
  closer_dynamic policy;
  decision_log log{true};
  const plan p = apply_round(host, policy, log);
  const host_view v = host.state();
  CHECK(online_on(v, node_id{0}) == 2);
  CHECK(online_on(v, node_id{1}) == 1);
  CHECK(v.pvm.online_vcpus() == 3);
  // 512 MiB + 2 nodes * 32 MiB + 2 guests * 8 MiB + 1.6 cores * 64 MiB = 694.4 MiB -> 704 MiB.
  CHECK(v.pvm.memory_target == 704_MiB);
  const auto& recs = log.records();
  REQUIRE(recs.size() >= 2);
  const auto& mem = recs[recs.size() - 2];
  CHECK(mem.subject == "pVM memory");
  CHECK(mem.reason == "grow");
  CHECK(mem.choice == "704.000000 MiB");
  CHECK(log.records()[0].subject == "node 0 vCPUs");
  CHECK(log.records()[0].choice == "2 vCPUs");
  CHECK(log.records()[0].reason == "scale up");
  CHECK(recs.back().subject == "pVM CPU cap");
  CHECK(recs.back().choice == "169 %");  // ceil(100 * 1.6 / 0.95)
}

TEST_CASE("closer_dynamic: memory shrinks only after the delay") {
  mock_host host = two_nodes();  // 1 GiB now; the demand below needs 640 MiB
  guest_with_task(host, "a", node_id{0}, 0.4);
  guest_with_task(host, "b", node_id{1}, 0.3);
  closer_dynamic policy;
  apply_round(host, policy);
  apply_round(host, policy);
  CHECK(host.state().pvm.memory_target == 1_GiB);
  apply_round(host, policy);
  // 512 + 2 * 32 + 2 * 8 + 0.7 * 64 = 636.8 MiB -> 640 MiB
  CHECK(host.state().pvm.memory_target == 640_MiB);
}

TEST_CASE("closer_dynamic: a guest without tasks is sized from its measured pVM cores") {
  mock_host host = two_nodes();
  const domain_id g = host.add_guest({"no-tasks", 1, node_id{1}, 256_MiB, {}, false});
  host.set_io_load(g, io_load{1e5, 0, 2.0});
  closer_dynamic policy;
  apply_round(host, policy);
  CHECK(online_on(host.state(), node_id{1}) == 3);  // ceil(2.0 / 0.8)
}

TEST_CASE("closer_dynamic: the pVM's CPU time is capped at its demand, in fractions of a core") {
  mock_host host = two_nodes();
  const task_id a = guest_with_task(host, "a", node_id{0}, 3.0);
  const task_id b = guest_with_task(host, "b", node_id{1}, 1.2);
  closer_dynamic policy;
  const plan first = apply_round(host, policy);
  // vCPUs: ceil(3.0 / 0.8) = 4 and ceil(1.2 / 0.8) = 2 (6 cores held); the cap holds 4.67.
  CHECK(online_on(host.state(), node_id{0}) == 4);
  CHECK(online_on(host.state(), node_id{1}) == 2);
  CHECK(cap_in(first) == std::optional<unsigned>{443});  // ceil(100 * 4.2 / 0.95)
  CHECK(host.state().pvm.cpu_cap == std::optional<unsigned>{443});
  CHECK(apply_round(host, policy).empty());  // nothing changed, nothing to do

  SUBCASE("a cap the pVM ran into is raised by half, then re-measured") {
    host.set_task_load(a, 3.4);  // 4.6 of 4.43 cores: the cap bound (>= 97 %)
    const plan lifted = apply_round(host, policy);
    // max(ceil(460 / 0.95), ceil(1.5 * 443)) = 665, below the 7 vCPUs now online (node 0: ceil(3.4 / 0.8)).
    CHECK(online_on(host.state(), node_id{0}) == 5);
    CHECK(cap_in(lifted) == std::optional<unsigned>{665});
    host.set_task_load(a, 3.9);  // the real demand, seen now that the cap no longer binds
    CHECK(cap_in(apply_round(host, policy)) == std::optional<unsigned>{537});  // ceil(100 * 5.1 / 0.95)
  }
  SUBCASE("between rounds the guard raises a binding cap by half, and does nothing otherwise") {
    decision_log log{true};
    host_view v = host.state();
    v.pvm.cpu_load = 4.2;  // within the cap
    CHECK(policy.guard(v, log).empty());
    v.pvm.cpu_load = 4.4;  // 99 % of 4.43 cores: it binds
    const plan g = policy.guard(v, log);
    CHECK(cap_in(g) == std::optional<unsigned>{600});  // min(ceil(1.5 * 443), 6 vCPUs * 100)
    REQUIRE(!log.records().empty());
    CHECK(log.records().back().reason.rfind("guard: the pVM ran into its cap", 0) == 0);
  }
  SUBCASE("demand falls: the cap follows at once (vCPUs wait for scale_down_periods)") {
    host.set_task_load(a, 1.0);
    host.set_task_load(b, 0.5);
    const plan down = apply_round(host, policy);
    CHECK(cap_in(down) == std::optional<unsigned>{158});  // ceil(100 * 1.5 / 0.95)
    CHECK(online_on(host.state(), node_id{0}) == 4);
  }
  SUBCASE("an idle pVM keeps the floor: one core for its own work") {
    host.set_task_load(a, 0.0);
    host.set_task_load(b, 0.0);
    CHECK(cap_in(apply_round(host, policy)) == std::optional<unsigned>{100});
  }
}

TEST_CASE("closer_dynamic: the cap is never above what the vCPUs kept online can use") {
  mock_host host = two_nodes();
  guest_with_task(host, "a", node_id{0}, 6.0);
  guest_with_task(host, "b", node_id{1}, 1.2);
  closer_dynamic::options o;
  o.max_vcpus_per_node = 2;
  closer_dynamic narrow{o};
  apply_round(host, narrow);
  CHECK(host.state().pvm.cpu_cap == std::optional<unsigned>{400});  // 2 + 2 vCPUs, not 100 * 7.2 / 0.9
}

TEST_CASE("closer_dynamic: no cap when the backend cannot cap or cap_utilisation is 0") {
  mock_host host = two_nodes();
  guest_with_task(host, "a", node_id{0}, 3.0);
  host_view view = host.state();
  view.pvm.cpu_cap.reset();  // what a backend without CpuCapControl reports
  decision_log off;
  closer_dynamic policy;
  CHECK_FALSE(cap_in(policy.decide(view, off)).has_value());
  closer_dynamic::options o;
  o.cap_utilisation = 0;
  closer_dynamic no_cap{o};
  CHECK_FALSE(cap_in(no_cap.decide(host.state(), off)).has_value());
  CHECK(cap_in(closer_dynamic{}.decide(host.state(), off)) == std::optional<unsigned>{316});  // ceil(300 / 0.95)
}

TEST_CASE("closer_dynamic: options are validated") {
  closer_dynamic::options o;
  o.target_utilisation = 1.5;
  CHECK_THROWS_AS(closer_dynamic{o}, config_error);
  o = {};
  o.min_vcpus_per_node = 0;
  CHECK_THROWS_AS(closer_dynamic{o}, config_error);
  o = {};
  o.max_vcpus_per_node = 1;
  o.min_vcpus_per_node = 2;
  CHECK_THROWS_AS(closer_dynamic{o}, config_error);
  o = {};
  o.cap_utilisation = 1.2;
  CHECK_THROWS_AS(closer_dynamic{o}, config_error);
  o = {};
  o.cap_binding = 0;
  CHECK_THROWS_AS(closer_dynamic{o}, config_error);
  o = {};
  o.cap_floor_percent = 0;
  CHECK_THROWS_AS(closer_dynamic{o}, config_error);
}

TEST_CASE("closer_dynamic: a home node beyond its CPUs spills to the nearest node with free CPUs") {
  // 4 nodes x 4 CPUs on a line 0-1-2-3 (distances 10 + 10 per hop): node 1 homes 5.5 cores of work.
  std::vector<numa_node> nodes;
  for (std::size_t i = 0; i < 4; ++i)
    nodes.push_back({node_id{static_cast<node_id::rep>(i)}, cpuset::range(i * 4, i * 4 + 4), 4_GiB, 4_GiB});
  std::vector<std::uint32_t> d(16);
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t j = 0; j < 4; ++j) d[i * 4 + j] = static_cast<std::uint32_t>(10 + 10 * (i > j ? i - j : j - i));
  mock_host host = host_with_pvm(topology{std::move(nodes), d}, {1, 1, 1, 1}, {3, 3, 3, 3});
  guest_with_task(host, "a", node_id{1}, 3.0);
  guest_with_task(host, "b", node_id{1}, 2.5);
  guest_with_task(host, "far", node_id{3}, 0.4);
  closer_dynamic policy;
  decision_log log{true};
  apply_round(host, policy, log);
  const host_view v = host.state();
  // Node 1 keeps 0.95 * 4 = 3.8 cores (it cannot grow past its 4 CPUs): all 4 vCPUs.
  CHECK(online_on(v, node_id{1}) == 4);
  // The other 1.7 cores go to a neighbour at distance 20 (node 0 or 2), sized ceil(1.7 / 0.8) = 3;
  // node 3, two hops away, only serves its own guest.
  const std::size_t n0 = online_on(v, node_id{0}), n2 = online_on(v, node_id{2});
  CHECK(std::max(n0, n2) == 3);
  CHECK(online_on(v, node_id{3}) == 1);
  bool spill_record = false;
  for (const auto& r : log.records())
    spill_record = spill_record || r.reason == "scale up: work spilled from a full node";
  CHECK(spill_record);
}

TEST_CASE("closer_dynamic: guests' own vCPUs take their node's CPUs first") {
  mock_host host = two_nodes();  // 8 CPUs a node
  const domain_id busy = host.add_guest({"compute", 8, node_id{0}, 256_MiB, {}, false});
  host.set_cpu_load(busy, 6.5);  // 1.5 CPUs left to the pVM on node 0
  const task_id t = host.add_task({"vif", task_kind::net_backend, busy, "eth0", 2.0});
  (void)t;
  closer_dynamic policy;
  apply_round(host, policy);
  const host_view v = host.state();
  // At most ceil(1.5) = 2 vCPUs on node 0: more would only contend with the guest's vCPUs; the
  // 2.0 - 0.95 * 1.5 cores left over are sized on node 1.
  CHECK(online_on(v, node_id{0}) == 2);
  CHECK(online_on(v, node_id{1}) >= 1);
}
