// The contract of FlipPolicy that every policy keeps: checked on all four.
#include "pools.hpp"

#include <pvmkit/flipping/concepts.hpp>
#include <pvmkit/flipping/grant_copy.hpp>
#include <pvmkit/flipping/informed.hpp>
#include <pvmkit/flipping/numa_local.hpp>
#include <pvmkit/flipping/xen_default_flip.hpp>

#include <doctest/doctest.h>

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

using namespace pvmkit;
using namespace pvmkit::flipping;
using namespace pvmkit::test;

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

namespace {

// A flipping policy in every respect but the one named; each must fail the concept.
struct no_flips_pages {
  [[nodiscard]] std::string_view name() const { return "no_flips_pages"; }
  result<std::size_t> select(const flip_request&, std::span<const page_frame>, page_pools&, std::span<flip_choice>) const {
    return std::size_t{0};
  }
};
struct select_returns_count {
  static constexpr bool flips_pages = true;
  [[nodiscard]] std::string_view name() const { return "select_returns_count"; }
  std::size_t select(const flip_request&, std::span<const page_frame>, page_pools&, std::span<flip_choice>) const { return 0; }
};
struct complete : no_flips_pages {
  static constexpr bool flips_pages = true;
};

}  // namespace

TEST_CASE("a type without flips_pages, or whose select() cannot fail, is not a FlipPolicy") {
  static_assert(FlipPolicy<complete>);
  static_assert(!FlipPolicy<no_flips_pages>);
  static_assert(!FlipPolicy<select_returns_count>);
  static_assert(!FlipPolicy<int>);
  CHECK_FALSE(FlipPolicy<select_returns_count>);
  CHECK_FALSE(grant_copy::flips_pages);  // the driver keeps no pools for it
  CHECK(numa_local::flips_pages);
}
