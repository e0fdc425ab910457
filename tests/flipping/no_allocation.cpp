// Counts every allocation in this executable, to check that selecting a batch allocates nothing.
#include <pvmkit/flipping/grant_copy.hpp>
#include <pvmkit/flipping/informed.hpp>
#include <pvmkit/flipping/numa_local.hpp>
#include <pvmkit/flipping/xen_default_flip.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <vector>

namespace {
std::atomic<std::size_t> allocations{0};
}

// The replacements below pair malloc with free, which is right; g++ 12 at -O2 sees the inlined
// std::allocator call and wrongly reports a new/free mismatch.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

void* operator new(std::size_t n) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc{};
}
void* operator new[](std::size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

using namespace pvmkit;
using namespace pvmkit::flipping;

TEST_CASE("the counter sees allocations") {
  const auto before = allocations.load();
  auto* v = new std::vector<int>(100);
  delete v;
  CHECK(allocations.load() >= before + 2);
}

TEST_CASE_TEMPLATE("selecting a batch allocates nothing", P, numa_local, informed, xen_default_flip, grant_copy) {
  page_pools pools(2, pool_config{.low_watermark = 0, .high_watermark = 512, .refill_batch = 64, .max_batch = 256});
  for (std::uint32_t n = 0; n < 2; ++n)
    for (std::uint64_t i = 0; i < 300; ++i) REQUIRE(pools.put(page_frame{(std::uint64_t{n} << 40) | i, node_id{n}}));
  std::vector<page_frame> replaced;
  for (std::uint64_t i = 0; i < 256; ++i) replaced.push_back({(std::uint64_t{i % 2} << 40) | (9000 + i), node_id{static_cast<node_id::rep>(i % 2)}});
  std::vector<flip_choice> out(256);
  // Three batches per setting: the pools run dry during the third, so copies are covered too.
  for (bool recycles : {false, true})
    for (int batch = 0; batch < 3; ++batch) {
      const auto before = allocations.load();
      auto flips = P{}.select(flip_request{domain_id{1}, recycles}, replaced, pools, out);
      const auto after = allocations.load();
      REQUIRE(flips);
      CHECK(after == before);
    }
  if constexpr (P::flips_pages) CHECK(pools.total_size() == 0);
}
