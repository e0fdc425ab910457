// The simulator's running time as the guests grow: one closer + closer_dynamic run of 60 simulated
// seconds (600 ticks, 60 control rounds) on a 4-node host, 1,000 to 16,000 guests. The counter
// us_per_guest_second (run time per guest per simulated second) stays flat when the engine is
// linear in guests; the suite's 20,000-guest check is in benchmarks/README.md.
#include <pvmkit/placement/closer.hpp>
#include <pvmkit/sim/engine.hpp>
#include <pvmkit/sizing/closer_dynamic.hpp>

#include <benchmark/benchmark.h>

#include <chrono>

#include <string>

namespace {

pvmkit::sim::scenario many_guests(std::size_t n) {
  pvmkit::sim::scenario s;
  s.name = "many guests";
  s.duration_s = 60;
  s.host.nodes = 4;
  s.host.cpus_per_node = 32;
  s.host.memory_per_node_gib = 1024;
  s.host.devices = {{"eth0", pvmkit::device_kind::network, pvmkit::node_id{0}}};
  for (std::size_t i = 0; i < n; ++i) {
    pvmkit::sim::guest_spec g;
    g.name = "g" + std::to_string(i);
    g.home = pvmkit::node_id{static_cast<pvmkit::node_id::rep>(i % 4)};
    g.vcpus = 1;
    g.memory_gib = 0.01;
    g.load = pvmkit::sim::steady_load{{2000, 50}};
    s.guests.push_back(std::move(g));
  }
  return s;
}

void BM_simulate_closer(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto s = many_guests(n);
  double seconds = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = pvmkit::sim::simulate(s, pvmkit::sim::controlled_by(pvmkit::sizing::closer_dynamic{}, pvmkit::placement::closer{}), "closer");
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    benchmark::DoNotOptimize(r.served_work);
  }
  // Run time per guest per simulated second, in microseconds: flat when the engine is linear.
  state.counters["us_per_guest_second"] =
      1e6 * seconds / (static_cast<double>(state.iterations()) * static_cast<double>(n) * s.duration_s);
}
BENCHMARK(BM_simulate_closer)->Arg(1000)->Arg(4000)->Arg(16000)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace
