// any_sizing_policy: one sizing policy chosen at run time. Same shape as any_placement_policy.
#pragma once

#include <pvmkit/model/host_view.hpp>
#include <pvmkit/model/decision.hpp>
#include <pvmkit/model/plan.hpp>
#include <pvmkit/sizing/concepts.hpp>

#include <cassert>
#include <concepts>
#include <memory>
#include <string_view>
#include <type_traits>
#include <utility>

namespace pvmkit::runtime {

class any_sizing_policy {
 public:
  using family = sizing_family;

  template <class P>
    requires(!std::same_as<std::remove_cvref_t<P>, any_sizing_policy> && sizing::SizingPolicy<std::remove_cvref_t<P>>)
  any_sizing_policy(P&& policy)  // NOLINT: implicit, like std::function
      : self_(std::make_unique<model<std::remove_cvref_t<P>>>(std::forward<P>(policy))) {}

  any_sizing_policy(const any_sizing_policy& o) : self_(o.self_->clone()) {}
  any_sizing_policy(any_sizing_policy&&) noexcept = default;
  any_sizing_policy& operator=(const any_sizing_policy& o) {
    if (this != &o) self_ = o.self_->clone();
    return *this;
  }
  any_sizing_policy& operator=(any_sizing_policy&&) noexcept = default;
  ~any_sizing_policy() = default;

  [[nodiscard]] plan decide(const host_view& view, decision_log& log) {
    assert(self_ && "use of a moved-from any_sizing_policy");
    return self_->decide(view, log);
  }
  [[nodiscard]] std::string_view name() const noexcept { return self_->name(); }
  // The wrapped policy's guard, or an empty plan when it has none.
  [[nodiscard]] plan guard(const host_view& view, decision_log& log) { return self_->guard(view, log); }

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
    [[nodiscard]] virtual std::string_view name() const noexcept = 0;
    [[nodiscard]] virtual plan guard(const host_view&, decision_log&) = 0;
  };
  template <class P>
  struct model final : concept_t {
    template <class Q>
    explicit model(Q&& p) : policy(std::forward<Q>(p)) {}
    [[nodiscard]] std::unique_ptr<concept_t> clone() const override { return std::make_unique<model>(policy); }
    [[nodiscard]] plan decide(const host_view& v, decision_log& log) override { return policy.decide(v, log); }
    [[nodiscard]] std::string_view name() const noexcept override { return policy.name(); }
    [[nodiscard]] plan guard(const host_view& v, decision_log& log) override {
      if constexpr (GuardedPolicy<P>) return policy.guard(v, log);
      else return {};
    }
    P policy;
  };

  std::unique_ptr<concept_t> self_;
};

static_assert(sizing::SizingPolicy<any_sizing_policy>);
static_assert(GuardedPolicy<any_sizing_policy>);

}  // namespace pvmkit::runtime
