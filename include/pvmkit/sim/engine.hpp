// The discrete-time host model. Each tick, every guest's workload offers requests to its net and
// block backend tasks; the requests queue in the task's ring and run on the nodes where the task's
// pVM vCPUs run, at a cost that grows with NUMA distance (sim/model.hpp); each node serves at most
// the pVM capacity it has, and no node more than the CPUs its guests leave. Every control period a
// controller (any sizing + placement policy pair) re-plans on the mock host, seeing the load
// measured in the previous tick. The oracle is bounded by the same CPUs. All figures are modelled:
// docs/simulator.md gives the equations and every parameter's source.
//
// The engine is compiled once, over a type-erased control step; only controlled_by() is a
// template, and it is a few lines.
#pragma once

#include <pvmkit/backend/mock.hpp>
#include <pvmkit/controller.hpp>
#include <pvmkit/core/id_set.hpp>
#include <pvmkit/policy.hpp>
#include <pvmkit/sim/model.hpp>
#include <pvmkit/sim/scenario.hpp>
#include <pvmkit/sim/workload.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace pvmkit::sim {

// How a controller drives the host: a control round every control period (false when it
// failed), and, between rounds, a guard every tick (empty when no policy has one) that returns the
// steps it applied, or -1 when it failed.
struct control_loop {
  std::function<bool()> round;
  std::function<int()> guard;
};
using control_factory = std::function<control_loop(mock_host&)>;

// A controller over the mock host running `sizing` first, then `placement` (placement sees the
// vCPUs sizing brings online). Decision records stay off: they cost string building per task.
template <Policy Sizing, Policy Placement>
[[nodiscard]] control_factory controlled_by(Sizing sizing, Placement placement) {
  return [sizing = std::move(sizing), placement = std::move(placement)](mock_host& host) -> control_loop {
    auto c = std::make_shared<controller<mock_host, Sizing, Placement>>(host, sizing, placement);
    control_loop loop;
    loop.round = [c] {
      auto round = c->step();
      return round && round->applied.ok();
    };
    if constexpr (GuardedPolicy<Sizing> || GuardedPolicy<Placement>)
      loop.guard = [c]() -> int {
        auto round = c->guard();
        if (!round || !round->applied.ok()) return -1;
        return static_cast<int>(round->applied.applied);
      };
    return loop;
  };
}

// Averages over one control period.
struct series_point {
  double time_s = 0;           // start of the period
  double demanded_cores = 0;   // offered work at local cost
  double served_cores = 0;     // served work at local cost
  double held_cores = 0;  // cores held: what the pVM may take at any moment (docs/simulator.md)
  double used_cores = 0;       // pVM CPU time actually spent (remote accesses included)
  double remote_share = 0;     // of the work done, the part on a node other than the guest's
};

struct run_result {
  std::string label;
  bool oracle = false;
  double demanded_work = 0;  // core-seconds at local cost over the run
  double served_work = 0;
  double served_pct = 0;
  double delay_mean_ms = 0;
  double delay_p99_ms = 0;
  double cores_held_mean = 0;  // cores held, mean over ticks
  double cores_used_mean = 0;
  double remote_work_share = 0;
  double remote_buffer_share = 0;
  double dropped_requests = 0;  // refused because a ring was full
  std::size_t task_moves = 0;   // affinity changes that changed a task's node set, after the first round
  std::size_t control_rounds = 0;
  std::size_t failed_rounds = 0;
  std::size_t guard_actions = 0;  // guards between rounds that changed something
  std::vector<series_point> series;
  double duration_s = 0;  // seconds the run covered
};

struct run_options {
  std::function<void(double done)> progress;  // called with the fraction done, about 100 times
};

namespace detail {

struct sim_task {
  task_id id;
  std::size_t guest = 0;
  node_id home;
  node_id device;     // node of the device it drives; invalid = none or unknown
  double cost_s = 0;  // local cost of one request
  double ring = 0;    // 0 = unbounded
  bool net = false;
  double remote_buffer = 0;  // share of its buffers not on the guest's home node
  nodeset nodes;             // nodes its affinity touches (for counting moves)
  double backlog = 0;        // requests queued in its ring
  double share = 1;          // of its guest's requests of its kind (one queue of several)
  std::vector<double> oracle_mult;  // the oracle's cost on each node (buffers where it runs)
};

class engine {
 public:
  engine(const scenario& s, bool oracle) : s_(s), oracle_(oracle), host_(make_topology(s.host), boot(s)) {
    topo_ = host_.state().topo;
    free_.assign(topo_->node_count(), 0.0);
    for (const auto& n : topo_->nodes()) free_[n.id.index()] = static_cast<double>(n.cpus.size());
    for (std::size_t i = 0; i < s.guests.size(); ++i) {
      const auto& g = s.guests[i];
      mock_guest_spec spec;
      spec.name = g.name;
      spec.vcpus = g.vcpus;
      spec.home = g.home;
      spec.memory = gib_to_bytes(g.memory_gib);
      const domain_id d = host_.add_guest(spec);
      guests_.push_back(d);
      host_.set_cpu_load(d, g.cpu_cores);
      free_[g.home.index()] = std::max(0.0, free_[g.home.index()] - g.cpu_cores);
      const std::string tag = std::to_string(d.value());
      // A backend has a queue (and a thread) per guest vCPU, up to the frontends' defaults: 8 for
      // xen-netfront, 4 for xen-blkfront; the guest spreads its requests evenly over them.
      const std::size_t net_queues = std::min<std::size_t>(g.vcpus, 8), block_queues = std::min<std::size_t>(g.vcpus, 4);
      if (!g.net_device.empty())
        for (std::size_t q = 0; q < net_queues; ++q)
          add_task(i, g, true, "vif" + tag + ".0-q" + std::to_string(q), g.net_device, net_queues);
      for (std::size_t q = 0; q < block_queues; ++q)
        add_task(i, g, false, tag + ".xvda-" + std::to_string(q), g.block_device, block_queues);
    }
  }

  run_result run(const control_factory* control, std::string label, const run_options& opt) {
    run_result r;
    r.label = std::move(label);
    r.oracle = oracle_;
    const std::size_t nodes = topo_->node_count();
    const std::size_t ticks = s_.ticks();
    const std::size_t per_round = s_.ticks_per_control();
    const double dt = s_.tick_s;
    control_loop step;
    if (control && !oracle_) step = (*control)(host_);
    refresh();

    std::vector<io_rates> rates(s_.guests.size());
    std::vector<double> pending(tasks_.size()), work(nodes), phi(nodes), arrivals(nodes), queued(nodes);
    std::vector<double> guest_done(s_.guests.size());
    std::vector<double> delays;
    delays.reserve(ticks);
    double held_sum = 0, used_sum = 0, remote_work = 0, done_work = 0, remote_buffer = 0;
    series_point acc;
    std::size_t in_period = 0;
    const std::size_t progress_every = std::max<std::size_t>(1, ticks / 100);

    for (std::size_t k = 0; k < ticks; ++k) {
      const double t = static_cast<double>(k) * dt;
      for (std::size_t g = 0; g < rates.size(); ++g) rates[g] = rate_at(s_.guests[g].load, t);
      if (k == 0) prewarm(rates);
      if (k % per_round == 0 && step.round) {
        const bool ok = step.round();
        ++r.control_rounds;
        if (!ok) ++r.failed_rounds;
        host_.clear_calls();  // the mock records every call; a long run must not grow it
        const std::size_t moved = refresh();
        if (r.control_rounds > 1) r.task_moves += moved;
      }

      double demanded = 0, served = 0, used = 0, remote = 0;
      std::fill(work.begin(), work.end(), 0.0);
      std::fill(arrivals.begin(), arrivals.end(), 0.0);
      std::fill(guest_done.begin(), guest_done.end(), 0.0);
      for (std::size_t i = 0; i < tasks_.size(); ++i) {
        auto& tk = tasks_[i];
        const double offered = (tk.net ? rates[tk.guest].net_pps : rates[tk.guest].block_iops) * tk.share * dt;
        demanded += offered * tk.cost_s;
        pending[i] = tk.backlog + offered;
        if (oracle_) continue;
        const double* w = &wcost_[i * nodes];
        for (std::size_t n = 0; n < nodes; ++n) {
          work[n] += pending[i] * w[n];
          arrivals[n] += offered * w[n];
        }
      }
      double tick_delay = 0;
      if (oracle_) {
        oracle_tick(pending, dt, served, used, remote, remote_buffer, guest_done, r.dropped_requests, tick_delay);
        held_ = used / dt;  // perfect knowledge holds exactly what it uses, tick by tick
      } else {
        for (std::size_t n = 0; n < nodes; ++n) phi[n] = work[n] > 0 ? std::min(1.0, capacity_[n] * dt / work[n]) : 1.0;
        // A CPU cap bounds the pVM's total CPU time in the tick; the scheduler takes the budget
        // from whichever vCPUs run, so every node is slowed by the same factor.
        double psi = 1.0;
        if (cap_cores_ > 0) {
          double runnable = 0;
          for (std::size_t n = 0; n < nodes; ++n) runnable += phi[n] * work[n];
          if (runnable > cap_cores_ * dt) psi = cap_cores_ * dt / runnable;
          for (double& f : phi) f *= psi;
        }
        std::fill(queued.begin(), queued.end(), 0.0);
        for (std::size_t i = 0; i < tasks_.size(); ++i) {
          auto& tk = tasks_[i];
          const double* e = &exec_[i * nodes];
          const double* w = &wcost_[i * nodes];
          double done_req = 0, done = 0;
          for (std::size_t n = 0; n < nodes; ++n) {
            done_req += phi[n] * pending[i] * e[n];
            const double cpu = phi[n] * pending[i] * w[n];
            done += cpu;
            if (n != tk.home.index()) remote += cpu;
          }
          double left = pending[i] - done_req;
          if (tk.ring > 0 && left > tk.ring) {
            r.dropped_requests += left - tk.ring;
            left = tk.ring;
          }
          tk.backlog = left;
          for (std::size_t n = 0; n < nodes; ++n) queued[n] += left * w[n];
          served += done_req * tk.cost_s;
          remote_buffer += done_req * tk.cost_s * tk.remote_buffer;
          used += done;
          guest_done[tk.guest] += done;
          host_.set_task_load(tk.id, done / dt);
        }
        double weight = 0;
        for (std::size_t n = 0; n < nodes; ++n)
          if (arrivals[n] > 0 && capacity_[n] > 0) {
            tick_delay += arrivals[n] * queued[n] / (capacity_[n] * psi);
            weight += arrivals[n];
          }
        tick_delay = weight > 0 ? tick_delay / weight : 0;
      }
      for (std::size_t g = 0; g < guests_.size(); ++g)
        host_.set_io_load(guests_[g], {rates[g].net_pps, rates[g].block_iops, guest_done[g] / dt});
      host_.set_cpu_load(pvm_domain, used / dt);
      if (step.guard && (k + 1) % per_round != 0) {
        const int acted = step.guard();
        host_.clear_calls();
        if (acted < 0) ++r.failed_rounds;
        if (acted > 0) {
          ++r.guard_actions;
          refresh();
        }
      }

      r.demanded_work += demanded;
      r.served_work += served;
      remote_work += remote;
      done_work += used;
      used_sum += used / dt;
      held_sum += held_;
      if (demanded > 0) delays.push_back(tick_delay);

      acc.demanded_cores += demanded / dt;
      acc.served_cores += served / dt;
      acc.held_cores += held_;
      acc.used_cores += used / dt;
      acc.remote_share += used > 0 ? remote / used : 0;
      if (++in_period == per_round || k + 1 == ticks) {
        const double m = static_cast<double>(in_period);
        r.series.push_back({static_cast<double>(k + 1 - in_period) * dt, acc.demanded_cores / m, acc.served_cores / m,
                            acc.held_cores / m, acc.used_cores / m, acc.remote_share / m});
        acc = {};
        in_period = 0;
      }
      if (opt.progress && (k + 1) % progress_every == 0) opt.progress(static_cast<double>(k + 1) / static_cast<double>(ticks));
    }

    const double n_ticks = static_cast<double>(std::max<std::size_t>(1, ticks));
    r.duration_s = static_cast<double>(ticks) * dt;
    r.served_pct = r.demanded_work > 0 ? 100.0 * r.served_work / r.demanded_work : 100.0;
    r.cores_held_mean = held_sum / n_ticks;
    r.cores_used_mean = used_sum / n_ticks;
    r.remote_work_share = done_work > 0 ? remote_work / done_work : 0;
    r.remote_buffer_share = r.served_work > 0 ? remote_buffer / r.served_work : 0;
    if (!delays.empty()) {
      double sum = 0;
      for (double d : delays) sum += d;
      r.delay_mean_ms = 1000.0 * sum / static_cast<double>(delays.size());
      const auto idx = static_cast<std::size_t>(std::ceil(0.99 * static_cast<double>(delays.size()))) - 1;
      std::nth_element(delays.begin(), delays.begin() + static_cast<std::ptrdiff_t>(idx), delays.end());
      r.delay_p99_ms = 1000.0 * delays[idx];
    }
    return r;
  }

  [[nodiscard]] mock_host& host() noexcept { return host_; }

 private:
  static mock_pvm_spec boot(const scenario& s) {
    mock_pvm_spec p;
    p.vcpus = s.pvm.vcpus;
    p.memory = bytes{static_cast<std::uint64_t>(std::llround(s.pvm.memory_mib)) << 20};
    return p;
  }

  void add_task(std::size_t gi, const guest_spec& g, bool net, std::string name, const std::string& dev, std::size_t queues) {
    mock_task_spec spec;
    spec.name = std::move(name);
    spec.kind = net ? task_kind::net_backend : task_kind::block_backend;
    spec.guest = guests_.back();
    spec.device = dev;
    sim_task t;
    t.id = host_.add_task(spec);
    t.guest = gi;
    t.home = g.home;
    t.net = net;
    t.cost_s = 1e-6 * (net ? s_.model.net_packet_us : s_.model.block_request_us);
    t.share = 1.0 / static_cast<double>(queues);
    t.ring = static_cast<double>(net ? s_.model.net_ring_slots : s_.model.block_ring_slots);
    const topology& topo = *topo_;
    if (const device* dv = dev.empty() ? nullptr : topo.find_device(dev)) t.device = dv->node;
    // The oracle runs a request at home, or on a node it spills to with the buffers there.
    std::vector<double> at(topo.node_count(), 0.0);
    t.oracle_mult.assign(topo.node_count(), 1.0);
    for (std::size_t n = 0; n < at.size(); ++n) {
      std::fill(at.begin(), at.end(), 0.0);
      at[n] = 1;
      const node_id node{static_cast<node_id::rep>(n)};
      t.oracle_mult[n] = cost_multiplier(s_.model, topo, node, t.home, at, t.device);
    }
    tasks_.push_back(std::move(t));
  }

  // The bounded oracle's tick: every node serves its own guests' work first, up to the CPUs its
  // guests leave; the rest spills to nodes with CPUs to spare, nearest pairs first over all
  // overloaded nodes (so no node takes a far node's work before a near one's), at the remote cost
  // with the buffers where the work runs. Backlogs and rings as for any policy.
  void oracle_tick(const std::vector<double>& pending, double dt, double& served, double& used, double& remote,
                   double& remote_buffer, std::vector<double>& guest_done, double& dropped, double& tick_delay) {
    const topology& topo = *topo_;
    const std::size_t nodes = topo.node_count();
    if (by_home_.size() != nodes) {
      by_home_.assign(nodes, {});
      for (std::size_t i = 0; i < tasks_.size(); ++i) by_home_[tasks_[i].home.index()].push_back(i);
      pairs_.clear();
      for (std::size_t h = 0; h < nodes; ++h)
        for (std::size_t m = 0; m < nodes; ++m)
          if (m != h) pairs_.emplace_back(h, m);
      std::stable_sort(pairs_.begin(), pairs_.end(), [&](const auto& a, const auto& b) {
        return topo.distance(node_id{static_cast<node_id::rep>(a.second)}, node_id{static_cast<node_id::rep>(a.first)}) <
               topo.distance(node_id{static_cast<node_id::rep>(b.second)}, node_id{static_cast<node_id::rep>(b.first)});
      });
    }
    o_want_.assign(nodes, 0.0);
    o_spare_.assign(nodes, 0.0);
    o_left_.assign(nodes, 0.0);
    o_done_.assign(tasks_.size(), 0.0);
    for (std::size_t i = 0; i < tasks_.size(); ++i) {
      const auto& tk = tasks_[i];
      o_want_[tk.home.index()] += pending[i] * tk.cost_s * tk.oracle_mult[tk.home.index()];
    }
    for (std::size_t n = 0; n < nodes; ++n) {
      const double cap = free_[n] * dt;
      const double phi = o_want_[n] > 0 ? std::min(1.0, cap / o_want_[n]) : 1.0;
      o_spare_[n] = std::max(0.0, cap - phi * o_want_[n]);
      o_left_[n] = (1 - phi) * o_want_[n];
      for (std::size_t i : by_home_[n]) {
        const auto& tk = tasks_[i];
        o_done_[i] = phi * pending[i];
        const double cpu = o_done_[i] * tk.cost_s * tk.oracle_mult[n];
        used += cpu;
        guest_done[tk.guest] += cpu;
      }
    }
    for (const auto& [h, m] : pairs_) {
      if (o_left_[h] <= 0 || o_spare_[m] <= 0) continue;
      double need = 0;
      for (std::size_t i : by_home_[h]) need += (pending[i] - o_done_[i]) * tasks_[i].cost_s * tasks_[i].oracle_mult[m];
      if (need <= 0) continue;
      const double f = std::min(1.0, o_spare_[m] / need);
      for (std::size_t i : by_home_[h]) {
        const auto& tk = tasks_[i];
        const double req = f * (pending[i] - o_done_[i]);
        o_done_[i] += req;
        const double cpu = req * tk.cost_s * tk.oracle_mult[m];
        used += cpu;
        remote += cpu;
        remote_buffer += req * tk.cost_s;
        guest_done[tk.guest] += cpu;
      }
      o_spare_[m] -= f * need;
      o_left_[h] -= f * need;
    }
    double weight = 0;
    std::fill(o_want_.begin(), o_want_.end(), 0.0);  // reused: work queued per home node
    std::vector<double>& arrived = o_left_;
    std::fill(arrived.begin(), arrived.end(), 0.0);
    for (std::size_t i = 0; i < tasks_.size(); ++i) {
      auto& tk = tasks_[i];
      const std::size_t h = tk.home.index();
      served += o_done_[i] * tk.cost_s;
      arrived[h] += (pending[i] - tk.backlog) * tk.cost_s;
      double left = pending[i] - o_done_[i];
      if (tk.ring > 0 && left > tk.ring) {
        dropped += left - tk.ring;
        left = tk.ring;
      }
      tk.backlog = left;
      o_want_[h] += left * tk.cost_s * tk.oracle_mult[h];
    }
    for (std::size_t n = 0; n < nodes; ++n)
      if (arrived[n] > 0 && free_[n] > 0) {
        tick_delay += arrived[n] * o_want_[n] / free_[n];
        weight += arrived[n];
      }
    tick_delay = weight > 0 ? tick_delay / weight : 0;
  }

  // Before the first round the host has been running: tasks report the t = 0 demand at local cost.
  void prewarm(const std::vector<io_rates>& rates) {
    std::vector<double> per_guest(rates.size(), 0.0);
    for (const auto& tk : tasks_) {
      const double load = (tk.net ? rates[tk.guest].net_pps : rates[tk.guest].block_iops) * tk.share * tk.cost_s;
      host_.set_task_load(tk.id, load);
      per_guest[tk.guest] += load;
    }
    for (std::size_t g = 0; g < guests_.size(); ++g)
      host_.set_io_load(guests_[g], {rates[g].net_pps, rates[g].block_iops, per_guest[g]});
  }

  // Re-derives capacity, execution and buffer shares and cost multipliers from the host's state;
  // returns how many tasks changed node set.
  std::size_t refresh() {
    const host_view v = host_.state();
    const topology& topo = *topo_;
    const std::size_t nodes = topo.node_count();
    capacity_.assign(nodes, 0.0);
    held_ = 0;
    cap_cores_ = v.pvm.cpu_cap.value_or(0) / 100.0;
    // A vCPU's capacity spreads over the nodes its affinity covers, in proportion to the CPUs it
    // may use there (the hypervisor schedules it on any of them).
    struct online_vcpu {
      cpuset cpus;
      std::vector<double> share;
    };
    std::vector<online_vcpu> online;
    for (const auto& vc : v.pvm.vcpus) {
      if (!vc.online) continue;
      online_vcpu o{vc.hard_affinity, std::vector<double>(nodes, 0.0)};
      const double total = static_cast<double>(vc.hard_affinity.size());
      for (const auto& n : topo.nodes())
        o.share[n.id.index()] = total > 0 ? static_cast<double>((vc.hard_affinity & n.cpus).size()) / total : 0;
      for (std::size_t n = 0; n < nodes; ++n) capacity_[n] += o.share[n];
      online.push_back(std::move(o));
    }
    // No node gives the pVM more than the CPUs its guests leave; capped, the pVM holds no more
    // than the cap, however many vCPUs are online. Held = what the pVM may take at any moment.
    held_ = 0;
    for (std::size_t n = 0; n < nodes; ++n) {
      capacity_[n] = std::min(capacity_[n], free_[n]);
      held_ += capacity_[n];
    }
    if (cap_cores_ > 0) held_ = std::min(held_, cap_cores_);
    std::size_t moved = 0;
    std::vector<double> buffer(nodes);
    exec_.assign(tasks_.size() * nodes, 0.0);
    wcost_.assign(tasks_.size() * nodes, 0.0);
    // Where a task's requests run depends on its CPU set alone, and tasks share a few sets (one per
    // node, once placed): each set's spread over nodes is worked out once per refresh.
    std::vector<std::pair<cpuset, std::vector<double>>> spread_of;
    auto spread = [&](const pvm_task* pt) -> const std::vector<double>& {
      static const cpuset any;
      const cpuset& key = pt ? pt->affinity : any;
      for (const auto& [set, sp] : spread_of)
        if (set == key) return sp;
      std::vector<double> sp(nodes, 0.0);
      std::size_t eligible = 0;
      for (const auto& o : online)
        if (!pt || o.cpus.intersects(pt->affinity)) {
          ++eligible;
          for (std::size_t n = 0; n < nodes; ++n) sp[n] += o.share[n];
        }
      if (eligible == 0) {
        // No online vCPU left in its mask: Linux breaks the affinity and runs the task anywhere
        // (select_fallback_rq), so every online vCPU becomes eligible.
        for (const auto& o : online)
          for (std::size_t n = 0; n < nodes; ++n) sp[n] += o.share[n];
        eligible = online.size();
      }
      for (double& e : sp) e /= static_cast<double>(std::max<std::size_t>(1, eligible));
      spread_of.emplace_back(key, std::move(sp));
      return spread_of.back().second;
    };
    for (std::size_t i = 0; i < tasks_.size(); ++i) {
      auto& tk = tasks_[i];
      // The mock numbers tasks in order, so the view lists task k at index k.
      const pvm_task* pt = tk.id.index() < v.tasks.size() && v.tasks[tk.id.index()].id == tk.id ? &v.tasks[tk.id.index()]
                                                                                                  : v.find_task(tk.id);
      const std::vector<double>& exec = spread(pt);
      std::copy(exec.begin(), exec.end(), exec_.begin() + static_cast<std::ptrdiff_t>(i * nodes));
      // Buffers come from the task's memory node; unset, first-touch puts them wherever the task
      // ran, long-lived, so they spread like its execution.
      if (pt && pt->memory_node.valid() && topo.has_node(pt->memory_node)) {
        std::fill(buffer.begin(), buffer.end(), 0.0);
        buffer[pt->memory_node.index()] = 1;
      } else {
        buffer = exec;
      }
      tk.remote_buffer = 1 - buffer[tk.home.index()];
      // CPU-seconds one request takes on each node: its share there, its cost, the distance factor.
      for (std::size_t n = 0; n < nodes; ++n)
        if (exec[n] > 0)
          wcost_[i * nodes + n] = exec[n] * tk.cost_s *
                                  cost_multiplier(s_.model, topo, node_id{static_cast<node_id::rep>(n)}, tk.home, buffer, tk.device);
      nodeset touched;
      if (pt)
        for (const auto& n : topo.nodes())
          if (pt->affinity.intersects(n.cpus)) touched.insert(n.id);
      if (touched != tk.nodes) ++moved;
      tk.nodes = touched;
    }
    return moved;
  }

  const scenario& s_;
  bool oracle_;
  mock_host host_;
  std::shared_ptr<const topology> topo_;
  std::vector<domain_id> guests_;
  std::vector<sim_task> tasks_;
  std::vector<double> capacity_;
  std::vector<double> free_;  // CPUs per node the guests' own vCPUs leave to the pVM
  // Per task and node (task-major, node_count() per task): the share of its requests run there,
  // and the CPU-seconds one of its requests costs there (share x local cost x distance factor).
  std::vector<double> exec_, wcost_;
  double held_ = 0;
  // The oracle's per-home task lists, its (home, spill node) pairs nearest first, and scratch.
  std::vector<std::vector<std::size_t>> by_home_;
  std::vector<std::pair<std::size_t, std::size_t>> pairs_;
  std::vector<double> o_want_, o_spare_, o_left_, o_done_;
  double cap_cores_ = 0;  // the pVM's CPU cap in cores; 0 = none
};

}  // namespace detail

// Runs the scenario under a controller built by `control` (see controlled_by).
[[nodiscard]] inline run_result simulate(const scenario& s, const control_factory& control, std::string label,
                                         const run_options& opt = {}) {
  detail::engine e{s, false};
  return e.run(&control, std::move(label), opt);
}

// The reference: perfect knowledge on the same machine. Every node's free CPUs serve its own
// guests' work first; the rest spills to the nearest nodes with CPUs to spare, at the remote cost.
// It holds exactly the cores it uses, tick by tick.
[[nodiscard]] inline run_result simulate_oracle(const scenario& s, const run_options& opt = {}) {
  detail::engine e{s, true};
  return e.run(nullptr, "oracle", opt);
}

}  // namespace pvmkit::sim
