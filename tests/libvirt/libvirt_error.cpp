// libvirt's errors as std::error_code: one interned category per distinct error, read back whole.
#include <pvmkit/core/error.hpp>
#include <pvmkit/core/run_in_child.hpp>
#include <pvmkit/libvirt/libvirt_error.hpp>

#include <doctest/doctest.h>

#include <cstddef>
#include <string>

using namespace pvmkit;

TEST_CASE("libvirt error codes keep their call, code, domain and text") {
  const auto a = make_libvirt_error({"virDomainPinEmulator", VIR_ERR_INVALID_ARG, VIR_FROM_QEMU, "invalid argument: bad cpumap"});
  const auto b = make_libvirt_error({"virDomainPinEmulator", VIR_ERR_INVALID_ARG, VIR_FROM_QEMU, "invalid argument: bad cpumap"});
  const auto c = make_libvirt_error({"virDomainPinEmulator", VIR_ERR_INVALID_ARG, VIR_FROM_QEMU, "another text"});
  CHECK(a == b);  // interned: equal errors compare equal
  CHECK(a != c);
  CHECK(a.value() == VIR_ERR_INVALID_ARG);
  CHECK(a.message() == "virDomainPinEmulator failed: libvirt error 8 (domain 10): invalid argument: bad cpumap");
  CHECK(libvirt_error_of(c)->message == "another text");
  // A failure libvirt recorded nothing for is never mistaken for success.
  const auto none = make_libvirt_error({"virDomainGetInfo", VIR_ERR_OK, 0, ""});
  CHECK(static_cast<bool>(none));
  CHECK(none.value() == VIR_ERR_INTERNAL_ERROR);
  CHECK_FALSE(libvirt_error_of(make_error_code(errc::unknown_domain)).has_value());
}

TEST_CASE("last_libvirt_error takes what libvirt recorded for this thread, then clears it") {
  virConnectPtr conn = virConnectOpen("test:///no/such/host.xml");
  REQUIRE(conn == nullptr);
  const auto ec = last_libvirt_error("virConnectOpen");
  CHECK(is_libvirt_error(ec));
  CHECK(std::string(ec.category().name()) == "virConnectOpen");
  REQUIRE(libvirt_error_of(ec).has_value());
  CHECK(libvirt_error_of(ec)->code == VIR_ERR_XML_ERROR);
  CHECK(libvirt_error_of(ec)->domain == VIR_FROM_TEST);
  // Cleared: asked again, nothing is recorded, and the failure is an internal error without text.
  const auto again = last_libvirt_error("virDomainGetInfo");
  CHECK(again.value() == VIR_ERR_INTERNAL_ERROR);
  CHECK(libvirt_error_of(again)->message.empty());
  CHECK(again.message() == "virDomainGetInfo failed: libvirt error 1 (domain 0)");
  CHECK_FALSE(is_libvirt_error(make_error_code(errc::backend_failure)));
}

TEST_CASE("past libvirt_max_distinct_errors, a new error keeps its call, code and domain but not its text") {
  // In a child: the table is the process's own, and filling it would change the other tests' texts.
  const auto out = run_in_child([](int fd) {
    for (std::size_t i = 0; i < libvirt_max_distinct_errors + 10; ++i)
      (void)make_libvirt_error({"virDomainPinVcpu", VIR_ERR_INVALID_ARG, VIR_FROM_QEMU, "text " + std::to_string(i)});
    const auto a = make_libvirt_error({"virDomainPinVcpu", VIR_ERR_INVALID_ARG, VIR_FROM_QEMU, "one more"});
    const auto b = make_libvirt_error({"virDomainPinVcpu", VIR_ERR_INVALID_ARG, VIR_FROM_QEMU, "and another"});
    const auto early = make_libvirt_error({"virDomainPinVcpu", VIR_ERR_INVALID_ARG, VIR_FROM_QEMU, "text 3"});
    (void)write_all(fd, a.message() + "|" + (a == b ? "same" : "different") + "|" + libvirt_error_of(early)->message);
  });
  REQUIRE_MESSAGE(out.clean(), out.errors);
  CHECK(out.output ==
        "virDomainPinVcpu failed: libvirt error 8 (domain 10): (libvirt's text dropped: too many distinct errors)|same|text 3");
}
