// The flipping model's host on its own: pages taken from and given back to a node's free memory,
// rings posted by the guests, and refusals of pages or guests it does not know. The model that
// runs policies on it is tested in flipping_model.cpp.
#include <pvmkit/sim/flip_host.hpp>

#include <doctest/doctest.h>

#include <vector>

using namespace pvmkit;
using namespace pvmkit::literals;
using namespace pvmkit::sim;

namespace {
flip_scenario one_guest() {
  flip_scenario s{make_uniform_topology(2, 4, 8_GiB)};
  flip_guest g;
  g.home = node_id{1};
  s.guests = {g};
  s.rx_ring_slots = 128;
  return s;
}
}  // namespace

TEST_CASE("flip_host: the pVM's pages come out of a node's free memory and go back to it") {
  flip_host h{one_guest(), false};
  const auto free0 = h.free_pages_on(node_id{0});
  std::vector<page_frame> got(10);
  auto n = h.allocate_node_pages(node_id{0}, got);
  REQUIRE(n);
  CHECK(*n == 10);
  CHECK(h.free_pages_on(node_id{0}) == free0 - 10);
  for (const auto& p : got) CHECK(p.node == node_id{0});
  REQUIRE(h.free_pages(got));
  CHECK(h.free_pages_on(node_id{0}) == free0);
  CHECK(h.free_pages(got).error() == errc::unknown_page);  // no longer the pVM's
  CHECK(h.allocate_node_pages(node_id{5}, got).error() == errc::unknown_node);
}

TEST_CASE("flip_host: a guest keeps its ring posted; an exchange must match it") {
  flip_host h{one_guest(), true};
  const domain_id g = h.guest_id(0);
  std::vector<page_frame> ring(256);
  auto posted = h.posted_rx_pages(g, ring);
  REQUIRE(posted);
  CHECK(*posted == 128);
  const auto per_node = h.ring_pages_per_node(g);
  CHECK(per_node.size() == 2);
  CHECK(h.posted_rx_pages(domain_id{9}, ring).error() == errc::unknown_domain);
  std::vector<page_frame> in(2), out(3);
  REQUIRE(h.allocate_node_pages(node_id{1}, in));
  CHECK(h.exchange_pages(g, in, out).error() == errc::invalid_argument);  // sizes differ
  CHECK(h.guest_recycles_rx_pages(g).value());
  CHECK(flip_host(one_guest(), false).guest_recycles_rx_pages(g).value() == false);
}

TEST_CASE("flip_host: it cannot place vCPUs or memory: those calls are not supported") {
  flip_host h{one_guest(), false};
  CHECK(h.set_memory_target(h.guest_id(0), 1_GiB).error() == errc::not_supported);
  CHECK(h.set_vcpu_online(pvm_domain, vcpu_id{0}, false).error() == errc::not_supported);
}
