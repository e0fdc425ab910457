// The dom0 task-placement backend (the Xen backend with the Linux layer) off Xen: it refuses to
// open as the Xen backend does. Its behaviour on a dom0 is checked by the real-Xen harness
// (tests/xen/run-xen-harness.sh), which runs conformance_xen.cpp's suite on it.
#include <pvmkit/backend/concepts.hpp>
#include <pvmkit/xen/xen_pvm_backend.hpp>

#include "on_xen.hpp"

#include <doctest/doctest.h>

using pvmkit::test::on_xen;

TEST_CASE("opening the dom0 task-placement backend without a hypervisor throws xen_unavailable") {
  if (on_xen()) {
    MESSAGE("this machine runs on Xen: the no-hypervisor case does not apply");
    return;
  }
  const pvmkit::xen_options quiet{XTL_CRITICAL};
  CHECK_THROWS_AS((void)pvmkit::make_xen_pvm_backend("/proc", quiet), pvmkit::xen_unavailable);
}

TEST_CASE("the dom0 task-placement backend places tasks and caps CPU time, which the plain Xen backend does not") {
  CHECK(pvmkit::TaskPlacement<pvmkit::xen_pvm_backend>);
  CHECK_FALSE(pvmkit::TaskPlacement<pvmkit::xen_backend>);
  CHECK(pvmkit::CpuCapControl<pvmkit::xen_pvm_backend>);
}
