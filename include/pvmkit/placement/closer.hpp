// Closer placement: run each guest's pVM work on a pVM vCPU on that guest's NUMA node and take its
// buffers from that node; when the home node has no spare pVM capacity, use the nearest node (by
// the distance matrix) that has some. The node of the device a task drives is weighed in.
//
// A node is a candidate when it has online pVM vCPUs and room for the task:
//     load(n) + task load <= min(online pVM vCPUs on n, CPUs its guests leave) * target_utilisation
// (a guest's own compute takes its node's CPUs first: free_cpus_by_node). A node whose
// pVM vCPUs already cover every CPU its guests leave is full: sizing cannot grow it, so headroom
// there would only push its guests' work to remote nodes. A full node therefore takes its own
// guests' work up to full_utilisation of its cores, keeps what it holds up to saturation, and
// takes other nodes' work only up to target_utilisation. A node busy beyond saturation may have
// more work queued than its measured load shows: its tasks are decided again, heaviest first (the
// fewest moves), until it is below saturation.
// The home node is taken whenever it has room. Otherwise the candidates are scored (lower is
// better), for a task serving a guest homed on node h and driving a device on node d:
//     score(n) = distance(n, h) / 10 + device_weight * distance(n, d) / 10
// (distance(n, h): from a CPU on n to memory on h, the SLIT's row-to-column reading, which matters
// when the matrix is asymmetric).
// (the device term is absent when the task drives no device or the device's node is unknown).
// Home-first is a rule, not an outcome of the score: with a device on a third node the score can
// favour a remote node near the device (10 + w*d(d,h) > d(h,n) + w*d(d,n) when d(d,h) is large).
// Among remote nodes, the device's node breaks distance ties.
//
// A task with no node to go to (no node has an online pVM vCPU) is left where it is; its decision
// record says so. A task whose home is full leaves it for the nearest node with room (spill), and
// comes back as soon as home has room again (tasks away from home are decided first); its records
// say which (reason::spilled, reason::back_home).
//
// Stability: a task already on node c stays there while c is within (1 + hysteresis) of its
// capacity and the best candidate does not improve the score by more than hysteresis * score(c);
// at most migration_budget tasks move per decision (tasks stranded on a node that has no online
// pVM vCPU left always move and do not count).
//
// State: decide() keeps the per-node load accounting and a per-guest index of tasks, so that
// replan() after one guest's load changed only re-decides that guest's tasks (O(tasks of the
// guest + nodes)). replan() assumes the pVM's vCPUs, the topology and the task list are those of
// the last decide() (the controller calls decide() every round; replan() is for event-driven use
// between rounds) and falls back to a full decide() when it can tell they are not.
#pragma once

#include <pvmkit/model/host_view.hpp>
#include <pvmkit/core/error.hpp>
#include <pvmkit/core/ids.hpp>
#include <pvmkit/model/decision.hpp>
#include <pvmkit/placement/concepts.hpp>
#include <pvmkit/model/locality.hpp>
#include <pvmkit/model/plan.hpp>
#include <pvmkit/topology/topology.hpp>

#include <algorithm>
#include <cmath>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pvmkit::placement {

// Why Closer put a task where it did: the short form goes with the plan's step, the long form in
// the decision record.
enum class closer_reason : std::uint8_t {
  home_has_room,    // at home, with room there
  back_home,        // was away (spilled or misplaced); home has room again
  spilled,          // home has no room: the nearest node with room
  hysteresis,       // a better node exists, but not better enough to move
  budget_spent,     // would move, but this decision's migration budget is spent
  follows_backend,  // an interrupt goes where its backend task is
  least_loaded,     // no node has room: the least loaded node with pVM vCPUs
  no_pvm_vcpu,      // no node has an online pVM vCPU: left where it is
};

[[nodiscard]] constexpr std::string_view to_string(closer_reason r) noexcept {
  switch (r) {
    case closer_reason::home_has_room: return "home node";
    case closer_reason::back_home: return "back home";
    case closer_reason::spilled: return "home full: nearest w/ room";
    case closer_reason::hysteresis: return "hysteresis";
    case closer_reason::budget_spent: return "budget spent";
    case closer_reason::follows_backend: return "follows backend";
    case closer_reason::least_loaded: return "least loaded";
    case closer_reason::no_pvm_vcpu: return "no pVM vCPU";
  }
  return "no pVM vCPU";
}

[[nodiscard]] constexpr std::string_view describe(closer_reason r, bool stays) noexcept {
  switch (r) {
    case closer_reason::home_has_room: return stays ? "home node has room; stays" : "home node has room";
    case closer_reason::back_home: return "back home: its home node has room again";
    case closer_reason::spilled: return "home node lacks spare pVM capacity: nearest node with room";
    case closer_reason::hysteresis: return "stays: the best node's gain is below the hysteresis threshold";
    case closer_reason::budget_spent: return "stays: the migration budget of this decision is spent";
    case closer_reason::follows_backend: return "an interrupt follows the backend task it serves";
    case closer_reason::least_loaded: return "no node has room: the least loaded node with pVM vCPUs";
    case closer_reason::no_pvm_vcpu: return "no online pVM vCPU is pinned to any node: left where it is";
  }
  return "no online pVM vCPU is pinned to any node: left where it is";
}

class closer {
 public:
  using family = placement_family;

  struct options {
    // Share of a pVM vCPU's time the tasks placed on it may fill; the rest absorbs bursts within
    // one control period. 0.8 is the usual headroom of CPU autoscalers.
    double target_utilisation = 0.8;
    // Weight of the distance to the device's node against the distance to the guest's node.
    double device_weight = 0.5;
    // Relative score gain (and relative capacity overshoot) a placed task tolerates before moving.
    double hysteresis = 0.15;
    // Task moves per decision; initial placements of unplaced tasks are not moves.
    std::size_t migration_budget = 32;
    // On a full node (no more vCPUs can come): the share of its cores its own guests' work may be
    // placed into, and the share of busy time from which it counts as saturated (its measured
    // load then only a lower bound of the work it is asked for). Neither goes below the one
    // before it: full_utilisation is at least target_utilisation, saturation at least both.
    double full_utilisation = 0.95;
    double saturation = 0.98;

    void validate() const {
      if (!(target_utilisation > 0 && target_utilisation <= 1))
        throw config_error("closer: target_utilisation must be in (0, 1], got " + std::to_string(target_utilisation));
      if (!(device_weight >= 0 && device_weight <= 10))
        throw config_error("closer: device_weight must be in [0, 10], got " + std::to_string(device_weight));
      if (!(hysteresis >= 0 && hysteresis < 1))
        throw config_error("closer: hysteresis must be in [0, 1), got " + std::to_string(hysteresis));
      if (!(full_utilisation > 0 && full_utilisation <= 1))
        throw config_error("closer: full_utilisation must be in (0, 1], got " + std::to_string(full_utilisation));
      if (!(saturation > 0 && saturation <= 1))
        throw config_error("closer: saturation must be in (0, 1], got " + std::to_string(saturation));
    }
  };

  closer() = default;
  explicit closer(options o) : opts_(o) { opts_.validate(); }

  [[nodiscard]] std::string_view name() const noexcept { return "closer"; }
  [[nodiscard]] const options& config() const noexcept { return opts_; }

  [[nodiscard]] plan decide(const host_view& view, decision_log& log) {
    plan p;
    decide(view, log, p);
    return p;
  }
  // The same steps, added to the end of `p` (AppendingPolicy: the controller's round plan).
  void decide(const host_view& view, decision_log& log, plan& p) {
    const bool new_topology = view.topo != topo_;
    topo_ = view.topo;
    const topology& topo = *topo_;
    const std::size_t n_nodes = topo.node_count();
    if (new_topology) all_cpus_span_ = !node_of(topo, topo.cpus()).valid();

    layout_.build(topo, view.pvm);
    nodes_.resize(n_nodes);
    for (std::size_t n = 0; n < n_nodes; ++n) {
      nodes_[n].vcpus = layout_.online[n];
      nodes_[n].cpus = layout_.cpus[n];
      nodes_[n].load = 0;
      nodes_[n].guest_cpu = 0;
      nodes_[n].host_cpus = static_cast<double>(topo.nodes()[n].cpus.size());
    }
    index_guests(view);
    // Floating vCPUs are pinned before the tasks are located, so that each task is located once,
    // against the node CPU sets the plan leaves.
    if (!layout_.floating.empty()) pin_floating_vcpus(view, p, log);
    index_tasks(view, new_topology);
    for (std::size_t n = 0; n < n_nodes; ++n) {
      node_acc& acc = nodes_[n];
      const double free = std::max(0.0, acc.host_cpus - acc.guest_cpu);
      const double cores = std::min(static_cast<double>(acc.vcpus), free);
      const bool full = static_cast<double>(acc.vcpus) + eps >= std::floor(free + eps);
      const double full_u = std::max(opts_.target_utilisation, opts_.full_utilisation);
      acc.foreign_limit = cores * opts_.target_utilisation + eps;
      acc.capacity = full ? cores * full_u : cores * opts_.target_utilisation;
      acc.keep_limit = (full ? std::min(cores * std::max(opts_.saturation, full_u), acc.capacity * (1 + opts_.hysteresis))
                             : acc.capacity * (1 + opts_.hysteresis)) + eps;
    }

    // Every placed task, interrupts too, is accounted where it runs, so each decision sees all the
    // load, as replan() does (it starts from the accounting this pass leaves). Order:
    // tasks away from home first (they go home when there is room, and leave an overloaded node
    // first), then unplaced ones, then tasks at home: those on nodes within the hysteresis band
    // stay, those on overloaded nodes are decided best fit first (see below). Interrupts go last:
    // they follow their backend.
    std::size_t budget = opts_.migration_budget;
    const std::size_t n_tasks = tasks_.size();
    // An unplaced task gets its CPUs and its memory node: a first plan is two steps per task.
    if (stage_count_[stage_unplaced] > 0) p.reserve(p.size() + 2 * std::size_t{stage_count_[stage_unplaced]});
    // (A task's load is the view's, read by index_tasks; passes with no task in them are skipped.)
    if (stage_count_[stage_away] > 0)
      for (std::size_t i = 0; i < n_tasks; ++i)
        if (tasks_[i].stage == stage_away) place(view, i, tasks_[i].load, budget, p, log);
    if (stage_count_[stage_unplaced] > 0)
      for (std::size_t i = 0; i < n_tasks; ++i)
        if (tasks_[i].stage == stage_unplaced) place(view, i, tasks_[i].load, budget, p, log);
    order_.clear();
    const bool explain = log.enabled();
    // Raw pointers: nothing in this pass resizes these tables, which the compiler cannot see
    // through the calls to choose().
    task_acc* const ta = tasks_.data();
    node_acc* const na = nodes_.data();
    // A settled host's common case needs no pass over the tasks at home: each stays (the fast path
    // below) and has nothing to emit, when no node is over its band and none is without vCPUs.
    bool home_pass = stage_count_[stage_home] > 0 && (explain || !home_settled_);
    for (std::size_t n = 0; n < nodes_.size() && !home_pass; ++n) home_pass = na[n].load > na[n].keep_limit;
    for (std::size_t i = 0; i < n_tasks && home_pass; ++i) {
      task_acc& a = ta[i];
      if (a.stage != stage_home) continue;
      node_acc& acc = na[a.node.index()];
      if (acc.load > acc.keep_limit) {
        order_.push_back(static_cast<std::uint32_t>(i));
        continue;
      }
      if (explain || acc.vcpus == 0) {
        place(view, i, a.load, budget, p, log);
        continue;
      }
      // place()'s fast path: at home on a node within its band, it stays. Its load is accounted
      // there already; taking it off and adding it back would change nothing but the rounding.
      if (!a.exact || a.mem != a.node) {
        const bool unchanged = a.exact;
        a.exact = true;
        emit(view.tasks[i], a.node, unchanged, closer_reason::home_has_room, p);
      }
    }
    if (!order_.empty()) {
      // Best fit: on each overloaded node the tasks no heavier than its excess go first, heaviest
      // first, then the others lightest first; so what leaves is little more than the excess, in
      // few moves (heaviest-first alone would send a whole big task away for a small excess).
      auto key = [&](std::uint32_t i) {
        const task_acc& a = tasks_[i];
        const node_acc& acc = nodes_[a.node.index()];
        const double excess = acc.load - acc.keep_limit;
        return a.load <= excess ? std::pair{0, -a.load} : std::pair{1, a.load};
      };
      std::stable_sort(order_.begin(), order_.end(), [&](std::uint32_t x, std::uint32_t y) { return key(x) < key(y); });
      for (std::uint32_t i : order_) place(view, i, tasks_[i].load, budget, p, log);
    }
    if (stage_count_[stage_irq] > 0)
      for (std::size_t i = 0; i < n_tasks; ++i)
        if (tasks_[i].stage == stage_irq) place(view, i, tasks_[i].load, budget, p, log);
    planned_ = true;
  }

  [[nodiscard]] plan replan(const host_view& view, domain_id changed, decision_log& log) {
    if (!planned_ || view.topo != topo_ || view.tasks.size() != tasks_.size()) return decide(view, log);
    const std::uint32_t slot = slot_of(changed);
    if (slot == npos) return decide(view, log);
    auto& g = guests_[slot];
    if (g.view_index >= view.guests.size() || view.guests[g.view_index].id != changed) return decide(view, log);
    for (std::uint32_t k = g.first; k < g.first + g.count; ++k) {
      auto& a = tasks_[members_[k]];
      if (view.tasks[members_[k]].id != a.id) return decide(view, log);
      bool exact = false;
      a.exact = current_node(view.tasks[members_[k]], exact) == a.node && exact;  // was the last plan applied?
      a.mem = view.tasks[members_[k]].memory_node;
    }
    g.home = guest_home(*topo_, view.guests[g.view_index]);
    plan p;
    std::size_t budget = opts_.migration_budget;
    for (std::uint32_t k = g.first; k < g.first + g.count; ++k)
      if (!tasks_[members_[k]].irq) place(view, members_[k], view.tasks[members_[k]].cpu_load, budget, p, log);
    for (std::uint32_t k = g.first; k < g.first + g.count; ++k)
      if (tasks_[members_[k]].irq) place(view, members_[k], view.tasks[members_[k]].cpu_load, budget, p, log);
    return p;
  }

  // The accounting left by the last decide()/replan(): cores of pVM work placed on a node, and
  // the cores it may take (online pVM vCPUs there * target utilisation).
  [[nodiscard]] double node_load(node_id n) const { return n.index() < nodes_.size() ? nodes_[n.index()].load : 0.0; }
  [[nodiscard]] double node_capacity(node_id n) const {
    return n.index() < nodes_.size() ? nodes_[n.index()].capacity : 0.0;
  }

 private:
  static constexpr std::uint32_t npos = std::numeric_limits<std::uint32_t>::max();
  static constexpr double eps = 1e-9;

  struct node_acc {
    double load = 0;
    double capacity = 0;
    double guest_cpu = 0;   // cores its guests' own vCPUs use: CPUs the pVM cannot have
    double keep_limit = 0;  // the load a placed task stays under (see the header comment)
    double foreign_limit = 0;  // the load up to which it takes work homed elsewhere
    double host_cpus = 0;      // the node's CPUs
    std::size_t vcpus = 0;
    cpuset cpus;
  };
  struct guest_acc {
    domain_id id;
    std::uint32_t view_index = 0;
    node_id home;
    std::uint32_t first = 0;
    std::uint32_t count = 0;
  };
  enum task_stage : std::uint8_t { stage_away, stage_unplaced, stage_home, stage_irq };
  struct task_acc {
    task_id id;
    node_id node;  // where it runs (before its decision) or was placed (after)
    double load = 0;
    std::uint32_t guest = npos;
    node_id dev;                             // node of the device it drives, if known
    node_id mem;                             // its memory node in the view
    std::uint16_t dev_index = 0xffff;        // that device in topology::devices() (a lookup cache)
    task_stage stage = stage_unplaced;            // when decide() decides it
    bool irq = false;
    bool accounted = false;                  // its load is in nodes_[node].load
    bool exact = false;                      // its affinity is exactly the CPUs of the node's pVM vCPUs
  };

  [[nodiscard]] std::uint32_t slot_of(domain_id d) const noexcept {
    return d.valid() && d.index() < slot_by_domain_.size() ? slot_by_domain_[d.index()] : npos;
  }

  // One pass over the view's guests (each a 184-byte record: a second pass costs a cache miss
  // per guest). The domain-id table keeps the largest size seen, cleared each round.
  void index_guests(const host_view& view) {
    std::fill(slot_by_domain_.begin(), slot_by_domain_.end(), npos);
    // Written in place, trimmed to the valid ids below; first/count stay from the last grouping,
    // which index_tasks() redoes unless every task maps to the same slot as before.
    const std::size_t old_slots = guests_.size();
    guests_.resize(view.guests.size());
    std::uint32_t slots = 0;
    const std::size_t n_nodes = topo_->node_count();
    for (std::size_t i = 0; i < view.guests.size(); ++i) {
      const auto& g = view.guests[i];
      if (!g.id.valid()) continue;
      if (g.id.index() >= slot_by_domain_.size()) slot_by_domain_.resize(g.id.index() + 1, npos);
      slot_by_domain_[g.id.index()] = slots;
      auto& acc = guests_[slots++];
      acc.id = g.id;
      acc.view_index = static_cast<std::uint32_t>(i);
      acc.home = guest_home(*topo_, g, n_nodes);
      nodes_[acc.home.index()].guest_cpu += g.cpu_load;
    }
    guests_.resize(slots);
    if (slots != old_slots) grouped_ = false;
  }

  // One pass over the view's tasks: guest, load, device node, where each runs now (accounted
  // there) and in which stage it is decided; then the tasks grouped by guest (counting sort, redone
  // only when some task's guest changed), so replan() finds a guest's tasks directly.
  void index_tasks(const host_view& view, bool topology_changed) {
    const std::size_t n_tasks = view.tasks.size();
    if (tasks_.size() != n_tasks) grouped_ = false;
    tasks_.resize(n_tasks);
    // Raw pointers: the stores into the accounting would otherwise make the compiler reload every
    // vector's data pointer for each task.
    const pvm_task* const vt = view.tasks.data();
    task_acc* const ta = tasks_.data();
    node_acc* const na = nodes_.data();
    const std::size_t n_nodes = nodes_.size();
    const guest_acc* const ga = guests_.data();
    const std::uint32_t* const slots = slot_by_domain_.data();
    const std::size_t n_slots = slot_by_domain_.size();
    // Counters in registers: an array indexed by stage would be one store-to-load chain through
    // every task.
    std::uint32_t n_away = 0, n_unplaced = 0, n_home = 0, n_irq = 0;
    std::uint32_t home_dirty = 0;  // tasks at home whose CPU set or memory node is not exactly that node's
    std::uint32_t home_idle = 0;   // tasks at home on a node with no online pVM vCPU
    bool grouped = grouped_;
    for (std::size_t i = 0; i < n_tasks; ++i) {
      const pvm_task& t = vt[i];
      task_acc& a = ta[i];
      // An invalid guest id is the largest index, beyond the table.
      const std::uint32_t slot = t.guest.index() < n_slots ? slots[t.guest.index()] : npos;
      grouped = grouped && slot == a.guest;
      a.guest = slot;
      a.load = t.cpu_load;
      const bool same_task = a.id == t.id;
      if (!same_task || !device_matches(a, t)) [[unlikely]]
        find_device(a, t);
      else if (topology_changed) [[unlikely]]
        a.dev = a.dev_index == no_device ? node_id::invalid() : topo_->devices()[a.dev_index].node;
      a.id = t.id;
      a.irq = t.kind == task_kind::irq;
      a.mem = t.memory_node;
      // Where it runs: tried on the node it was placed on last time first (a non-empty set equals
      // the pVM CPU set of at most one node, so the answer is current_node()'s).
      node_id node = node_id::invalid();
      bool exact = false;
      if (same_task && a.node.index() < n_nodes) {
        const cpuset& there = na[a.node.index()].cpus;
        if (!there.empty() && t.affinity == there) {
          node = a.node;
          exact = true;
        }
      }
      if (!exact) [[unlikely]]
        node = current_node(t, exact);
      a.node = node;
      a.exact = exact;
      a.accounted = node.valid();
      const node_id home = task_home(a, ga);
      if (node.valid()) [[likely]] {
        node_acc& acc = na[node.index()];
        acc.load += a.load;
        if (a.irq) {
          a.stage = stage_irq;
          ++n_irq;
        } else if (node == home) [[likely]] {
          a.stage = stage_home;
          ++n_home;
          home_dirty += !exact || a.mem != node ? 1U : 0U;
          home_idle += acc.vcpus == 0 ? 1U : 0U;
        } else {
          a.stage = stage_away;
          ++n_away;
        }
      } else {
        a.stage = a.irq ? stage_irq : stage_unplaced;
        ++(a.irq ? n_irq : n_unplaced);
      }
    }
    stage_count_ = {n_away, n_unplaced, n_home, n_irq};
    home_settled_ = home_dirty == 0 && home_idle == 0;
    grouped_ = grouped;
    if (!grouped_) group_by_guest();
  }
  void group_by_guest() {
    for (auto& g : guests_) g.count = 0;
    for (const auto& a : tasks_)
      if (a.guest != npos) ++guests_[a.guest].count;
    std::uint32_t at = 0;
    for (auto& g : guests_) {
      g.first = at;
      at += g.count;
      g.count = 0;
    }
    members_.resize(at);
    for (std::size_t i = 0; i < tasks_.size(); ++i)
      if (const std::uint32_t slot = tasks_[i].guest; slot != npos) {
        auto& g = guests_[slot];
        members_[g.first + g.count++] = static_cast<std::uint32_t>(i);
      }
    grouped_ = true;
  }

  static constexpr std::uint16_t no_device = std::numeric_limits<std::uint16_t>::max();

  [[nodiscard]] bool device_matches(const task_acc& a, const pvm_task& t) const noexcept {
    if (a.dev_index == no_device) return t.device.empty();
    if (a.dev_index >= topo_->devices().size()) return false;
    const std::string& name = topo_->devices()[a.dev_index].name;
    return name.size() == t.device.size() && same_chars(name.data(), t.device.data(), name.size());
  }
  // Device names are short ("eth0"): 4 to 8 characters are two overlapping 4-byte compares, fewer
  // a plain loop; both beat a call to memcmp.
  [[nodiscard]] static bool same_chars(const char* x, const char* y, std::size_t n) noexcept {
    if (n >= 4 && n <= 8) {
      std::uint32_t x0, y0, x1, y1;
      std::memcpy(&x0, x, 4);
      std::memcpy(&y0, y, 4);
      std::memcpy(&x1, x + n - 4, 4);
      std::memcpy(&y1, y + n - 4, 4);
      return ((x0 ^ y0) | (x1 ^ y1)) == 0;
    }
    for (std::size_t k = 0; k < n; ++k)
      if (x[k] != y[k]) return false;
    return true;
  }
  [[gnu::noinline]] void find_device(task_acc& a, const pvm_task& t) const noexcept {
    a.dev_index = find_device_index(t);
    a.dev = a.dev_index == no_device ? node_id::invalid() : topo_->devices()[a.dev_index].node;
  }
  [[nodiscard]] std::uint16_t find_device_index(const pvm_task& t) const noexcept {
    if (t.device.empty()) return no_device;
    const auto& devs = topo_->devices();
    for (std::size_t k = 0; k < devs.size() && k < no_device; ++k) {
      const std::string& name = devs[k].name;
      if (name.size() == t.device.size() && same_chars(name.data(), t.device.data(), name.size()) && devs[k].node.valid())
        return static_cast<std::uint16_t>(k);
    }
    return no_device;
  }

  // Online pVM vCPUs that float over several nodes are pinned to one node each, to the node whose
  // guests' demand is least covered (demand / target utilisation - vCPUs there), so that the
  // capacity follows the work.
  // Runs before the tasks are indexed: the demand is read from the view (the guests are indexed).
  void pin_floating_vcpus(const host_view& view, plan& p, decision_log& log) {
    const topology& topo = *topo_;
    std::vector<double>& demand = demand_;
    demand.assign(topo.node_count(), 0.0);
    for (const auto& t : view.tasks)
      if (const std::uint32_t slot = slot_of(t.guest); slot != npos)
        demand[topo.nearest_cpu_node(guests_[slot].home).index()] += t.cpu_load;  // a memory-only home's work runs next door
    // Per node, the vCPUs its demand wants and those it has, as the doubles the scan compares (the
    // same values as computing them for each vCPU, without the conversions).
    std::vector<double>& wanted = wanted_;
    std::vector<double>& has = has_;
    wanted.resize(nodes_.size());
    has.resize(nodes_.size());
    for (std::size_t n = 0; n < nodes_.size(); ++n) {
      wanted[n] = demand[n] / opts_.target_utilisation;
      has[n] = static_cast<double>(nodes_[n].vcpus);
    }
    for (vcpu_id v : layout_.floating) {
      std::size_t best = 0;
      double best_gap = -std::numeric_limits<double>::infinity();
      double best_density = 0;
      for (std::size_t n = 0; n < nodes_.size(); ++n) {
        if (nodes_[n].host_cpus == 0) continue;  // memory only: no CPU to pin to
        const double gap = wanted[n] - has[n];
        const double density = has[n] / nodes_[n].host_cpus;
        if (gap > best_gap + eps || (gap > best_gap - eps && density < best_density - eps)) {
          best = n;
          best_gap = gap;
          best_density = density;
        }
      }
      has[best] += 1;
      const auto& cpus = topo.nodes()[best].cpus;
      p.add(set_vcpu_affinity{view.pvm.id, v, cpus}, "pin to a node");
      ++nodes_[best].vcpus;
      nodes_[best].cpus |= cpus;
      if (log.enabled())
        log.add({std::string{name()}, "pVM vCPU " + std::to_string(v.value()),
                 {{"demand", std::to_string(demand[best])}}, {}, node_label(node_id{static_cast<node_id::rep>(best)}),
                 "floating vCPU pinned to the node whose demand is least covered"});
    }
  }

  [[nodiscard]] node_id current_node(const pvm_task& t, bool& exact) const {
    exact = false;
    // An unplaced task's set is every CPU: on a host with CPUs on several nodes, in no node.
    if (all_cpus_span_ && t.affinity == topo_->cpus()) return node_id::invalid();
    const auto first = t.affinity.first();
    if (!first) return node_id::invalid();
    const node_id n = topo_->node_of(*first);
    // A set that spans nodes lies in no node and equals no node's pVM CPU set (a subset of that
    // node's CPUs): decided from its first and last CPUs.
    if (!n.valid() || topo_->node_of(cpu_id{static_cast<cpu_id::rep>(t.affinity.extent() - 1)}) != n)
      return node_id::invalid();
    if (t.affinity == nodes_[n.index()].cpus) {
      exact = true;
      return n;
    }
    return node_of(*topo_, t.affinity);
  }


  // The node a task is scored from: its guest's home; for pVM-wide work the node of the device it
  // drives, else where it runs now (invalid when unplaced: the caller picks the least loaded).
  [[nodiscard]] node_id task_home(const task_acc& a) const noexcept { return task_home(a, guests_.data()); }
  // The same over the guests' table as a raw pointer (the accounting pass keeps it in a register).
  [[nodiscard]] static node_id task_home(const task_acc& a, const guest_acc* guests) noexcept {
    if (a.guest != npos) return guests[a.guest].home;
    return a.dev.valid() ? a.dev : a.node;
  }

  // The node an interrupt follows: its guest's backend task for the same device (or any backend
  // of the guest when none drives that device).
  [[nodiscard]] node_id backend_node(const host_view& view, const task_acc& irq, const pvm_task& t) const {
    if (irq.guest == npos) return node_id::invalid();
    const auto& g = guests_[irq.guest];
    node_id any = node_id::invalid();
    for (std::uint32_t k = g.first; k < g.first + g.count; ++k) {
      const auto& other = view.tasks[members_[k]];
      const node_id n = tasks_[members_[k]].node;
      if (other.kind == task_kind::irq || !n.valid()) continue;
      if (!t.device.empty() && other.device == t.device) return n;
      if (!any.valid()) any = n;
    }
    return any;
  }

  // Decides task i with its current load. The fast paths are choose()'s answer when home has room
  // (home first: nothing else to score): a settled host's common case, a task at home that still
  // fits there, and a first plan's, an unplaced task whose home has room. They read no view record
  // unless something is emitted. Inlined into each pass: a call per task costs more than the fast
  // path itself.
  [[gnu::always_inline]] void place(const host_view& view, std::size_t i, double load, std::size_t& budget, plan& p,
                                    decision_log& log) {
    task_acc& a = tasks_[i];
    const node_id cur = a.node;
    if (cur.valid() && a.accounted) nodes_[cur.index()].load -= a.load;
    a.accounted = false;
    a.load = load;
    if (!a.irq && !log.enabled()) {
      const node_id home = task_home(a);
      if (cur.valid() && cur == home) {
        const auto& acc = nodes_[cur.index()];
        if (acc.vcpus > 0 && acc.load + load <= acc.keep_limit) {
          settle(view, i, cur, closer_reason::home_has_room, p);
          return;
        }
      } else if (!cur.valid() && home.valid()) {
        // choose(): home is the first node scored, and its room is capacity + eps (not its own node).
        const auto& acc = nodes_[home.index()];
        if (acc.vcpus > 0 && acc.load + load <= acc.capacity + eps) {
          settle(view, i, home, closer_reason::home_has_room, p);
          return;
        }
      }
    }
    choose(view, i, budget, p, log);
  }

  // The scored decision of task i (its old load already taken off its node, its new load in a.load).
  void choose(const host_view& view, std::size_t i, std::size_t& budget, plan& p, decision_log& log) {
    const topology& topo = *topo_;
    const pvm_task& t = view.tasks[i];
    task_acc& a = tasks_[i];
    const node_id cur = a.node;
    const double load = a.load;
    const node_id dev = a.dev;
    node_id home = task_home(a);
    if (!home.valid()) home = least_loaded();
    const double w = dev.valid() ? opts_.device_weight : 0.0;
    auto score = [&](node_id n) {
      return (static_cast<double>(topo.distance(n, home)) + (dev.valid() ? w * static_cast<double>(topo.distance(n, dev)) : 0.0)) /
             static_cast<double>(local_distance);
    };
    auto fits = [&](node_id n) {
      const auto& acc = nodes_[n.index()];
      if (acc.vcpus == 0) return false;
      const double cap = n == cur ? acc.keep_limit : n == home ? acc.capacity + eps : acc.foreign_limit;
      return acc.load + load <= cap;
    };


    const bool explain = log.enabled();
    std::optional<decision_record> rec;  // only when explaining: its strings cost more than the choice
    if (explain) rec.emplace();
    node_id choice = node_id::invalid();
    double best_score = std::numeric_limits<double>::infinity();
    closer_reason why = closer_reason::no_pvm_vcpu;

    const node_id follow = a.irq ? backend_node(view, a, t) : node_id::invalid();
    if (follow.valid()) {
      choice = follow;
      why = closer_reason::follows_backend;
      if (explain) rec->candidates.push_back({node_label(follow), score(follow), "node of its backend task"});
    } else if (!home.valid()) {
      // Unplaced pVM-wide work and no node with an online pVM vCPU to score from or go to.
      choice = cur;
      why = closer_reason::no_pvm_vcpu;
    } else {
      bool home_fits = false;
      for (node_id n : topo.nearest_to(home)) {  // home first, then nearest first
        const double lower_bound =
            static_cast<double>(topo.distance(n, home)) / static_cast<double>(local_distance) + w;
        if (!explain && (home_fits || lower_bound >= best_score)) break;
        const double s = score(n);
        const bool ok = fits(n);
        if (explain) {
          const auto& acc = nodes_[n.index()];
          rec->candidates.push_back({node_label(n), s,
                                    (ok ? "room: " : "full: ") + std::to_string(acc.load) + " + " + std::to_string(load) +
                                        " of " + std::to_string(acc.capacity) + " cores"});
        }
        if (ok && !home_fits && (n == home || s < best_score)) {
          choice = n;
          best_score = s;
          home_fits = n == home;
        }
      }
      if (choice.valid()) {
        why = choice != home                   ? closer_reason::spilled
              : cur.valid() && cur != home ? closer_reason::back_home
                                           : closer_reason::home_has_room;
      } else {
        choice = least_loaded(load);
        why = choice.valid() ? closer_reason::least_loaded : closer_reason::no_pvm_vcpu;
        if (choice.valid()) best_score = score(choice);
      }
      // Hysteresis: a placed task that still fits where it is moves only for a clear gain.
      if (cur.valid() && choice.valid() && choice != cur && fits(cur)) {
        const double here = score(cur);
        if (here - best_score < opts_.hysteresis * here) {
          choice = cur;
          why = closer_reason::hysteresis;
        }
      }
      if (!choice.valid()) choice = cur;
    }
    // A move off a node that still has pVM vCPUs is optional, so it is bounded by the budget.
    if (cur.valid() && choice != cur && nodes_[cur.index()].vcpus > 0) {
      if (budget == 0) {
        choice = cur;
        why = closer_reason::budget_spent;
      } else {
        --budget;
      }
    }

    if (choice.valid()) settle(view, i, choice, why, p);
    else a.node = choice;
    if (explain) {
      rec->policy = std::string{name()};
      rec->subject = "task " + std::to_string(t.id.value()) + " (" + t.name + ")";
      rec->inputs = {{"kind", std::string{to_string(t.kind)}},
                    {"guest", t.guest.valid() ? std::to_string(t.guest.value()) : std::string{"none"}},
                    {"home", node_label(home)},
                    {"device", t.device.empty() ? std::string{"none"} : t.device},
                    {"device_node", node_label(dev)},
                    {"load", std::to_string(load)},
                    {"current", node_label(cur)}};
      rec->choice = node_label(choice);
      rec->reason = std::string{describe(why, cur == choice)};
      log.add(std::move(*rec));
    }
  }

  // Accounts the task on `choice` and emits what differs from the view.
  // The view's record is read only when something may differ.
  [[gnu::always_inline]] void settle(const host_view& view, std::size_t i, node_id choice, closer_reason why, plan& p) {
    task_acc& a = tasks_[i];
    nodes_[choice.index()].load += a.load;
    const bool unchanged = choice == a.node && a.exact;  // already compared when it was located
    a.node = choice;
    a.accounted = true;
    a.exact = true;
    if (!unchanged || a.mem != choice) emit(view.tasks[i], choice, unchanged, why, p);
  }
  void emit(const pvm_task& t, node_id choice, bool unchanged, closer_reason why, plan& p) {
    const cpuset& cpus = nodes_[choice.index()].cpus;
    if (!unchanged && t.affinity != cpus && !cpus.empty()) p.add(set_task_affinity{t.id, cpus}, to_string(why));
    if (t.memory_node != choice) p.add(set_task_memory_node{t.id, choice}, to_string(why));
  }

  // The node with pVM vCPUs whose utilisation after adding `load` is lowest.
  [[nodiscard]] node_id least_loaded(double load = 0) const noexcept {
    node_id best = node_id::invalid();
    double best_ratio = std::numeric_limits<double>::infinity();
    for (std::size_t n = 0; n < nodes_.size(); ++n) {
      if (nodes_[n].vcpus == 0) continue;
      const double ratio = (nodes_[n].load + load) / static_cast<double>(nodes_[n].vcpus);
      if (ratio < best_ratio - eps) {
        best_ratio = ratio;
        best = node_id{static_cast<node_id::rep>(n)};
      }
    }
    return best;
  }

  options opts_;
  std::shared_ptr<const topology> topo_;
  pvm_vcpu_layout layout_;
  std::vector<node_acc> nodes_;
  std::vector<guest_acc> guests_;
  std::vector<std::uint32_t> slot_by_domain_;
  std::vector<std::uint32_t> members_;
  std::vector<task_acc> tasks_;
  std::array<std::uint32_t, 4> stage_count_{};  // tasks per stage, from the last index pass
  std::vector<std::uint32_t> order_;  // scratch: tasks on overloaded home nodes
  std::vector<double> demand_, wanted_, has_;  // scratch: per node, for pinning floating vCPUs
  bool planned_ = false;
  bool all_cpus_span_ = false;  // the topology's CPUs are on more than one node
  bool home_settled_ = false;  // every task at home is exactly on its node, which has pVM vCPUs
  bool grouped_ = false;  // members_ and guests_[].first/count match tasks_[].guest
};

static_assert(PlacementPolicy<closer>);
static_assert(IncrementalPlacement<closer>);
static_assert(AppendingPolicy<closer>);

}  // namespace pvmkit::placement
