#include "pools.hpp"

#include <pvmkit/flipping/xen_default_flip.hpp>

#include <doctest/doctest.h>

#include <vector>

using namespace pvmkit;
using namespace pvmkit::flipping;
using namespace pvmkit::test;

TEST_CASE("xen_default_flip ignores the guest's node and drains the fullest pool") {
  auto pools = stocked({2, 5});
  const auto replaced = guest_buffers({0, 0, 0, 0, 0});
  std::vector<flip_choice> out(5);
  auto flips = xen_default_flip{}.select({domain_id{1}, false}, replaced, pools, out);
  REQUIRE(flips);
  CHECK(*flips == 5);
  std::vector<std::uint32_t> nodes;
  for (const auto& c : out) nodes.push_back(c.page.node.value());
  // 5 vs 2 -> node 1 until 2 vs 2, then the tie goes to node 0, then 1 vs 2 -> node 1.
  CHECK(nodes == std::vector<std::uint32_t>{1, 1, 1, 0, 1});
  auto empty = stocked({0, 0});
  CHECK(*xen_default_flip{}.select({domain_id{1}, false}, replaced, empty, out) == 0);
  for (const auto& c : out) CHECK(c.copy);
}
