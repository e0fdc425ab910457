#include "pool_contents.hpp"

#include <pvmkit/flipping/concepts.hpp>
#include <pvmkit/flipping/grant_copy.hpp>
#include <pvmkit/flipping/informed.hpp>
#include <pvmkit/flipping/numa_local.hpp>
#include <pvmkit/flipping/page_pool.hpp>
#include <pvmkit/flipping/xen_default_flip.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

using namespace pvmkit;
using namespace pvmkit::flipping;

namespace {
// Frames carry their node in the high bits, like the mock's.
page_frame page(std::uint32_t node, std::uint64_t i) { return {(std::uint64_t{node} << 40) | i, node_id{node}}; }

page_pools stocked(std::vector<std::size_t> per_node, std::size_t max_batch = 64) {
  page_pools pools(per_node.size(), pool_config{.low_watermark = 0, .high_watermark = 256, .refill_batch = 16, .max_batch = max_batch});
  for (std::uint32_t n = 0; n < per_node.size(); ++n)
    for (std::size_t i = 0; i < per_node[n]; ++i) REQUIRE(pools.put(page(n, 1000 + i)));
  return pools;
}
using test::contents;
std::vector<page_frame> guest_buffers(std::vector<std::uint32_t> nodes) {
  std::vector<page_frame> out;
  for (std::size_t i = 0; i < nodes.size(); ++i) out.push_back(page(nodes[i], 500000 + i));
  return out;
}
}  // namespace

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

TEST_CASE("informed: a recycling guest gets a remote page instead of a copy; others get numa_local") {
  const auto replaced = guest_buffers({0, 0, 0});
  std::vector<flip_choice> out(3);
  {
    auto pools = stocked({1, 10});
    auto flips = informed{}.select({domain_id{1}, true}, replaced, pools, out);
    REQUIRE(flips);
    CHECK(*flips == 3);
    CHECK(out[0].page.node == node_id{0});  // local first
    CHECK(out[1].page.node == node_id{1});
    CHECK(out[2].page.node == node_id{1});
  }
  {
    auto a = stocked({1, 10});
    auto b = stocked({1, 10});
    std::vector<flip_choice> plain(3);
    auto fi = informed{}.select({domain_id{1}, false}, replaced, a, out);
    auto fn = numa_local{}.select({domain_id{1}, false}, replaced, b, plain);
    REQUIRE(fi);
    REQUIRE(fn);
    CHECK(*fi == 1);
    CHECK(*fi == *fn);
    CHECK(out == plain);
    CHECK(contents(a) == contents(b));
  }
}

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

TEST_CASE_TEMPLATE("bad input gets an error and leaves the pools intact", P, numa_local, informed, xen_default_flip,
                   grant_copy) {
  static_assert(FlipPolicy<P>);
  for (bool recycles : {false, true}) {
    auto pools = stocked({6, 6}, 4);
    const auto before = contents(pools);
    const flip_request req{domain_id{1}, recycles};
    std::vector<flip_choice> out(4);
    // A page from a node the host does not have, after valid ones.
    auto bad_node = guest_buffers({0, 1, 0, 0});
    bad_node[2] = page_frame{77, node_id{5}};
    CHECK(P{}.select(req, bad_node, pools, out).error() == errc::unknown_node);
    CHECK(contents(pools) == before);
    // More packets than posted buffers.
    const auto two = guest_buffers({0, 1});
    CHECK(P{}.select(req, two, pools, out).error() == errc::invalid_argument);
    CHECK(contents(pools) == before);
    // A batch larger than the pools take (max_batch 4).
    const auto five = guest_buffers({0, 1, 0, 1, 0});
    std::vector<flip_choice> out5(5);
    CHECK(P{}.select(req, five, pools, out5).error() == errc::over_capacity);
    CHECK(contents(pools) == before);
  }
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
