#include "pools.hpp"

#include <pvmkit/backend/mock.hpp>
#include <pvmkit/flipping/page_pool.hpp>
#include <pvmkit/topology/topology.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <vector>

using namespace pvmkit;
using namespace pvmkit::literals;
using flipping::page_pools;
using flipping::pool_config;

namespace {
std::vector<page_frame> all_pages(const page_pools& pools) {
  std::vector<page_frame> out;
  for (std::size_t i = 0; i < pools.node_count(); ++i)
    for (const auto& p : pools[node_id{static_cast<node_id::rep>(i)}].contents()) out.push_back(p);
  return out;
}
using test::contents;
}  // namespace

TEST_CASE("pool configuration is validated") {
  CHECK_THROWS_AS(page_pools(0, pool_config{}), config_error);
  CHECK_THROWS_AS(page_pools(2, pool_config{.low_watermark = 10, .high_watermark = 5}), config_error);
  CHECK_THROWS_AS(page_pools(2, pool_config{.max_batch = 0}), config_error);
  CHECK_THROWS_AS(page_pools(2, pool_config{.refill_batch = 0}), config_error);
  page_pools pools(3, pool_config{.low_watermark = 2, .high_watermark = 8, .refill_batch = 4, .max_batch = 4});
  CHECK(pools[node_id{2}].capacity() == 12);
  CHECK(pools.total_size() == 0);
}

TEST_CASE("a page goes only to the pool of its own node; rejections leave the pool intact") {
  page_pools pools(2, pool_config{.low_watermark = 0, .high_watermark = 2, .refill_batch = 2, .max_batch = 1});
  REQUIRE(pools.put(page_frame{1, node_id{0}}));
  const auto before = contents(pools);
  CHECK(pools.put(node_id{1}, page_frame{2, node_id{0}}).error() == errc::invalid_argument);
  CHECK(pools.put(page_frame{3, node_id{5}}).error() == errc::unknown_node);
  CHECK(pools.put(node_id{7}, page_frame{3, node_id{7}}).error() == errc::unknown_node);
  CHECK(contents(pools) == before);
  REQUIRE(pools.put(node_id{0}, page_frame{2, node_id{0}}));
  REQUIRE(pools.put(page_frame{4, node_id{0}}));
  // capacity = high (2) + max_batch (1) = 3
  CHECK(pools.put(page_frame{5, node_id{0}}).error() == errc::over_capacity);
  CHECK(pools.size(node_id{0}) == 3);
  CHECK(pools.take(node_id{1}).error() == errc::pool_exhausted);
  CHECK(pools.take(node_id{9}).error() == errc::unknown_node);
  auto p = pools.take(node_id{0});
  REQUIRE(p);
  CHECK(p->frame == 4);  // newest first: the page most likely still in cache
}

TEST_CASE("node-exact refill through the backend, bounded per call, capped at the high watermark") {
  mock_host host(make_uniform_topology(2, 2, 64_MiB), mock_pvm_spec{.memory = 8_MiB});
  page_pools pools(2, pool_config{.low_watermark = 4, .high_watermark = 20, .refill_batch = 8, .max_batch = 4});
  host.clear_calls();
  auto added = pools.refill(host, node_id{1}, 100);
  REQUIRE(added);
  CHECK(*added == 20);
  CHECK(pools.size(node_id{1}) == 20);
  CHECK(pools.size(node_id{0}) == 0);
  // 8 + 8 + 4: never more than refill_batch per call
  std::size_t alloc_calls = 0;
  for (const auto& c : host.calls())
    if (c.name == "allocate_node_pages") {
      ++alloc_calls;
      CHECK(c.args.find("node=1") != std::string::npos);
    }
  CHECK(alloc_calls == 3);
  for (const auto& p : pools[node_id{1}].contents()) CHECK(p.node == node_id{1});
  CHECK(pools.refill(host, node_id{3}, 1).error() == errc::unknown_node);
  // The host has to agree the pages are the pVM's: freeing them all succeeds exactly once.
  auto held = all_pages(pools);
  CHECK(host.free_pages(held));
  CHECK_FALSE(host.free_pages(held));
}

TEST_CASE("refill stops where the node has no free memory left") {
  // node 1: 4 MiB + 64 KiB, the pVM takes 4 MiB of it: 16 pages stay free
  topology topo({{node_id{0}, cpuset::range(0, 2), 64_MiB, 64_MiB},
                 {node_id{1}, cpuset::range(2, 4), 4_MiB + 64_KiB, 4_MiB + 64_KiB}},
                {10, 21, 21, 10});
  mock_host host(topo, mock_pvm_spec{.memory = 8_MiB});
  page_pools pools(2, pool_config{.low_watermark = 4, .high_watermark = 64, .refill_batch = 8, .max_batch = 4});
  auto added = pools.refill(host, node_id{1}, 64);
  REQUIRE(added);
  CHECK(*added == 16);
  auto again = pools.refill(host, node_id{1}, 64);
  REQUIRE(again);
  CHECK(*again == 0);
  CHECK(pools.size(node_id{1}) == 16);
}

TEST_CASE("a failed refill or trim loses nothing") {
  mock_host host(make_uniform_topology(2, 2, 64_MiB), mock_pvm_spec{.memory = 8_MiB});
  page_pools pools(2, pool_config{.low_watermark = 4, .high_watermark = 8, .refill_batch = 8, .max_batch = 8});
  host.fail_next();
  CHECK_FALSE(pools.refill(host, node_id{0}, 8));
  CHECK(pools.size(node_id{0}) == 0);
  REQUIRE(pools.refill(host, node_id{0}, 8));
  std::vector<page_frame> extra(4);
  REQUIRE(host.allocate_node_pages(node_id{0}, extra));
  for (const auto& p : extra) REQUIRE(pools.put(p));
  const auto before = contents(pools);
  host.fail_next();
  CHECK_FALSE(pools.trim(host, node_id{0}));
  CHECK(contents(pools) == before);
  auto freed = pools.trim(host, node_id{0});
  REQUIRE(freed);
  CHECK(*freed == 4);
  CHECK(pools.size(node_id{0}) == 8);
  CHECK(pools.counters().pages_freed == 4);
}

TEST_CASE("random take / return / refill / trim sequences keep every page once, on its pool's node") {
  for (std::uint64_t seed : {1ULL, 2ULL, 3ULL, 42ULL, 20240601ULL}) {
    INFO("seed " << seed);
    mock_host host(make_uniform_topology(3, 2, 64_MiB), mock_pvm_spec{.memory = 12_MiB});
    const pool_config cfg{.low_watermark = 8, .high_watermark = 32, .refill_batch = 5, .max_batch = 16};
    page_pools pools(3, cfg);
    std::mt19937_64 rng(seed);
    std::vector<page_frame> out_of_pool;  // taken, as if flipped and not yet replaced
    std::set<std::uint64_t> allocated;    // every frame the host ever gave the pools
    std::set<std::uint64_t> freed;
    for (int step = 0; step < 4000; ++step) {
      const node_id n{static_cast<node_id::rep>(rng() % 3)};
      switch (rng() % 5) {
        case 0: {
          const auto before = pools.size(n);
          auto r = pools.refill(host, n, rng() % 40);
          REQUIRE(r);
          CHECK(pools.size(n) == before + *r);
          break;
        }
        case 1:
        case 2: {
          auto p = pools.take(n);
          if (p) {
            CHECK(p->node == n);
            out_of_pool.push_back(*p);
          } else {
            CHECK(pools.size(n) == 0);
          }
          break;
        }
        case 3:
          if (!out_of_pool.empty()) {
            const std::size_t i = rng() % out_of_pool.size();
            const page_frame p = out_of_pool[i];
            // Sometimes to the wrong pool on purpose: it must be refused.
            const node_id target = rng() % 4 == 0 ? node_id{static_cast<node_id::rep>((p.node.index() + 1) % 3)} : p.node;
            const auto before = pools.size(target);
            auto r = pools.put(target, p);
            if (target != p.node) {
              CHECK(r.error() == errc::invalid_argument);
              CHECK(pools.size(target) == before);
            } else if (r) {
              out_of_pool.erase(out_of_pool.begin() + static_cast<std::ptrdiff_t>(i));
            } else {
              CHECK(r.error() == errc::over_capacity);
            }
          }
          break;
        case 4: {
          const auto held = pools[n].contents();
          const std::size_t excess = held.size() > cfg.high_watermark ? held.size() - cfg.high_watermark : 0;
          std::vector<std::uint64_t> top;
          for (std::size_t k = held.size() - excess; k < held.size(); ++k) top.push_back(held[k].frame);
          auto r = pools.trim(host, n);
          REQUIRE(r);
          CHECK(*r == excess);
          freed.insert(top.begin(), top.end());
          break;
        }
      }
      REQUIRE(pools.audit());
    }
    // Conservation: every page the host allocated is in a pool, out of it, or was freed, once.
    std::vector<std::uint64_t> seen;
    for (const auto& p : all_pages(pools)) seen.push_back(p.frame);
    for (const auto& p : out_of_pool) seen.push_back(p.frame);
    for (auto f : freed) seen.push_back(f);
    std::sort(seen.begin(), seen.end());
    CHECK(std::adjacent_find(seen.begin(), seen.end()) == seen.end());
    CHECK(seen.size() == pools.counters().pages_allocated);
    for (const auto& p : all_pages(pools)) CHECK((p.frame >> 40) == p.node.value());
    // And the host agrees: exactly the pages not freed are still the pVM's.
    std::vector<page_frame> live = all_pages(pools);
    live.insert(live.end(), out_of_pool.begin(), out_of_pool.end());
    CHECK(host.free_pages(live));
  }
}
