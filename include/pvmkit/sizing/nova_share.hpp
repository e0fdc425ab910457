// Baseline: OpenStack Nova's hw:emulator_threads_policy=share with [compute] cpu_shared_set, as a
// pVM size on a KVM host. Every instance's emulator threads are pinned to the host CPUs of
// cpu_shared_set (Nova's CPU topologies guide); here every guest's I/O and vhost work runs there
// too. The set is fixed by configuration: the first `cpus` CPUs of the host in id order (node 0's
// first, as cpu_shared_set=0-N would name them), whatever the demand and wherever the guests live.
#pragma once

#include <pvmkit/model/host_view.hpp>
#include <pvmkit/core/error.hpp>
#include <pvmkit/model/decision.hpp>
#include <pvmkit/model/plan.hpp>
#include <pvmkit/sizing/concepts.hpp>
#include <pvmkit/sizing/reserve_cpus.hpp>

#include <cstddef>
#include <string_view>

namespace pvmkit::sizing {

struct nova_share {
  using family = sizing_family;
  struct options {
    // CPUs in cpu_shared_set. Assumption: a small housekeeping set, e.g. one core and its SMT
    // sibling; Nova has no default (the option is unset until an operator sets it).
    std::size_t cpus = 2;

    void validate() const {
      if (cpus == 0) throw config_error("nova_share: cpus must be at least 1 (cpu_shared_set cannot be empty)");
    }
  };

  nova_share() = default;
  explicit nova_share(options o) : opts(o) { opts.validate(); }

  [[nodiscard]] std::string_view name() const noexcept { return "nova_share"; }

  [[nodiscard]] plan decide(const host_view& view, decision_log& log) const {
    cpuset wanted;
    for (cpu_id c : view.topo->cpus()) {
      if (wanted.size() == opts.cpus) break;
      wanted.insert(c);
    }
    return reserve_cpus(view, wanted, name(), log);
  }

  options opts;
};

static_assert(SizingPolicy<nova_share>);

}  // namespace pvmkit::sizing
