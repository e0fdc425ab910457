#include "pools.hpp"

#include <pvmkit/flipping/grant_copy.hpp>

#include <doctest/doctest.h>

#include <vector>

using namespace pvmkit;
using namespace pvmkit::flipping;
using namespace pvmkit::test;

TEST_CASE("grant_copy copies everything and leaves the pools alone") {
  auto pools = stocked({4, 4});
  const auto before = contents(pools);
  const auto replaced = guest_buffers({0, 1});
  std::vector<flip_choice> out(2);
  auto flips = grant_copy{}.select({domain_id{1}, false}, replaced, pools, out);
  REQUIRE(flips);
  CHECK(*flips == 0);
  CHECK(out[0].copy);
  CHECK(out[1].copy);
  CHECK(contents(pools) == before);
}
