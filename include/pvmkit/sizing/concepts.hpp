// The sizing family: policies that decide how big the pVM is (vCPUs online per node, memory
// target, node affinity of its memory).
#pragma once

#include <pvmkit/model/policy.hpp>

#include <concepts>
#include <string_view>

namespace pvmkit::sizing {

template <class P>
concept SizingPolicy = Policy<P> && requires {
  { P::family } -> std::convertible_to<std::string_view>;
  requires std::string_view{P::family} == std::string_view{"sizing"};
};

}  // namespace pvmkit::sizing
