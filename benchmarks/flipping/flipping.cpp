// Page selection cost per page, side by side with a bare free-list pop (the lower bound), the cost
// of refilling a pool through the backend, and the modelled drift after 10^6 flips per policy.
// Report ratios to BM_bare_pop from the same run (benchmarks/README.md).
#include <pvmkit/backend/mock.hpp>
#include <pvmkit/flipping/grant_copy.hpp>
#include <pvmkit/flipping/informed.hpp>
#include <pvmkit/flipping/numa_local.hpp>
#include <pvmkit/flipping/page_pool.hpp>
#include <pvmkit/flipping/xen_default_flip.hpp>
#include <pvmkit/sim/flipping_model.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

using namespace pvmkit;
using namespace pvmkit::flipping;

namespace {

constexpr std::size_t stock = 1 << 16;  // pages per node; restocked (untimed) when low

page_frame frame(std::uint32_t node, std::uint64_t i) { return {(std::uint64_t{node} << 40) | i, node_id{node}}; }

void restock(node_page_pool& pool, std::uint32_t node) {
  while (pool.size() < stock - 256) (void)pool.put(frame(node, pool.size()));
}

page_pools make_pools() {
  page_pools pools(2, pool_config{.low_watermark = 0, .high_watermark = stock - 256, .refill_batch = 256, .max_batch = 256});
  for (std::uint32_t n = 0; n < 2; ++n) restock(pools[node_id{n}], n);
  return pools;
}

void per_page(benchmark::State& state, std::size_t batch) {
  state.SetItemsProcessed(state.iterations() * static_cast<benchmark::IterationCount>(batch));
  state.counters["ns_per_page"] = benchmark::Counter(static_cast<double>(batch) * 1e-9,
                                                     benchmark::Counter::kIsIterationInvariantRate |
                                                         benchmark::Counter::kInvert);
}

// The lower bound: popping `batch` pages off one node's free list into the output.
void BM_bare_pop(benchmark::State& state) {
  const auto batch = static_cast<std::size_t>(state.range(0));
  node_page_pool pool(node_id{0}, stock);
  restock(pool, 0);
  std::vector<page_frame> out(batch);
  for (auto _ : state) {
    if (pool.size() < batch) {
      state.PauseTiming();
      restock(pool, 0);
      state.ResumeTiming();
    }
    for (std::size_t i = 0; i < batch; ++i) pool.try_take(out[i]);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  per_page(state, batch);
}

// A guest on node 0 (every buffer it posted is on node 0); `recycles` as negotiated.
template <class P>
void BM_select(benchmark::State& state) {
  const auto batch = static_cast<std::size_t>(state.range(0));
  auto pools = make_pools();
  std::vector<page_frame> replaced;
  for (std::size_t i = 0; i < batch; ++i) replaced.push_back(frame(0, 900000 + i));
  std::vector<flip_choice> out(batch);
  const flip_request req{domain_id{1}, true};
  const P policy{};
  for (auto _ : state) {
    if (pools[node_id{0}].size() < batch || pools[node_id{1}].size() < batch) {
      state.PauseTiming();
      restock(pools[node_id{0}], 0);
      restock(pools[node_id{1}], 1);
      state.ResumeTiming();
    }
    auto flips = policy.select(req, replaced, pools, out);
    benchmark::DoNotOptimize(flips);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  per_page(state, batch);
}

// Node-exact refill of an empty pool through the mock host, `range(0)` pages per allocation call.
void BM_pool_refill(benchmark::State& state) {
  using namespace pvmkit::literals;
  const auto per_call = static_cast<std::size_t>(state.range(0));
  mock_host host(make_uniform_topology(2, 2, 4_GiB), mock_pvm_spec{.memory = 64_MiB});
  page_pools pools(2, pool_config{.low_watermark = 0, .high_watermark = 4096, .refill_batch = per_call, .max_batch = 256});
  std::vector<page_frame> held;
  for (auto _ : state) {
    auto added = pools.refill(host, node_id{1}, 4096);
    benchmark::DoNotOptimize(added);
    state.PauseTiming();
    const auto c = pools[node_id{1}].contents();
    held.assign(c.begin(), c.end());
    (void)host.free_pages(held);
    pools[node_id{1}].drop_top(held.size());
    host.clear_calls();
    state.ResumeTiming();
  }
  per_page(state, 4096);
}

// End to end: the default 2-node scenario, 10^6 received packets per guest (modelled).
void BM_drift(benchmark::State& state, const char* policy) {
  sim::flip_report r;
  for (auto _ : state) {
    r = sim::run_flipping(sim::default_flip_scenario(), policy);
    benchmark::DoNotOptimize(r.guests.data());
  }
  state.counters["modelled_max_remote_pct"] = 100 * r.max_remote_share;
  state.counters["modelled_max_app_remote_pct"] = 100 * r.max_app_remote_share;
  state.counters["modelled_max_slowdown_pct"] = 100 * r.max_slowdown;
  std::uint64_t flips = 0, copies = 0;
  for (const auto& g : r.guests) flips += g.flipped, copies += g.copied;
  state.counters["flips"] = static_cast<double>(flips);
  state.counters["copies"] = static_cast<double>(copies);
}

}  // namespace

BENCHMARK(BM_bare_pop)->Arg(1)->Arg(16)->Arg(64)->Arg(256);
BENCHMARK_TEMPLATE(BM_select, numa_local)->Arg(1)->Arg(16)->Arg(64)->Arg(256);
BENCHMARK_TEMPLATE(BM_select, informed)->Arg(1)->Arg(16)->Arg(64)->Arg(256);
BENCHMARK_TEMPLATE(BM_select, xen_default_flip)->Arg(1)->Arg(16)->Arg(64)->Arg(256);
BENCHMARK_TEMPLATE(BM_select, grant_copy)->Arg(1)->Arg(16)->Arg(64)->Arg(256);
BENCHMARK(BM_pool_refill)->Arg(64)->Arg(512);
BENCHMARK_CAPTURE(BM_drift, numa_local, "numa_local")->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_drift, informed, "informed")->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_drift, xen_default_flip, "xen_default_flip")->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_drift, grant_copy, "grant_copy")->Iterations(1)->Unit(benchmark::kMillisecond);
