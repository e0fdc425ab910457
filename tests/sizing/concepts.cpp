// SizingPolicy admits the sizing policies and nothing else: a placement policy, or a type that lacks
// a member, does not model it.
#include <pvmkit/placement/closer.hpp>
#include <pvmkit/sizing/closer_dynamic.hpp>
#include <pvmkit/sizing/concepts.hpp>
#include <pvmkit/sizing/nova_isolate.hpp>
#include <pvmkit/sizing/nova_share.hpp>
#include <pvmkit/sizing/numad.hpp>
#include <pvmkit/sizing/static_fixed.hpp>
#include <pvmkit/sizing/static_xen_default.hpp>
#include <pvmkit/sizing/static_xenserver.hpp>

#include <doctest/doctest.h>

#include <string_view>

using namespace pvmkit;

namespace {

struct complete {
  using family = sizing_family;
  plan decide(const host_view&, decision_log&) { return {}; }
  [[nodiscard]] std::string_view name() const { return "complete"; }
};
struct placement_family_member : complete {
  using family = placement_family;
};
struct no_decide {
  using family = sizing_family;
  [[nodiscard]] std::string_view name() const { return "no_decide"; }
};
struct no_name {
  using family = sizing_family;
  plan decide(const host_view&, decision_log&) { return {}; }
};
struct not_copyable : complete {
  not_copyable() = default;
  not_copyable(const not_copyable&) = delete;
};

}  // namespace

TEST_CASE("every sizing policy models SizingPolicy") {
  static_assert(sizing::SizingPolicy<sizing::closer_dynamic>);
  static_assert(sizing::SizingPolicy<sizing::nova_isolate>);
  static_assert(sizing::SizingPolicy<sizing::nova_share>);
  static_assert(sizing::SizingPolicy<sizing::numad>);
  static_assert(sizing::SizingPolicy<sizing::static_fixed>);
  static_assert(sizing::SizingPolicy<sizing::static_xen_default>);
  static_assert(sizing::SizingPolicy<sizing::static_xenserver>);
  CHECK(sizing::SizingPolicy<complete>);
}

TEST_CASE("a placement policy, or a type missing a member, is not a SizingPolicy") {
  static_assert(!sizing::SizingPolicy<placement::closer>);
  static_assert(!sizing::SizingPolicy<placement_family_member>);
  static_assert(!sizing::SizingPolicy<no_decide>);
  static_assert(!sizing::SizingPolicy<no_name>);
  static_assert(!sizing::SizingPolicy<not_copyable>);  // policies are values
  CHECK_FALSE(sizing::SizingPolicy<placement_family_member>);
}
