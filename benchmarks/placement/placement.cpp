// Decision cost of the placement policies: a full Closer plan and an incremental re-plan after one
// guest's load changed, for 16..4096 guests on 2, 8 and 32-node hosts of 256 CPUs; the baselines
// and the libxl-like scorer on the same hosts; direct and through any_placement_policy.
#include "synthetic_host.hpp"

#include <pvmkit/placement/closer.hpp>
#include <pvmkit/placement/libxl_like.hpp>
#include <pvmkit/placement/pinned_node0.hpp>
#include <pvmkit/placement/xen_default.hpp>
#include <pvmkit/runtime/any_placement_policy.hpp>

#include <benchmark/benchmark.h>

#include <cstddef>

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

// A full plan on a host the policy already placed (a periodic control round).
template <class P, std::size_t Nodes>
void full_plan(benchmark::State& state) {
  P policy = placement::closer{};
  const host_view v = settled(policy, cached_view(Nodes, static_cast<std::size_t>(state.range(0))));
  decision_log log;
  std::size_t actions = 0;
  for (auto _ : state) {
    plan p = policy.decide(v, log);
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
    plan p = policy.decide(v, log);
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
    plan p = policy.decide(v, log);
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
