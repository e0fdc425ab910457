// The Xen backend off Xen: opening it is a clear error, never a crash. Runs in every build with
// the Xen component; on a real dom0 (where libxl opens) these cases are skipped: the real-Xen
// harness (tests/xen/run-xen-harness.sh) runs the conformance suite, conformance_xen.cpp, there.
#include <pvmkit/xen/xen_backend.hpp>

#include "on_xen.hpp"

#include <doctest/doctest.h>

#include <string>

using pvmkit::test::on_xen;

TEST_CASE("opening the Xen backend without a hypervisor") {
  if (on_xen()) {
    MESSAGE("this machine runs on Xen: the no-hypervisor cases do not apply");
    return;
  }
  // Quiet libxl's own stderr lines: the test checks what pvmkit reports.
  const pvmkit::xen_options quiet{XTL_CRITICAL};

  SUBCASE("open() returns an error naming libxl_ctx_alloc") {
    auto r = pvmkit::xen_backend::open(quiet);
    REQUIRE_FALSE(r.has_value());
    CHECK(pvmkit::is_libxl_error(r.error()));
    CHECK(std::string{r.error().category().name()} == "libxl_ctx_alloc");
    CHECK(r.error().value() == ERROR_FAIL);
    const std::string msg = r.error().message();
    CHECK(msg.find("no Xen hypervisor") == 0);
    CHECK(msg.find("libxl_ctx_alloc failed") != std::string::npos);
  }
  SUBCASE("the constructor throws xen_unavailable with errno's explanation") {
    try {
      pvmkit::xen_backend b{quiet};
      FAIL("xen_backend opened without a hypervisor");
    } catch (const pvmkit::xen_unavailable& e) {
      const std::string msg = e.what();
      CHECK(msg.find("no Xen hypervisor: libxl_ctx_alloc failed") == 0);
      CHECK(msg.find("errno") != std::string::npos);
    }
  }
}
