// A CPU id is not a node id.
// expect: node_id|strong_id|node_tag
#include <pvmkit/topology/topology.hpp>

int main() {
  const auto t = pvmkit::make_uniform_topology(2, 2, pvmkit::bytes{1ULL << 30});
  return static_cast<int>(t.distance(pvmkit::cpu_id{0}, pvmkit::node_id{1}));
}
