// Baseline: XenServer's (Citrix Hypervisor's) dom0 size, as XenServer documents it: memory
// min(1 GiB + 5 % of host RAM, 8 GiB) and at most 16 vCPUs (fewer on hosts with fewer pCPUs).
#pragma once

#include <pvmkit/model/host_view.hpp>
#include <pvmkit/core/units.hpp>
#include <pvmkit/model/decision.hpp>
#include <pvmkit/model/plan.hpp>
#include <pvmkit/sizing/concepts.hpp>
#include <pvmkit/sizing/static_size.hpp>
#include <pvmkit/topology/topology.hpp>

#include <algorithm>
#include <cstddef>
#include <string_view>

namespace pvmkit::sizing {

struct static_xenserver {
  using family = sizing_family;
  struct options {};

  static_xenserver() = default;
  explicit static_xenserver(options) {}

  [[nodiscard]] std::string_view name() const noexcept { return "static_xenserver"; }

  [[nodiscard]] static std::size_t vcpus(const topology& topo) noexcept {
    return std::min<std::size_t>(topo.cpu_count(), 16);
  }
  [[nodiscard]] static bytes memory(const topology& topo) noexcept {
    const bytes total = topo.total_memory();
    return std::min(bytes{1ULL << 30} + total / 20, bytes{8ULL << 30});
  }

  [[nodiscard]] plan decide(const host_view& view, decision_log& log) const {
    return static_size(view, vcpus(*view.topo), memory(*view.topo), name(), log);
  }
};

static_assert(SizingPolicy<static_xenserver>);

}  // namespace pvmkit::sizing
