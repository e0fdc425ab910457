#include "pools.hpp"

#include <pvmkit/backend/mock.hpp>
#include <pvmkit/flipping/grant_copy.hpp>
#include <pvmkit/flipping/informed.hpp>
#include <pvmkit/flipping/numa_local.hpp>
#include <pvmkit/flipping/receive_path.hpp>
#include <pvmkit/flipping/xen_default_flip.hpp>
#include <pvmkit/topology/topology.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

using namespace pvmkit;
using namespace pvmkit::literals;
using namespace pvmkit::flipping;

namespace {
const pool_config small_pools{.low_watermark = 16, .high_watermark = 128, .refill_batch = 64, .max_batch = 32};

std::vector<std::uint64_t> per_node(mock_host& host, domain_id d) {
  std::vector<std::uint64_t> out;
  const auto pages = host.guest_pages_per_node(d).value();
  for (auto p : pages) out.push_back(p.count());
  return out;
}
// Share of the guest's pages off its home node.
double remote_share(mock_host& host, domain_id d, node_id home) {
  const auto n = per_node(host, d);
  std::uint64_t total = 0;
  for (auto x : n) total += x;
  return static_cast<double>(total - n[home.index()]) / static_cast<double>(total);
}
using test::contents;

// A host with two guests, one per node, 16 MiB (4096 pages) each.
struct two_guest_host {
  mock_host host{make_uniform_topology(2, 4, 1_GiB), mock_pvm_spec{.memory = 64_MiB}};
  domain_id a = host.add_guest({.name = "a", .home = node_id{0}, .memory = 16_MiB});
  domain_id b = host.add_guest({.name = "b", .home = node_id{1}, .memory = 16_MiB});
};

template <FlipPolicy P>
void run(two_guest_host& h, receive_path<mock_host, P>& path, std::size_t batches) {
  auto ra = path.connect(h.a);
  auto rb = path.connect(h.b);
  REQUIRE(ra);
  REQUIRE(rb);
  for (std::size_t i = 0; i < batches; ++i) {
    auto da = path.deliver(*ra, 32);
    auto db = path.deliver(*rb, 32);
    REQUIRE(da);
    REQUIRE(db);
    CHECK(da->flipped + da->copied == 32);
  }
}

// Forwards to a mock host but reports posted buffers on a node the host does not have.
struct lying_host {
  mock_host* m;
  auto topology() { return m->topology(); }
  auto snapshot() { return m->snapshot(); }
  auto set_vcpu_affinity(domain_id d, vcpu_id v, const cpuset& c) { return m->set_vcpu_affinity(d, v, c); }
  auto set_vcpu_online(domain_id d, vcpu_id v, bool on) { return m->set_vcpu_online(d, v, on); }
  auto set_memory_target(domain_id d, bytes t) { return m->set_memory_target(d, t); }
  auto set_node_affinity(domain_id d, const nodeset& n) { return m->set_node_affinity(d, n); }
  auto allocate_node_pages(node_id n, std::span<page_frame> out) { return m->allocate_node_pages(n, out); }
  auto free_pages(std::span<const page_frame> in) { return m->free_pages(in); }
  auto exchange_pages(domain_id d, std::span<const page_frame> in, std::span<page_frame> out) {
    return m->exchange_pages(d, in, out);
  }
  auto guest_pages_per_node(domain_id d) { return m->guest_pages_per_node(d); }
  result<std::size_t> posted_rx_pages(domain_id d, std::span<page_frame> out) {
    auto r = m->posted_rx_pages(d, out);
    if (r && *r > 1) out[1].node = node_id{9};
    return r;
  }
  auto guest_recycles_rx_pages(domain_id d) { return m->guest_recycles_rx_pages(d); }
};
static_assert(FlipPoolControl<lying_host>);
}  // namespace

TEST_CASE("numa_local keeps every guest page on its node; xen_default_flip scatters them") {
  two_guest_host local;
  receive_path<mock_host, numa_local> lp(local.host, numa_local{}, small_pools);
  REQUIRE(lp.prime());
  run(local, lp, 400);  // 12800 flips per guest, three times each guest's memory
  CHECK(per_node(local.host, local.a) == std::vector<std::uint64_t>{4096, 0});
  CHECK(per_node(local.host, local.b) == std::vector<std::uint64_t>{0, 4096});
  REQUIRE(lp.pools().audit());

  two_guest_host xen;
  receive_path<mock_host, xen_default_flip> xp(xen.host, xen_default_flip{}, small_pools);
  REQUIRE(xp.prime());
  run(xen, xp, 400);
  const double ra = remote_share(xen.host, xen.a, node_id{0});
  const double rb = remote_share(xen.host, xen.b, node_id{1});
  INFO("xen_default_flip remote shares " << ra << " " << rb);
  CHECK(ra > 0.3);
  CHECK(rb > 0.3);
  REQUIRE(xp.pools().audit());
}

TEST_CASE("a guest whose memory is split over nodes keeps its split under numa_local") {
  mock_host host(make_uniform_topology(2, 4, 1_GiB), mock_pvm_spec{.memory = 64_MiB});
  const domain_id g = host.add_guest({.name = "split", .home = node_id{0}, .memory_per_node = {12_MiB, 4_MiB}});
  receive_path<mock_host, numa_local> path(host, numa_local{}, small_pools);
  REQUIRE(path.prime());
  auto req = path.connect(g);
  REQUIRE(req);
  std::size_t flipped = 0;
  for (int i = 0; i < 300; ++i) {
    auto d = path.deliver(*req, 32);
    REQUIRE(d);
    flipped += d->flipped;
  }
  CHECK(flipped == 300 * 32);
  CHECK(per_node(host, g) == std::vector<std::uint64_t>{3072, 1024});
}

TEST_CASE("a pool that cannot be refilled node-exactly falls back to copying") {
  // Node 1 has exactly the memory its guest and the pVM's share take: nothing left to allocate.
  topology topo({{node_id{0}, cpuset::range(0, 2), 256_MiB, 256_MiB}, {node_id{1}, cpuset::range(2, 4), 24_MiB, 24_MiB}},
                {10, 21, 21, 10});
  mock_host host(topo, mock_pvm_spec{.memory = 16_MiB});
  const domain_id g = host.add_guest({.name = "g", .home = node_id{1}, .memory = 16_MiB});
  receive_path<mock_host, numa_local> path(host, numa_local{}, small_pools);
  REQUIRE(path.prime());
  CHECK(path.pools().size(node_id{1}) == 0);
  CHECK(path.pools().size(node_id{0}) == small_pools.high_watermark);
  auto req = path.connect(g);
  REQUIRE(req);
  auto d = path.deliver(*req, 32);
  REQUIRE(d);
  CHECK(d->flipped == 0);
  CHECK(d->copied == 32);
  CHECK(per_node(host, g) == std::vector<std::uint64_t>{0, 4096});
}

TEST_CASE("informed flipping is negotiated per guest at connect time") {
  topology topo({{node_id{0}, cpuset::range(0, 2), 256_MiB, 256_MiB}, {node_id{1}, cpuset::range(2, 4), 40_MiB, 40_MiB}},
                {10, 21, 21, 10});
  mock_host host(topo, mock_pvm_spec{.memory = 16_MiB});
  const domain_id yes = host.add_guest({.name = "yes", .home = node_id{1}, .memory = 16_MiB, .recycles_rx_pages = true});
  const domain_id no = host.add_guest({.name = "no", .home = node_id{1}, .memory = 16_MiB});
  // Node 1: 40 MiB - 8 MiB pVM - 32 MiB of guests = no free page, so its pool stays dry.
  receive_path<mock_host, informed> path(host, informed{}, small_pools);
  REQUIRE(path.prime());
  REQUIRE(path.pools().size(node_id{1}) == 0);
  auto ry = path.connect(yes);
  auto rn = path.connect(no);
  REQUIRE(ry);
  REQUIRE(rn);
  CHECK(ry->guest_recycles);
  CHECK_FALSE(rn->guest_recycles);
  CHECK_FALSE(path.connect(domain_id{42}));

  // Without the feature: numa_local behaviour, i.e. copies rather than remote pages.
  for (int i = 0; i < 20; ++i) {
    auto d = path.deliver(*rn, 32);
    REQUIRE(d);
    CHECK(d->copied == 32);
  }
  CHECK(per_node(host, no) == std::vector<std::uint64_t>{0, 4096});

  // With it: remote pages are flipped but stay in the receive ring, never in application memory.
  std::size_t flipped = 0;
  for (int i = 0; i < 200; ++i) {
    auto d = path.deliver(*ry, 32);
    REQUIRE(d);
    flipped += d->flipped;
  }
  CHECK(flipped == 200 * 32);
  const auto pages = per_node(host, yes);
  const auto ring = host.rx_buffer_pages_per_node(yes);
  CHECK(pages[0] > 0);                   // remote pages reached the guest...
  CHECK(pages[0] == ring[0].count());    // ...but every one of them sits in its receive ring
  CHECK(pages[0] <= small_pools.max_batch);
  REQUIRE(path.pools().audit());
}

TEST_CASE("grant_copy keeps no pools and copies every packet") {
  two_guest_host h;
  receive_path<mock_host, grant_copy> path(h.host, grant_copy{}, small_pools);
  REQUIRE(path.prime());
  CHECK(path.pools().total_size() == 0);
  auto req = path.connect(h.a);
  REQUIRE(req);
  auto d = path.deliver(*req, 32);
  REQUIRE(d);
  CHECK(d->copied == 32);
  CHECK(d->flipped == 0);
  for (const auto& c : h.host.calls()) CHECK(c.name != "exchange_pages");
}

TEST_CASE("bad input and backend failures leave the pools intact") {
  two_guest_host h;
  receive_path<mock_host, numa_local> path(h.host, numa_local{}, small_pools);
  REQUIRE(path.prime());
  auto req = path.connect(h.a);
  REQUIRE(req);
  REQUIRE(path.deliver(*req, 32));
  const auto before = contents(path.pools());
  const auto guest_before = per_node(h.host, h.a);

  SUBCASE("a guest that does not exist") {
    CHECK(path.deliver(flip_request{domain_id{99}, false}, 8).error() == errc::unknown_domain);
    CHECK(path.deliver(flip_request{pvm_domain, false}, 8).error() == errc::unknown_domain);
  }
  SUBCASE("a batch larger than the pool serves") {
    CHECK(path.deliver(*req, small_pools.max_batch + 1).error() == errc::over_capacity);
  }
  SUBCASE("the exchange fails in the hypervisor") {
    h.host.fail_when([](const mock_call& c) { return c.name == "exchange_pages"; });
    CHECK(path.deliver(*req, 32).error() == errc::injected_failure);
    h.host.clear_failures();
  }
  CHECK(contents(path.pools()) == before);
  CHECK(per_node(h.host, h.a) == guest_before);
  REQUIRE(path.pools().audit());
  // And the path still works afterwards.
  auto d = path.deliver(*req, 32);
  REQUIRE(d);
  CHECK(d->flipped == 32);
}

TEST_CASE("a posted buffer on an unknown node is refused before any page moves") {
  mock_host m(make_uniform_topology(2, 4, 1_GiB), mock_pvm_spec{.memory = 64_MiB});
  const domain_id g = m.add_guest({.name = "g", .home = node_id{0}, .memory = 16_MiB});
  lying_host host{&m};
  receive_path<lying_host, numa_local> path(host, numa_local{}, small_pools);
  REQUIRE(path.prime());
  const auto before = contents(path.pools());
  auto req = path.connect(g);
  REQUIRE(req);
  CHECK(path.deliver(*req, 8).error() == errc::unknown_node);
  CHECK(contents(path.pools()) == before);
  CHECK(per_node(m, g) == std::vector<std::uint64_t>{4096, 0});
}

TEST_CASE("last_choices: the decisions of the last delivery, none after a failed one") {
  two_guest_host h;
  receive_path path(h.host, grant_copy{}, small_pools);
  auto req = path.connect(h.a);
  REQUIRE(req);
  CHECK(path.last_choices().empty());
  REQUIRE(path.deliver(*req, 20));
  REQUIRE(path.last_choices().size() == 20);
  for (const auto& c : path.last_choices()) CHECK(c.copy);
  receive_path flips(h.host, numa_local{}, small_pools);
  REQUIRE(flips.prime());
  REQUIRE(flips.deliver(*req, 8));
  REQUIRE(flips.last_choices().size() == 8);
  for (const auto& c : flips.last_choices()) CHECK_FALSE(c.copy);
  h.host.fail_next(make_error_code(errc::injected_failure));
  CHECK_FALSE(flips.deliver(*req, 8));
  CHECK(flips.last_choices().empty());
}
