#include "hosts.hpp"

#include <pvmkit/model/locality.hpp>
#include <pvmkit/placement/closer.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace pvmkit;
using namespace pvmkit::literals;
using pvmkit::placement::closer;
using namespace pvmkit::test;

namespace {

std::size_t moves(const plan& p) { return count_actions<set_task_affinity>(p); }

}  // namespace

TEST_CASE("closer: every task on its guest's home node on 2, 4 and 8 uniform nodes") {
  for (std::size_t nodes : {2U, 4U, 8U}) {
    CAPTURE(nodes);
    mock_host host = host_with_pvm(make_uniform_topology(nodes, 4, 4_GiB), std::vector<std::size_t>(nodes, 2));
    std::vector<task_id> tasks;
    for (std::size_t n = 0; n < nodes; ++n)
      tasks.push_back(guest_with_task(host, "g" + std::to_string(n), node_id{static_cast<node_id::rep>(nodes - 1 - n)}, 0.5));
    closer policy;
    const plan p = apply_round(host, policy);
    CHECK(moves(p) == nodes);
    const host_view after = host.state();
    for (std::size_t n = 0; n < nodes; ++n) {
      const node_id home{static_cast<node_id::rep>(nodes - 1 - n)};
      CHECK(task_node(after, tasks[n]) == home);
      CHECK(after.find_task(tasks[n])->affinity == after.topo->node(home).cpus);
      CHECK(after.find_task(tasks[n])->memory_node == home);
      CHECK(policy.node_load(home) == doctest::Approx(0.5));
    }
    // Settled: nothing more to do.
    CHECK(apply_round(host, policy).empty());
  }
}

TEST_CASE("closer: a full home node spills to the nearest node with room (asymmetric ring)") {
  // One pVM vCPU per node: 0.8 cores of room each at the default target utilisation.
  mock_host host = host_with_pvm(ring4(), {1, 1, 1, 1});
  const task_id on1 = guest_with_task(host, "local1", node_id{1}, 0.7);  // fills node 1
  const task_id a = guest_with_task(host, "a", node_id{0}, 0.6);         // fits on node 0
  const task_id b = guest_with_task(host, "b", node_id{0}, 0.6);         // node 0 full, node 1 full
  closer policy;
  decision_log log{true};
  apply_round(host, policy, log);
  const host_view v = host.state();
  CHECK(task_node(v, on1) == node_id{1});
  CHECK(task_node(v, a) == node_id{0});
  // Node 0's nearest are 1 (16, full), then 3 (20), then 2 (26): b goes to 3.
  CHECK(task_node(v, b) == node_id{3});
  CHECK(v.find_task(b)->memory_node == node_id{3});
  const auto& rec = log.records().back();
  CHECK(rec.subject.find("b-backend") != std::string::npos);
  CHECK(rec.choice == "node 3");
  CHECK(rec.reason == "home node lacks spare pVM capacity: nearest node with room");
  REQUIRE(rec.candidates.size() == 4);
  CHECK(rec.candidates[0].name == "node 0");  // nearest first
  CHECK(rec.candidates[0].note.rfind("full", 0) == 0);
  CHECK(rec.candidates[1].name == "node 1");
  CHECK(rec.candidates[1].note.rfind("full", 0) == 0);
  CHECK(rec.candidates[2].name == "node 3");
  CHECK(rec.candidates[2].score == doctest::Approx(2.0));
  CHECK(rec.candidates[3].name == "node 2");
  CHECK(rec.candidates[3].score == doctest::Approx(2.6));
}

TEST_CASE("closer: the device's node is weighed in") {
  SUBCASE("home node with room wins over the device's node") {
    mock_host host = host_with_pvm(make_uniform_topology(2, 4, 4_GiB, 21, {{"eth1", device_kind::network, node_id{1}}}),
                                   {1, 1});
    const task_id t = guest_with_task(host, "g", node_id{0}, 0.3, "eth1");
    closer policy;
    decision_log log{true};
    apply_round(host, policy, log);
    CHECK(task_node(host.state(), t) == node_id{0});
    const auto& rec = log.records().back();
    REQUIRE(rec.candidates.size() == 2);
    CHECK(rec.candidates[0].score == doctest::Approx(1.0 + 0.5 * 2.1));  // home, device remote
    CHECK(rec.candidates[1].score == doctest::Approx(2.1 + 0.5 * 1.0));  // device node, guest remote
    CHECK(rec.reason == "home node has room");
  }
  SUBCASE("home full: among equidistant nodes, the device's node") {
    mock_host host = host_with_pvm(make_uniform_topology(4, 4, 4_GiB, 21, {{"eth2", device_kind::network, node_id{2}}}),
                                   {1, 1, 1, 1});
    guest_with_task(host, "filler", node_id{0}, 0.7);
    const task_id plain = guest_with_task(host, "plain", node_id{0}, 0.5);
    const task_id nic = guest_with_task(host, "nic", node_id{0}, 0.2, "eth2");
    closer policy;
    apply_round(host, policy);
    const host_view v = host.state();
    CHECK(task_node(v, plain) == node_id{1});  // no device: the lowest id of the equidistant nodes
    CHECK(task_node(v, nic) == node_id{2});    // node 1 has room too, but the NIC is on node 2
  }
}

TEST_CASE("closer: a guest whose memory is split is served on its majority node") {
  mock_host host = host_with_pvm(make_uniform_topology(2, 4, 4_GiB), {1, 1});
  // Its vCPUs sit on node 0, most of its memory on node 1.
  const domain_id g = host.add_guest({"split", 2, node_id{0}, {}, {256_MiB, 768_MiB}, false});
  const task_id t = host.add_task({"split-vif", task_kind::net_backend, g, {}, 0.2});
  host_view v = host.state();
  CHECK(guest_home(*v.topo, v.guests.front()) == node_id{0});  // the backend's word first
  // A backend that cannot report a home node: the node with most of the memory decides.
  for (auto& guest : v.guests) guest.home_node = node_id::invalid();
  CHECK(guest_home(*v.topo, v.guests.front()) == node_id{1});
  closer policy;
  decision_log log;
  const host_view after = project(v, policy.decide(v, log));
  CHECK(task_node(after, t) == node_id{1});
  CHECK(after.find_task(t)->memory_node == node_id{1});
}

TEST_CASE("closer: hysteresis holds under wobbling load, a big change moves tasks") {
  mock_host host = host_with_pvm(make_uniform_topology(2, 4, 4_GiB), {4, 4});  // 3.2 cores of room each
  std::vector<task_id> tasks;
  for (int i = 0; i < 3; ++i) tasks.push_back(guest_with_task(host, "g" + std::to_string(i), node_id{0}, 1.0));
  closer policy;
  apply_round(host, policy);
  for (auto t : tasks) REQUIRE(task_node(host.state(), t) == node_id{0});

  for (int r = 0; r < 10; ++r) {
    const double load = r % 2 == 0 ? 1.1 : 0.9;  // 3.3 / 2.7 cores against 3.2 of room
    for (auto t : tasks) host.set_task_load(t, load);
    CAPTURE(r);
    CHECK(apply_round(host, policy).empty());
  }
  for (auto t : tasks) host.set_task_load(t, 1.5);  // 4.5 cores: beyond node 0's 3.2 (+15 %)
  const plan p = apply_round(host, policy);
  CHECK(moves(p) == 1);
  const host_view v = host.state();
  std::size_t on1 = 0;
  for (auto t : tasks) on1 += task_node(v, t) == node_id{1} ? 1U : 0U;
  CHECK(on1 == 1);  // one move brings node 0 back to 3 cores, within its band
  CHECK(apply_round(host, policy).empty());
}

TEST_CASE("closer: a spilled task does not ping-pong home while home is barely free") {
  mock_host host = host_with_pvm(make_uniform_topology(2, 4, 4_GiB), {1, 1});  // 0.8 of room per node
  const task_id first = guest_with_task(host, "first", node_id{0}, 0.5);
  const task_id second = guest_with_task(host, "second", node_id{0}, 0.5);
  closer policy;
  apply_round(host, policy);
  REQUIRE(task_node(host.state(), first) == node_id{0});
  REQUIRE(task_node(host.state(), second) == node_id{1});
  // The first task's load wobbles: whenever node 0 has room for the second, going home is a real
  // gain (2.1 -> 1.0), so it moves once; afterwards the band keeps both where they are.
  host.set_task_load(first, 0.25);
  std::size_t total_moves = moves(apply_round(host, policy));
  for (int r = 0; r < 6; ++r) {
    host.set_task_load(first, r % 2 == 0 ? 0.35 : 0.25);
    total_moves += moves(apply_round(host, policy));
  }
  CHECK(total_moves == 1);
  CHECK(task_node(host.state(), second) == node_id{0});
}

TEST_CASE("closer: the migration budget bounds moves per decision") {
  mock_host host = host_with_pvm(make_uniform_topology(2, 8, 4_GiB), {8, 8});  // 6.4 cores of room each
  std::vector<task_id> tasks;
  for (int i = 0; i < 8; ++i) tasks.push_back(guest_with_task(host, "g" + std::to_string(i), node_id{0}, 0.5));
  closer policy{closer::options{0.8, 0.5, 0.15, 2}};
  apply_round(host, policy);  // initial placements are not moves: all 8 land on node 0
  for (auto t : tasks) REQUIRE(task_node(host.state(), t) == node_id{0});
  for (auto t : tasks) host.set_task_load(t, 1.5);  // 12 cores on node 0
  decision_log log{true};
  const plan p = apply_round(host, policy, log);
  CHECK(moves(p) == 2);
  std::size_t held = 0;
  for (const auto& r : log.records()) held += r.reason == "stays: the migration budget of this decision is spent" ? 1U : 0U;
  CHECK(held >= 1);
  // Converges over the next rounds, two moves at a time. Node 0 cannot grow (8 vCPUs on 8 CPUs),
  // so it keeps its own guests' work up to saturation (0.98 * 8 = 7.84 cores): 5 tasks (7.5 cores)
  // stay and 3 leave, best fit (each 1.5 <= the excess) until it is under.
  std::size_t rounds = 0;
  while (rounds < 10) {
    const plan q = apply_round(host, policy);
    CHECK(moves(q) <= 2);
    ++rounds;
    if (q.empty()) break;
  }
  std::size_t on1 = 0;
  for (auto t : tasks) on1 += task_node(host.state(), t) == node_id{1} ? 1U : 0U;
  CHECK(on1 == 3);
}

TEST_CASE("closer: floating pVM vCPUs are pinned where the demand is, interrupts follow their backend") {
  const topology topo = make_uniform_topology(2, 4, 4_GiB);
  mock_host host{topo, mock_pvm_spec{4, 1_GiB}};  // 4 vCPUs floating over both nodes
  const domain_id g = host.add_guest({"busy", 1, node_id{1}, 256_MiB, {}, false});
  const task_id vif = host.add_task({"vif1.0", task_kind::net_backend, g, "eth0", 1.5});
  const task_id irq = host.add_task({"vif1.0-irq", task_kind::irq, g, "eth0", 0.1});
  closer policy;
  decision_log log;
  const host_view before = host.state();
  const plan p = policy.decide(before, log);
  REQUIRE(apply_plan(host, before, p).ok());
  const host_view v = host.state();
  std::size_t on1 = 0;
  for (const auto& vc : v.pvm.vcpus) {
    REQUIRE(node_of(*v.topo, vc.hard_affinity).valid());
    on1 += node_of(*v.topo, vc.hard_affinity) == node_id{1} ? 1U : 0U;
  }
  // Node 1 needs 1.5 / 0.8 -> 2 vCPUs; the other two go to the uncovered node (0), one each side.
  CHECK(on1 == 3);
  CHECK(task_node(v, vif) == node_id{1});
  CHECK(task_node(v, irq) == node_id{1});
}

TEST_CASE("closer: an interrupt follows a backend that spilled off its home node") {
  mock_host host = host_with_pvm(make_uniform_topology(2, 4, 4_GiB), {1, 1});
  guest_with_task(host, "filler", node_id{0}, 0.7);
  const domain_id g = host.add_guest({"spilled", 1, node_id{0}, 256_MiB, {}, false});
  const task_id vif = host.add_task({"vif.0", task_kind::net_backend, g, "eth0", 0.5});
  const task_id irq = host.add_task({"vif.0-irq", task_kind::irq, g, "eth0", 0.05});
  closer policy;
  apply_round(host, policy);
  CHECK(task_node(host.state(), vif) == node_id{1});
  CHECK(task_node(host.state(), irq) == node_id{1});
}

TEST_CASE("closer: 8 nodes, guests all over, nothing remote while there is room") {
  mock_host host = host_with_pvm(make_uniform_topology(8, 4, 4_GiB), std::vector<std::size_t>(8, 1));
  std::vector<std::pair<task_id, node_id>> tasks;
  for (std::size_t i = 0; i < 24; ++i) {
    const node_id home{static_cast<node_id::rep>(i % 8)};
    tasks.emplace_back(guest_with_task(host, "g" + std::to_string(i), home, 0.25), home);
  }
  closer policy;
  apply_round(host, policy);
  for (const auto& [t, home] : tasks) CHECK(task_node(host.state(), t) == home);
  for (std::size_t n = 0; n < 8; ++n)
    CHECK(policy.node_load(node_id{static_cast<node_id::rep>(n)}) == doctest::Approx(0.75));
}

TEST_CASE("closer: incremental replan re-decides one guest like a full decide would") {
  mock_host host = host_with_pvm(make_uniform_topology(2, 4, 4_GiB), {2, 4});  // 1.6 and 3.2 cores of room
  const task_id a = guest_with_task(host, "a", node_id{0}, 0.5);
  const task_id b = guest_with_task(host, "b", node_id{0}, 0.5);
  guest_with_task(host, "c", node_id{1}, 0.5);
  closer policy;
  apply_round(host, policy);
  REQUIRE(task_node(host.state(), b) == node_id{0});

  decision_log log;
  host.set_task_load(b, 0.55);  // small change: nothing to do
  CHECK(policy.replan(host.state(), host.state().tasks[1].guest, log).empty());
  CHECK(policy.node_load(node_id{0}) == doctest::Approx(1.05));
  host.set_task_load(a, 1.2);  // 1.75 cores: still within node 0's hysteresis band (1.6 * 1.15)
  CHECK(apply_round(host, policy).empty());

  host.set_task_load(b, 1.0);  // 2.2 cores: node 0 sheds the lighter of its two (both above the 0.36 excess)
  const host_view v = host.state();
  closer fresh = policy;  // same accounting, full decide
  const plan full = fresh.decide(v, log);
  const plan inc = policy.replan(v, v.find_task(b)->guest, log);
  CHECK(inc == full);
  CHECK(moves(inc) == 1);
  CHECK(task_node(project(v, inc), b) == node_id{1});
  CHECK(task_node(project(v, inc), a) == node_id{0});
  CHECK(policy.node_load(node_id{1}) == doctest::Approx(1.5));
  CHECK(policy.node_load(node_id{0}) == doctest::Approx(1.2));

  // A guest it has not seen: falls back to a full decide.
  CHECK(policy.replan(v, domain_id{999}, log) == fresh.decide(v, log));
}

TEST_CASE("closer: the home node wins whenever it has room, even with the device near another node") {
  // Node 1 lies between the guest's node 0 (distance 11) and the NIC's node 2 (distance 11); node 2
  // is far from node 0 (40). By score alone node 1 (1.1 + 0.5 * 1.1) beats home (1.0 + 0.5 * 4.0).
  auto line = [] {
    std::vector<numa_node> nodes;
    for (std::size_t i = 0; i < 3; ++i)
      nodes.push_back({node_id{static_cast<node_id::rep>(i)}, cpuset::range(i * 4, i * 4 + 4), 4_GiB, 4_GiB});
    return topology{std::move(nodes), {10, 11, 40, 11, 10, 11, 40, 11, 10}, {{"eth2", device_kind::network, node_id{2}}}};
  };
  mock_host host = host_with_pvm(line(), {1, 1, 1});
  const task_id t = guest_with_task(host, "g", node_id{0}, 0.3, "eth2");
  closer policy;
  decision_log log{true};
  apply_round(host, policy, log);
  CHECK(task_node(host.state(), t) == node_id{0});
  CHECK(log.records().back().reason == "home node has room");
  // Without room at home, the score decides: node 1, near both the guest and the NIC.
  mock_host full = host_with_pvm(line(), {1, 1, 1});
  guest_with_task(full, "filler", node_id{0}, 0.7);
  const task_id spilled = guest_with_task(full, "g", node_id{0}, 0.3, "eth2");
  closer other;
  apply_round(full, other);
  CHECK(task_node(full.state(), spilled) == node_id{1});
}

TEST_CASE("closer: interrupt load counts where it runs, for decide and replan alike") {
  // Node 0: 4 pVM vCPUs (3.2 cores of room, 3.68 within the band); node 1: 2 (1.6).
  mock_host host = host_with_pvm(make_uniform_topology(2, 4, 4_GiB), {4, 2});
  const task_id b = guest_with_task(host, "g", node_id{0}, 1.0);
  const task_id irq = host.add_task({"pvm-irq", task_kind::irq, domain_id::invalid(), {}, 3.0});
  for (task_id t : {b, irq}) REQUIRE(host.set_task_affinity(t, host.state().topo->node(node_id{0}).cpus).has_value());
  host.clear_calls();
  // 4 cores on node 0 with the interrupt's 3: the backend goes where there is room.
  closer policy;
  apply_round(host, policy);
  CHECK(task_node(host.state(), b) == node_id{1});
  CHECK(task_node(host.state(), irq) == node_id{0});  // fits nowhere; node 0 is the least loaded
  // Settled: a full decide and a replan of the guest agree that nothing is left to do.
  const host_view v = host.state();
  decision_log log;
  closer copy = policy;
  CHECK(copy.replan(v, v.find_task(b)->guest, log).empty());
  CHECK(policy.decide(v, log).empty());
  CHECK(policy.node_load(node_id{0}) == doctest::Approx(3.0));
}

TEST_CASE("closer: options are validated") {
  CHECK_THROWS_AS(closer(closer::options{0.0, 0.5, 0.15, 4}), config_error);
  CHECK_THROWS_AS(closer(closer::options{0.8, -1.0, 0.15, 4}), config_error);
  CHECK_THROWS_AS(closer(closer::options{0.8, 0.5, 1.0, 4}), config_error);
  CHECK_NOTHROW(closer(closer::options{1.0, 0.0, 0.0, 0}));
}
