// Randomized properties of closer: random 1-8 node hosts (asymmetric distances, CPUs missing from
// the numbering, devices on no node) and random snapshots with the odd cases a real backend can
// report: duplicate guest ids, tasks of unknown guests, pVM-wide tasks, devices the topology does
// not know, offline and floating pVM vCPUs, no pVM vCPU at all. One policy object lives through a
// sequence of views per seed (new topologies, plans applied, loads changed), so state kept between
// rounds is exercised too. Seeded: a failure names its seed and round.
#include <pvmkit/model/locality.hpp>
#include <pvmkit/placement/closer.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

using namespace pvmkit;
using namespace pvmkit::literals;
using pvmkit::placement::closer;

namespace {

struct rng {
  std::mt19937_64 g;
  explicit rng(std::uint64_t seed) : g(seed) {}
  std::size_t below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(g() % n); }
  bool chance(double p) { return static_cast<double>(g() % 1'000'000) < p * 1'000'000; }
  double real(double lo, double hi) { return lo + (hi - lo) * static_cast<double>(g() % 1'000'001) / 1'000'000.0; }
};

node_id nid(std::size_t i) { return node_id{static_cast<node_id::rep>(i)}; }
cpu_id cid(std::size_t i) { return cpu_id{static_cast<cpu_id::rep>(i)}; }

std::shared_ptr<const topology> random_topology(rng& r) {
  const std::size_t n = 1 + r.below(8);
  std::vector<numa_node> nodes;
  std::size_t next_cpu = 0;
  for (std::size_t i = 0; i < n; ++i) {
    cpuset cpus;
    const std::size_t count = 1 + r.below(5);
    for (std::size_t k = 0; k < count; ++k) cpus.insert(cid(next_cpu++));
    if (r.chance(0.15)) ++next_cpu;  // a hole in the CPU numbering
    nodes.push_back({nid(i), cpus, 4_GiB, 4_GiB});
  }
  std::vector<std::uint32_t> d(n * n, 10);
  const bool uniform = r.chance(0.3);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j)
      d[i * n + j] = d[j * n + i] = uniform ? 21 : static_cast<std::uint32_t>(11 + r.below(30));
  std::vector<device> devices;
  const std::size_t n_dev = r.below(4);
  for (std::size_t k = 0; k < n_dev; ++k)
    devices.push_back({"eth" + std::to_string(k), device_kind::network, r.chance(0.15) ? node_id::invalid() : nid(r.below(n))});
  return std::make_shared<const topology>(std::move(nodes), std::move(d), std::move(devices));
}

// A CPU set of one of the shapes backends report.
cpuset random_affinity(rng& r, const topology& topo) {
  const auto& node = topo.nodes()[r.below(topo.node_count())].cpus;
  switch (r.below(8)) {
    case 0: return {};
    case 1: return topo.cpus();  // floats over every node
    case 2: {                    // one CPU of a node
      std::vector<cpu_id> c(node.begin(), node.end());
      return cpuset{c[r.below(c.size())]};
    }
    case 3: {  // spans two nodes (one node on a 1-node host)
      cpuset s = node;
      s |= topo.nodes()[r.below(topo.node_count())].cpus;
      return s;
    }
    case 4: {  // a CPU the host does not have
      cpuset s = node;
      s.insert(cid(topo.cpus().extent() + r.below(3)));
      return s;
    }
    default: return node;
  }
}

host_view random_view(rng& r, std::shared_ptr<const topology> topo, bool roomy) {
  host_view v;
  v.topo = std::move(topo);
  const topology& t = *v.topo;
  const std::size_t n = t.node_count();
  v.pvm.id = pvm_domain;
  v.pvm.name = "pvm";
  // Roomy views: every node has plenty of pVM vCPUs pinned to it, so every home has room.
  const std::size_t n_vcpus = roomy ? 0 : r.below(3 * n + 1);
  for (std::size_t k = 0; k < n_vcpus; ++k) {
    vcpu_state s;
    s.id = vcpu_id{static_cast<vcpu_id::rep>(k)};
    s.online = r.chance(0.8);
    s.hard_affinity = random_affinity(r, t);
    v.pvm.vcpus.push_back(std::move(s));
  }
  if (roomy)
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t k = 0; k < 8; ++k) {
        vcpu_state s;
        s.id = vcpu_id{static_cast<vcpu_id::rep>(v.pvm.vcpus.size())};
        s.hard_affinity = t.nodes()[i].cpus;
        v.pvm.vcpus.push_back(std::move(s));
      }
  const std::size_t n_guests = r.below(10);
  for (std::size_t k = 0; k < n_guests; ++k) {
    domain_state g;
    g.id = domain_id{static_cast<domain_id::rep>(1 + (roomy ? k : r.below(12)))};  // duplicates unless roomy
    g.name = "g" + std::to_string(k);
    const std::size_t home_kind = roomy ? 0 : r.below(6);
    g.home_node = home_kind < 4 ? nid(r.below(n)) : home_kind == 4 ? node_id::invalid() : nid(n + r.below(3));
    if (r.chance(0.3))
      for (std::size_t i = 0; i < n + r.below(2); ++i) g.memory_per_node.push_back(bytes{r.below(4) << 28});
    if (r.chance(0.3)) g.vcpus.push_back({vcpu_id{0}, true, random_affinity(r, t), {}});
    v.guests.push_back(std::move(g));
  }
  const std::size_t n_tasks = r.below(24);
  for (std::size_t k = 0; k < n_tasks; ++k) {
    pvm_task task;
    task.id = task_id{static_cast<task_id::rep>(100 + k)};
    task.name = "t" + std::to_string(k);
    task.kind = static_cast<task_kind>(r.below(6));
    const std::size_t owner = r.below(10);
    if (owner < 6 && !v.guests.empty()) task.guest = v.guests[r.below(v.guests.size())].id;
    else if (owner < 7) task.guest = domain_id{static_cast<domain_id::rep>(50 + r.below(3))};  // unknown guest
    // else pVM-wide work
    const std::size_t dev = r.below(5);
    if (dev == 1 || dev == 2) task.device = "eth" + std::to_string(r.below(4));
    if (dev == 3) task.device = "nic-unknown";
    task.affinity = roomy ? (r.chance(0.5) ? cpuset{} : t.cpus()) : random_affinity(r, t);
    if (roomy && n == 1) task.affinity = {};
    const std::size_t mem = r.below(4);
    task.memory_node = mem == 0 ? node_id::invalid() : mem == 1 ? nid(n + 1) : nid(r.below(n));
    task.cpu_load = roomy ? r.real(0, 0.3) : r.real(0, 1.2);
    v.tasks.push_back(std::move(task));
  }
  return v;
}

// The snapshot in a few lines, for failure messages.
std::string describe(const host_view& v) {
  std::string out = std::to_string(v.topo->node_count()) + " nodes:";
  for (const auto& n : v.topo->nodes()) out += " [" + n.cpus.to_string() + "]";
  for (const auto& d : v.topo->devices()) out += " " + d.name + "@" + std::to_string(d.node.value());
  out += "\npVM vCPUs:";
  for (const auto& vc : v.pvm.vcpus) out += std::string{" "} + (vc.online ? "" : "off:") + "[" + vc.hard_affinity.to_string() + "]";
  out += "\nguests:";
  for (const auto& g : v.guests) out += " " + std::to_string(g.id.value()) + "@" + std::to_string(g.home_node.value());
  for (const auto& t : v.tasks)
    out += "\ntask " + std::to_string(t.id.value()) + " " + std::string{to_string(t.kind)} + " guest " +
           std::to_string(t.guest.value()) + " dev '" + t.device + "' [" + t.affinity.to_string() + "] mem " +
           std::to_string(t.memory_node.value()) + " load " + std::to_string(t.cpu_load);
  return out;
}

// What the properties compare against, worked out from the snapshot without the policy's code.
struct expected {
  std::vector<cpuset> node_cpus;  // per node: CPUs of its online pVM vCPUs once the plan's pins apply
  std::vector<std::size_t> node_vcpus;
};
expected pvm_after(const host_view& view, const plan& p) {
  const host_view after = project(view, p);
  const topology& t = *view.topo;
  expected e{std::vector<cpuset>(t.node_count()), std::vector<std::size_t>(t.node_count(), 0)};
  for (const auto& vc : after.pvm.vcpus) {
    if (!vc.online) continue;
    const node_id n = node_of(t, vc.hard_affinity);
    if (!n.valid()) continue;
    e.node_cpus[n.index()] |= vc.hard_affinity;
    ++e.node_vcpus[n.index()];
  }
  return e;
}

// Checks one plan of decide() or replan().
void check_plan(const host_view& view, const plan& p, const closer::options& opts) {
  INFO(describe(view), "\nplan: ", to_json(p));
  const topology& t = *view.topo;
  const expected e = pvm_after(view, p);
  std::size_t moves = 0;
  for (const auto& step : p.steps()) {
    if (const auto* a = std::get_if<set_task_affinity>(&step.what)) {
      const pvm_task* task = view.find_task(a->task);
      if (!task) FAIL_CHECK("set_task_affinity names task " << a->task.value() << ", not in the view");
      bool is_node = false;
      node_id to = node_id::invalid();
      for (std::size_t i = 0; i < t.node_count(); ++i)
        if (!e.node_cpus[i].empty() && e.node_cpus[i] == a->cpus) {
          is_node = true;
          to = nid(i);
        }
      if (!is_node) FAIL_CHECK("set_task_affinity to " << a->cpus.to_string() << " is no node's online pVM vCPU set");
      if (task) {
        const node_id from = node_of(t, task->affinity);
        if (from.valid() && e.node_vcpus[from.index()] > 0 && from != to) ++moves;
      }
    } else if (const auto* m = std::get_if<set_task_memory_node>(&step.what)) {
      if (!view.find_task(m->task)) FAIL_CHECK("set_task_memory_node names task " << m->task.value() << ", not in the view");
      if (!(m->node.valid() && t.has_node(m->node))) FAIL_CHECK("set_task_memory_node to invalid node " << m->node.value());
    }
  }
  if (moves > opts.migration_budget) FAIL_CHECK(moves << " moves, budget " << opts.migration_budget);
}

// On a roomy view (every task unplaced, every node able to take all the work at once): each task of
// a guest (unique id, home node reported) lands on the guest's home node, CPUs and memory.
void check_home(const host_view& view, const plan& p, const closer::options& opts) {
  INFO(describe(view), "\nplan: ", to_json(p));
  const topology& t = *view.topo;
  const expected e = pvm_after(view, p);
  double total = 0;
  for (const auto& task : view.tasks) total += task.kind == task_kind::irq ? 0.0 : task.cpu_load;
  const host_view after = project(view, p);
  for (const auto& task : after.tasks) {
    if (task.kind == task_kind::irq || !task.guest.valid()) continue;
    std::size_t same_id = 0;
    node_id home = node_id::invalid();
    for (const auto& g : view.guests)
      if (g.id == task.guest) {
        ++same_id;
        home = g.home_node;
      }
    if (same_id != 1 || !home.valid() || !t.has_node(home)) continue;
    // A node gives the pVM no more cores than it has CPUs, however many vCPUs are pinned there.
    const double cores = std::min(static_cast<double>(e.node_vcpus[home.index()]), static_cast<double>(t.node(home).cpus.size()));
    if (cores * opts.target_utilisation < total + 1e-6) continue;
    if (!(task.affinity == e.node_cpus[home.index()] && task.memory_node == home))
      FAIL_CHECK("task " << task.id.value() << " of guest " << task.guest.value() << " not on its home node "
                         << home.value() << " that has room: affinity " << task.affinity.to_string()
                         << ", memory node " << task.memory_node.value());
  }
}

closer::options random_options(rng& r) {
  closer::options o;
  if (r.chance(0.5)) {
    o.target_utilisation = r.real(0.3, 1.0);
    o.device_weight = r.real(0.0, 0.95);
    o.hysteresis = r.real(0.0, 0.5);
    o.migration_budget = r.below(4);
  }
  return o;
}

}  // namespace

TEST_CASE("closer (randomized): decide and replan never throw and plan only what the view allows") {
  constexpr std::uint64_t seeds = 250;
  std::size_t rounds = 0, settled = 0, roomy_checked = 0;
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    CAPTURE(seed);
    rng r{seed * 0x9e3779b97f4a7c15ULL};
    const closer::options opts = random_options(r);
    closer policy{opts};
    auto topo = random_topology(r);
    host_view v = random_view(r, topo, false);
    for (int step = 0; step < 8; ++step, ++rounds) {
      CAPTURE(step);
      decision_log log{r.chance(0.3)};
      closer twin = policy;  // decides the same view with decision records the other way round
      decision_log twin_log{!log.enabled()};
      plan p;
      REQUIRE_NOTHROW(p = policy.decide(v, log));
      check_plan(v, p, opts);
      // Fast paths (no records) and the explained path decide alike.
      const plan tp = twin.decide(v, twin_log);
      if (!(tp == p)) FAIL_CHECK(describe(v) << "\nplan: " << to_json(p) << "\nwith records the other way: " << to_json(tp));
      // replan() of a guest of the view (or one it does not have) once the plan is applied.
      const domain_id g = !v.guests.empty() && r.chance(0.8) ? v.guests[r.below(v.guests.size())].id
                                                              : domain_id{static_cast<domain_id::rep>(70 + r.below(3))};
      const host_view applied = project(v, p);
      closer copy = policy;
      plan q;
      REQUIRE_NOTHROW(q = copy.replan(applied, g, log));
      check_plan(applied, q, opts);
      // The next view: the plan applied and loads changed (then a replan), a fresh view on the same
      // host, or a different host.
      const std::size_t next = r.below(4);
      if (next <= 1) {
        v = project(v, p);
        for (auto& task : v.tasks)
          if (r.chance(0.3)) task.cpu_load = r.real(0, 1.2);
        if (!v.guests.empty()) {
          const domain_id changed = v.guests[r.below(v.guests.size())].id;
          closer other = policy;
          plan rp;
          REQUIRE_NOTHROW(rp = other.replan(v, changed, log));
          check_plan(v, rp, opts);
        }
      } else if (next == 2) {
        v = random_view(r, topo, false);
      } else {
        topo = random_topology(r);
        v = random_view(r, topo, false);
      }
    }
    // Roomy views: every guest's task goes home, on a fresh policy and on this used one.
    for (int k = 0; k < 2; ++k) {
      host_view room = random_view(r, k == 0 ? topo : random_topology(r), true);
      decision_log log;
      plan p;
      REQUIRE_NOTHROW(p = policy.decide(room, log));
      check_plan(room, p, opts);
      check_home(room, p, opts);
      closer fresh{opts};
      REQUIRE_NOTHROW(p = fresh.decide(room, log));
      check_home(room, p, opts);
      ++roomy_checked;
    }
    // Settle a view (apply plans until decide() has nothing to do); then replan() of any guest on
    // that unchanged view agrees with decide(): nothing to change.
    host_view s = random_view(r, topo, r.chance(0.3));
    decision_log log;
    bool done = false;
    for (int round = 0; round < 16 && !done; ++round) {
      plan p;
      REQUIRE_NOTHROW(p = policy.decide(s, log));
      check_plan(s, p, opts);
      done = p.empty();
      s = project(s, p);
    }
    if (!done) continue;
    ++settled;
    std::vector<domain_id> ids{domain_id{77}};
    for (const auto& guest : s.guests) ids.push_back(guest.id);
    for (domain_id g : ids) {
      CAPTURE(g.value());
      closer copy = policy;
      plan q;
      REQUIRE_NOTHROW(q = copy.replan(s, g, log));
      INFO(describe(s), "\nreplan: ", to_json(q));
      CHECK(q.empty());
    }
  }
  MESSAGE(rounds << " random rounds, " << roomy_checked << " roomy views, " << settled << " settled views");
  CHECK(settled * 10 > seeds * 8);  // the settle loop converges on most hosts: the replan check has teeth
}

TEST_CASE("closer: a pVM with no online vCPU leaves every task where it is, with the reason") {
  auto topo = std::make_shared<const topology>(make_uniform_topology(2, 2, 4_GiB, 21, {{"eth0", device_kind::network, node_id{1}}}));
  host_view v;
  v.topo = topo;
  v.pvm.id = pvm_domain;
  v.pvm.vcpus.push_back({vcpu_id{0}, false, topo->nodes()[0].cpus, {}});  // offline
  v.guests.push_back({});
  v.guests.back().id = domain_id{1};
  v.guests.back().home_node = node_id{1};
  // pVM-wide and unplaced (no home to score from), a guest's task, and one on node 0.
  v.tasks.push_back({task_id{1}, "xenstored", task_kind::toolstack, domain_id::invalid(), {}, {}, node_id::invalid(), 0.1});
  v.tasks.push_back({task_id{2}, "vif1.0", task_kind::net_backend, domain_id{1}, "eth0", {}, node_id::invalid(), 0.2});
  v.tasks.push_back({task_id{3}, "qemu", task_kind::device_model, domain_id::invalid(), "nic-x", topo->nodes()[0].cpus,
                     node_id::invalid(), 0.2});
  closer policy;
  decision_log log{true};
  plan p;
  REQUIRE_NOTHROW(p = policy.decide(v, log));
  // Nothing to pin anything to; the task that runs on node 0 takes its buffers from there.
  REQUIRE(p.size() == 1);
  CHECK(p.steps()[0].what == action{set_task_memory_node{task_id{3}, node_id{0}}});
  REQUIRE(log.records().size() == 3);
  for (const auto& rec : log.records()) {
    CAPTURE(rec.subject);
    CHECK(rec.reason == "no online pVM vCPU is pinned to any node: left where it is");
  }
  CHECK(log.records()[0].choice == "none");
  CHECK(log.records()[2].choice == "node 0");
  // The same without a log (the fast paths), and replan of the guest.
  decision_log off;
  closer quiet;
  REQUIRE_NOTHROW(p = quiet.decide(v, off));
  CHECK(p.size() == 1);
  REQUIRE_NOTHROW(p = quiet.replan(project(v, p), domain_id{1}, off));
  CHECK(p.empty());
}
