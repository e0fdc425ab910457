// A backend that cannot set memory targets is refused, and the message names the capability.
// expect: MemoryControl
#include <pvmkit/controller.hpp>

namespace {
struct no_memory {
  pvmkit::result<std::shared_ptr<const pvmkit::topology>> topology() { return pvmkit::unexpected{pvmkit::errc::not_supported}; }
  pvmkit::result<pvmkit::host_view> snapshot() { return pvmkit::unexpected{pvmkit::errc::not_supported}; }
  pvmkit::result<void> set_vcpu_affinity(pvmkit::domain_id, pvmkit::vcpu_id, const pvmkit::cpuset&) { return {}; }
  pvmkit::result<void> set_vcpu_online(pvmkit::domain_id, pvmkit::vcpu_id, bool) { return {}; }
};
}  // namespace

int main() {
  no_memory b;
  (void)pvmkit::apply_plan(b, pvmkit::host_view{}, pvmkit::plan{});
}
