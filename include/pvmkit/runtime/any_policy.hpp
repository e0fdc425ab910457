// any_placement_policy, any_sizing_policy: one policy of a family chosen at run time (CLI flags,
// scenario files). One hand-written type erasure over an internal virtual model for both
// families; copies clone the policy, state and all. What a family's policies may have beyond
// decide() is forwarded when the wrapped policy has it and has a neutral answer when it does not:
// replan() falls back to a full decide(), guard() plans nothing.
#pragma once

#include <pvmkit/core/ids.hpp>
#include <pvmkit/model/decision.hpp>
#include <pvmkit/model/host_view.hpp>
#include <pvmkit/model/plan.hpp>
#include <pvmkit/model/policy.hpp>
#include <pvmkit/placement/concepts.hpp>
#include <pvmkit/sizing/concepts.hpp>

#include <cassert>
#include <concepts>
#include <memory>
#include <string_view>
#include <type_traits>
#include <utility>

namespace pvmkit::runtime {

// An incremental re-plan for one guest; any placement policy that has one.
template <class P>
concept HasReplan = requires(P& p, const host_view& v, domain_id d, decision_log& log) {
  { p.replan(v, d, log) } -> std::same_as<plan>;
};

template <class Family>
class any_policy {
 public:
  using family = Family;

  template <class P>
    requires(!std::same_as<std::remove_cvref_t<P>, any_policy> && Policy<std::remove_cvref_t<P>> &&
             std::same_as<typename std::remove_cvref_t<P>::family, Family>)
  any_policy(P&& policy)  // NOLINT: implicit, like std::function
      : self_(std::make_unique<model<std::remove_cvref_t<P>>>(std::forward<P>(policy))) {}

  any_policy(const any_policy& o) : self_(o.self_->clone()) {}
  any_policy(any_policy&&) noexcept = default;
  any_policy& operator=(const any_policy& o) {
    if (this != &o) self_ = o.self_->clone();
    return *this;
  }
  any_policy& operator=(any_policy&&) noexcept = default;
  ~any_policy() = default;

  [[nodiscard]] plan decide(const host_view& view, decision_log& log) {
    assert(self_ && "use of a moved-from any_policy");
    return self_->decide(view, log);
  }
  // One guest's load changed: the policy's incremental re-plan when it has one, else a full decide.
  [[nodiscard]] plan replan(const host_view& view, domain_id changed, decision_log& log) {
    assert(self_ && "use of a moved-from any_policy");
    return self_->replan(view, changed, log);
  }
  [[nodiscard]] bool incremental() const noexcept { return self_->incremental(); }
  // The wrapped policy's guard, or an empty plan when it has none.
  [[nodiscard]] plan guard(const host_view& view, decision_log& log) {
    assert(self_ && "use of a moved-from any_policy");
    return self_->guard(view, log);
  }
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
    [[nodiscard]] virtual plan guard(const host_view&, decision_log&) = 0;
    [[nodiscard]] virtual std::string_view name() const noexcept = 0;
  };
  template <class P>
  struct model final : concept_t {
    template <class Q>
    explicit model(Q&& p) : policy(std::forward<Q>(p)) {}
    [[nodiscard]] std::unique_ptr<concept_t> clone() const override { return std::make_unique<model>(policy); }
    [[nodiscard]] plan decide(const host_view& v, decision_log& log) override { return policy.decide(v, log); }
    [[nodiscard]] plan replan(const host_view& v, domain_id d, decision_log& log) override {
      if constexpr (HasReplan<P>) return policy.replan(v, d, log);
      else return policy.decide(v, log);
    }
    [[nodiscard]] bool incremental() const noexcept override { return HasReplan<P>; }
    [[nodiscard]] plan guard(const host_view& v, decision_log& log) override {
      if constexpr (GuardedPolicy<P>) return policy.guard(v, log);
      else return {};
    }
    [[nodiscard]] std::string_view name() const noexcept override { return policy.name(); }
    P policy;
  };

  std::unique_ptr<concept_t> self_;
};

using any_placement_policy = any_policy<placement_family>;
using any_sizing_policy = any_policy<sizing_family>;

static_assert(placement::PlacementPolicy<any_placement_policy>);
static_assert(placement::IncrementalPlacement<any_placement_policy>);
static_assert(sizing::SizingPolicy<any_sizing_policy>);
static_assert(GuardedPolicy<any_sizing_policy>);

}  // namespace pvmkit::runtime
