// A program a toolstack developer would write: load a host, decide, apply to a backend.
#include <pvmkit/pvmkit.hpp>
#include <pvmkit/topology/hwloc.hpp>

#include <iostream>

int main() {
  const auto topo = pvmkit::hwloc::load_synthetic("pack:2 numa:1 core:4 pu:1", "10,21;21,10");
  pvmkit::mock_host host{topo};
  const auto view = host.snapshot();
  if (!view) return 1;
  std::cout << "consumer: " << view->topo->node_count() << " nodes, " << view->topo->cpu_count() << " CPUs, distance "
            << view->topo->distance(pvmkit::node_id{0}, pvmkit::node_id{1}) << '\n';
}
