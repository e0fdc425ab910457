// PlacementPolicy admits the placement policies and nothing else: a sizing policy, the libxl-style
// guest scorer, or a type that lacks a member does not model it.
#include <pvmkit/placement/closer.hpp>
#include <pvmkit/placement/concepts.hpp>
#include <pvmkit/placement/libxl_like.hpp>
#include <pvmkit/placement/nova_isolate.hpp>
#include <pvmkit/placement/nova_share.hpp>
#include <pvmkit/placement/numad.hpp>
#include <pvmkit/placement/pinned_node0.hpp>
#include <pvmkit/placement/xen_default.hpp>
#include <pvmkit/sizing/static_xen_default.hpp>

#include <doctest/doctest.h>

#include <string_view>

using namespace pvmkit;

namespace {

// A placement policy in every respect but the one named; each must fail the concept.
struct complete {
  using family = placement_family;
  plan decide(const host_view&, decision_log&) { return {}; }
  [[nodiscard]] std::string_view name() const { return "complete"; }
};
struct no_family {
  plan decide(const host_view&, decision_log&) { return {}; }
  [[nodiscard]] std::string_view name() const { return "no_family"; }
};
struct no_decide {
  using family = placement_family;
  [[nodiscard]] std::string_view name() const { return "no_decide"; }
};
struct no_name {
  using family = placement_family;
  plan decide(const host_view&, decision_log&) { return {}; }
};
struct decide_returns_void {
  using family = placement_family;
  void decide(const host_view&, decision_log&) {}
  [[nodiscard]] std::string_view name() const { return "void"; }
};
struct with_replan : complete {
  plan replan(const host_view&, domain_id, decision_log&) { return {}; }
};

}  // namespace

TEST_CASE("every placement policy models PlacementPolicy") {
  static_assert(placement::PlacementPolicy<placement::closer>);
  static_assert(placement::PlacementPolicy<placement::nova_isolate>);
  static_assert(placement::PlacementPolicy<placement::nova_share>);
  static_assert(placement::PlacementPolicy<placement::numad>);
  static_assert(placement::PlacementPolicy<placement::pinned_node0>);
  static_assert(placement::PlacementPolicy<placement::xen_default>);
  static_assert(placement::PlacementPolicy<complete>);
  CHECK(placement::PlacementPolicy<complete>);
}

TEST_CASE("a sizing policy, or a type missing a member, is not a PlacementPolicy") {
  static_assert(!placement::PlacementPolicy<sizing::static_xen_default>);  // a Policy of another family
  static_assert(Policy<sizing::static_xen_default>);
  static_assert(!placement::PlacementPolicy<no_family>);
  static_assert(!placement::PlacementPolicy<no_decide>);
  static_assert(!placement::PlacementPolicy<no_name>);
  static_assert(!placement::PlacementPolicy<decide_returns_void>);
  static_assert(!placement::PlacementPolicy<int>);
  static_assert(!placement::PlacementPolicy<placement::libxl_like>);  // scores new guests' nodes, no decide()
  CHECK_FALSE(placement::PlacementPolicy<no_family>);
}

TEST_CASE("IncrementalPlacement: closer re-decides one guest; a policy without replan() does not") {
  static_assert(placement::IncrementalPlacement<placement::closer>);
  static_assert(placement::IncrementalPlacement<with_replan>);
  static_assert(!placement::IncrementalPlacement<complete>);
  static_assert(!placement::IncrementalPlacement<placement::xen_default>);
  CHECK(placement::IncrementalPlacement<placement::closer>);
}
