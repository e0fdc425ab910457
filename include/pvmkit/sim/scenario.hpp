// A simulation scenario: the host, the pVM at boot, the cost model, the guests and their
// workloads, and the clock (duration, tick, control period). Read from JSON by
// sim/scenario_json.hpp; the CLI's default is sim/default_scenario.hpp.
#pragma once

#include <pvmkit/core/error.hpp>
#include <pvmkit/core/ids.hpp>
#include <pvmkit/core/json_writer.hpp>
#include <pvmkit/core/units.hpp>
#include <pvmkit/sim/flipping_scenario.hpp>
#include <pvmkit/sim/model.hpp>
#include <pvmkit/sim/workload.hpp>
#include <pvmkit/topology/topology.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pvmkit::sim {

// What a scenario may ask for ("Input limits" in docs/simulator.md gives the reasons). The
// loader refuses anything beyond them with an error naming the field, so a hostile file can
// neither exhaust memory nor feed the model values that overflow to inf or NaN.
namespace limits {
inline constexpr std::size_t max_nodes = 1024;       // Linux MAX_NUMNODES at its largest (NODES_SHIFT 10)
inline constexpr std::size_t max_cpus = 8192;        // host CPUs: Linux NR_CPUS at its largest on x86-64 (MAXSMP)
inline constexpr std::size_t max_guests = 32752;     // Xen guest domids end below DOMID_FIRST_RESERVED (0x7FF0)
inline constexpr std::size_t max_guest_vcpus = 4096;         // one guest
inline constexpr std::size_t max_total_guest_vcpus = 65536;  // all guests: 8 per CPU of the largest host
inline constexpr std::size_t max_devices = 65536;
inline constexpr double min_tick_s = 1e-3;           // also the shortest slot, period, ramp or decay
inline constexpr double max_tick_s = 60;
inline constexpr double max_duration_s = 1e7;        // also the latest time a workload names
inline constexpr std::size_t max_ticks = 10'000'000;          // a run keeps 8 bytes per tick
inline constexpr std::size_t max_control_rounds = 1'000'000;  // and 48 bytes per round, per policy pair
// Rates any one guest may offer, peaks included: above a 400 GbE link's line rate in minimum-size
// frames (595 Mpps); below a PCIe 5.0 x16 link (~63 GB/s) filled with 512-byte requests.
inline constexpr double max_net_pps = 1e9;
inline constexpr double max_block_iops = 1e8;
}  // namespace limits

struct host_spec {
  std::size_t nodes = 2;
  std::size_t cpus_per_node = 16;
  double memory_per_node_gib = 64;
  std::vector<std::uint32_t> distances;  // row-major nodes x nodes; empty = every remote pair at 21
  std::vector<device> devices;
};

// Whose pVM the host model runs (docs/simulator.md, "KVM host").
enum class host_kind : std::uint8_t {
  xen,  // a domain (dom0) whose vCPUs the hypervisor schedules on the host's CPUs
  kvm,  // the host itself: pVM vCPU v is host CPU v, online = reserved for pVM work
};

[[nodiscard]] constexpr std::string_view to_string(host_kind k) noexcept { return k == host_kind::kvm ? "kvm" : "xen"; }

struct pvm_boot_spec {
  std::size_t vcpus = 0;  // 0 = one per host CPU, as an unconfigured dom0 boots (Xen only)
  double memory_mib = 1024;
  host_kind kind = host_kind::xen;
  bool cgroup_v2 = false;  // KVM: the pVM can be capped through cgroup v2 cpu.max; else no cap
};

struct guest_spec {
  std::string name;
  node_id home{0};
  std::size_t vcpus = 2;
  double memory_gib = 4;
  std::string net_device = "eth0";  // "" = the guest has no net backend
  std::string block_device;         // "" = a block backend that drives no named device
  // Cores the guest's own vCPUs keep busy on its home node (its compute, not its I/O): CPUs the
  // pVM cannot have there. 0 = the guest's vCPUs leave the node's CPUs to the pVM.
  double cpu_cores = 0;
  workload load = steady_load{};
};

struct scenario {
  std::string name = "unnamed";
  std::uint64_t seed = 1;
  double duration_s = 600;
  double tick_s = 0.1;
  double control_period_s = 1;
  host_spec host;
  pvm_boot_spec pvm;
  cost_model model;
  std::vector<guest_spec> guests;
  std::optional<flip_scenario> flipping;  // the "flipping" object: the page-flipping model's run

  [[nodiscard]] std::size_t ticks() const noexcept { return static_cast<std::size_t>(std::llround(duration_s / tick_s)); }
  [[nodiscard]] std::size_t ticks_per_control() const noexcept {
    return static_cast<std::size_t>(std::max(1LL, std::llround(control_period_s / tick_s)));
  }
};

// Why a run of this length, tick and control period is refused ("" when it is not): the number of
// ticks and of control rounds bound a run's memory and time.
[[nodiscard]] inline std::string run_length_problem(double duration_s, double tick_s, double control_period_s) {
  const auto show = [](double x) { return to_shortest_string(std::round(x * 1000) / 1000); };
  const double ticks = duration_s / tick_s, rounds = duration_s / control_period_s;
  if (ticks > static_cast<double>(limits::max_ticks))
    return "a run of " + show(duration_s) + " s in ticks of " + show(tick_s) + " s is " + show(ticks) +
           " ticks, over the limit of " + std::to_string(limits::max_ticks);
  if (rounds > static_cast<double>(limits::max_control_rounds))
    return "a run of " + show(duration_s) + " s with a control period of " + show(control_period_s) + " s is " + show(rounds) +
           " control rounds, over the limit of " + std::to_string(limits::max_control_rounds);
  return {};
}

[[nodiscard]] inline bytes gib_to_bytes(double gib) noexcept {
  return bytes{static_cast<std::uint64_t>(std::llround(gib * 1024.0)) << 20};
}

[[nodiscard]] inline topology make_topology(const host_spec& h) {
  std::vector<numa_node> ns;
  for (std::size_t i = 0; i < h.nodes; ++i)
    ns.push_back({node_id{static_cast<node_id::rep>(i)}, cpuset::range(i * h.cpus_per_node, (i + 1) * h.cpus_per_node),
                  gib_to_bytes(h.memory_per_node_gib), gib_to_bytes(h.memory_per_node_gib)});
  std::vector<std::uint32_t> d = h.distances;
  if (d.empty()) {
    d.assign(h.nodes * h.nodes, 21);
    for (std::size_t i = 0; i < h.nodes; ++i) d[i * h.nodes + i] = local_distance;
  }
  return topology{std::move(ns), std::move(d), h.devices};
}

}  // namespace pvmkit::sim
