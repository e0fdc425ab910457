#include "pools.hpp"

#include <pvmkit/flipping/informed.hpp>
#include <pvmkit/flipping/numa_local.hpp>

#include <doctest/doctest.h>

#include <vector>

using namespace pvmkit;
using namespace pvmkit::flipping;
using namespace pvmkit::test;

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
