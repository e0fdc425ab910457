// Policy, GuardedPolicy and AppendingPolicy: each admits a type with its members and nothing less.
// The families' own concepts are tested in tests/placement/concepts.cpp and tests/sizing/concepts.cpp.
#include <pvmkit/model/policy.hpp>
#include <pvmkit/placement/closer.hpp>
#include <pvmkit/sizing/closer_dynamic.hpp>
#include <pvmkit/sizing/static_xen_default.hpp>

#include <doctest/doctest.h>

#include <string_view>

using namespace pvmkit;

namespace {

struct plain {
  plan decide(const host_view&, decision_log&) { return {}; }
  [[nodiscard]] std::string_view name() const { return "plain"; }
};
struct guarded : plain {
  plan guard(const host_view&, decision_log&) { return {}; }
};
struct appending : plain {
  using plain::decide;
  void decide(const host_view&, decision_log&, plan&) {}
};
struct name_not_const {
  plan decide(const host_view&, decision_log&) { return {}; }
  std::string_view name() { return "x"; }
};
struct decide_returns_int {
  int decide(const host_view&, decision_log&) { return 0; }
  [[nodiscard]] std::string_view name() const { return "x"; }
};
struct not_copyable : plain {
  not_copyable() = default;
  not_copyable(const not_copyable&) = delete;
};
struct guard_returns_void : plain {
  void guard(const host_view&, decision_log&) {}
};
struct appends_returning_plan : plain {
  using plain::decide;
  plan decide(const host_view&, decision_log&, plan&) { return {}; }
};

}  // namespace

TEST_CASE("Policy: decide(view, log) returning a plan, a const name(), copyable") {
  CHECK(Policy<plain>);
  CHECK(Policy<placement::closer>);
  CHECK(Policy<sizing::static_xen_default>);
  CHECK_FALSE(Policy<name_not_const>);
  CHECK_FALSE(Policy<decide_returns_int>);
  CHECK_FALSE(Policy<not_copyable>);
  CHECK_FALSE(Policy<int>);
}

TEST_CASE("GuardedPolicy: a Policy with guard(view, log) returning a plan") {
  CHECK(GuardedPolicy<guarded>);
  CHECK(GuardedPolicy<sizing::closer_dynamic>);
  CHECK_FALSE(GuardedPolicy<plain>);
  CHECK_FALSE(GuardedPolicy<guard_returns_void>);
  CHECK_FALSE(GuardedPolicy<placement::closer>);
}

TEST_CASE("AppendingPolicy: a Policy that can also add its steps to a plan it is given") {
  CHECK(AppendingPolicy<appending>);
  CHECK(AppendingPolicy<placement::closer>);
  CHECK_FALSE(AppendingPolicy<plain>);
  CHECK_FALSE(AppendingPolicy<appends_returning_plan>);
  CHECK_FALSE(AppendingPolicy<guarded>);
}

TEST_CASE("the families say their names once") {
  CHECK(placement_family::name == "placement");
  CHECK(sizing_family::name == "sizing");
}
