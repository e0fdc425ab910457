// Decision cost of the placement policies: a full Closer plan and an incremental re-plan after one
// guest's load changed, for 16..4096 guests on 2, 8 and 32-node hosts of 256 CPUs; the baselines
// and the libxl-like scorer on the same hosts; direct and through any_placement_policy. The rounds
// a controller runs, Closer alone and closer_dynamic then Closer (the controller's order): the
// first round after boot (pVM floating), a round in which some guests changed, a settled round.
#include "synthetic_host.hpp"

#include <pvmkit/controller.hpp>
#include <pvmkit/placement/closer.hpp>
#include <pvmkit/placement/libxl_like.hpp>
#include <pvmkit/placement/pinned_node0.hpp>
#include <pvmkit/placement/xen_default.hpp>
#include <pvmkit/runtime/any_policy.hpp>
#include <pvmkit/sizing/closer_dynamic.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <utility>

using namespace pvmkit;
using pvmkit::bench::cached_view;

namespace {

// The view after `policy`'s own first plan: what every later control round looks like.
template <class P>
host_view settled(P& policy, const host_view& v) {
  decision_log log;
  host_view s = project(v, policy.decide(v, log));
  (void)policy.decide(s, log);
  return s;
}

void set_shape(benchmark::State& state, const host_view& v) {
  state.SetComplexityN(static_cast<benchmark::IterationCount>(v.guests.size()));
  state.counters["guests"] = static_cast<double>(v.guests.size());
  state.counters["tasks"] = static_cast<double>(v.tasks.size());
}

// Every timed decision of the rounds below and of the baseline goes through here, so that
// `valgrind --tool=callgrind --toggle-collect='*timed_decide*'` counts the instructions of exactly
// those decisions (a count per call, repeatable on a busy machine; see README.md).
template <class D, class View, class... Log>
[[gnu::noinline]] plan timed_decide(D& d, View& v, Log&... log) {
  return d.decide(v, log...);
}

// A full plan on a host the policy already placed (a periodic control round).
template <class P, std::size_t Nodes>
void full_plan(benchmark::State& state) {
  P policy = placement::closer{};
  const host_view v = settled(policy, cached_view(Nodes, static_cast<std::size_t>(state.range(0))));
  decision_log log;
  std::size_t actions = 0;
  for (auto _ : state) {
    plan p = timed_decide(policy, v, log);
    actions = p.size();
    benchmark::DoNotOptimize(p);
  }
  set_shape(state, v);
  state.counters["actions"] = static_cast<double>(actions);
}

// The first plan on an unconfigured host: every task gets pinned (two actions per task).
template <std::size_t Nodes>
void closer_first_plan(benchmark::State& state) {
  const host_view& v = cached_view(Nodes, static_cast<std::size_t>(state.range(0)));
  decision_log log;
  std::size_t actions = 0;
  for (auto _ : state) {
    placement::closer policy;
    plan p = timed_decide(policy, v, log);
    actions = p.size();
    benchmark::DoNotOptimize(p);
  }
  set_shape(state, v);
  state.counters["actions"] = static_cast<double>(actions);
}

// One guest's load wobbles by +-10 % (no move), a different guest each iteration.
template <class P, std::size_t Nodes>
void replan(benchmark::State& state) {
  P policy = placement::closer{};
  host_view v = settled(policy, cached_view(Nodes, static_cast<std::size_t>(state.range(0))));
  decision_log log;
  std::size_t g = 0, k = 0;
  for (auto _ : state) {
    const std::size_t guest = g;
    const double load = bench::task_load * ((k & 1U) ? 0.9 : 1.1);
    v.tasks[2 * guest].cpu_load = load;
    v.tasks[2 * guest + 1].cpu_load = load;
    plan p = policy.replan(v, v.guests[guest].id, log);
    benchmark::DoNotOptimize(p);
    if (++g == v.guests.size()) {
      g = 0;
      ++k;
    }
  }
  set_shape(state, v);
}

template <class P, std::size_t Nodes>
void baseline(benchmark::State& state) {
  P policy;
  const host_view v = settled(policy, cached_view(Nodes, static_cast<std::size_t>(state.range(0))));
  decision_log log;
  for (auto _ : state) {
    plan p = timed_decide(policy, v, log);
    benchmark::DoNotOptimize(p);
  }
  set_shape(state, v);
}

template <std::size_t Nodes>
void libxl_scorer(benchmark::State& state) {
  const host_view& v = cached_view(Nodes, static_cast<std::size_t>(state.range(0)));
  const placement::libxl_like scorer;
  for (auto _ : state) {
    nodeset s = scorer.choose_nodes(v, {4, bytes{8ULL << 30}});
    benchmark::DoNotOptimize(s);
  }
  set_shape(state, v);
}

using erased = runtime::any_placement_policy;

// What decides a control round: Closer alone, or closer_dynamic then Closer on the view sizing's
// plan leaves, through the controller's decide() on a snapshot it owns, as in controller::step().
struct closer_alone {
  placement::closer policy;
  decision_log log;
  plan decide(host_view& v) { return policy.decide(v, log); }
};
struct dynamic_then_closer {
  // The controller asks the backend nothing in decide(); it needs one to exist.
  static mock_host& unused_backend() {
    static mock_host host{make_uniform_topology(1, 1, bytes{1ULL << 30}, 10, {})};
    return host;
  }
  controller<mock_host, sizing::closer_dynamic, placement::closer> ctl{unused_backend(), sizing::closer_dynamic{},
                                                                        placement::closer{}};
  plan decide(host_view& v) { return ctl.decide(v); }
};

// The rounds after boot until the plan is empty (or 32 rounds): the host as the decider keeps it.
template <class D>
host_view settle(D& d, host_view v) {
  for (int r = 0; r < 32; ++r) {
    plan p = d.decide(v);
    if (p.empty()) break;
    v = project(std::move(v), p);
  }
  return v;
}

// A steady-state round's changes: 10 % of the guests change load (x1.25 on odd rounds, x0.75 on
// even ones) and 1 % move home to the next node (and back on even rounds), with their memory and
// vCPUs. Guest g's tasks are tasks 2g and 2g + 1, its first home node g % nodes (synthetic_view).
void change_guests(host_view& v, std::size_t nodes, bool odd) {
  const std::size_t n = v.guests.size();
  const std::size_t loads = std::max<std::size_t>(1, n / 10), homes = std::max<std::size_t>(1, n / 100);
  for (std::size_t k = 0; k < loads; ++k) {
    const std::size_t g = k * n / loads;
    v.tasks[2 * g].cpu_load = v.tasks[2 * g + 1].cpu_load = bench::task_load * (odd ? 1.25 : 0.75);
  }
  for (std::size_t k = 0; k < homes; ++k) {
    const std::size_t g = k * n / homes + 1;
    if (g >= n) break;
    domain_state& guest = v.guests[g];
    const node_id home{static_cast<node_id::rep>((g + (odd ? 1 : 0)) % nodes)};
    const bytes memory = guest.memory();
    guest.home_node = home;
    std::fill(guest.memory_per_node.begin(), guest.memory_per_node.end(), bytes{});
    guest.memory_per_node[home.index()] = memory;
    guest.node_affinity = nodeset{home};
    for (auto& vc : guest.vcpus) vc.hard_affinity = vc.soft_affinity = v.topo->node(home).cpus;
  }
}

// The first round after boot: a fresh decider, every pVM vCPU online and floating over all CPUs,
// every task unplaced.
template <class D, std::size_t Nodes>
void first_plan_floating(benchmark::State& state) {
  host_view v = cached_view(Nodes, static_cast<std::size_t>(state.range(0)), bench::pvm_boot::floating);
  std::size_t actions = 0;
  for (auto _ : state) {
    D d;
    plan p = timed_decide(d, v);
    actions = p.size();
    benchmark::DoNotOptimize(p);
  }
  set_shape(state, v);
  state.counters["actions"] = static_cast<double>(actions);
}

// Steady state: from the settled host (Closer alone: the pinned host; with sizing: from boot), two
// views alternate, each the previous round's plan applied with the next round's changes
// (change_guests), so every timed round sees 10 % of the guests changed in load and 1 % in home,
// and nothing untimed runs between rounds.
template <class D, std::size_t Nodes>
void changed_round(benchmark::State& state) {
  const std::size_t guests = static_cast<std::size_t>(state.range(0));
  D d;
  host_view views[2];
  views[0] = settle(d, cached_view(Nodes, guests, std::is_same_v<D, closer_alone> ? bench::pvm_boot::pinned
                                                                                  : bench::pvm_boot::floating));
  change_guests(views[0], Nodes, true);
  const plan first = d.decide(views[0]);
  views[1] = project(views[0], first);
  change_guests(views[1], Nodes, false);
  std::size_t actions = 0, k = 1;
  for (auto _ : state) {
    plan p = timed_decide(d, views[k]);
    actions += p.size();
    benchmark::DoNotOptimize(p);
    k ^= 1U;
  }
  set_shape(state, views[0]);
  state.counters["actions"] = benchmark::Counter(static_cast<double>(actions), benchmark::Counter::kAvgIterations);
}

// A round on the settled host with nothing changed (Closer alone: full_plan).
template <class D, std::size_t Nodes>
void settled_round(benchmark::State& state) {
  D d;
  host_view v = settle(d, cached_view(Nodes, static_cast<std::size_t>(state.range(0)), bench::pvm_boot::floating));
  std::size_t actions = 0;
  for (auto _ : state) {
    plan p = timed_decide(d, v);
    actions = p.size();
    benchmark::DoNotOptimize(p);
  }
  set_shape(state, v);
  state.counters["actions"] = static_cast<double>(actions);
}

}  // namespace

#define PVMKIT_SHAPES(...) \
  BENCHMARK_TEMPLATE(__VA_ARGS__)->RangeMultiplier(4)->Range(16, 4096)->Complexity(benchmark::oN)->Unit(benchmark::kMicrosecond)

PVMKIT_SHAPES(full_plan, placement::closer, 2);
PVMKIT_SHAPES(full_plan, placement::closer, 8);
PVMKIT_SHAPES(full_plan, placement::closer, 32);
PVMKIT_SHAPES(full_plan, erased, 8);
PVMKIT_SHAPES(closer_first_plan, 2);
PVMKIT_SHAPES(closer_first_plan, 8);
PVMKIT_SHAPES(closer_first_plan, 32);
PVMKIT_SHAPES(first_plan_floating, closer_alone, 8);
PVMKIT_SHAPES(first_plan_floating, dynamic_then_closer, 8);
PVMKIT_SHAPES(changed_round, closer_alone, 8);
PVMKIT_SHAPES(changed_round, dynamic_then_closer, 8);
PVMKIT_SHAPES(settled_round, dynamic_then_closer, 8);
PVMKIT_SHAPES(replan, placement::closer, 2);
PVMKIT_SHAPES(replan, placement::closer, 8);
PVMKIT_SHAPES(replan, placement::closer, 32);
PVMKIT_SHAPES(replan, erased, 8);
PVMKIT_SHAPES(baseline, placement::xen_default, 2);
PVMKIT_SHAPES(baseline, placement::xen_default, 8);
PVMKIT_SHAPES(baseline, placement::xen_default, 32);
PVMKIT_SHAPES(baseline, placement::pinned_node0, 8);
PVMKIT_SHAPES(libxl_scorer, 2);
PVMKIT_SHAPES(libxl_scorer, 8);
PVMKIT_SHAPES(libxl_scorer, 32);
