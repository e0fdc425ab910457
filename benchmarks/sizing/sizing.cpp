// Decision cost of the sizing policies for 16..4096 guests on 2, 8 and 32-node hosts of 256 CPUs,
// direct and through any_sizing_policy.
#include "../placement/synthetic_host.hpp"

#include <pvmkit/runtime/any_policy.hpp>
#include <pvmkit/sizing/closer_dynamic.hpp>
#include <pvmkit/sizing/static_fixed.hpp>
#include <pvmkit/sizing/static_xen_default.hpp>
#include <pvmkit/sizing/static_xenserver.hpp>

#include <benchmark/benchmark.h>

#include <cstddef>

using namespace pvmkit;
using pvmkit::bench::cached_view;

namespace {

// A control round on a host the policy already sized (its own plan projected).
template <class P, class Make, std::size_t Nodes>
void sizing_round(benchmark::State& state) {
  P policy = Make{}();
  decision_log log;
  host_view v = cached_view(Nodes, static_cast<std::size_t>(state.range(0)));
  for (int r = 0; r < 8; ++r) v = project(std::move(v), policy.decide(v, log));
  std::size_t actions = 0;
  for (auto _ : state) {
    plan p = policy.decide(v, log);
    actions = p.size();
    benchmark::DoNotOptimize(p);
  }
  state.SetComplexityN(static_cast<benchmark::IterationCount>(v.guests.size()));
  state.counters["guests"] = static_cast<double>(v.guests.size());
  state.counters["actions"] = static_cast<double>(actions);
}

struct make_dynamic {
  sizing::closer_dynamic operator()() const { return {}; }
};
struct make_xen {
  sizing::static_xen_default operator()() const { return {}; }
};
struct make_xenserver {
  sizing::static_xenserver operator()() const { return {}; }
};
struct make_fixed {
  sizing::static_fixed operator()() const { return {}; }
};

using erased = runtime::any_sizing_policy;

}  // namespace

#define PVMKIT_SHAPES(...) \
  BENCHMARK_TEMPLATE(__VA_ARGS__)->RangeMultiplier(4)->Range(16, 4096)->Complexity(benchmark::oN)->Unit(benchmark::kMicrosecond)

PVMKIT_SHAPES(sizing_round, sizing::closer_dynamic, make_dynamic, 2);
PVMKIT_SHAPES(sizing_round, sizing::closer_dynamic, make_dynamic, 8);
PVMKIT_SHAPES(sizing_round, sizing::closer_dynamic, make_dynamic, 32);
PVMKIT_SHAPES(sizing_round, erased, make_dynamic, 8);
PVMKIT_SHAPES(sizing_round, sizing::static_xen_default, make_xen, 8);
PVMKIT_SHAPES(sizing_round, sizing::static_xenserver, make_xenserver, 8);
PVMKIT_SHAPES(sizing_round, sizing::static_fixed, make_fixed, 8);
