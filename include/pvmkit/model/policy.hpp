// The shape every planning policy (placement, sizing) has: a small value type whose decide() turns
// a snapshot into a plan. It never talks to a backend.
#pragma once

#include <pvmkit/model/host_view.hpp>
#include <pvmkit/model/decision.hpp>
#include <pvmkit/model/plan.hpp>

#include <concepts>
#include <string_view>

namespace pvmkit {

// The family a policy belongs to, as a type: a sizing policy cannot pass for a placement one, and
// what a family is called is said once.
struct placement_family {
  static constexpr std::string_view name = "placement";
};
struct sizing_family {
  static constexpr std::string_view name = "sizing";
};

template <class P>
concept Policy = std::copy_constructible<P> && requires(P& p, const P& cp, const host_view& v, decision_log& log) {
  { p.decide(v, log) } -> std::same_as<plan>;
  { cp.name() } -> std::convertible_to<std::string_view>;
};

// A policy that also has a cheap check to run between control rounds (e.g. every 100 ms): guard()
// reads the same snapshot and returns the few steps that cannot wait for the next round (an empty
// plan, almost always). The controller calls it only on policies that have one.
template <class P>
concept GuardedPolicy = Policy<P> && requires(P& p, const host_view& v, decision_log& log) {
  { p.guard(v, log) } -> std::same_as<plan>;
};

// A policy that can also add its steps to the end of a plan it is given (the round's plan, holding
// the steps of the policies before it): the controller then need not copy its steps there, which
// matters for a policy that emits thousands (a first placement plan). Same steps as decide(v, log).
template <class P>
concept AppendingPolicy = Policy<P> && requires(P& p, const host_view& v, decision_log& log, plan& into) {
  { p.decide(v, log, into) } -> std::same_as<void>;
};

}  // namespace pvmkit
