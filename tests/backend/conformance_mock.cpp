#include "backend_conformance.hpp"

#include <pvmkit/backend/mock.hpp>

namespace {
using namespace pvmkit::literals;

// Two nodes, a guest on each, split as the suite expects of a real host.
struct mock_fixture {
  pvmkit::mock_host host{pvmkit::make_uniform_topology(2, 4, 8_GiB)};
  pvmkit::domain_id g = host.add_guest({.name = "g1", .vcpus = 2, .home = pvmkit::node_id{1}, .memory = 1_GiB});
  pvmkit::mock_host& backend() { return host; }
  pvmkit::domain_id guest() const { return g; }
};

// One node, one CPU: the smallest host the suite must still pass on.
struct mock_tiny_fixture {
  pvmkit::mock_host host{pvmkit::make_uniform_topology(1, 1, 2_GiB), {.vcpus = 1, .memory = 256_MiB}};
  pvmkit::domain_id g = host.add_guest({.name = "tiny", .vcpus = 1, .home = pvmkit::node_id{0}, .memory = 256_MiB});
  pvmkit::mock_host& backend() { return host; }
  pvmkit::domain_id guest() const { return g; }
};
}  // namespace

TEST_CASE_TEMPLATE_INVOKE(pvmkit_backend_conformance, mock_fixture, mock_tiny_fixture);
