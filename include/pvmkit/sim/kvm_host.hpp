// The KVM-host preset's CPU model (docs/simulator.md, "KVM host"). On a KVM host the pVM is the host
// itself: pVM vCPU v is host CPU v, and an online vCPU is a CPU reserved for pVM work, which the
// guests' vCPUs are kept off (docs/kvm.md). Per node n, with F_n the CPUs its guests' own vCPUs
// leave (the Xen model's bound, guests first) and R_n of its |cpus(n)| CPUs reserved:
//   a reserved CPU gives the pVM      min(R_n, F_n) / R_n          of a core: all of it while the
//                                                                  guests fit in the rest of the node,
//                                                                  else the reservation is limited
//   an unreserved CPU gives the pVM   max(0, F_n - R_n) / U_n      (U_n = |cpus(n)| - R_n): what the
//                                                                  guests leave there, shared with them
// so a node never gives more than F_n, as on Xen. CPUs are grouped into pools: the CPUs of one
// node, reserved or not, that exactly the same task CPU sets contain. A pool is one
// processor-sharing server (on Xen a node is), so work pinned to one CPU cannot use its
// neighbour's. A task spreads its requests over the pools of its CPU set in proportion to their
// capacity (the scheduler moves a thread to where its CPUs have time). Cores held, as on Xen, is
// what the pVM may take at any moment: every reserved CPU, and the unreserved CPUs some task may
// run on.
#pragma once

#include <pvmkit/core/id_set.hpp>
#include <pvmkit/core/ids.hpp>
#include <pvmkit/topology/topology.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <tuple>
#include <utility>
#include <vector>

namespace pvmkit::sim {

class kvm_pools {
 public:
  struct pool {
    node_id node;
    bool reserved = false;
    std::size_t cpus = 0;
    double capacity = 0;  // cores the pVM gets from the pool
    bool reached = false;  // some task's CPU set contains it
  };

  // `sets`: the distinct CPU sets the host's tasks are pinned to; `free[n]`: the CPUs of node n its
  // guests' own vCPUs leave; `reserved`: the CPUs of the pVM's online vCPUs.
  void build(const topology& topo, const std::vector<double>& free, const cpuset& reserved, const std::vector<cpuset>& sets) {
    const std::size_t nodes = topo.node_count();
    pools_.clear();
    spread_.assign(sets.size(), {});
    std::vector<std::vector<std::uint32_t>> member_of(topo.cpus().extent());
    for (std::size_t s = 0; s < sets.size(); ++s)
      for (cpu_id c : sets[s])
        if (c.index() < member_of.size()) member_of[c.index()].push_back(static_cast<std::uint32_t>(s));
    std::map<std::tuple<std::size_t, bool, std::vector<std::uint32_t>>, std::size_t> index;
    std::vector<std::vector<std::uint32_t>> sets_of_pool;
    for (std::size_t n = 0; n < nodes; ++n) {
      const cpuset& cpus = topo.nodes()[n].cpus;
      const std::size_t r = (cpus & reserved).size(), u = cpus.size() - r;
      const double f = n < free.size() ? free[n] : 0.0;
      const double per_reserved = r ? std::min(static_cast<double>(r), f) / static_cast<double>(r) : 0.0;
      const double per_unreserved = u ? std::max(0.0, f - static_cast<double>(r)) / static_cast<double>(u) : 0.0;
      for (cpu_id c : cpus) {
        const bool res = reserved.contains(c);
        auto [it, added] = index.try_emplace({n, res, member_of[c.index()]}, pools_.size());
        if (added) {
          pools_.push_back({node_id{static_cast<node_id::rep>(n)}, res, 0, 0.0, !member_of[c.index()].empty()});
          sets_of_pool.push_back(member_of[c.index()]);
        }
        pool& p = pools_[it->second];
        ++p.cpus;
        p.capacity += res ? per_reserved : per_unreserved;
      }
    }
    for (std::size_t p = 0; p < pools_.size(); ++p)
      for (std::uint32_t s : sets_of_pool[p]) spread_[s].emplace_back(p, 0.0);
    for (auto& sp : spread_) {
      double capacity = 0, cpus = 0;
      for (const auto& [p, share] : sp) {
        capacity += pools_[p].capacity;
        cpus += static_cast<double>(pools_[p].cpus);
      }
      // No capacity anywhere in the set (the guests take every CPU of it): the work waits there.
      for (auto& [p, share] : sp)
        share = capacity > 0 ? pools_[p].capacity / capacity : static_cast<double>(pools_[p].cpus) / cpus;
      if (capacity > 0) std::erase_if(sp, [](const auto& e) { return e.second <= 0; });
    }
  }

  [[nodiscard]] const std::vector<pool>& pools() const noexcept { return pools_; }
  // The pools of sets[s] and the share of a task's requests each runs (together 1).
  [[nodiscard]] const std::vector<std::pair<std::size_t, double>>& spread(std::size_t s) const { return spread_.at(s); }
  [[nodiscard]] double held() const noexcept {
    double h = 0;
    for (const auto& p : pools_)
      if (p.reserved || p.reached) h += p.capacity;
    return h;
  }

 private:
  std::vector<pool> pools_;
  std::vector<std::vector<std::pair<std::size_t, double>>> spread_;
};

}  // namespace pvmkit::sim
