// A backend that cannot take a snapshot is refused, and the message names the capability.
// expect: SnapshotSource
#include <pvmkit/controller.hpp>

namespace {
struct no_snapshot {
  pvmkit::result<std::shared_ptr<const pvmkit::topology>> topology() { return pvmkit::unexpected{pvmkit::errc::not_supported}; }
  pvmkit::result<void> set_vcpu_affinity(pvmkit::domain_id, pvmkit::vcpu_id, const pvmkit::cpuset&) { return {}; }
  pvmkit::result<void> set_vcpu_online(pvmkit::domain_id, pvmkit::vcpu_id, bool) { return {}; }
  pvmkit::result<void> set_memory_target(pvmkit::domain_id, pvmkit::bytes) { return {}; }
  pvmkit::result<void> set_node_affinity(pvmkit::domain_id, const pvmkit::nodeset&) { return {}; }
};
}  // namespace

int main() {
  no_snapshot b;
  (void)pvmkit::apply_plan(b, pvmkit::host_view{}, pvmkit::plan{});
}
