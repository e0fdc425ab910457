// any_placement_policy: one placement policy chosen at run time (CLI flags, scenario files). A
// hand-written type erasure over an internal virtual model; copies clone the policy, state and all.
#pragma once

#include <pvmkit/model/host_view.hpp>
#include <pvmkit/core/ids.hpp>
#include <pvmkit/model/decision.hpp>
#include <pvmkit/placement/concepts.hpp>
#include <pvmkit/model/plan.hpp>

#include <cassert>
#include <concepts>
#include <memory>
#include <string_view>
#include <type_traits>
#include <utility>

namespace pvmkit::runtime {

class any_placement_policy {
 public:
  using family = placement_family;

  template <class P>
    requires(!std::same_as<std::remove_cvref_t<P>, any_placement_policy> &&
             placement::PlacementPolicy<std::remove_cvref_t<P>>)
  any_placement_policy(P&& policy)  // NOLINT: implicit, like std::function
      : self_(std::make_unique<model<std::remove_cvref_t<P>>>(std::forward<P>(policy))) {}

  any_placement_policy(const any_placement_policy& o) : self_(o.self_->clone()) {}
  any_placement_policy(any_placement_policy&&) noexcept = default;
  any_placement_policy& operator=(const any_placement_policy& o) {
    if (this != &o) self_ = o.self_->clone();
    return *this;
  }
  any_placement_policy& operator=(any_placement_policy&&) noexcept = default;
  ~any_placement_policy() = default;

  [[nodiscard]] plan decide(const host_view& view, decision_log& log) {
    assert(self_ && "use of a moved-from any_placement_policy");
    return self_->decide(view, log);
  }
  // One guest's load changed: the policy's incremental re-plan when it has one, else a full decide.
  [[nodiscard]] plan replan(const host_view& view, domain_id changed, decision_log& log) {
    assert(self_ && "use of a moved-from any_placement_policy");
    return self_->replan(view, changed, log);
  }
  [[nodiscard]] bool incremental() const noexcept { return self_->incremental(); }
  [[nodiscard]] std::string_view name() const noexcept { return self_->name(); }

  // The policy inside, when it is a P (for inspection in tests and tools).
  template <class P>
  [[nodiscard]] P* target() noexcept {
    auto* m = dynamic_cast<model<P>*>(self_.get());
    return m ? &m->policy : nullptr;
  }
  template <class P>
  [[nodiscard]] const P* target() const noexcept {
    const auto* m = dynamic_cast<const model<P>*>(self_.get());
    return m ? &m->policy : nullptr;
  }

 private:
  struct concept_t {
    virtual ~concept_t() = default;
    [[nodiscard]] virtual std::unique_ptr<concept_t> clone() const = 0;
    [[nodiscard]] virtual plan decide(const host_view&, decision_log&) = 0;
    [[nodiscard]] virtual plan replan(const host_view&, domain_id, decision_log&) = 0;
    [[nodiscard]] virtual bool incremental() const noexcept = 0;
    [[nodiscard]] virtual std::string_view name() const noexcept = 0;
  };
  template <class P>
  struct model final : concept_t {
    template <class Q>
    explicit model(Q&& p) : policy(std::forward<Q>(p)) {}
    [[nodiscard]] std::unique_ptr<concept_t> clone() const override { return std::make_unique<model>(policy); }
    [[nodiscard]] plan decide(const host_view& v, decision_log& log) override { return policy.decide(v, log); }
    [[nodiscard]] plan replan(const host_view& v, domain_id d, decision_log& log) override {
      if constexpr (placement::IncrementalPlacement<P>) return policy.replan(v, d, log);
      else return policy.decide(v, log);
    }
    [[nodiscard]] bool incremental() const noexcept override { return placement::IncrementalPlacement<P>; }
    [[nodiscard]] std::string_view name() const noexcept override { return policy.name(); }
    P policy;
  };

  std::unique_ptr<concept_t> self_;
};

static_assert(placement::PlacementPolicy<any_placement_policy>);
static_assert(placement::IncrementalPlacement<any_placement_policy>);

}  // namespace pvmkit::runtime
