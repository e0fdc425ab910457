// The Xen backend off Xen: opening it is a clear error, never a crash. Runs in every build with
// the Xen component; on a real dom0 (where libxl opens) these cases are skipped, the harness's
// conformance run covers that side.
#include <pvmkit/xen/xen_backend.hpp>
#include <pvmkit/xen/xen_pvm_backend.hpp>

#include <doctest/doctest.h>

#include <filesystem>
#include <string>

namespace {
bool on_xen() { return std::filesystem::exists("/proc/xen/capabilities") || std::filesystem::exists("/dev/xen/privcmd"); }
}  // namespace

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
  SUBCASE("the dom0 task-placement backend fails the same way") {
    CHECK_THROWS_AS((void)pvmkit::make_xen_pvm_backend("/proc", quiet), pvmkit::xen_unavailable);
  }
}

TEST_CASE("libxl error codes carry the call that failed") {
  const auto ec = pvmkit::make_libxl_error(pvmkit::libxl_call::set_vcpuaffinity, ERROR_INVAL);
  CHECK(pvmkit::is_libxl_error(ec));
  CHECK(ec.value() == ERROR_INVAL);
  CHECK(std::string{ec.category().name()} == "libxl_set_vcpuaffinity");
  CHECK(ec.message() == "libxl_set_vcpuaffinity failed: libxl error -6 (inval)");
  // Calls that report failure by returning NULL map to ERROR_FAIL, never to a success code.
  const auto null_list = pvmkit::make_libxl_error(pvmkit::libxl_call::list_domain, 0);
  CHECK(null_list.value() == ERROR_FAIL);
  CHECK(static_cast<bool>(null_list));
  CHECK_FALSE(pvmkit::is_libxl_error(make_error_code(pvmkit::errc::unknown_domain)));
}
