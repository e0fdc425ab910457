// A guest-placement scorer in the manner of libxl's automatic NUMA placement, for comparisons: it
// answers "on which nodes would the toolstack put a new guest?", not where pVM tasks run, so it
// is deliberately not a Policy over pVM tasks. A toolstack placing a new guest can call it;
// tests/placement/libxl_like.cpp checks its choices against libxl's documented order.
//
// Candidates are node sets. A candidate fits when its free memory covers the guest's memory and
// it has at least as many CPUs as the guest has vCPUs. Among fitting candidates the order is:
//   1. fewest nodes (a guest spread over fewer nodes makes fewer remote accesses);
//   2. fewest vCPUs per CPU on the candidate, counting the vCPUs of every domain that may run
//      there (a vCPU counts on each node its hard affinity touches) plus the new guest's;
//   3. most free memory.
// Remaining ties go to the set with the lowest node ids. Candidates of k nodes are only looked at
// when no candidate of fewer nodes fits, and at most options::max_candidates sets are scored.
#pragma once

#include <pvmkit/model/host_view.hpp>
#include <pvmkit/core/id_set.hpp>
#include <pvmkit/core/units.hpp>
#include <pvmkit/model/decision.hpp>
#include <pvmkit/placement/concepts.hpp>
#include <pvmkit/topology/topology.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace pvmkit::placement {

struct guest_request {
  std::size_t vcpus = 1;
  bytes memory;
};

class libxl_like {
 public:
  struct options {
    std::size_t max_candidates = 1U << 16;  // bounds the search on hosts with many nodes
  };
  struct candidate {
    nodeset nodes;
    bytes free_memory;
    std::size_t cpus = 0;
    std::size_t vcpus = 0;  // already there, plus the new guest's
    bool fits = false;
    [[nodiscard]] double vcpus_per_cpu() const noexcept {
      return cpus ? static_cast<double>(vcpus) / static_cast<double>(cpus) : 0.0;
    }
  };

  libxl_like() = default;
  explicit libxl_like(options o) : opts_(o) {}

  [[nodiscard]] std::string_view name() const noexcept { return "libxl_like"; }

  // True when a is a better candidate than b (both must fit).
  [[nodiscard]] static bool better(const candidate& a, const candidate& b) noexcept {
    if (a.nodes.size() != b.nodes.size()) return a.nodes.size() < b.nodes.size();
    // Compare vcpus/cpus exactly by cross-multiplication.
    const auto lhs = a.vcpus * b.cpus, rhs = b.vcpus * a.cpus;
    if (lhs != rhs) return lhs < rhs;
    return a.free_memory > b.free_memory;
  }

  // Every candidate scored, the smallest sets first (only the sizes up to the first that fits).
  [[nodiscard]] std::vector<candidate> candidates(const host_view& view, const guest_request& req) const {
    const topology& topo = *view.topo;
    const std::size_t n = topo.node_count();
    std::vector<std::size_t> vcpus_on(n, 0);
    auto count = [&](const domain_state& d) {
      for (const auto& v : d.vcpus) {
        if (!v.online) continue;
        for (std::size_t k = 0; k < n; ++k)
          if (v.hard_affinity.intersects(topo.nodes()[k].cpus)) ++vcpus_on[k];
      }
    };
    count(view.pvm);
    for (const auto& g : view.guests) count(g);

    std::vector<candidate> out;
    std::vector<std::size_t> pick;
    for (std::size_t k = 1; k <= n && out.size() < opts_.max_candidates; ++k) {
      bool any_fits = false;
      pick.resize(k);
      for (std::size_t i = 0; i < k; ++i) pick[i] = i;
      while (out.size() < opts_.max_candidates) {
        candidate c;
        c.vcpus = req.vcpus;
        for (std::size_t i : pick) {
          const auto& node = topo.nodes()[i];
          c.nodes.insert(node.id);
          c.free_memory += node.free_memory;
          c.cpus += node.cpus.size();
          c.vcpus += vcpus_on[i];
        }
        c.fits = c.free_memory >= req.memory && c.cpus >= req.vcpus;
        any_fits = any_fits || c.fits;
        out.push_back(std::move(c));
        // Next k-combination of [0, n) in lexicographic order.
        std::size_t i = k;
        while (i > 0 && pick[i - 1] == n - k + (i - 1)) --i;
        if (i == 0) break;
        ++pick[i - 1];
        for (std::size_t j = i; j < k; ++j) pick[j] = pick[j - 1] + 1;
      }
      if (any_fits) break;
    }
    return out;
  }

  // The chosen node set; empty when no candidate fits. With a log, one record with every
  // candidate's score (lower is better: nodes * 1000 + vCPUs per CPU, a fitting set's rank key).
  [[nodiscard]] nodeset choose_nodes(const host_view& view, const guest_request& req, decision_log& log) const {
    const auto cands = candidates(view, req);
    const candidate* best = nullptr;
    for (const auto& c : cands)
      if (c.fits && (!best || better(c, *best))) best = &c;
    if (log.enabled()) {
      decision_record r;
      r.policy = std::string{name()};
      r.subject = "guest placement";
      r.inputs = {{"vcpus", std::to_string(req.vcpus)}, {"memory_mib", std::to_string(req.memory.mib())}};
      for (const auto& c : cands)
        r.candidates.push_back({"nodes " + c.nodes.to_string(),
                                static_cast<double>(c.nodes.size()) * 1000.0 + c.vcpus_per_cpu(),
                                (c.fits ? "fits, " : "does not fit, ") + std::to_string(c.vcpus) + " vCPUs on " +
                                    std::to_string(c.cpus) + " CPUs, " + std::to_string(c.free_memory.mib()) +
                                    " MiB free"});
      r.choice = best ? "nodes " + best->nodes.to_string() : std::string{"none"};
      r.reason = best ? "fewest nodes that fit, then fewest vCPUs per CPU, then most free memory"
                      : "no node set has the memory and CPUs the guest asks for";
      log.add(std::move(r));
    }
    return best ? best->nodes : nodeset{};
  }

  [[nodiscard]] nodeset choose_nodes(const host_view& view, const guest_request& req) const {
    decision_log off;
    return choose_nodes(view, req, off);
  }

 private:
  options opts_;
};

// The scorer with its default options.
[[nodiscard]] inline nodeset choose_nodes(const host_view& view, const guest_request& req) {
  return libxl_like{}.choose_nodes(view, req);
}

}  // namespace pvmkit::placement
