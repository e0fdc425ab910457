// mock_host: a deterministic in-memory host for tests, benchmarks and the simulator. It validates
// requests the way a hypervisor would, records every call, and fails on demand.
#pragma once

#include <pvmkit/backend/concepts.hpp>
#include <pvmkit/model/host_view.hpp>
#include <pvmkit/core/error.hpp>
#include <pvmkit/core/id_set.hpp>
#include <pvmkit/core/ids.hpp>
#include <pvmkit/core/result.hpp>
#include <pvmkit/core/units.hpp>
#include <pvmkit/topology/topology.hpp>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace pvmkit {

struct mock_pvm_spec {
  std::size_t vcpus = 0;  // 0 = one per host CPU, like an unconfigured dom0
  bytes memory{};         // 0 = 1 GiB spread evenly over the nodes
  // A KVM host's pVM (docs/kvm.md): vCPU v is the host's v-th CPU, pinned there for good (an
  // affinity without that CPU is not_supported, one with it changes nothing), online = reserved
  // for pVM work, and at boot only the first CPU is reserved. The host's threads may be pinned to
  // any CPU, reserved or not. `vcpus` must then be 0 or the host's CPU count.
  bool host_cpus = false;
  bool can_cap = true;  // false: no CPU cap (cpu_cap not reported, set_cpu_cap not_supported)
};

struct mock_guest_spec {
  std::string name;
  std::size_t vcpus = 1;
  node_id home{0};
  bytes memory{512ULL << 20};
  std::vector<bytes> memory_per_node;  // overrides `memory` on `home` when the guest is split
  bool recycles_rx_pages = false;      // advertises informed flipping
};

struct mock_task_spec {
  std::string name;
  task_kind kind = task_kind::other;
  domain_id guest;
  std::string device;
  double cpu_load = 0;
};

struct mock_call {
  std::string name;
  std::string args;
  std::error_code error;  // set when the call failed (validation or injection)
};

class mock_host {
 public:
  explicit mock_host(pvmkit::topology topo, mock_pvm_spec pvm = {})
      : topo_(std::make_shared<const pvmkit::topology>(std::move(topo))) {
    const auto& t = *topo_;
    // Nodes are dense and in id order (topology checks it). push_back rather than resize: g++ 12
    // at -O3 reports a false "potential null pointer dereference" in resize here.
    for (const auto& n : t.nodes()) free_pages_.push_back(to_pages(n.free_memory).count());
    dom_state d;
    d.view.id = pvm_domain;
    d.view.name = "pvm";
    const std::size_t vcpus = pvm.vcpus ? pvm.vcpus : t.cpu_count();
    if (pvm.host_cpus && vcpus != t.cpu_count())
      throw config_error("a KVM host's pVM has one vCPU per host CPU (" + std::to_string(t.cpu_count()) + "), not " +
                         std::to_string(vcpus));
    host_cpus_ = pvm.host_cpus;
    can_cap_ = pvm.can_cap;
    auto cpu = t.cpus().begin();
    for (std::size_t i = 0; i < vcpus; ++i) {
      const cpuset own = host_cpus_ ? cpuset{*cpu++} : t.cpus();
      d.view.vcpus.push_back({vcpu_id{static_cast<vcpu_id::rep>(i)}, !host_cpus_ || i == 0, own, own});
    }
    const bytes mem = pvm.memory.count() ? pvm.memory : bytes{1ULL << 30};
    std::vector<bytes> split(t.node_count(), mem / t.node_count());
    d.pages_on_node.assign(t.node_count(), 0);
    for (std::size_t i = 0; i < t.node_count(); ++i) take_node_pages(d, i, to_pages(split[i]).count(), "pvm");
    d.view.max_memory = t.total_memory();
    d.view.memory_target = pages{total(d)}.to_bytes();
    for (const auto& n : t.nodes()) d.view.node_affinity.insert(n.id);
    if (can_cap_) d.view.cpu_cap = 0;
    doms_.push_back(std::move(d));
  }

  // ---- building the host (throws config_error: these are test and scenario set-up) ----------

  domain_id add_guest(const mock_guest_spec& spec) {
    const auto& t = *topo_;
    if (!t.has_node(spec.home)) throw config_error("guest '" + spec.name + "': home node does not exist");
    if (spec.vcpus == 0) throw config_error("guest '" + spec.name + "': needs at least one vCPU");
    std::vector<bytes> mem = spec.memory_per_node;
    if (mem.empty()) {
      mem.assign(t.node_count(), bytes{});
      mem[spec.home.index()] = spec.memory;
    }
    if (mem.size() != t.node_count())
      throw config_error("guest '" + spec.name + "': memory_per_node has " + std::to_string(mem.size()) +
                         " entries for " + std::to_string(t.node_count()) + " nodes");
    for (std::size_t i = 0; i < mem.size(); ++i)
      if (to_pages(mem[i]).count() > free_pages_[i])
        throw config_error("guest '" + spec.name + "': node " + std::to_string(i) + " has not enough free memory");
    dom_state d;
    d.view.id = domain_id{next_domain_++};
    d.view.name = spec.name;
    const cpuset home_cpus = t.node(t.nearest_cpu_node(spec.home)).cpus;  // a memory-only home has none
    for (std::size_t i = 0; i < spec.vcpus; ++i)
      d.view.vcpus.push_back({vcpu_id{static_cast<vcpu_id::rep>(i)}, true, home_cpus, home_cpus});
    d.pages_on_node.assign(t.node_count(), 0);
    for (std::size_t i = 0; i < mem.size(); ++i) take_node_pages(d, i, to_pages(mem[i]).count(), spec.name);
    d.view.memory_target = pages{total(d)}.to_bytes();
    d.view.max_memory = d.view.memory_target;
    d.view.node_affinity.insert(spec.home);
    d.view.home_node = spec.home;
    d.view.cpu_cap = 0;
    d.recycles = spec.recycles_rx_pages;
    doms_.push_back(std::move(d));
    return doms_.back().view.id;
  }

  task_id add_task(const mock_task_spec& spec) {
    if (spec.guest.valid() && !find(spec.guest))
      throw config_error("task '" + spec.name + "': guest " + std::to_string(spec.guest.value()) + " does not exist");
    pvm_task task;
    task.id = task_id{static_cast<task_id::rep>(tasks_.size())};
    task.name = spec.name;
    task.kind = spec.kind;
    task.guest = spec.guest;
    task.device = spec.device;
    task.affinity = topo_->cpus();
    task.cpu_load = spec.cpu_load;
    tasks_.push_back(std::move(task));
    return tasks_.back().id;
  }

  component_id add_component(std::string name) {
    components_.push_back({std::move(name), component_status::stopped, 0});
    return component_id{static_cast<component_id::rep>(components_.size() - 1)};
  }

  void set_io_load(domain_id d, io_load load) { require(d).view.io = load; }
  void set_cpu_load(domain_id d, double cores) { require(d).view.cpu_load = cores; }
  void set_task_load(task_id t, double cores) { tasks_.at(t.index()).cpu_load = cores; }
  // A component dies on its own (what the recovery side must notice).
  void crash(component_id c) { components_.at(c.index()).status = component_status::failed; }
  [[nodiscard]] std::size_t starts(component_id c) const { return components_.at(c.index()).starts; }

  // ---- failure injection and call recording --------------------------------------------------

  void fail_next(std::error_code ec = errc::injected_failure) { fail_next_ = ec; }
  // Fails every call for which `pred` holds (checked before the call takes effect).
  void fail_when(std::function<bool(const mock_call&)> pred, std::error_code ec = errc::injected_failure) {
    fail_when_ = std::move(pred);
    fail_when_error_ = ec;
  }
  void clear_failures() {
    fail_next_.reset();
    fail_when_ = nullptr;
  }
  [[nodiscard]] const std::vector<mock_call>& calls() const noexcept { return calls_; }
  void clear_calls() { calls_.clear(); }

  // The state as a snapshot would return it, without recording a call or failing.
  [[nodiscard]] host_view state() const {
    host_view v;
    v.topo = topo_;
    v.taken_at = time_point{duration{static_cast<duration::rep>(snapshots_)}};
    for (const auto& d : doms_) {
      domain_state s = d.view;
      s.memory_per_node.clear();
      for (auto p : d.pages_on_node) s.memory_per_node.push_back(pages{p}.to_bytes());
      if (d.view.id == pvm_domain) v.pvm = std::move(s);
      else v.guests.push_back(std::move(s));
    }
    v.tasks = tasks_;
    return v;
  }

  // ---- Backend ---------------------------------------------------------------------------------

  result<std::shared_ptr<const pvmkit::topology>> topology() {
    if (auto e = enter("topology", "")) return unexpected{e};
    return topo_;
  }

  result<host_view> snapshot() {
    if (auto e = enter("snapshot", "")) return unexpected{e};
    ++snapshots_;
    return state();
  }

  result<domain_state> pvm_snapshot() {
    if (auto e = enter("pvm_snapshot", "")) return unexpected{e};
    const auto& d = doms_.front();  // the pVM is created first
    domain_state s = d.view;
    s.memory_per_node.clear();
    for (auto p : d.pages_on_node) s.memory_per_node.push_back(pages{p}.to_bytes());
    return s;
  }

  result<void> set_vcpu_affinity(domain_id d, vcpu_id v, const cpuset& cpus) {
    if (auto e = enter("set_vcpu_affinity", args(d, v) + " cpus=" + cpus.to_string())) return unexpected{e};
    auto* dom = find(d);
    if (!dom) return fail(errc::unknown_domain);
    if (v.index() >= dom->view.vcpus.size()) return fail(errc::unknown_vcpu);
    if (cpus.empty()) return fail(errc::invalid_argument);
    if (!cpus.is_subset_of(topo_->cpus())) return fail(errc::unknown_cpu);
    if (host_cpus_ && d == pvm_domain)  // the vCPU is its CPU: it cannot move
      return dom->view.vcpus[v.index()].hard_affinity.is_subset_of(cpus) ? result<void>{} : fail(errc::not_supported);
    dom->view.vcpus[v.index()].hard_affinity = cpus;
    return {};
  }

  result<void> set_vcpu_online(domain_id d, vcpu_id v, bool online) {
    if (auto e = enter("set_vcpu_online", args(d, v) + (online ? " online" : " offline"))) return unexpected{e};
    auto* dom = find(d);
    if (!dom) return fail(errc::unknown_domain);
    if (v.index() >= dom->view.vcpus.size()) return fail(errc::unknown_vcpu);
    auto& vc = dom->view.vcpus[v.index()];
    // A domain always keeps one vCPU running, as Xen and Linux insist.
    if (!online && vc.online && dom->view.online_vcpus() == 1) return fail(errc::invalid_state);
    vc.online = online;
    return {};
  }

  result<void> set_memory_target(domain_id d, bytes target) {
    if (auto e = enter("set_memory_target", args(d) + " bytes=" + std::to_string(target.count()))) return unexpected{e};
    auto* dom = find(d);
    if (!dom) return fail(errc::unknown_domain);
    const std::uint64_t want = to_pages(target).count();
    if (want == 0) return fail(errc::invalid_argument);
    if (target > dom->view.max_memory) return fail(errc::over_capacity);
    const std::uint64_t have = total(*dom);
    if (want > have) {
      // Grows from the domain's node affinity, the nodes with most free memory first.
      std::uint64_t need = want - have, avail = 0;
      for (node_id n : dom->view.node_affinity) avail += free_pages_[n.index()];
      if (need > avail) return fail(errc::over_capacity);
      std::vector<node_id> order(dom->view.node_affinity.begin(), dom->view.node_affinity.end());
      std::stable_sort(order.begin(), order.end(),
                       [&](node_id a, node_id b) { return free_pages_[a.index()] > free_pages_[b.index()]; });
      for (node_id n : order) {
        const std::uint64_t k = std::min(need, free_pages_[n.index()]);
        if (k == 0) continue;
        free_pages_[n.index()] -= k;
        dom->pages_on_node[n.index()] += k;
        dom->growth.push_back({n.index(), k});
        need -= k;
      }
    } else {
      // A balloon gives back the pages it populated last first, so shrinking after growing
      // restores the old placement; beyond that, outside the node affinity first, then the
      // largest share.
      std::uint64_t drop = have - want;
      while (drop && !dom->growth.empty()) {
        auto& [node, count] = dom->growth.back();
        const std::uint64_t k = std::min({drop, count, dom->pages_on_node[node]});
        dom->pages_on_node[node] -= k;
        free_pages_[node] += k;
        drop -= k;
        count -= k;
        if (count == 0 || dom->pages_on_node[node] == 0) dom->growth.pop_back();
      }
      for (int pass = 0; pass < 2 && drop; ++pass)
        while (drop) {
          std::size_t best = free_pages_.size();
          for (std::size_t i = 0; i < dom->pages_on_node.size(); ++i) {
            const bool outside = !dom->view.node_affinity.contains(node_id{static_cast<node_id::rep>(i)});
            if (dom->pages_on_node[i] == 0 || (pass == 0 && !outside)) continue;
            if (best == free_pages_.size() || dom->pages_on_node[i] > dom->pages_on_node[best]) best = i;
          }
          if (best == free_pages_.size()) break;
          const std::uint64_t k = std::min(drop, dom->pages_on_node[best]);
          dom->pages_on_node[best] -= k;
          free_pages_[best] += k;
          drop -= k;
        }
    }
    dom->view.memory_target = target;
    return {};
  }

  result<void> set_node_affinity(domain_id d, const nodeset& nodes) {
    if (auto e = enter("set_node_affinity", args(d) + " nodes=" + nodes.to_string())) return unexpected{e};
    auto* dom = find(d);
    if (!dom) return fail(errc::unknown_domain);
    if (nodes.empty()) return fail(errc::invalid_argument);
    for (node_id n : nodes)
      if (!topo_->has_node(n)) return fail(errc::unknown_node);
    dom->view.node_affinity = nodes;
    return {};
  }

  // ---- CpuCapControl ---------------------------------------------------------------------------

  // Like Xen's credit2: a cap above 100 % per vCPU of the domain means nothing and is refused.
  result<void> set_cpu_cap(domain_id d, unsigned percent) {
    if (auto e = enter("set_cpu_cap", args(d) + " percent=" + std::to_string(percent))) return unexpected{e};
    auto* dom = find(d);
    if (!dom) return fail(errc::unknown_domain);
    if (d == pvm_domain && !can_cap_) return fail(errc::not_supported);
    if (percent > 100 * dom->view.vcpus.size()) return fail(errc::invalid_argument);
    dom->view.cpu_cap = percent;
    return {};
  }

  // ---- TaskPlacement ---------------------------------------------------------------------------

  result<void> set_task_affinity(task_id t, const cpuset& cpus) {
    if (auto e = enter("set_task_affinity", "task=" + std::to_string(t.value()) + " cpus=" + cpus.to_string()))
      return unexpected{e};
    if (t.index() >= tasks_.size()) return fail(errc::unknown_task);
    if (cpus.empty()) return fail(errc::invalid_argument);
    if (!cpus.is_subset_of(topo_->cpus())) return fail(errc::unknown_cpu);
    // Like sched_setaffinity: the mask must reach at least one CPU the pVM is running on (on a KVM
    // host, the host runs on every CPU).
    cpuset reachable;
    for (const auto& v : doms_.front().view.vcpus)
      if (v.online) reachable |= v.hard_affinity;
    if (!host_cpus_ && !cpus.intersects(reachable)) return fail(errc::invalid_argument);
    tasks_[t.index()].affinity = cpus;
    return {};
  }

  result<void> set_task_memory_node(task_id t, node_id n) {
    if (auto e = enter("set_task_memory_node", "task=" + std::to_string(t.value()) + " node=" + std::to_string(n.value())))
      return unexpected{e};
    if (t.index() >= tasks_.size()) return fail(errc::unknown_task);
    if (n.valid() && !topo_->has_node(n)) return fail(errc::unknown_node);
    tasks_[t.index()].memory_node = n;
    return {};
  }

  // ---- FlipPoolControl -------------------------------------------------------------------------

  result<std::size_t> allocate_node_pages(node_id n, std::span<page_frame> out) {
    if (auto e = enter("allocate_node_pages", "node=" + std::to_string(n.value()) + " count=" + std::to_string(out.size())))
      return unexpected{e};
    if (!topo_->has_node(n)) return fail(errc::unknown_node);
    const std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), free_pages_[n.index()]));
    for (std::size_t i = 0; i < k; ++i) {
      out[i] = {next_frame(n), n};
      owner_[out[i].frame] = pvm_domain;
    }
    free_pages_[n.index()] -= k;
    doms_.front().pages_on_node[n.index()] += k;
    return k;
  }

  result<void> free_pages(std::span<const page_frame> in) {
    if (auto e = enter("free_pages", "count=" + std::to_string(in.size()))) return unexpected{e};
    for (const auto& p : in)
      if (!owned_by(p, pvm_domain)) return fail(errc::unknown_page);
    for (const auto& p : in) {
      owner_.erase(p.frame);
      free_pages_[p.node.index()] += 1;
      doms_.front().pages_on_node[p.node.index()] -= 1;
    }
    return {};
  }

  result<std::size_t> posted_rx_pages(domain_id d, std::span<page_frame> out) {
    if (auto e = enter("posted_rx_pages", args(d) + " count=" + std::to_string(out.size()))) return unexpected{e};
    auto* dom = find(d);
    if (!dom || d == pvm_domain) return fail(errc::unknown_domain);
    return post_rx(*dom, out.size(), out);
  }

  result<void> exchange_pages(domain_id d, std::span<const page_frame> in, std::span<page_frame> out) {
    if (auto e = enter("exchange_pages", args(d) + " count=" + std::to_string(in.size()))) return unexpected{e};
    auto* dom = find(d);
    if (!dom || d == pvm_domain) return fail(errc::unknown_domain);
    if (out.size() != in.size()) return fail(errc::invalid_argument);
    for (std::size_t i = 0; i < in.size(); ++i) {
      if (!owned_by(in[i], pvm_domain)) return fail(errc::unknown_page);
      for (std::size_t j = 0; j < i; ++j)
        if (in[j].frame == in[i].frame) return fail(errc::invalid_argument);
    }
    if (post_rx(*dom, in.size(), out) != in.size()) return fail(errc::pool_exhausted);
    auto& pvm = doms_.front();
    for (std::size_t i = 0; i < in.size(); ++i) {
      dom->rx_ring.pop_front();
      owner_[out[i].frame] = pvm_domain;
      owner_[in[i].frame] = d;
      dom->pages_on_node[out[i].node.index()] -= 1;
      pvm.pages_on_node[out[i].node.index()] += 1;
      pvm.pages_on_node[in[i].node.index()] -= 1;
      dom->pages_on_node[in[i].node.index()] += 1;
      // A recycling guest posts the page it just received as a future receive buffer.
      if (dom->recycles) dom->recycled.push_back(in[i]);
    }
    return {};
  }

  result<std::vector<pages>> guest_pages_per_node(domain_id d) {
    if (auto e = enter("guest_pages_per_node", args(d))) return unexpected{e};
    auto* dom = find(d);
    if (!dom) return fail(errc::unknown_domain);
    std::vector<pages> out;
    for (auto p : dom->pages_on_node) out.emplace_back(p);
    return out;
  }

  result<bool> guest_recycles_rx_pages(domain_id d) {
    if (auto e = enter("guest_recycles_rx_pages", args(d))) return unexpected{e};
    auto* dom = find(d);
    if (!dom || d == pvm_domain) return fail(errc::unknown_domain);
    return dom->recycles;
  }

  // Not part of FlipPoolControl: how many of guest d's pages sit in its receive ring (posted, or
  // received and waiting to be posted again), per node. Applications never see these pages.
  [[nodiscard]] std::vector<pages> rx_buffer_pages_per_node(domain_id d) const {
    for (const auto& dom : doms_)
      if (dom.view.id == d) {
        std::vector<pages> out(dom.pages_on_node.size());
        for (const auto& p : dom.rx_ring) out[p.node.index()] += pages{1};
        for (const auto& p : dom.recycled) out[p.node.index()] += pages{1};
        return out;
      }
    throw config_error("domain " + std::to_string(d.value()) + " does not exist");
  }

  // ---- ComponentControl ------------------------------------------------------------------------

  result<void> start_component(component_id c) {
    if (auto e = enter("start_component", "component=" + std::to_string(c.value()))) return unexpected{e};
    if (c.index() >= components_.size()) return fail(errc::unknown_component);
    auto& comp = components_[c.index()];
    if (comp.status == component_status::running) return fail(errc::invalid_state);
    comp.status = component_status::running;
    ++comp.starts;
    return {};
  }

  result<void> stop_component(component_id c) {
    if (auto e = enter("stop_component", "component=" + std::to_string(c.value()))) return unexpected{e};
    if (c.index() >= components_.size()) return fail(errc::unknown_component);
    components_[c.index()].status = component_status::stopped;
    return {};
  }

  result<component_status> status(component_id c) {
    if (auto e = enter("status", "component=" + std::to_string(c.value()))) return unexpected{e};
    if (c.index() >= components_.size()) return fail(errc::unknown_component);
    return components_[c.index()].status;
  }

 private:
  struct dom_state {
    domain_state view;                        // memory_per_node is derived from pages_on_node
    std::vector<std::uint64_t> pages_on_node;
    std::vector<std::pair<std::size_t, std::uint64_t>> growth;  // (node, pages) per grow, oldest first
    bool recycles = false;
    std::deque<page_frame> rx_ring;           // posted receive buffers, oldest first
    std::deque<page_frame> recycled;          // received pages waiting to be posted again
  };
  struct component_state {
    std::string name;
    component_status status;
    std::size_t starts;
  };

  static std::uint64_t total(const dom_state& d) {
    std::uint64_t t = 0;
    for (auto p : d.pages_on_node) t += p;
    return t;
  }
  static std::string args(domain_id d) { return "domain=" + std::to_string(d.value()); }
  static std::string args(domain_id d, vcpu_id v) { return args(d) + " vcpu=" + std::to_string(v.value()); }

  void take_node_pages(dom_state& d, std::size_t node, std::uint64_t n, const std::string& who) {
    if (n > free_pages_[node])
      throw config_error(who + ": node " + std::to_string(node) + " has not enough free memory");
    free_pages_[node] -= n;
    d.pages_on_node[node] += n;
  }

  dom_state* find(domain_id d) noexcept {
    // Ids are handed out in order from 0, so a domain usually sits at its id's index: the simulator
    // updates every guest every tick, and a search would make a run quadratic in guests.
    if (d.index() < doms_.size() && doms_[d.index()].view.id == d) return &doms_[d.index()];
    for (auto& x : doms_)
      if (x.view.id == d) return &x;
    return nullptr;
  }
  dom_state& require(domain_id d) {
    auto* x = find(d);
    if (!x) throw config_error("domain " + std::to_string(d.value()) + " does not exist");
    return *x;
  }

  // Frames are numbered per node (node in the high bits) so a frame's node is never ambiguous.
  std::uint64_t next_frame(node_id n) {
    if (next_frame_.size() < topo_->node_count()) next_frame_.resize(topo_->node_count(), 0);
    return (std::uint64_t{n.value()} << 40) | next_frame_[n.index()]++;
  }
  bool owned_by(const page_frame& p, domain_id d) const {
    auto it = owner_.find(p.frame);
    return it != owner_.end() && it->second == d && p.node.valid() && (p.frame >> 40) == p.node.value();
  }

  // Tops the guest's receive ring up to `count` buffers and copies the first `count` into out.
  // Recycled pages go first; otherwise the guest gives a page of its ordinary memory, taken from
  // the node holding most of it (that is where the guest's allocator finds free pages).
  std::size_t post_rx(dom_state& d, std::size_t count, std::span<page_frame> out) {
    while (d.rx_ring.size() < count) {
      if (!d.recycled.empty()) {
        d.rx_ring.push_back(d.recycled.front());
        d.recycled.pop_front();
        continue;
      }
      std::vector<std::uint64_t> unposted = d.pages_on_node;
      for (const auto& p : d.rx_ring) unposted[p.node.index()] -= 1;
      for (const auto& p : d.recycled) unposted[p.node.index()] -= 1;
      const auto it = std::max_element(unposted.begin(), unposted.end());
      if (it == unposted.end() || *it == 0) break;
      const node_id n{static_cast<node_id::rep>(it - unposted.begin())};
      const page_frame p{next_frame(n), n};
      owner_[p.frame] = d.view.id;
      d.rx_ring.push_back(p);
    }
    const std::size_t k = std::min(count, d.rx_ring.size());
    std::copy_n(d.rx_ring.begin(), static_cast<std::ptrdiff_t>(k), out.begin());
    return k;
  }

  std::error_code enter(std::string_view name, std::string a) {
    calls_.push_back({std::string{name}, std::move(a), {}});
    std::error_code ec;
    if (fail_next_) {
      ec = *fail_next_;
      fail_next_.reset();
    } else if (fail_when_ && fail_when_(calls_.back())) {
      ec = fail_when_error_;
    }
    calls_.back().error = ec;
    return ec;
  }
  unexpected fail(errc e) {
    calls_.back().error = make_error_code(e);
    return unexpected{e};
  }

  std::shared_ptr<const pvmkit::topology> topo_;
  std::vector<dom_state> doms_;  // doms_[0] is the pVM
  std::vector<pvm_task> tasks_;
  std::vector<component_state> components_;
  std::vector<std::uint64_t> free_pages_;
  std::vector<std::uint64_t> next_frame_;
  std::unordered_map<std::uint64_t, domain_id> owner_;
  domain_id::rep next_domain_ = 1;
  bool host_cpus_ = false;  // mock_pvm_spec::host_cpus
  bool can_cap_ = true;
  std::uint64_t snapshots_ = 0;
  std::vector<mock_call> calls_;
  std::optional<std::error_code> fail_next_;
  std::function<bool(const mock_call&)> fail_when_;
  std::error_code fail_when_error_;
};

template <>
struct backend_traits<mock_host> {
  static constexpr std::string_view name = "mock";
  static constexpr bool reports_memory_per_node = true;
  static constexpr bool places_task_memory = true;
};

static_assert(Backend<mock_host>);
static_assert(TaskPlacement<mock_host>);
static_assert(FlipPoolControl<mock_host>);
static_assert(ComponentControl<mock_host>);
static_assert(CpuCapControl<mock_host>);

}  // namespace pvmkit
