// The sizing family: policies that decide how big the pVM is (vCPUs online per node, memory
// target, node affinity of its memory).
#pragma once

#include <pvmkit/model/policy.hpp>

#include <concepts>

namespace pvmkit::sizing {

// A Policy that says it belongs to this family (see placement::PlacementPolicy).
template <class P>
concept SizingPolicy = Policy<P> && std::same_as<typename P::family, sizing_family>;

}  // namespace pvmkit::sizing
