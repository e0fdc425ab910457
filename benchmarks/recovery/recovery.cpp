// Costs of the recovery decisions. Baselines in the same run: fixed_timeout for the detectors
// (the cheapest possible verdict), an in-memory std::map insert for the journal's append.
#include <pvmkit/recovery/fixed_timeout.hpp>
#include <pvmkit/recovery/phi_accrual.hpp>
#include <pvmkit/recovery/progress.hpp>
#include <pvmkit/recovery/state_journal.hpp>
#include <pvmkit/recovery/supervisor.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>

using namespace pvmkit;
using namespace pvmkit::recovery;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {
const time_point t0 = time_point{} + 1000s;

template <class D>
void heartbeat_and_suspect(benchmark::State& st, D d) {
  time_point t = t0;
  d.heartbeat(t);
  for (auto _ : st) {
    t += 10ms;
    d.heartbeat(t);
    benchmark::DoNotOptimize(d.suspect(t + 5ms));
  }
}

void BM_fixed_timeout(benchmark::State& st) { heartbeat_and_suspect(st, fixed_timeout({100ms, 1s, 50ms})); }
void BM_phi_accrual(benchmark::State& st) {
  phi_accrual_config c;
  c.window = static_cast<std::size_t>(st.range(0));
  c.watcher_max_gap = 50ms;
  heartbeat_and_suspect(st, phi_accrual(c));
}
void BM_phi_query_only(benchmark::State& st) {
  phi_accrual d;
  time_point t = t0;
  for (int i = 0; i < 200; ++i) d.heartbeat(t += 10ms);
  for (auto _ : st) benchmark::DoNotOptimize(d.phi(t + 15ms));
}
void BM_progress(benchmark::State& st) {
  progress d({200ms, {}});
  time_point t = t0;
  std::uint64_t n = 0;
  for (auto _ : st) {
    t += 10ms;
    d.observe(t, 3, ++n);
    benchmark::DoNotOptimize(d.suspect(t + 5ms));
  }
}

std::vector<component_spec> chain(std::size_t n) {
  std::vector<component_spec> v;
  for (std::size_t i = 0; i < n; ++i) {
    component_spec s;
    s.id = component_id{static_cast<component_id::rep>(i)};
    s.name = "c" + std::to_string(i);
    if (i > 0) s.depends_on.push_back(component_id{static_cast<component_id::rep>(i / 2)});  // a tree
    s.state = i == 0 ? state_kind::checkpointed : state_kind::stateless;
    v.push_back(std::move(s));
  }
  return v;
}

// One failure handled and its restart emitted, with n components in the pVM.
void BM_supervisor_failure(benchmark::State& st) {
  const auto n = static_cast<std::size_t>(st.range(0));
  supervisor_config cfg;
  cfg.component = {1000000, 1h};
  supervisor s(chain(n), cfg);
  (void)s.start_all(t0);
  time_point t = t0;
  const component_id victim{static_cast<component_id::rep>(n - 1)};
  for (auto _ : st) {
    t += 1s;
    auto a = s.on_failure(victim, t, "crash");
    benchmark::DoNotOptimize(a);
    auto b = s.tick(t + 1s);  // past any back-off
    benchmark::DoNotOptimize(b);
  }
}
void BM_supervisor_tick_idle(benchmark::State& st) {
  supervisor s(chain(static_cast<std::size_t>(st.range(0))));
  (void)s.start_all(t0);
  time_point t = t0;
  for (auto _ : st) benchmark::DoNotOptimize(s.tick(t += 10ms, 1.0));
}

struct scratch {
  fs::path dir;
  scratch() {
    std::string tmpl = (fs::temp_directory_path() / "pvmkit-bench-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) std::abort();
    dir = tmpl;
  }
  ~scratch() { fs::remove_all(dir); }
};

std::string key_of(std::int64_t i) {
  std::string k{"/local/domain/"};
  k.append(std::to_string(i));
  k.append("/name");
  return k;
}

void BM_map_insert_baseline(benchmark::State& st) {
  std::map<std::string, std::string, std::less<>> m;
  std::int64_t i = 0;
  for (auto _ : st) m.insert_or_assign(key_of(i++ % 10000), "guest-name-value");
}
// Append cost without fsync (the CPU cost of framing + CRC + write(2)).
void BM_journal_append_nosync(benchmark::State& st) {
  scratch d;
  auto j = state_journal::open(d.dir, {fsync_policy::none(), 1U << 24}).value();
  std::int64_t i = 0;
  for (auto _ : st) benchmark::DoNotOptimize(j.put(key_of(i++ % 10000), "guest-name-value"));
}
// With fdatasync per record: what an acknowledged write costs on this disk.
void BM_journal_append_fsync(benchmark::State& st) {
  scratch d;
  auto j = state_journal::open(d.dir, {fsync_policy::every_record(), 0}).value();
  std::int64_t i = 0;
  for (auto _ : st) benchmark::DoNotOptimize(j.put(key_of(i++), "guest-name-value"));
}
// Recovery (open) time by state size: log only, and snapshot after compaction.
void journal_recovery(benchmark::State& st, bool compacted) {
  scratch d;
  const auto n = st.range(0);
  {
    auto j = state_journal::open(d.dir, {fsync_policy::none(), 0}).value();
    for (std::int64_t i = 0; i < n; ++i) (void)j.put(key_of(i), "backend=/local/domain/0/backend/vif/1/0");
    if (compacted) (void)j.compact();
  }
  for (auto _ : st) {
    auto j = state_journal::open(d.dir).value();
    benchmark::DoNotOptimize(j.state().size());
  }
  st.counters["keys"] = static_cast<double>(n);
}
void BM_journal_recovery_log(benchmark::State& st) { journal_recovery(st, false); }
void BM_journal_recovery_snapshot(benchmark::State& st) { journal_recovery(st, true); }
}  // namespace

BENCHMARK(BM_fixed_timeout);
BENCHMARK(BM_phi_accrual)->Arg(100)->Arg(1000);
BENCHMARK(BM_phi_query_only);
BENCHMARK(BM_progress);
BENCHMARK(BM_supervisor_failure)->Arg(5)->Arg(50);
BENCHMARK(BM_supervisor_tick_idle)->Arg(5)->Arg(50);
BENCHMARK(BM_map_insert_baseline);
BENCHMARK(BM_journal_append_nosync);
BENCHMARK(BM_journal_append_fsync)->Iterations(200);
BENCHMARK(BM_journal_recovery_log)->Arg(1000)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_journal_recovery_snapshot)->Arg(1000)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);
