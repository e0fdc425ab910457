#include <pvmkit/pvmkit.hpp>
#include <pvmkit/topology/hwloc.hpp>
#include <iostream>

int main() {
  using namespace pvmkit;
  using namespace pvmkit::literals;
  mock_host host{hwloc::load_synthetic("pack:2 numa:1(memory=32GB) core:8 pu:2", "10,21;21,10"), {.vcpus = 4}};
  const domain_id web = host.add_guest({.name = "web", .vcpus = 4, .home = node_id{1}, .memory = 4_GiB});
  host.add_task({.name = "vif1.0-q0-guest-rx", .kind = task_kind::net_backend, .guest = web, .cpu_load = 0.6});
  controller ctl{host, sizing::closer_dynamic{}, placement::closer{}};  // sizing first
  ctl.on_decision([](const decision_record& r) { std::cout << to_json_line(r) << '\n'; });
  const auto round = ctl.step();  // snapshot, decide, apply as one transaction
  std::cout << to_json(round->planned) << '\n' << (round->applied.ok() ? "applied\n" : "rolled back\n");
}
