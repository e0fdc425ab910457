// Baseline: Xen's default dom0 size when dom0_max_vcpus / dom0_mem are not given: one vCPU per
// pCPU, and all host memory less min(1/16 of it, 128 MiB), the reserve Xen keeps for itself (the
// rule as Xen's command-line documentation gives it; Xen's dom0_build computes the reserve from
// total pages). Once guests run, xl's autoballoon has shrunk dom0 by the memory it gave them, so
// the steady size is that boot size less the guests' memory.
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

struct static_xen_default {
  using family = sizing_family;
  struct options {};

  static_xen_default() = default;
  explicit static_xen_default(options) {}

  [[nodiscard]] std::string_view name() const noexcept { return "static_xen_default"; }

  [[nodiscard]] static std::size_t vcpus(const topology& topo) noexcept { return topo.cpu_count(); }
  [[nodiscard]] static bytes memory(const topology& topo) noexcept {
    const bytes total = topo.total_memory();
    return total - std::min(total / 16, bytes{128ULL << 20});
  }

  [[nodiscard]] static bytes memory(const host_view& view) noexcept {
    bytes guests;
    for (const auto& g : view.guests) guests += std::max(g.memory(), g.memory_target);
    return memory(*view.topo) - guests;
  }

  [[nodiscard]] plan decide(const host_view& view, decision_log& log) const {
    return static_size(view, vcpus(*view.topo), memory(view), name(), log);
  }
};

static_assert(SizingPolicy<static_xen_default>);

}  // namespace pvmkit::sizing
