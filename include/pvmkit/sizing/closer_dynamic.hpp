// Closer's dynamic pVM sizing: the pVM's vCPUs follow demand node by node instead of being sized
// once at boot. Every control period, per node n:
//     demand(n) = sum of cpu_load of the pVM tasks serving guests homed on n
//                 (+ io.pvm_cores of guests on n that have no task in the view)
//     full(n)   = min(ceiling(n), free(n))                     (the most pVM work n can hold)
//     kept(n)   = min(demand(n), full(n) * full_utilisation),  excess(n) = demand(n) - kept(n)
// A node's excess spills to the nearest nodes with room left at the target utilisation
// (full * target_utilisation - kept - what they already took), nearest first, largest excess
// first; what fits nowhere stays at home. A node that cannot grow keeps less headroom for its own
// guests (full_utilisation): more would only push their work to remote nodes. A node whose pVM
// vCPUs were busy beyond `saturation` of their cores may have had more work than its measured
// load shows: its demand is taken as (1 - target_utilisation) of those cores higher, a probe that
// ends once the node is below saturation.
//     planned(n) = kept(n) + spilled in(n) + excess left(n)
//     needed(n)  = ceil(planned(n) / target_utilisation)
//     wanted(n)  = min(ceiling(n), limit(n), max(needed(n), floor(n)))
// free(n)    = the node's CPUs less what its guests' own vCPUs use (free_cpus_by_node);
// limit(n)   = ceil(free(n)), at least 1: a vCPU beyond the free CPUs only contends with guests;
// floor(n)   = min_vcpus_per_node if n homes a guest, and never below what the tasks running on n
//              now need (ceil of their load, at least 1) so they are not starved before placement
//              moves them (spilled work keeps its vCPUs until placement brings it home);
// ceiling(n) = the node's CPU count (or max_vcpus_per_node when smaller).
// Scale up: to wanted(n) in the same period. Scale down: only after wanted(n) stayed below the
// online count for scale_down_periods consecutive periods (capped_scale_down_periods when the pVM
// is capped: an idle vCPU then holds no CPU time the cap does not already bound, and keeping it
// absorbs the next burst), then one vCPU per period while it
// stays below. Memory target: base + per node with pVM vCPUs + per guest + per core of demand,
// rounded up to memory_granularity; raised at once, lowered after the same delay.
// CPU cap (when the backend reports one, i.e. can cap): whole vCPUs per node keep the work local,
// but rounding each node up to whole cores (plus the headroom) holds more cores than the work
// uses. The pVM's total CPU time is therefore capped in fractions of a core:
//     cap = ceil(100 * sum_n demand(n) / cap_utilisation)  percent of one pCPU
// bounded by [cap_floor_percent, 100 * vCPUs kept online]. A cap the pVM ran into (its load
// reached cap_binding of it) hides the demand above it, so it is raised by half instead, at the
// round and, between rounds, by guard() every tick while it binds. Every default and its
// rationale is in docs/sizing.md.
//
// Which vCPU: a vCPU is "on" node n when its hard affinity lies inside n. To add one on n it takes,
// in order, an offline vCPU already on n, an online vCPU floating over several nodes (pinned to n),
// an offline floating one, an offline one on another node (pinned to n, then onlined). To remove
// one it offlines the highest-id online vCPU on n. Online vCPUs left floating are taken offline:
// pair closer_dynamic with a placement that keeps vCPUs per node (closer); with xen_default,
// which unpins them again, the two fight every period.
#pragma once

#include <pvmkit/model/host_view.hpp>
#include <pvmkit/core/error.hpp>
#include <pvmkit/core/id_set.hpp>
#include <pvmkit/core/units.hpp>
#include <pvmkit/model/decision.hpp>
#include <pvmkit/model/locality.hpp>
#include <pvmkit/model/plan.hpp>
#include <pvmkit/sizing/concepts.hpp>
#include <pvmkit/topology/topology.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pvmkit::sizing {

class closer_dynamic {
 public:
  using family = sizing_family;

  struct options {
    double target_utilisation = 0.8;       // same headroom as closer placement
    std::size_t scale_down_periods = 3;    // periods demand must stay low before a vCPU goes
    std::size_t capped_scale_down_periods = 60;  // the same while the pVM is capped (a minute at 1 s)
    std::size_t min_vcpus_per_node = 1;    // on every node that homes a guest
    std::size_t max_vcpus_per_node = 0;    // 0 = the node's CPU count
    bytes base_memory{512ULL << 20};       // kernel, toolstack, xenstored
    bytes node_memory{32ULL << 20};        // per node with pVM vCPUs: per-CPU and per-node kernel data
    bytes guest_memory{8ULL << 20};        // per guest: backend rings and persistent grants
    bytes memory_per_core{64ULL << 20};    // per core of pVM demand: buffers in flight
    bytes memory_granularity{64ULL << 20}; // targets move in these steps, so small wobbles do not
    double cap_utilisation = 0.95;         // 0 = never cap; else the share of the cap demand may fill
    double cap_binding = 0.97;             // load at this share of the cap means the cap bound
    std::size_t cap_floor_percent = 100;   // one core for the pVM's own work (kernel, xenstored, toolstack)
    double full_utilisation = 0.95;        // own guests' work on a node that cannot grow (as closer's)
    double saturation = 0.98;              // busy share from which a node's load is only a lower bound

    void validate() const {
      if (!(target_utilisation > 0 && target_utilisation <= 1))
        throw config_error("closer_dynamic: target_utilisation must be in (0, 1], got " +
                           std::to_string(target_utilisation));
      if (min_vcpus_per_node == 0) throw config_error("closer_dynamic: min_vcpus_per_node must be at least 1");
      if (max_vcpus_per_node != 0 && max_vcpus_per_node < min_vcpus_per_node)
        throw config_error("closer_dynamic: max_vcpus_per_node (" + std::to_string(max_vcpus_per_node) +
                           ") is below min_vcpus_per_node (" + std::to_string(min_vcpus_per_node) + ")");
      if (base_memory.count() < (16ULL << 20)) throw config_error("closer_dynamic: base_memory must be at least 16 MiB");
      if (!(cap_utilisation == 0 || (cap_utilisation > 0 && cap_utilisation <= 1)))
        throw config_error("closer_dynamic: cap_utilisation must be 0 (no cap) or in (0, 1], got " +
                           std::to_string(cap_utilisation));
      if (!(cap_binding > 0 && cap_binding <= 1))
        throw config_error("closer_dynamic: cap_binding must be in (0, 1], got " + std::to_string(cap_binding));
      if (cap_floor_percent == 0)
        throw config_error("closer_dynamic: cap_floor_percent must be at least 1 (0 would mean no cap)");
      if (!(full_utilisation > 0 && full_utilisation <= 1))
        throw config_error("closer_dynamic: full_utilisation must be in (0, 1], got " + std::to_string(full_utilisation));
      if (!(saturation > 0 && saturation <= 1))
        throw config_error("closer_dynamic: saturation must be in (0, 1], got " + std::to_string(saturation));
      if (memory_granularity.count() < page_size_bytes)
        throw config_error("closer_dynamic: memory_granularity must be at least one page (4 KiB)");
    }
  };

  closer_dynamic() = default;
  explicit closer_dynamic(options o) : opts_(o) { opts_.validate(); }

  [[nodiscard]] std::string_view name() const noexcept { return "closer_dynamic"; }
  [[nodiscard]] const options& config() const noexcept { return opts_; }
  // Consecutive periods node n wanted fewer vCPUs than it had (the scale-down clock).
  [[nodiscard]] std::size_t low_periods(node_id n) const noexcept {
    return n.index() < low_.size() ? low_[n.index()] : 0;
  }

  [[nodiscard]] plan decide(const host_view& view, decision_log& log) {
    const topology& topo = *view.topo;
    const std::size_t n_nodes = topo.node_count();
    low_.resize(n_nodes, 0);
    measure(view);
    pvm_vcpu_layout layout;
    layout.build(topo, view.pvm);

    const bool capped = opts_.cap_utilisation > 0 && view.pvm.cpu_cap.has_value();
    spill(topo, layout);
    std::vector<std::size_t> target(n_nodes, 0);
    std::vector<std::string_view> why(n_nodes);
    for (std::size_t n = 0; n < n_nodes; ++n) {
      const std::size_t ceiling = ceiling_[n];
      const std::size_t limit = std::max<std::size_t>(1, ceil_count(free_[n]));
      const std::size_t needed = ceil_count(planned_[n] / opts_.target_utilisation);
      const std::size_t floor_guests = guests_on_[n] > 0 ? opts_.min_vcpus_per_node : 0;
      const std::size_t floor_running = running_tasks_[n] > 0 ? std::max<std::size_t>(1, ceil_count(running_load_[n])) : 0;
      const std::size_t wanted = std::min({ceiling, limit, std::max({needed, floor_guests, floor_running})});
      const std::size_t cur = layout.online[n];
      if (wanted > cur) {
        target[n] = wanted;
        low_[n] = 0;
        why[n] = spill_in_[n] > eps ? "scale up: work spilled from a full node" : "scale up";
      } else if (wanted < cur) {
        ++low_[n];
        target[n] = low_[n] >= (capped ? opts_.capped_scale_down_periods : opts_.scale_down_periods) ? cur - 1 : cur;
        why[n] = target[n] < cur ? "scale down by one" : "hold: demand low, waiting";
      } else {
        target[n] = cur;
        low_[n] = 0;
        why[n] = "steady";
      }
      if (log.enabled())
        log.add({std::string{name()},
                 "node " + std::to_string(n) + " vCPUs",
                 {{"demand_cores", std::to_string(demand_[n])},
                  {"free_cpus", std::to_string(free_[n])},
                  {"spilled_out_cores", std::to_string(spill_out_[n])},
                  {"spilled_in_cores", std::to_string(spill_in_[n])},
                  {"needed", std::to_string(needed)},
                  {"floor_guests", std::to_string(floor_guests)},
                  {"floor_running", std::to_string(floor_running)},
                  {"ceiling", std::to_string(std::min(ceiling, limit))},
                  {"online", std::to_string(cur)},
                  {"low_periods", std::to_string(low_[n])}},
                 {},
                 std::to_string(target[n]) + " vCPUs",
                 std::string{why[n]}});
    }
    // The pVM always keeps one vCPU running (Xen and Linux insist).
    std::size_t total = 0;
    for (auto t : target) total += t;
    if (total == 0) target[static_cast<std::size_t>(std::max_element(layout.online.begin(), layout.online.end()) - layout.online.begin())] = 1;

    plan p;
    realise(view, layout, target, p, log);
    nodeset nodes;
    for (std::size_t n = 0; n < n_nodes; ++n)
      if (target[n] > 0) nodes.insert(node_id{static_cast<node_id::rep>(n)});
    if (view.pvm.node_affinity != nodes) p.add(set_node_affinity{view.pvm.id, nodes}, "memory where the vCPUs are");
    size_memory(view, target, p, log);
    size_cap(view, target, p, log);
    return p;
  }

  // Between rounds: a cap the pVM has run into (its CPU use reached cap_binding of it) is raised
  // at once by half, up to its vCPUs' full capacity, and again at the next guard while it still
  // binds; the next round sets it from the demand it then measures. A burst then costs a few guard
  // periods (ticks), not a control period, and the pVM takes little more than the burst needs.
  // Reads the pVM only.
  [[nodiscard]] plan guard(const host_view& view, decision_log& log) {
    plan p;
    if (opts_.cap_utilisation == 0 || !view.pvm.cpu_cap || *view.pvm.cpu_cap == 0) return p;
    const unsigned cap = *view.pvm.cpu_cap;
    const std::size_t full = std::max<std::size_t>(1, view.pvm.online_vcpus()) * 100;
    if (100.0 * view.pvm.cpu_load < opts_.cap_binding * cap || full <= cap) return p;
    const std::size_t raised = std::min(full, ceil_count(1.5 * cap));
    p.add(set_cpu_cap{view.pvm.id, static_cast<unsigned>(raised)}, "guard: the pVM ran into its cap");
    if (log.enabled())
      log.add({std::string{name()},
               "pVM CPU cap",
               {{"cpu_load_cores", std::to_string(view.pvm.cpu_load)}, {"current_percent", std::to_string(cap)}},
               {},
               std::to_string(raised) + " %",
               "guard: the pVM ran into its cap; raised by half (at most its vCPUs' capacity) until the next round"});
    return p;
  }

 private:
  static constexpr double eps = 1e-9;

  [[nodiscard]] static std::size_t ceil_count(double x) noexcept {
    return x <= 1e-9 ? 0 : static_cast<std::size_t>(std::ceil(x - 1e-9));
  }

  // Where each node's work goes: home while the node has room, the excess to the nearest nodes
  // with room left (largest excess first), the rest stays home.
  void spill(const topology& topo, const pvm_vcpu_layout& layout) {
    const std::size_t n_nodes = topo.node_count();
    ceiling_.assign(n_nodes, 0);
    planned_.assign(n_nodes, 0.0);
    spare_.assign(n_nodes, 0.0);
    spill_in_.assign(n_nodes, 0.0);
    spill_out_.assign(n_nodes, 0.0);
    std::vector<double>& excess = excess_;
    excess.assign(n_nodes, 0.0);
    for (std::size_t n = 0; n < n_nodes; ++n) {
      const std::size_t cpus = topo.nodes()[n].cpus.size();
      ceiling_[n] = opts_.max_vcpus_per_node ? std::min(opts_.max_vcpus_per_node, cpus) : cpus;
      const double full = std::min(static_cast<double>(ceiling_[n]), free_[n]);
      const double cores_now = std::min(static_cast<double>(layout.online[n]), free_[n]);
      const double full_u = std::max(opts_.target_utilisation, opts_.full_utilisation);
      const bool saturated = cores_now > 0 && running_load_[n] >= std::max(opts_.saturation, full_u) * cores_now;
      const double demand = demand_[n] + (saturated ? (1 - opts_.target_utilisation) * cores_now : 0.0);
      planned_[n] = std::min(demand, full * full_u);
      excess[n] = demand - planned_[n];
      spare_[n] = std::max(0.0, full * opts_.target_utilisation - planned_[n]);
    }
    order_.clear();
    for (std::size_t n = 0; n < n_nodes; ++n)
      if (excess[n] > eps) order_.push_back(n);
    std::stable_sort(order_.begin(), order_.end(), [&](std::size_t a, std::size_t b) { return excess[a] > excess[b]; });
    for (std::size_t h : order_) {
      for (node_id m : topo.nearest_to(node_id{static_cast<node_id::rep>(h)})) {
        if (excess[h] <= eps) break;
        const std::size_t k = m.index();
        if (k == h || spare_[k] <= eps) continue;
        const double take = std::min(excess[h], spare_[k]);
        spare_[k] -= take;
        excess[h] -= take;
        spill_in_[k] += take;
        spill_out_[h] += take;
        planned_[k] += take;
      }
      planned_[h] += std::max(0.0, excess[h]);  // fits nowhere: stays home, overloaded
    }
  }

  void measure(const host_view& view) {
    const topology& topo = *view.topo;
    const std::size_t n_nodes = topo.node_count();
    free_cpus_by_node(topo, view.guests, free_);
    demand_.assign(n_nodes, 0.0);
    running_load_.assign(n_nodes, 0.0);
    running_tasks_.assign(n_nodes, 0);
    guests_on_.assign(n_nodes, 0);
    std::size_t max_id = 0;
    for (const auto& g : view.guests) max_id = std::max(max_id, g.id.valid() ? g.id.index() : 0);
    home_.assign(view.guests.empty() ? 0 : max_id + 1, node_id::invalid());
    has_tasks_.assign(home_.size(), 0);
    for (const auto& g : view.guests) {
      if (!g.id.valid()) continue;
      const node_id h = topo.nearest_cpu_node(guest_home(topo, g, n_nodes));  // a memory-only home's work runs next door
      home_[g.id.index()] = h;
      ++guests_on_[h.index()];
    }
    running_node_.resize(view.tasks.size(), node_id::invalid());
    nearest_.resize(n_nodes);
    for (std::size_t n = 0; n < n_nodes; ++n) nearest_[n] = topo.nearest_cpu_node(node_id{static_cast<node_id::rep>(n)});
    // Raw pointers: the stores into the tables (has_tasks_ holds bytes, which may alias anything)
    // would otherwise make the compiler reload every vector's data pointer for each task.
    const std::vector<numa_node>& nodes = topo.nodes();
    // An unplaced task's CPU set is every CPU (a floating pVM's, as it boots): node_of() of it
    // once, not once per task.
    const cpuset& all_cpus = topo.cpus();
    const node_id all_cpus_node = node_of(topo, all_cpus);
    const pvm_task* const tasks = view.tasks.data();
    node_id* const ran_on = running_node_.data();
    const node_id* const home = home_.data();
    const std::size_t n_homes = home_.size();
    std::uint8_t* const has_tasks = has_tasks_.data();
    const node_id* const nearest = nearest_.data();
    double* const demand = demand_.data();
    double* const running_load = running_load_.data();
    std::size_t* const running_tasks = running_tasks_.data();
    for (std::size_t i = 0, n_tasks = view.tasks.size(); i < n_tasks; ++i) {
      const pvm_task& t = tasks[i];
      // node_of(), tried first on the node the task at this position ran on last round: on a
      // placed host its CPU set is that node's, which node_of() would find at several times
      // the cost.
      node_id running = ran_on[i];
      if (!(running.index() < n_nodes && !t.affinity.empty() && t.affinity == nodes[running.index()].cpus))
        ran_on[i] = running = t.affinity == all_cpus ? all_cpus_node : node_of(topo, t.affinity);
      node_id n = t.guest.index() < n_homes ? home[t.guest.index()] : node_id::invalid();  // an invalid id is beyond
      if (n.valid()) {
        has_tasks[t.guest.index()] = 1;
      } else if (const device* d = t.device.empty() ? nullptr : topo.find_device(t.device); d && d->node.valid()) {
        n = d->node;  // pVM-wide work that drives a device
      } else {
        n = running.valid() ? running : node_id{0};
      }
      demand[nearest[n.index()].index()] += t.cpu_load;
      if (running.valid()) {
        running_load[running.index()] += t.cpu_load;
        ++running_tasks[running.index()];
      }
    }
    // Backends the view does not list as tasks (e.g. no in-pVM task backend): the guest's
    // measured pVM cost stands for them.
    for (const auto& g : view.guests)
      if (g.id.valid() && !has_tasks_[g.id.index()]) demand_[home_[g.id.index()].index()] += g.io.pvm_cores;
  }

  void realise(const host_view& view, const pvm_vcpu_layout& layout, const std::vector<std::size_t>& target,
               plan& p, decision_log& log) {
    const topology& topo = *view.topo;
    const std::size_t n_nodes = topo.node_count();
    const domain_id pvm = view.pvm.id;
    std::vector<std::vector<vcpu_id>> online_on(n_nodes), offline_on(n_nodes);
    std::vector<vcpu_id> floating_offline;
    for (const auto& v : view.pvm.vcpus) {
      const node_id n = node_of(topo, v.hard_affinity);
      if (v.online) {
        if (n.valid()) online_on[n.index()].push_back(v.id);
      } else if (n.valid()) {
        offline_on[n.index()].push_back(v.id);
      } else {
        floating_offline.push_back(v.id);
      }
    }
    std::vector<vcpu_id> floating_online = layout.floating;
    std::reverse(floating_online.begin(), floating_online.end());  // taken from the back: lowest id first
    std::reverse(floating_offline.begin(), floating_offline.end());
    for (auto& v : offline_on) std::reverse(v.begin(), v.end());

    std::vector<std::size_t> now = layout.online;
    for (std::size_t n = 0; n < n_nodes; ++n) {
      const cpuset& cpus = topo.nodes()[n].cpus;
      while (now[n] < target[n]) {
        if (!offline_on[n].empty()) {
          p.add(set_vcpu_online{pvm, offline_on[n].back(), true}, "scale up");
          offline_on[n].pop_back();
        } else if (!floating_online.empty()) {
          p.add(set_vcpu_affinity{pvm, floating_online.back(), cpus}, "scale up: pin to node");
          floating_online.pop_back();
        } else if (!floating_offline.empty()) {
          p.add(set_vcpu_affinity{pvm, floating_offline.back(), cpus}, "scale up: pin to node");
          p.add(set_vcpu_online{pvm, floating_offline.back(), true}, "scale up");
          floating_offline.pop_back();
        } else if (auto from = donor(offline_on, n); from < n_nodes) {
          p.add(set_vcpu_affinity{pvm, offline_on[from].back(), cpus}, "scale up: move to node");
          p.add(set_vcpu_online{pvm, offline_on[from].back(), true}, "scale up");
          offline_on[from].pop_back();
        } else {
          if (log.enabled())
            log.add({std::string{name()}, "node " + std::to_string(n) + " vCPUs", {}, {},
                     std::to_string(now[n]) + " vCPUs", "capped: the pVM has no spare vCPU left"});
          break;
        }
        ++now[n];
      }
    }
    std::size_t online_after = 0;
    for (std::size_t n = 0; n < n_nodes; ++n) {
      while (now[n] > target[n] && !online_on[n].empty()) {
        p.add(set_vcpu_online{pvm, online_on[n].back(), false}, "scale down");
        online_on[n].pop_back();
        --now[n];
      }
      online_after += now[n];
    }
    // Online vCPUs left floating: capacity on no node in particular.
    for (vcpu_id v : floating_online) {
      if (online_after == 0) {
        ++online_after;  // keep one rather than none
        continue;
      }
      p.add(set_vcpu_online{pvm, v, false}, "floating vCPU not needed");
    }
  }

  [[nodiscard]] static std::size_t donor(const std::vector<std::vector<vcpu_id>>& offline_on, std::size_t except) {
    for (std::size_t m = 0; m < offline_on.size(); ++m)
      if (m != except && !offline_on[m].empty()) return m;
    return offline_on.size();
  }

  void size_memory(const host_view& view, const std::vector<std::size_t>& target, plan& p, decision_log& log) {
    double want = static_cast<double>(opts_.base_memory.count());
    double cores = 0;
    std::size_t guests = 0;
    for (std::size_t n = 0; n < target.size(); ++n) {
      if (target[n] > 0) want += static_cast<double>(opts_.node_memory.count());
      cores += demand_[n];
      guests += guests_on_[n];
    }
    want += static_cast<double>(guests) * static_cast<double>(opts_.guest_memory.count());
    want += cores * static_cast<double>(opts_.memory_per_core.count());
    const std::uint64_t g = opts_.memory_granularity.count();
    bytes need{(static_cast<std::uint64_t>(std::ceil(want)) + g - 1) / g * g};
    if (view.pvm.max_memory.count() > 0) need = std::min(need, view.pvm.max_memory);
    const bytes cur = view.pvm.memory_target;
    std::string_view why = "steady";
    if (need > cur) {
      memory_low_ = 0;
      why = "grow";
      p.add(set_memory_target{view.pvm.id, need}, "grow with demand");
    } else if (need < cur) {
      if (++memory_low_ >= opts_.scale_down_periods) {
        memory_low_ = 0;
        why = "shrink";
        p.add(set_memory_target{view.pvm.id, need}, "shrink after low demand");
      } else {
        why = "hold: demand low, waiting";
      }
    } else {
      memory_low_ = 0;
    }
    if (log.enabled())
      log.add({std::string{name()},
               "pVM memory",
               {{"guests", std::to_string(guests)},
                {"demand_cores", std::to_string(cores)},
                {"current_mib", std::to_string(cur.mib())},
                {"needed_mib", std::to_string(need.mib())}},
               {},
               std::to_string((why == "grow" || why == "shrink" ? need : cur).mib()) + " MiB",
               std::string{why}});
  }

  void size_cap(const host_view& view, const std::vector<std::size_t>& target, plan& p, decision_log& log) {
    if (opts_.cap_utilisation == 0 || !view.pvm.cpu_cap) return;  // not wanted, or the backend cannot cap
    std::size_t vcpus = 0;
    for (auto t : target) vcpus += t;
    double demand = 0;
    for (double d : demand_) demand += d;
    const unsigned current = *view.pvm.cpu_cap;  // 0 = none: the vCPUs' capacity is the limit
    const std::size_t full = std::max<std::size_t>(1, vcpus) * 100;
    const bool bound = current != 0 && 100.0 * demand >= opts_.cap_binding * current;
    std::size_t want = std::clamp(ceil_count(100.0 * demand / opts_.cap_utilisation), std::min(opts_.cap_floor_percent, full), full);
    std::string_view why = "demand / cap_utilisation";
    if (bound && want < full) {
      // The demand above the cap is hidden: raised by half (as the guard does), up to the vCPUs'
      // capacity, until it no longer binds.
      want = std::min(full, std::max(want, ceil_count(1.5 * current)));
      why = "the pVM ran into its cap: raised by half to see the demand";
    }
    if (want != current) p.add(set_cpu_cap{view.pvm.id, static_cast<unsigned>(want)}, std::string{why});
    if (log.enabled())
      log.add({std::string{name()},
               "pVM CPU cap",
               {{"demand_cores", std::to_string(demand)},
                {"current_percent", std::to_string(current)},
                {"vcpus", std::to_string(vcpus)},
                {"bound", bound ? "yes" : "no"}},
               {},
               std::to_string(want) + " %",
               std::string{why}});
  }

  options opts_;
  std::vector<std::size_t> low_;
  std::size_t memory_low_ = 0;
  // Scratch of the last decide(), kept to reuse the allocations.
  std::vector<double> demand_, running_load_, free_, planned_, spare_, spill_in_, spill_out_, excess_;
  std::vector<std::size_t> ceiling_, order_;
  std::vector<std::size_t> running_tasks_, guests_on_;
  std::vector<node_id> home_;
  std::vector<std::uint8_t> has_tasks_;  // bytes: a bit vector's read-modify-write costs more per task
  std::vector<node_id> running_node_;    // per task position: the node it ran on last round
  std::vector<node_id> nearest_;         // per node: topology::nearest_cpu_node()
};

static_assert(SizingPolicy<closer_dynamic>);
static_assert(GuardedPolicy<closer_dynamic>);

}  // namespace pvmkit::sizing
