// The JSON reader's growth: time per key of one object, and per value of one array, as the input
// grows tenfold. Linear decoding keeps the ratio to the smallest size near 1; the duplicate-key
// check that compared every pair grew it tenfold per step (40,000 keys: 35 s).
#include <pvmkit/core/json_reader.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>

namespace {

std::string object_of(std::int64_t n) {
  std::string text = "{";
  for (std::int64_t i = 0; i < n; ++i) text += (i ? ",\"key" : "\"key") + std::to_string(i) + "\":" + std::to_string(i);
  return text + "}";
}

std::string array_of(std::int64_t n) {
  std::string text = "[";
  for (std::int64_t i = 0; i < n; ++i) text += (i ? ",0.5" : "0.5");
  return text + "]";
}

void run(benchmark::State& state, const std::string& text) {
  for (auto _ : state) {
    auto doc = pvmkit::parse_json(text);
    benchmark::DoNotOptimize(doc.root().size());
  }
  state.counters["ns_per_item"] = benchmark::Counter(static_cast<double>(state.range(0)) * 1e-9,
                                                     benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
}

void BM_object_keys(benchmark::State& state) { run(state, object_of(state.range(0))); }
void BM_array_numbers(benchmark::State& state) { run(state, array_of(state.range(0))); }

}  // namespace

BENCHMARK(BM_object_keys)->Arg(4'000)->Arg(40'000)->Arg(400'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_array_numbers)->Arg(4'000)->Arg(40'000)->Arg(400'000)->Unit(benchmark::kMillisecond);
