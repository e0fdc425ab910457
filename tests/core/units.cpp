#include <pvmkit/core/units.hpp>

#include <doctest/doctest.h>

using namespace pvmkit;
using namespace pvmkit::literals;

// Compile-time: the literals and the arithmetic are constexpr.
static_assert(1_KiB == bytes{1024});
static_assert(1_GiB == 1024_MiB);
static_assert(to_pages(8_KiB) == pages{2});

TEST_CASE("bytes: arithmetic saturates at zero, never wraps") {
  CHECK((1_GiB - 2_GiB) == 0_B);
  bytes b = 3_MiB;
  b -= 5_MiB;
  CHECK(b == 0_B);
  b += 1_MiB;
  CHECK(b.count() == 1048576);
  CHECK((2_MiB * 3) == 6_MiB);
  CHECK((6_MiB / 4).count() == 1572864);
  CHECK(1_GiB > 1023_MiB);
}

TEST_CASE("bytes in MiB and GiB, for reports") {
  CHECK((1536_MiB).gib() == doctest::Approx(1.5));
  CHECK((512_KiB).mib() == doctest::Approx(0.5));
}

TEST_CASE("pages: 4 KiB each, whole pages only, saturating") {
  CHECK(page_size_bytes == 4096);
  CHECK(pages{3}.to_bytes() == 12_KiB);
  CHECK(to_pages(4095_B) == pages{0});  // a partial page cannot be allocated
  CHECK(to_pages(4097_B) == pages{1});
  CHECK((pages{2} - pages{5}) == pages{0});
  pages p{7};
  p -= pages{2};
  p += pages{1};
  CHECK(p.count() == 6);
}
