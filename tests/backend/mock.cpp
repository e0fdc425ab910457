#include <pvmkit/backend/mock.hpp>

#include <doctest/doctest.h>

#include <array>
#include <numeric>
#include <vector>

using namespace pvmkit;
using namespace pvmkit::literals;

namespace {
mock_host two_node_host() { return mock_host{make_uniform_topology(2, 4, 4_GiB), {.vcpus = 4, .memory = 1_GiB}}; }

std::uint64_t total_pages(const std::vector<pages>& v) {
  std::uint64_t t = 0;
  for (auto p : v) t += p.count();
  return t;
}
}  // namespace

TEST_CASE("mock host builds a pVM and guests where asked") {
  auto host = two_node_host();
  const auto g = host.add_guest({.name = "web", .vcpus = 2, .home = node_id{1}, .memory = 1_GiB});
  const auto split = host.add_guest(
      {.name = "split", .vcpus = 1, .home = node_id{0}, .memory_per_node = {512_MiB, 256_MiB}});
  const auto s = host.state();
  CHECK(s.pvm.vcpus.size() == 4);
  CHECK(s.pvm.memory_per_node == std::vector<bytes>{512_MiB, 512_MiB});
  REQUIRE(s.guests.size() == 2);
  const auto* web = s.find_domain(g);
  REQUIRE(web);
  CHECK(web->memory_per_node == std::vector<bytes>{0_B, 1_GiB});
  CHECK(web->home_node == node_id{1});
  CHECK(web->vcpus[0].hard_affinity == cpuset::range(4, 8));
  CHECK(s.find_domain(split)->memory() == 768_MiB);

  CHECK_THROWS_AS(host.add_guest({.name = "too-big", .home = node_id{0}, .memory = 8_GiB}), config_error);
  CHECK_THROWS_AS(host.add_guest({.name = "nowhere", .home = node_id{5}}), config_error);
  CHECK_THROWS_AS(host.add_guest({.name = "bad-split", .memory_per_node = {1_GiB}}), config_error);
  CHECK_THROWS_AS(host.add_task({.name = "orphan", .guest = domain_id{99}}), config_error);
  CHECK(host.state().guests.size() == 2);  // failed additions left nothing behind
}

TEST_CASE("mock host validates like a hypervisor and changes nothing on refusal") {
  auto host = two_node_host();
  const auto g = host.add_guest({.name = "g", .vcpus = 2, .home = node_id{0}, .memory = 1_GiB});
  const auto t = host.add_task({.name = "vif1.0-q0-guest-rx", .kind = task_kind::net_backend, .guest = g});
  const auto before = host.state();

  CHECK(host.set_vcpu_affinity(g, vcpu_id{0}, cpuset{cpu_id{42}}).error() == errc::unknown_cpu);
  CHECK(host.set_vcpu_affinity(g, vcpu_id{0}, cpuset{}).error() == errc::invalid_argument);
  CHECK(host.set_vcpu_affinity(g, vcpu_id{7}, cpuset{cpu_id{0}}).error() == errc::unknown_vcpu);
  CHECK(host.set_vcpu_affinity(domain_id{77}, vcpu_id{0}, cpuset{cpu_id{0}}).error() == errc::unknown_domain);
  CHECK(host.set_memory_target(g, 8_GiB).error() == errc::over_capacity);  // above the guest's maximum
  CHECK(host.set_memory_target(pvm_domain, 7_GiB + 512_MiB).error() == errc::over_capacity);  // more than is free
  CHECK(host.set_memory_target(g, 0_B).error() == errc::invalid_argument);
  CHECK(host.set_node_affinity(g, nodeset{node_id{2}}).error() == errc::unknown_node);
  CHECK(host.set_node_affinity(g, nodeset{}).error() == errc::invalid_argument);
  CHECK(host.set_task_affinity(task_id{9}, cpuset{cpu_id{0}}).error() == errc::unknown_task);
  CHECK(host.set_task_memory_node(t, node_id{3}).error() == errc::unknown_node);
  // The only vCPU left online cannot go.
  REQUIRE(host.set_vcpu_online(g, vcpu_id{1}, false).has_value());
  CHECK(host.set_vcpu_online(g, vcpu_id{0}, false).error() == errc::invalid_state);
  REQUIRE(host.set_vcpu_online(g, vcpu_id{1}, true).has_value());

  const auto after = host.state();
  CHECK(after.guests[0].vcpus[0].hard_affinity == before.guests[0].vcpus[0].hard_affinity);
  CHECK(after.guests[0].memory_per_node == before.guests[0].memory_per_node);
  CHECK(after.pvm.memory_per_node == before.pvm.memory_per_node);
  CHECK(after.tasks[0].memory_node == before.tasks[0].memory_node);
  // Every refusal was recorded with its error.
  std::size_t failed = 0;
  for (const auto& c : host.calls()) failed += c.error ? 1U : 0U;
  CHECK(failed == 12);
}

TEST_CASE("a task can only be pinned where the pVM runs") {
  auto host = two_node_host();
  const auto g = host.add_guest({.name = "g", .home = node_id{1}});
  const auto t = host.add_task({.name = "blkback", .kind = task_kind::block_backend, .guest = g});
  for (unsigned v = 0; v < 4; ++v) REQUIRE(host.set_vcpu_affinity(pvm_domain, vcpu_id{v}, cpuset::range(0, 4)).has_value());
  CHECK(host.set_task_affinity(t, cpuset::range(4, 8)).error() == errc::invalid_argument);
  REQUIRE(host.set_vcpu_affinity(pvm_domain, vcpu_id{3}, cpuset::range(4, 8)).has_value());
  CHECK(host.set_task_affinity(t, cpuset::range(4, 8)).has_value());
  CHECK(host.state().tasks[0].affinity == cpuset::range(4, 8));
}

TEST_CASE("a KVM host's pVM: vCPU v is CPU v, online = reserved, first CPU only at boot, the host runs everywhere") {
  mock_host host{make_uniform_topology(2, 4, 4_GiB), {.host_cpus = true, .can_cap = false}};
  const auto g = host.add_guest({.name = "g", .home = node_id{1}});
  const auto t = host.add_task({.name = "vhost", .kind = task_kind::net_backend, .guest = g});
  const auto v = host.state();
  REQUIRE(v.pvm.vcpus.size() == 8);
  for (unsigned i = 0; i < 8; ++i) {
    CHECK(v.pvm.vcpus[i].hard_affinity == cpuset{cpu_id{i}});
    CHECK(v.pvm.vcpus[i].online == (i == 0));
  }
  // No cgroup v2: no cap is reported and none can be set.
  CHECK_FALSE(v.pvm.cpu_cap.has_value());
  CHECK(host.set_cpu_cap(pvm_domain, 200).error() == errc::not_supported);
  // A pVM vCPU cannot move off its CPU; a mask that keeps it changes nothing.
  CHECK(host.set_vcpu_affinity(pvm_domain, vcpu_id{5}, cpuset{cpu_id{4}}).error() == errc::not_supported);
  CHECK(host.set_vcpu_affinity(pvm_domain, vcpu_id{5}, cpuset::range(0, 8)).has_value());
  CHECK(host.state().pvm.vcpus[5].hard_affinity == cpuset{cpu_id{5}});
  // Guests' vCPUs are domains like any other.
  CHECK(host.set_vcpu_affinity(g, vcpu_id{0}, cpuset{cpu_id{6}}).has_value());
  // Node 1 has no reserved CPU, yet a host thread may be pinned there (numad does).
  CHECK(host.set_task_affinity(t, cpuset::range(4, 8)).has_value());
  // Reserving and releasing; the host keeps one.
  CHECK(host.set_vcpu_online(pvm_domain, vcpu_id{4}, true).has_value());
  CHECK(host.set_vcpu_online(pvm_domain, vcpu_id{0}, false).has_value());
  CHECK(host.set_vcpu_online(pvm_domain, vcpu_id{4}, false).error() == errc::invalid_state);
  // With cgroup v2 the cap is there, as on Xen.
  mock_host capped{make_uniform_topology(2, 4, 4_GiB), {.host_cpus = true}};
  CHECK(capped.state().pvm.cpu_cap == 0U);
  CHECK(capped.set_cpu_cap(pvm_domain, 250).has_value());
  // The vCPU count is the host's.
  CHECK_THROWS_AS((mock_host{make_uniform_topology(2, 4, 4_GiB), {.vcpus = 4, .host_cpus = true}}), config_error);
}

TEST_CASE("memory targets grow from the node affinity; shrinking undoes growth, then leaves other nodes") {
  auto host = two_node_host();
  REQUIRE(host.set_node_affinity(pvm_domain, nodeset{node_id{1}}).has_value());
  REQUIRE(host.set_memory_target(pvm_domain, 2_GiB).has_value());
  CHECK(host.state().pvm.memory_per_node == std::vector<bytes>{512_MiB, 1536_MiB});
  // Shrinking gives back the most recent growth first, so grow-then-shrink is an exact undo...
  REQUIRE(host.set_memory_target(pvm_domain, 1536_MiB).has_value());
  CHECK(host.state().pvm.memory_per_node == std::vector<bytes>{512_MiB, 1_GiB});
  CHECK(host.state().pvm.memory_target == 1536_MiB);
  // ...and below the original size, memory outside the node affinity goes first.
  REQUIRE(host.set_memory_target(pvm_domain, 512_MiB).has_value());
  CHECK(host.state().pvm.memory_per_node == std::vector<bytes>{0_B, 512_MiB});
}

TEST_CASE("failure injection: fail_next fails exactly one call, fail_when every matching one") {
  auto host = two_node_host();
  const auto g = host.add_guest({.name = "g", .home = node_id{0}});
  host.fail_next();
  CHECK(host.snapshot().error() == errc::injected_failure);
  CHECK(host.snapshot().has_value());

  host.fail_next(make_error_code(errc::timeout));
  CHECK(host.set_vcpu_online(g, vcpu_id{0}, true).error() == errc::timeout);

  host.fail_when([](const mock_call& c) { return c.name == "set_node_affinity"; });
  CHECK(host.set_node_affinity(g, nodeset{node_id{1}}).error() == errc::injected_failure);
  CHECK(host.set_node_affinity(g, nodeset{node_id{1}}).error() == errc::injected_failure);
  CHECK(host.set_vcpu_affinity(g, vcpu_id{0}, cpuset{cpu_id{1}}).has_value());
  CHECK(host.state().guests[0].node_affinity == nodeset{node_id{0}});  // the failed calls took no effect
  host.clear_failures();
  CHECK(host.set_node_affinity(g, nodeset{node_id{1}}).has_value());

  const auto& calls = host.calls();
  REQUIRE(calls.size() == 7);
  CHECK(calls[0].name == "snapshot");
  CHECK(calls[0].error == errc::injected_failure);
  CHECK(calls[5].name == "set_vcpu_affinity");
  CHECK(calls[5].args == "domain=1 vcpu=0 cpus=1");
  CHECK_FALSE(calls[6].error);
}

TEST_CASE("flip pools: node-exact allocation and exchanges move guest memory between nodes") {
  auto host = two_node_host();
  const auto g = host.add_guest({.name = "g", .home = node_id{0}, .memory = 64_MiB});
  std::array<page_frame, 8> pvm_pages{};
  auto got = host.allocate_node_pages(node_id{1}, pvm_pages);
  REQUIRE(got.has_value());
  REQUIRE(*got == 8);
  for (const auto& p : pvm_pages) CHECK(p.node == node_id{1});

  std::array<page_frame, 8> posted{};
  REQUIRE(host.posted_rx_pages(g, posted).value() == 8);
  for (const auto& p : posted) CHECK(p.node == node_id{0});

  const auto before = host.guest_pages_per_node(g).value();
  std::array<page_frame, 8> received{};
  REQUIRE(host.exchange_pages(g, pvm_pages, received).has_value());
  CHECK(received == posted);  // the pVM got exactly the buffers the guest had posted
  const auto after = host.guest_pages_per_node(g).value();
  CHECK(after[0].count() == before[0].count() - 8);
  CHECK(after[1].count() == 8);
  CHECK(total_pages(after) == total_pages(before));

  // The pages are the guest's now: flipping them again, or freeing them as pVM pages, is refused.
  std::array<page_frame, 8> again{};
  CHECK(host.exchange_pages(g, pvm_pages, again).error() == errc::unknown_page);
  CHECK(host.free_pages(pvm_pages).error() == errc::unknown_page);
  CHECK(host.free_pages(received).has_value());
  CHECK(host.exchange_pages(domain_id{42}, received, again).error() == errc::unknown_domain);
  CHECK(host.allocate_node_pages(node_id{9}, pvm_pages).error() == errc::unknown_node);
}

TEST_CASE("a recycling guest posts the pages it received as its next buffers") {
  auto host = two_node_host();
  const auto g = host.add_guest({.name = "g", .home = node_id{0}, .memory = 64_MiB, .recycles_rx_pages = true});
  CHECK(host.guest_recycles_rx_pages(g).value());
  std::array<page_frame, 4> remote{};
  REQUIRE(host.allocate_node_pages(node_id{1}, remote).value() == 4);
  std::array<page_frame, 4> got{};
  REQUIRE(host.exchange_pages(g, remote, got).has_value());
  std::array<page_frame, 4> next{};
  REQUIRE(host.posted_rx_pages(g, next).value() == 4);
  CHECK(next == remote);
}

TEST_CASE("components start, crash and are counted") {
  auto host = two_node_host();
  const auto c = host.add_component("xenstored");
  CHECK(host.status(c).value() == component_status::stopped);
  REQUIRE(host.start_component(c).has_value());
  CHECK(host.start_component(c).error() == errc::invalid_state);
  host.crash(c);
  CHECK(host.status(c).value() == component_status::failed);
  REQUIRE(host.start_component(c).has_value());
  CHECK(host.starts(c) == 2);
  CHECK(host.status(component_id{5}).error() == errc::unknown_component);
}
