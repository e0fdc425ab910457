// Page selection cost per page on realistic receive rings, side by side with a bare free-list pop
// (the lower bound), the cost of a cache-cold copy (the copy cost of the flipping model), the
// cost of refilling a pool through the backend, and the modelled runs of the default scenario.
// Report ratios to BM_bare_pop from the same run (benchmarks/README.md, report.py).
#include <pvmkit/backend/mock.hpp>
#include <pvmkit/flipping/grant_copy.hpp>
#include <pvmkit/flipping/informed.hpp>
#include <pvmkit/flipping/numa_local.hpp>
#include <pvmkit/flipping/page_pool.hpp>
#include <pvmkit/flipping/xen_default_flip.hpp>
#include <pvmkit/sim/flip_host.hpp>
#include <pvmkit/sim/flipping_model.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <vector>

using namespace pvmkit;
using namespace pvmkit::flipping;
using namespace pvmkit::literals;

namespace {

constexpr std::size_t stock = 1 << 16;  // pages per node; restocked (untimed) when low
constexpr std::size_t host_nodes = 8;

page_frame frame(std::uint32_t node, std::uint64_t i) { return {(std::uint64_t{node} << 40) | i, node_id{node}}; }

void restock(node_page_pool& pool, std::uint32_t node) {
  while (pool.size() < stock - 256) (void)pool.put(frame(node, pool.size()));
}

page_pools make_pools() {
  page_pools pools(host_nodes, pool_config{.low_watermark = 0, .high_watermark = stock - 256, .refill_batch = 256, .max_batch = 256});
  for (std::uint32_t n = 0; n < host_nodes; ++n) restock(pools[node_id{n}], n);
  return pools;
}

void per_page(benchmark::State& state, std::size_t batch) {
  state.SetItemsProcessed(state.iterations() * static_cast<benchmark::IterationCount>(batch));
  state.counters["ns_per_page"] = benchmark::Counter(static_cast<double>(batch) * 1e-9,
                                                     benchmark::Counter::kIsIterationInvariantRate |
                                                         benchmark::Counter::kInvert);
}

// The receive ring of a guest whose memory is spread evenly over `spread` nodes (1 = all on its
// home node), as the flipping model's guest posts it: fresh buffers from the node holding most of
// its memory, so a spread guest's buffers alternate between its nodes.
std::vector<page_frame> realistic_ring(std::size_t spread, std::size_t batch) {
  sim::flip_scenario s{make_uniform_topology(host_nodes, 1, 2_GiB, 21)};
  s.pvm_memory = 64_MiB;
  s.rx_ring_slots = 256;
  sim::flip_guest g;
  g.name = "g";
  g.memory_per_node.assign(host_nodes, 0_B);
  for (std::size_t n = 0; n < spread; ++n) g.memory_per_node[n] = 256_MiB;
  s.guests.push_back(g);
  sim::flip_host host(s, false);
  std::vector<page_frame> ring(batch);
  (void)host.posted_rx_pages(host.guest_id(0), ring);
  return ring;
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

// Selection for a batch of range(0) packets whose posted buffers are spread over range(1) nodes
// as the guest's memory is (range(1) = 1: all on the guest's node). The guest recycles (informed
// flipping agreed). Pools on all 8 nodes of the host hold pages.
template <class P>
void BM_select(benchmark::State& state) {
  const auto batch = static_cast<std::size_t>(state.range(0));
  const auto spread = static_cast<std::size_t>(state.range(1));
  auto pools = make_pools();
  const auto replaced = realistic_ring(spread, batch);
  std::vector<flip_choice> out(batch);
  const flip_request req{domain_id{1}, true};
  const P policy{};
  for (auto _ : state) {
    bool low = false;
    for (std::uint32_t n = 0; n < host_nodes; ++n) low = low || pools[node_id{n}].size() < batch;
    if (low) {
      state.PauseTiming();
      for (std::uint32_t n = 0; n < host_nodes; ++n) restock(pools[node_id{n}], n);
      state.ResumeTiming();
    }
    auto flips = policy.select(req, replaced, pools, out);
    benchmark::DoNotOptimize(flips);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  per_page(state, batch);
}

// A cache-cold copy of range(0) bytes between random pages of two 512 MiB buffers (beyond the
// last-level cache the VM reports): the per-byte copy cost the flipping model charges grant_copy.
void BM_copy_cold(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  constexpr std::size_t span = std::size_t{512} << 20;
  constexpr std::size_t pages = span / page_size_bytes;
  std::vector<unsigned char> src(span, 1), dst(span, 2);
  std::uint64_t x = 88172645463325252ULL;
  for (auto _ : state) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const std::size_t a = (x % pages) * page_size_bytes, b = ((x >> 24) % pages) * page_size_bytes;
    std::memcpy(&dst[b], &src[a], size);
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<benchmark::IterationCount>(size));
  state.counters["ns_per_byte"] = benchmark::Counter(static_cast<double>(size) * 1e-9,
                                                     benchmark::Counter::kIsIterationInvariantRate |
                                                         benchmark::Counter::kInvert);
}

// Node-exact refill of an empty pool through the mock host, `range(0)` pages per allocation call.
void BM_pool_refill(benchmark::State& state) {
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

// End to end: the default scenario, 10^6 received packets per guest (modelled).
void BM_drift(benchmark::State& state, const char* policy) {
  sim::flip_report r;
  for (auto _ : state) {
    r = sim::run_flipping(sim::default_flip_scenario(), policy);
    benchmark::DoNotOptimize(r.guests.data());
  }
  state.counters["modelled_max_remote_pct"] = 100 * r.max_remote_share;
  state.counters["modelled_max_app_remote_pct"] = 100 * r.max_app_remote_share;
  state.counters["modelled_max_slowdown_pct"] = 100 * r.max_slowdown;
  state.counters["modelled_pvm_cpu_s"] = r.pvm_cpu_seconds;
  std::uint64_t flips = 0, copies = 0;
  for (const auto& g : r.guests) flips += g.flipped, copies += g.copied;
  state.counters["flips"] = static_cast<double>(flips);
  state.counters["copies"] = static_cast<double>(copies);
}

void spreads(benchmark::internal::Benchmark* b) {
  for (long spread : {1, 2, 4, 8})
    for (long batch : {1, 16, 64, 256}) b->Args({batch, spread});
}

}  // namespace

BENCHMARK(BM_bare_pop)->Arg(1)->Arg(16)->Arg(64)->Arg(256);
BENCHMARK_TEMPLATE(BM_select, numa_local)->Apply(spreads);
BENCHMARK_TEMPLATE(BM_select, informed)->Apply(spreads);
BENCHMARK_TEMPLATE(BM_select, xen_default_flip)->Apply(spreads);
BENCHMARK_TEMPLATE(BM_select, grant_copy)->Apply(spreads);
BENCHMARK(BM_copy_cold)->Arg(64)->Arg(1500)->Arg(4096);
BENCHMARK(BM_pool_refill)->Arg(64)->Arg(512);
BENCHMARK_CAPTURE(BM_drift, numa_local, "numa_local")->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_drift, informed, "informed")->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_drift, xen_default_flip, "xen_default_flip")->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_drift, grant_copy, "grant_copy")->Iterations(1)->Unit(benchmark::kMillisecond);
