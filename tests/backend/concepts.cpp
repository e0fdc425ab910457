#include <pvmkit/backend/concepts.hpp>
#include <pvmkit/backend/mock.hpp>

#include <doctest/doctest.h>

using namespace pvmkit;

namespace {
// A backend built up capability by capability: each step must be detected on its own.
struct read_only {
  result<std::shared_ptr<const pvmkit::topology>> topology() { return unexpected{errc::not_supported}; }
  result<host_view> snapshot() { return unexpected{errc::not_supported}; }
};
struct with_vcpus : read_only {
  result<void> set_vcpu_affinity(domain_id, vcpu_id, const cpuset&) { return {}; }
  result<void> set_vcpu_online(domain_id, vcpu_id, bool) { return {}; }
};
struct full : with_vcpus {
  result<void> set_memory_target(domain_id, bytes) { return {}; }
  result<void> set_node_affinity(domain_id, const nodeset&) { return {}; }
};
struct wrong_return : with_vcpus {
  bool set_memory_target(domain_id, bytes) { return true; }  // errors must be values, not bools
  result<void> set_node_affinity(domain_id, const nodeset&) { return {}; }
};
}  // namespace

TEST_CASE("capabilities are detected one by one") {
  static_assert(TopologySource<read_only> && SnapshotSource<read_only>);
  static_assert(!VcpuControl<read_only> && !Backend<read_only>);
  static_assert(VcpuControl<with_vcpus> && !MemoryControl<with_vcpus> && !Backend<with_vcpus>);
  static_assert(Backend<full> && !TaskPlacement<full> && !FlipPoolControl<full> && !ComponentControl<full>);
  static_assert(!MemoryControl<wrong_return>);
  static_assert(Backend<mock_host> && TaskPlacement<mock_host> && FlipPoolControl<mock_host>);
  CHECK(backend_traits<full>::name == "unnamed");
  CHECK(backend_traits<mock_host>::name == "mock");
  CHECK(backend_traits<mock_host>::reports_memory_per_node);
}
