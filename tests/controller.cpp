#include <pvmkit/backend/mock.hpp>
#include <pvmkit/controller.hpp>
#include <pvmkit/placement/closer.hpp>
#include <pvmkit/sizing/closer_dynamic.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace pvmkit;
using namespace pvmkit::literals;

namespace {

// Everything a plan can change, as text: two hosts with equal digests are the same host.
std::string digest(const host_view& v) {
  std::string out;
  auto dom = [&](const domain_state& d) {
    out += "dom" + std::to_string(d.id.value()) + "[";
    for (const auto& vc : d.vcpus) out += (vc.online ? "+" : "-") + vc.hard_affinity.to_string() + " ";
    out += "t=" + std::to_string(d.memory_target.count()) + " n=" + d.node_affinity.to_string() +
           " cap=" + (d.cpu_cap ? std::to_string(*d.cpu_cap) : "-") + " m=";
    for (auto b : d.memory_per_node) out += std::to_string(b.count()) + ",";
    out += "]";
  };
  dom(v.pvm);
  for (const auto& g : v.guests) dom(g);
  for (const auto& t : v.tasks)
    out += "task" + std::to_string(t.id.value()) + "=" + t.affinity.to_string() + "@" +
           (t.memory_node.valid() ? std::to_string(t.memory_node.value()) : "-") + " ";
  return out;
}

struct host_fixture {
  mock_host host{make_uniform_topology(2, 4, 8_GiB), {.vcpus = 4, .memory = 1_GiB}};
  domain_id g0 = host.add_guest({.name = "g0", .vcpus = 2, .home = node_id{0}, .memory = 1_GiB});
  domain_id g1 = host.add_guest({.name = "g1", .vcpus = 2, .home = node_id{1}, .memory = 1_GiB});
  task_id t0 = host.add_task({.name = "vif1.0-q0-guest-rx", .kind = task_kind::net_backend, .guest = g0});
  task_id t1 = host.add_task({.name = "vif2.0-q0-guest-rx", .kind = task_kind::net_backend, .guest = g1});
};

// A nine-step plan touching every kind of action, one object twice.
plan every_action_plan(const host_fixture& f) {
  plan p;
  p.add(set_vcpu_affinity{pvm_domain, vcpu_id{0}, cpuset::range(0, 4)}, "pVM vCPU 0 to node 0");
  p.add(set_vcpu_affinity{pvm_domain, vcpu_id{1}, cpuset::range(4, 8)}, "pVM vCPU 1 to node 1");
  p.add(set_vcpu_online{pvm_domain, vcpu_id{3}, false}, "shrink");
  p.add(set_node_affinity{pvm_domain, nodeset{node_id{1}}}, "pVM memory on node 1");
  p.add(set_memory_target{pvm_domain, 2_GiB}, "grow");
  p.add(set_cpu_cap{pvm_domain, 250}, "cap");
  p.add(set_task_affinity{f.t0, cpuset::range(0, 4)}, "task near guest 0");
  p.add(set_task_memory_node{f.t1, node_id{1}}, "buffers near guest 1");
  p.add(set_vcpu_affinity{pvm_domain, vcpu_id{0}, cpuset{cpu_id{1}}}, "pVM vCPU 0 again");
  return p;
}

bool is_mutation(const mock_call& c) { return c.name.rfind("set_", 0) == 0; }

}  // namespace

TEST_CASE("a plan applied without failures leaves the host exactly as planned") {
  host_fixture f;
  const host_view before = f.host.state();
  const plan p = every_action_plan(f);
  const auto report = apply_plan(f.host, before, p);
  CHECK(report.ok());
  CHECK(report.applied == p.size());
  CHECK(digest(f.host.state()).find("task0=0-3") != std::string::npos);
  // The host agrees with the projection of the plan on every field a plan can change, except the
  // per-node memory, which only the host knows how to place.
  host_view expected = project(before, p);
  host_view actual = f.host.state();
  expected.pvm.memory_per_node = actual.pvm.memory_per_node;
  CHECK(digest(actual) == digest(expected));
}

TEST_CASE("a failure injected at every step leaves the host exactly as before") {
  host_fixture probe;
  const std::size_t steps = every_action_plan(probe).size();
  for (std::size_t k = 0; k < steps; ++k) {
    CAPTURE(k);
    host_fixture f;
    const host_view before = f.host.state();
    std::size_t seen = 0;
    f.host.fail_when([&](const mock_call& c) { return is_mutation(c) && seen++ == k; });
    const auto report = apply_plan(f.host, before, every_action_plan(f));
    CHECK_FALSE(report.ok());
    CHECK(report.failed_step == std::optional<std::size_t>{k});
    CHECK(report.error == errc::injected_failure);
    CHECK(report.rolled_back);
    CHECK(report.applied == 0);
    CHECK(report.stuck_steps.empty());
    CHECK(digest(f.host.state()) == digest(before));
  }
}

TEST_CASE("an undo that fails too is recorded, and everything else is undone") {
  for (std::size_t k = 1; k < 8; ++k) {
    for (std::size_t stuck = 0; stuck < k; ++stuck) {
      CAPTURE(k);
      CAPTURE(stuck);
      host_fixture f;
      const host_view before = f.host.state();
      const plan p = every_action_plan(f);
      std::size_t seen = 0;
      // Calls: steps 0..k (k fails), then undos k-1 .. 0; the undo of `stuck` is call k + (k - stuck).
      f.host.fail_when([&](const mock_call& c) {
        if (!is_mutation(c)) return false;
        const std::size_t n = seen++;
        return n == k || n == k + (k - stuck);
      });
      const auto report = apply_plan(f.host, before, p);
      CHECK_FALSE(report.rolled_back);
      CHECK(report.stuck_steps == std::vector<std::size_t>{stuck});
      CHECK(report.applied == 1);
      // The host is `before` with exactly the stuck step still in effect: recorded, consistent.
      host_view expected = before;
      host_view upto = before;
      for (std::size_t i = 0; i < stuck; ++i) project(upto, p.steps()[i].what);
      project(expected, p.steps()[stuck].what);
      (void)upto;
      host_view actual = f.host.state();
      expected.pvm.memory_per_node = actual.pvm.memory_per_node;
      if (std::holds_alternative<set_vcpu_affinity>(p.steps()[stuck].what) && stuck == 0) {
        CHECK(actual.pvm.vcpus[0].hard_affinity == cpuset::range(0, 4));
      }
      CHECK(digest(actual) == digest(expected));
    }
  }
}

TEST_CASE("a plan naming an unknown object is refused before anything is applied") {
  host_fixture f;
  const host_view before = f.host.state();
  plan p;
  p.add(set_vcpu_affinity{pvm_domain, vcpu_id{0}, cpuset::range(0, 4)}, "fine");
  p.add(set_task_affinity{task_id{99}, cpuset::range(0, 4)}, "no such task");
  const auto report = apply_plan(f.host, before, p);
  CHECK(report.failed_step == std::optional<std::size_t>{1});
  CHECK(report.error == errc::invalid_argument);
  CHECK(report.applied == 0);
  CHECK(f.host.calls().empty());
}

namespace {
// The mock without its CpuCapControl capability: what a backend that cannot cap looks like.
struct uncapped_host {
  mock_host& inner;
  result<std::shared_ptr<const pvmkit::topology>> topology() { return inner.topology(); }
  result<host_view> snapshot() { return inner.snapshot(); }
  result<void> set_vcpu_affinity(domain_id d, vcpu_id v, const cpuset& c) { return inner.set_vcpu_affinity(d, v, c); }
  result<void> set_vcpu_online(domain_id d, vcpu_id v, bool on) { return inner.set_vcpu_online(d, v, on); }
  result<void> set_memory_target(domain_id d, bytes t) { return inner.set_memory_target(d, t); }
  result<void> set_node_affinity(domain_id d, const nodeset& n) { return inner.set_node_affinity(d, n); }
};
static_assert(Backend<uncapped_host> && !CpuCapControl<uncapped_host>);
}  // namespace

TEST_CASE("a cap on a backend that cannot cap is refused as not supported, before anything is applied") {
  host_fixture f;
  uncapped_host b{f.host};
  const host_view before = f.host.state();
  plan p;
  p.add(set_vcpu_affinity{pvm_domain, vcpu_id{0}, cpuset::range(0, 4)}, "fine");
  p.add(set_cpu_cap{pvm_domain, 200}, "cap");
  const auto report = apply_plan(b, before, p);
  CHECK(report.failed_step == std::optional<std::size_t>{1});
  CHECK(report.error == errc::not_supported);
  CHECK(report.applied == 0);
  CHECK(f.host.calls().empty());
}

namespace {
// Test policies: the first offlines the pVM's last vCPU, the second pins each task to the CPUs of
// the online pVM vCPUs it can see, so it proves it sees the first one's plan.
struct shrink_policy {
  [[nodiscard]] std::string_view name() const { return "shrink"; }
  plan decide(const host_view& v, decision_log& log) {
    plan p;
    const auto last = vcpu_id{static_cast<vcpu_id::rep>(v.pvm.vcpus.size() - 1)};
    if (v.pvm.vcpus.back().online) {
      p.add(set_vcpu_online{pvm_domain, last, false}, "test: offline the last vCPU");
      if (log.enabled()) log.add({"shrink", "pvm vcpus", {}, {}, "offline", "test"});
    }
    return p;
  }
};
struct pin_to_online_policy {
  [[nodiscard]] std::string_view name() const { return "pin"; }
  plan decide(const host_view& v, decision_log&) {
    plan p;
    std::size_t online = 0;
    for (const auto& vc : v.pvm.vcpus) online += vc.online ? 1U : 0U;
    for (const auto& t : v.tasks) {
      const cpuset want = cpuset::range(0, online);
      if (t.affinity != want) p.add(set_task_affinity{t.id, want}, "test: pin to online vCPUs' CPUs");
    }
    return p;
  }
};
static_assert(Policy<shrink_policy> && Policy<pin_to_online_policy>);
}  // namespace

TEST_CASE("the controller chains policies over projected views and applies the result") {
  host_fixture f;
  for (unsigned v = 0; v < 4; ++v) REQUIRE(f.host.set_vcpu_affinity(pvm_domain, vcpu_id{v}, cpuset{cpu_id{v}}).has_value());
  controller ctl{f.host, shrink_policy{}, pin_to_online_policy{}};
  std::vector<std::string> lines;
  ctl.on_decision([&](const decision_record& r) { lines.push_back(to_json_line(r)); });
  auto round = ctl.step();
  REQUIRE(round.has_value());
  CHECK(round->applied.ok());
  REQUIRE(round->planned.size() == 3);
  CHECK(std::holds_alternative<set_vcpu_online>(round->planned.steps()[0].what));
  // 3 vCPUs are online after the first policy's plan: the second pins to CPUs 0-2, not 0-3.
  CHECK(f.host.state().tasks[0].affinity == cpuset::range(0, 3));
  CHECK(round->decisions.size() == 1);
  CHECK(lines.size() == 1);

  // The host is settled: the next round plans nothing.
  auto again = ctl.step();
  REQUIRE(again.has_value());
  CHECK(again->planned.empty());

  f.host.fail_next();
  CHECK(ctl.step().error() == errc::injected_failure);
}

namespace {
// The mock as a backend that pins tasks but cannot choose where their buffers come from (a PV dom0,
// libvirt): its backend_traits say so.
struct pin_only_host : mock_host {
  using mock_host::mock_host;
};
// Plans what it is given, every round.
struct fixed_plan_policy {
  plan p;
  [[nodiscard]] std::string_view name() const { return "fixed"; }
  plan decide(const host_view&, decision_log&) { return p; }
};
static_assert(Policy<fixed_plan_policy>);
}  // namespace

template <>
struct pvmkit::backend_traits<pin_only_host> {
  // Only what the controller reads (clang warns of facts nothing reads).
  static constexpr std::string_view name = "pin_only";
  static constexpr bool places_task_memory = false;
};

TEST_CASE("what a backend cannot carry out, by its capabilities and traits") {
  const action memory = set_task_memory_node{task_id{1}, node_id{1}};
  const action pin = set_task_affinity{task_id{1}, cpuset{cpu_id{0}}};
  const action cap = set_cpu_cap{pvm_domain, 100};
  const action vcpu = set_vcpu_online{pvm_domain, vcpu_id{0}, true};
  CHECK(can_carry_out<mock_host>(memory));
  CHECK_FALSE(can_carry_out<pin_only_host>(memory));
  CHECK(can_carry_out<pin_only_host>(pin));
  CHECK(can_carry_out<pin_only_host>(cap));
  CHECK_FALSE(can_carry_out<uncapped_host>(cap));
  CHECK_FALSE(can_carry_out<uncapped_host>(pin));
  CHECK(can_carry_out<uncapped_host>(vcpu));
}

TEST_CASE("the controller drops the steps its backend cannot carry out, with a record, and applies the rest") {
  pin_only_host host{make_uniform_topology(2, 4, 8_GiB), {.vcpus = 4, .memory = 1_GiB}};
  const auto g = host.add_guest({.name = "g", .vcpus = 2, .home = node_id{1}, .memory = 1_GiB});
  const auto t = host.add_task({.name = "vif1.0-q0-guest-rx", .kind = task_kind::net_backend, .guest = g});
  plan p;
  p.add(set_task_affinity{t, cpuset::range(4, 8)}, "near the guest");
  p.add(set_task_memory_node{t, node_id{1}}, "buffers near the guest");
  p.add(set_task_memory_node{t, node_id{0}}, "changed its mind");
  p.add(set_vcpu_online{pvm_domain, vcpu_id{3}, false}, "shrink");

  // Applied as is, the plan is refused before anything changes: the backend would fail mid-way.
  const auto refused = apply_plan(host, host.state(), p);
  CHECK(refused.failed_step == std::optional<std::size_t>{1});
  CHECK(refused.error == errc::not_supported);
  CHECK(host.calls().empty());

  controller ctl{host, fixed_plan_policy{p}};
  ctl.record_decisions(true);
  auto round = ctl.step();
  REQUIRE(round.has_value());
  CHECK(round->applied.ok());
  REQUIRE(round->planned.size() == 2);
  CHECK(std::holds_alternative<set_task_affinity>(round->planned.steps()[0].what));
  CHECK(std::holds_alternative<set_vcpu_online>(round->planned.steps()[1].what));
  CHECK(host.state().tasks[0].affinity == cpuset::range(4, 8));
  CHECK_FALSE(host.state().tasks[0].memory_node.valid());
  REQUIRE(round->decisions.size() == 1);
  const decision_record& r = round->decisions.front();
  CHECK(r.policy == "controller");
  CHECK(r.subject == "set_task_memory_node steps");
  CHECK(r.choice == "dropped");
  CHECK(r.inputs == std::vector<std::pair<std::string, std::string>>{{"backend", "pin_only"}, {"dropped", "2"}});

  // On a backend that can, nothing is dropped.
  host_fixture f;
  controller all{f.host, fixed_plan_policy{{}}};
  plan q;
  q.add(set_task_memory_node{f.t1, node_id{1}}, "buffers near guest 1");
  all.policy<0>().p = q;
  auto kept = all.step();
  REQUIRE(kept.has_value());
  CHECK(kept->planned.size() == 1);
  CHECK(f.host.state().tasks[1].memory_node == node_id{1});
}

namespace {

// A 4-node host with asymmetric distances, NICs on nodes 0 and 3, 6 CPUs per node and a pVM of 24
// vCPUs floating over all of them (as it boots); 48 guests, half of them homed on node 0 (whose
// backends need more than its CPUs), each with a net and a block backend, and 2 pVM-wide tasks.
// Loads are multiples of 1/64 so that sums are exact whatever their order.
mock_host pressured_host() {
  std::vector<numa_node> nodes;
  for (std::size_t n = 0; n < 4; ++n)
    nodes.push_back({node_id{static_cast<node_id::rep>(n)}, cpuset::range(static_cast<cpu_id::rep>(6 * n), static_cast<cpu_id::rep>(6 * n + 6)),
                     64_GiB, 64_GiB});
  std::vector<std::uint32_t> d{10, 16, 22, 28,  //
                               16, 10, 16, 22,  //
                               22, 16, 10, 16,  //
                               28, 22, 16, 10};
  mock_host host{topology{std::move(nodes), std::move(d),
                          {{"eth0", device_kind::network, node_id{0}}, {"eth1", device_kind::network, node_id{3}}}},
                 {.vcpus = 24, .memory = 4_GiB}};
  for (std::size_t g = 0; g < 48; ++g) {
    const node_id home{static_cast<node_id::rep>(g % 2 == 0 ? 0 : g % 4)};
    const domain_id id = host.add_guest({.name = "g" + std::to_string(g), .vcpus = 2, .home = home, .memory = 1_GiB});
    const double load = static_cast<double>(1 + (g * 7) % 24) / 64.0;
    host.add_task({.name = "vif" + std::to_string(g), .kind = task_kind::net_backend, .guest = id,
                   .device = g % 3 == 0 ? "eth1" : "eth0", .cpu_load = load});
    host.add_task({.name = "vbd" + std::to_string(g), .kind = task_kind::block_backend, .guest = id, .cpu_load = load / 2});
  }
  host.add_task({.name = "netback-wide", .kind = task_kind::net_backend, .device = "eth1", .cpu_load = 0.5});
  host.add_task({.name = "xenstored", .kind = task_kind::other, .cpu_load = 0.125});
  return host;
}

// A round's changes: about 10 % of the tasks change load, one guest moves home (and back later).
void change_round(host_view& v, std::size_t round) {
  for (std::size_t i = round % 10; i < v.tasks.size(); i += 10)
    v.tasks[i].cpu_load = static_cast<double>(1 + (i * 5 + round * 11) % 40) / 64.0;
  domain_state& g = v.guests[(round * 7) % v.guests.size()];
  const node_id home{static_cast<node_id::rep>((g.home_node.index() + 1 + round) % 4)};
  const bytes memory = g.memory();
  g.home_node = home;
  std::fill(g.memory_per_node.begin(), g.memory_per_node.end(), bytes{});
  g.memory_per_node[home.index()] = memory;
  g.node_affinity = nodeset{home};
  for (auto& vc : g.vcpus) vc.hard_affinity = vc.soft_affinity = v.topo->node(home).cpus;
}

}  // namespace

TEST_CASE("decide(): closer_dynamic then Closer plan as the two run one after the other, over rounds on a pressured 4-node host") {
  // The controller projects the sizing plan onto the snapshot in place (or a copy) and has Closer
  // append its steps to the round's plan; closer_dynamic remembers where each task ran. The plain
  // chain decides on copies of both policies: sizing on the snapshot with its tasks rotated (so no
  // task is where it was last round), Closer on a copy of the snapshot with the sizing plan applied.
  mock_host host = pressured_host();
  controller ctl{host, sizing::closer_dynamic{}, placement::closer{}};
  host_view v = host.state();
  std::size_t sizing_steps = 0, placement_steps = 0, spilled = 0;
  for (std::size_t round = 0; round < 16; ++round) {
    CAPTURE(round);
    sizing::closer_dynamic sizing = ctl.policy<0>();
    placement::closer closer = ctl.policy<1>();
    decision_log log;
    host_view rotated = v;
    std::rotate(rotated.tasks.begin(), rotated.tasks.begin() + 1, rotated.tasks.end());
    plan expected = sizing.decide(rotated, log);
    const plan placed = closer.decide(project(v, expected), log);
    sizing_steps += expected.size();
    placement_steps += placed.size();
    for (const auto& s : placed.steps()) spilled += s.reason == placement::to_string(placement::closer_reason::spilled) ? 1U : 0U;
    expected.append(placed);

    const std::string before = digest(v);
    const plan got = round % 2 == 0 ? ctl.decide(v) : ctl.decide(std::as_const(v));
    CHECK(digest(v) == before);  // the owned snapshot is left as it was
    REQUIRE(got == expected);
    v = project(std::move(v), got);
    change_round(v, round);
  }
  // The rounds did decide something: vCPUs sized, tasks placed, some of them away from home.
  CHECK(sizing_steps > 24);
  CHECK(placement_steps > 96);
  CHECK(spilled > 0);
}
