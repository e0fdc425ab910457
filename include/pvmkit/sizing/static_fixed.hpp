// Baseline: a pVM sized by hand (dom0_max_vcpus=N dom0_mem=M), never changed afterwards.
#pragma once

#include <pvmkit/model/host_view.hpp>
#include <pvmkit/core/error.hpp>
#include <pvmkit/core/units.hpp>
#include <pvmkit/model/decision.hpp>
#include <pvmkit/model/plan.hpp>
#include <pvmkit/sizing/concepts.hpp>
#include <pvmkit/sizing/static_size.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace pvmkit::sizing {

struct static_fixed {
  using family = sizing_family;
  struct options {
    std::size_t vcpus = 4;          // a common hand-tuned dom0_max_vcpus
    bytes memory{4ULL << 30};       // and dom0_mem

    void validate() const {
      if (vcpus == 0) throw config_error("static_fixed: vcpus must be at least 1");
      if (memory.count() < (16ULL << 20))
        throw config_error("static_fixed: memory must be at least 16 MiB, got " + std::to_string(memory.count()) + " bytes");
    }
  };

  static_fixed() = default;
  explicit static_fixed(options o) : opts(o) { opts.validate(); }

  [[nodiscard]] std::string_view name() const noexcept { return "static_fixed"; }

  [[nodiscard]] plan decide(const host_view& view, decision_log& log) const {
    return static_size(view, opts.vcpus, opts.memory, name(), log);
  }

  options opts;
};

static_assert(SizingPolicy<static_fixed>);

}  // namespace pvmkit::sizing
