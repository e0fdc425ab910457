// The shape every planning policy (placement, sizing) has: a small value type whose decide() turns
// a snapshot into a plan. It never talks to a backend.
#pragma once

#include <pvmkit/backend/host_view.hpp>
#include <pvmkit/decision.hpp>
#include <pvmkit/plan.hpp>

#include <concepts>
#include <string_view>

namespace pvmkit {

template <class P>
concept Policy = std::copy_constructible<P> && requires(P& p, const P& cp, const host_view& v, decision_log& log) {
  { p.decide(v, log) } -> std::same_as<plan>;
  { cp.name() } -> std::convertible_to<std::string_view>;
};

}  // namespace pvmkit
