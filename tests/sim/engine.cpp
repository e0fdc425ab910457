#include "test_hosts.hpp"
#include "test_policies.hpp"

#include <pvmkit/sim/default_scenario.hpp>
#include <pvmkit/sim/engine.hpp>
#include <pvmkit/placement/closer.hpp>
#include <pvmkit/sim/model.hpp>
#include <pvmkit/sim/report.hpp>
#include <pvmkit/sim/targets.hpp>
#include <pvmkit/sizing/closer_dynamic.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <vector>

using namespace pvmkit;
using namespace pvmkit::sim;

namespace {

using test::two_nodes;

guest_spec guest(std::string name, unsigned home, workload w) {
  guest_spec g;
  g.name = std::move(name);
  g.home = node_id{home};
  g.memory_gib = 1;
  g.load = std::move(w);
  return g;
}

}  // namespace

TEST_CASE("cost equation: remote execution, remote buffers and a remote device cost exactly the documented factor") {
  const cost_model m;
  // At SLIT 21 a remote access costs remote_latency (1.75) times a local one: 0.75 more.
  const double r = m.remote_latency - 1;
  CHECK(relative_latency(m, 10) == doctest::Approx(1.0));
  CHECK(relative_latency(m, 21) == doctest::Approx(1.75));
  CHECK(relative_latency(m, 32) == doctest::Approx(2.5));  // two hops: linear in d - 10
  const topology topo = make_uniform_topology(2, 4, bytes{1ULL << 30}, 21);
  const double local_buf[] = {1, 0}, remote_buf[] = {0, 1};
  CHECK(cost_multiplier(m, topo, node_id{0}, node_id{0}, local_buf) == doctest::Approx(1.0));
  CHECK(cost_multiplier(m, topo, node_id{1}, node_id{0}, remote_buf) == doctest::Approx(1 + 0.3 * r));
  CHECK(cost_multiplier(m, topo, node_id{0}, node_id{0}, remote_buf) == doctest::Approx(1 + 0.2 * r));
  CHECK(cost_multiplier(m, topo, node_id{1}, node_id{0}, local_buf) == doctest::Approx(1 + 0.5 * r));
  // The device's node: run next to it costs nothing more; away from it, device_share (0.1) more.
  CHECK(cost_multiplier(m, topo, node_id{0}, node_id{0}, local_buf, node_id{0}) == doctest::Approx(1.0));
  CHECK(cost_multiplier(m, topo, node_id{0}, node_id{0}, local_buf, node_id{1}) == doctest::Approx(1 + 0.1 * r));
  CHECK(cost_multiplier(m, topo, node_id{1}, node_id{0}, remote_buf, node_id{1}) == doctest::Approx(1 + 0.3 * r));

  // The same factors come out of a whole run: 100 kpps at 2 us = 0.2 cores of local work.
  const auto s = two_nodes({guest("g", 0, steady_load{{100000, 0}})});
  const auto run_on = [&](unsigned cpu, unsigned mem) {
    return simulate(s, controlled_by(test::fixed_per_node_sizing{2}, test::pinned_placement{node_id{cpu}, node_id{mem}}), "p");
  };
  const auto local = run_on(0, 0);
  CHECK(local.served_pct == doctest::Approx(100));
  CHECK(local.cores_used_mean == doctest::Approx(0.2));
  CHECK(local.remote_work_share == 0);
  CHECK(local.remote_buffer_share == 0);
  // The guest's NIC (eth0) is on node 0: run on node 1, its packets also pay the device term.
  const auto remote_cpu = run_on(1, 1);
  CHECK(remote_cpu.served_pct == doctest::Approx(100));
  CHECK(remote_cpu.cores_used_mean == doctest::Approx(0.2 * (1 + 0.3 * r + 0.1 * r)));
  CHECK(remote_cpu.remote_work_share == doctest::Approx(1));
  CHECK(remote_cpu.remote_buffer_share == doctest::Approx(1));
  const auto remote_both = run_on(1, 0);
  CHECK(remote_both.cores_used_mean == doctest::Approx(0.2 * (1 + 0.5 * r + 0.1 * r)));
  CHECK(remote_both.remote_buffer_share == 0);
  const auto remote_buffers = run_on(0, 1);
  CHECK(remote_buffers.cores_used_mean == doctest::Approx(0.2 * (1 + 0.2 * r)));
  CHECK(remote_buffers.remote_work_share == 0);
  CHECK(remote_buffers.remote_buffer_share == doctest::Approx(1));
  CHECK(local.cores_held_mean == doctest::Approx(4));
}

TEST_CASE("floating vCPUs spread capacity over nodes and pay the remote factor on the remote share") {
  const auto s = two_nodes({guest("g", 0, steady_load{{100000, 0}})});
  const auto f = simulate(s, controlled_by(test::no_op_policy{}, test::no_op_policy{}), "float");
  // Half the requests run on each node; buffers (first-touch) spread the same way; the NIC is on 0.
  const double r = cost_model{}.remote_latency - 1;
  const double k0 = 1 + 0.2 * 0.5 * r, k1 = 1 + 0.3 * r + 0.2 * 0.5 * r + 0.1 * r;
  CHECK(f.cores_used_mean == doctest::Approx(0.2 * 0.5 * (k0 + k1)));
  CHECK(f.remote_work_share == doctest::Approx(k1 / (k0 + k1)));
  CHECK(f.remote_buffer_share == doctest::Approx(0.5));
  CHECK(f.cores_held_mean == doctest::Approx(8));  // one vCPU per host CPU at boot
  CHECK(f.served_pct == doctest::Approx(100));
  CHECK(f.task_moves == 0);
}

TEST_CASE("demand above a node's capacity queues, and the queue drains when demand falls") {
  // 1.5 cores of demand for 10 s on a node with one vCPU, then 0.2 cores.
  auto pts = std::make_shared<std::vector<trace_point>>(std::vector<trace_point>{{0, {750000, 0}}, {10, {100000, 0}}});
  const auto s = two_nodes({guest("g", 0, trace_load{pts})}, 30);
  const auto r = simulate(s, controlled_by(test::fixed_per_node_sizing{1}, test::home_placement{}), "one vCPU");
  REQUIRE(r.series.size() == 30);
  for (std::size_t i = 0; i < 10; ++i) {
    CHECK(r.series[i].served_cores == doctest::Approx(1.0));  // capacity-bound
    CHECK(r.series[i].used_cores == doctest::Approx(1.0));
  }
  // 5 core-seconds queued; it drains at 0.8 core/s on top of the new 0.2.
  CHECK(r.series[10].served_cores == doctest::Approx(1.0));
  CHECK(r.series[15].served_cores == doctest::Approx(1.0));
  const double drained_by = 10 + 5 / 0.8;  // 16.25 s
  CHECK(r.series[17].served_cores == doctest::Approx(0.2));
  CHECK(r.series[29].served_cores == doctest::Approx(0.2));
  CHECK(drained_by < 17);
  // Everything was served in the end: nothing dropped with unbounded rings.
  CHECK(r.served_pct == doctest::Approx(100));
  CHECK(r.dropped_requests == 0);
  // The delay grows with the backlog: the last tick before the drop has 5 s of work queued on one core.
  CHECK(r.delay_p99_ms > 4000);
  CHECK(r.delay_mean_ms > 0);

  // With a bounded ring the excess is refused instead: served < 100 % and a short delay.
  auto bounded = s;
  bounded.model.net_ring_slots = 256;
  const auto b = simulate(bounded, controlled_by(test::fixed_per_node_sizing{1}, test::home_placement{}), "ring");
  CHECK(b.dropped_requests > 0);
  const double demanded = (1.5 * 10 + 0.2 * 20);
  CHECK(b.served_pct == doctest::Approx(100 * (1.0 * 10 + 0.2 * 20) / demanded).epsilon(0.01));
  // Full rings at 1 core: the guest's 2 vCPUs give it 2 queues of 256 slots each.
  CHECK(b.delay_p99_ms == doctest::Approx(1000 * 2 * 256 * 2e-6).epsilon(0.01));
}

TEST_CASE("a CPU cap bounds the pVM's CPU time over all its vCPUs; the cores held are the cap") {
  // 1.5 cores of demand for 10 s on node 0, then 0.2 cores; 2 vCPUs per node (4 online) capped at 1.2 cores.
  auto pts = std::make_shared<std::vector<trace_point>>(std::vector<trace_point>{{0, {750000, 0}}, {10, {100000, 0}}});
  const auto s = two_nodes({guest("g", 0, trace_load{pts})}, 30);
  const auto r = simulate(s, controlled_by(test::fixed_capped_sizing{2, 120}, test::home_placement{}), "capped");
  REQUIRE(r.series.size() == 30);
  for (std::size_t i = 0; i < 10; ++i) {
    CHECK(r.series[i].served_cores == doctest::Approx(1.2));  // the cap binds, not the 2 local vCPUs
    CHECK(r.series[i].held_cores == doctest::Approx(1.2));
  }
  // 3 core-seconds queued drain at 1.0 core/s on top of the new 0.2.
  CHECK(r.series[11].served_cores == doctest::Approx(1.2));
  CHECK(r.series[14].served_cores == doctest::Approx(0.2));
  CHECK(r.served_pct == doctest::Approx(100));
  CHECK(r.cores_held_mean == doctest::Approx(1.2));
  // Uncapped, the same vCPUs serve the 1.5 cores at once and hold all 4 cores.
  const auto u = simulate(s, controlled_by(test::fixed_per_node_sizing{2}, test::home_placement{}), "uncapped");
  CHECK(u.series[5].served_cores == doctest::Approx(1.5));
  CHECK(u.cores_held_mean == doctest::Approx(4));
  CHECK(r.delay_p99_ms > u.delay_p99_ms);
}

TEST_CASE("the oracle serves its guests at home when their node has room, holding what it uses") {
  auto s = two_nodes({guest("a", 0, steady_load{{300000, 1000}}), guest("b", 1, flash_crowd_load{{100000, 0}, 5, 2, 5, 3}),
                      guest("c", 1, steady_load{{50000, 0}})});
  s.host.devices.clear();  // no NIC on either node: every request costs its local cost at home
  const auto o = simulate_oracle(s);
  CHECK(o.oracle);
  CHECK(o.served_pct == doctest::Approx(100));
  CHECK(o.served_work == doctest::Approx(o.demanded_work));
  CHECK(o.delay_mean_ms == 0);
  CHECK(o.delay_p99_ms == 0);
  CHECK(o.remote_work_share == 0);
  CHECK(o.remote_buffer_share == 0);
  CHECK(o.task_moves == 0);
  CHECK(o.cores_used_mean == doctest::Approx(o.demanded_work / s.duration_s));
  for (const auto& p : o.series) {
    CHECK(p.used_cores == doctest::Approx(p.demanded_cores));
    CHECK(p.held_cores == doctest::Approx(p.used_cores));  // perfect knowledge holds what it uses
  }
  // No policy run on the same scenario serves more or uses fewer cores than the oracle.
  const auto p = simulate(s, controlled_by(test::fixed_per_node_sizing{1}, test::home_placement{}), "p");
  CHECK(p.served_work <= o.served_work + 1e-9);
  CHECK(p.cores_used_mean >= o.cores_used_mean - 1e-9);
}

TEST_CASE("the oracle is bounded by the machine: a node beyond its CPUs spills to the other at the remote cost") {
  // 6 cores of work homed on node 0 (4 CPUs), 0.2 on node 1: 4 served at home, the rest on node 1.
  const auto s = two_nodes({guest("a", 0, steady_load{{1500000, 0}}), guest("b", 0, steady_load{{1500000, 0}}),
                            guest("c", 1, steady_load{{100000, 0}})});
  const auto o = simulate_oracle(s);
  const double r = cost_model{}.remote_latency - 1;
  const double spilled = 6.0 - 4.0, k = 1 + 0.3 * r + 0.1 * r;  // buffers where it runs; the NIC on node 0
  CHECK(o.served_pct == doctest::Approx(100));
  const double at_home1 = 0.2 * (1 + 0.1 * r);  // guest c at home on node 1, its NIC on node 0
  CHECK(o.cores_used_mean == doctest::Approx(4 + at_home1 + spilled * k));
  CHECK(o.remote_work_share == doctest::Approx(spilled * k / (4 + at_home1 + spilled * k)));
  CHECK(o.cores_used_mean <= 8 + 1e-9);  // never more than the host's CPUs
  // With guests' own vCPUs busy on node 1 as well, the machine cannot hold it all: served < 100 %.
  auto busy = s;
  busy.guests[2].cpu_cores = 2;
  busy.model.net_ring_slots = 256;
  const auto b = simulate_oracle(busy);
  CHECK(b.served_pct < 100);
  CHECK(b.cores_used_mean <= 8 - 2 + 1e-9);
  // A policy that keeps everything at home serves only node 0's 4 CPUs' worth.
  const auto home = simulate(busy, controlled_by(test::fixed_per_node_sizing{4}, test::home_placement{}), "home");
  CHECK(home.served_work < b.served_work);
}

TEST_CASE("task moves count node changes after the first round") {
  const auto s = two_nodes({guest("g", 0, steady_load{{1000, 10}})}, 10);
  const auto r = simulate(s, controlled_by(test::fixed_per_node_sizing{1}, test::alternating_placement{}), "alt");
  CHECK(r.control_rounds == 10);
  CHECK(r.task_moves == 4 * 9);  // four tasks (a queue per vCPU, net and block), all move every round but the first
  const auto still = simulate(s, controlled_by(test::fixed_per_node_sizing{1}, test::home_placement{}), "home");
  CHECK(still.task_moves == 0);
}

TEST_CASE("a failed control round is counted and rolled back") {
  // Pinning tasks to node 1 with no pVM vCPU there: the mock refuses, as sched_setaffinity would.
  struct node0_only_sizing {
    [[nodiscard]] std::string_view name() const { return "node0"; }
    plan decide(const host_view& v, decision_log&) const {
      plan p;
      for (const auto& vc : v.pvm.vcpus)
        if (vc.hard_affinity != v.topo->node(node_id{0}).cpus) p.add(set_vcpu_affinity{pvm_domain, vc.id, v.topo->node(node_id{0}).cpus}, "");
      return p;
    }
  };
  const auto s = two_nodes({guest("g", 0, steady_load{{1000, 10}})}, 5);
  const auto r = simulate(s, controlled_by(node0_only_sizing{}, test::pinned_placement{node_id{1}, node_id{1}}), "bad");
  CHECK(r.control_rounds == 5);
  CHECK(r.failed_rounds == 5);
  CHECK(r.served_pct == doctest::Approx(100));  // the boot layout keeps serving
}

TEST_CASE("runs are deterministic: the same scenario gives the same figures") {
  auto s = default_scenario();
  s.duration_s = 60;
  const auto a = simulate(s, controlled_by(test::fixed_per_node_sizing{3}, test::home_placement{}), "x");
  const auto b = simulate(s, controlled_by(test::fixed_per_node_sizing{3}, test::home_placement{}), "x");
  CHECK(a.served_work == b.served_work);
  CHECK(a.demanded_work == b.demanded_work);
  CHECK(a.delay_mean_ms == b.delay_mean_ms);
  CHECK(a.delay_p99_ms == b.delay_p99_ms);
  CHECK(a.cores_used_mean == b.cores_used_mean);
  REQUIRE(a.series.size() == b.series.size());
  for (std::size_t i = 0; i < a.series.size(); ++i) {
    CHECK(a.series[i].served_cores == b.series[i].served_cores);
    CHECK(a.series[i].remote_share == b.series[i].remote_share);
  }
  // A different seed changes the bursty guests' demand.
  auto other = s;
  for (auto& g : other.guests)
    if (auto* bl = std::get_if<bursty_load>(&g.load)) bl->seed ^= 0x5555;
  CHECK(simulate_oracle(other).demanded_work != simulate_oracle(s).demanded_work);
}

TEST_CASE("closer + closer_dynamic on the light scenario meets every target against the bounded oracle") {
  const auto s = default_scenario();
  const auto o = simulate_oracle(s);
  const auto r = simulate(s, controlled_by(sizing::closer_dynamic{}, placement::closer{}), "closer");
  const auto t = evaluate_targets(s, {r, o}, "closer");
  for (const auto& i : t.items) {
    CAPTURE(i.name);
    CHECK(i.met);
  }
  CHECK(r.failed_rounds == 0);
  // Without the cap the whole vCPUs and their headroom hold more than 1.15x the oracle's cores.
  sizing::closer_dynamic::options no_cap;
  no_cap.cap_utilisation = 0;
  const auto u = simulate(s, controlled_by(sizing::closer_dynamic{no_cap}, placement::closer{}), "closer, no cap");
  CHECK(u.cores_held_mean / o.cores_held_mean > 1.15);
  CHECK(u.served_work >= r.served_work - 1e-9);
}
