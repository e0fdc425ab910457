// libxl's errors as std::error_code, with no hypervisor needed: each call its own category.
#include <pvmkit/core/error.hpp>
#include <pvmkit/xen/libxl_error.hpp>

#include <doctest/doctest.h>

#include <set>
#include <string>

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

TEST_CASE("every libxl call has its own name and category; only ctx_alloc's message says there is no hypervisor") {
  std::set<std::string> names;
  std::set<const std::error_category*> cats;
  for (int c = 0; c <= static_cast<int>(pvmkit::libxl_call::sched_params_set); ++c) {
    const auto call = static_cast<pvmkit::libxl_call>(c);
    CHECK(names.insert(pvmkit::libxl_call_name(call)).second);
    CHECK(cats.insert(&pvmkit::libxl_category(call)).second);
    CHECK(std::string{pvmkit::libxl_category(call).name()} == pvmkit::libxl_call_name(call));
  }
  CHECK(pvmkit::make_libxl_error(pvmkit::libxl_call::ctx_alloc, ERROR_FAIL).message().find("no Xen hypervisor: ") == 0);
  CHECK(pvmkit::make_libxl_error(pvmkit::libxl_call::list_vcpu, ERROR_FAIL).message().find("no Xen hypervisor") == std::string::npos);
}
