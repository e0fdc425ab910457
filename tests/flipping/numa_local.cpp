#include "pools.hpp"

#include <pvmkit/flipping/numa_local.hpp>

#include <doctest/doctest.h>

#include <vector>

using namespace pvmkit;
using namespace pvmkit::flipping;
using namespace pvmkit::test;

TEST_CASE("numa_local flips each packet a page from the node of the buffer it replaces") {
  auto pools = stocked({8, 8, 8});
  const auto replaced = guest_buffers({0, 2, 2, 1, 0});  // a guest whose memory is split over nodes
  std::vector<flip_choice> out(replaced.size());
  auto flips = numa_local{}.select({domain_id{1}, false}, replaced, pools, out);
  REQUIRE(flips);
  CHECK(*flips == 5);
  for (std::size_t i = 0; i < out.size(); ++i) {
    CHECK_FALSE(out[i].copy);
    CHECK(out[i].page.node == replaced[i].node);
  }
  CHECK(pools.size(node_id{0}) == 6);
  CHECK(pools.size(node_id{1}) == 7);
  CHECK(pools.size(node_id{2}) == 6);
  REQUIRE(pools.audit());
}

TEST_CASE("numa_local copies when the right pool is dry, and never flips a remote page") {
  auto pools = stocked({1, 50});
  const auto replaced = guest_buffers({0, 0, 0, 1});
  std::vector<flip_choice> out(3);
  auto flips = numa_local{}.select({domain_id{1}, false}, replaced, pools, out);
  REQUIRE(flips);
  CHECK(*flips == 1);
  CHECK(out[0] == flip_choice::flip(page(0, 1000)));
  // The second packet would replace buffer 1 (node 0) too: its pool is dry, so copy.
  CHECK(out[1].copy);
  CHECK(out[2].copy);
  CHECK(pools.size(node_id{1}) == 50);
}

TEST_CASE("numa_local: a pool running dry in the middle of a batch turns the rest into copies") {
  auto pools = stocked({5, 1});
  const auto replaced = guest_buffers({0, 1, 1, 0, 0});
  std::vector<flip_choice> out(4);
  auto flips = numa_local{}.select({domain_id{1}, false}, replaced, pools, out);
  REQUIRE(flips);
  CHECK(*flips == 2);
  CHECK(out[0].page.node == node_id{0});
  CHECK(out[1].page.node == node_id{1});
  // The third packet would replace buffer 2 (node 1): dry, and a copy leaves that buffer posted.
  CHECK(out[2].copy);
  CHECK(out[3].copy);
  CHECK(pools.size(node_id{0}) == 4);
  CHECK(pools.size(node_id{1}) == 0);
  REQUIRE(pools.audit());
}
