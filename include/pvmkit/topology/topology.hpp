// The host's NUMA layout: nodes with their CPUs and memory, the SLIT distance matrix (10 = local)
// and which node each device hangs off. Built by hand, from hwloc (topology/hwloc.hpp) or from a
// hypervisor backend; always validated on construction, so a topology object is never inconsistent.
//
// A node may have memory and no CPUs (KNL's MCDRAM, a CXL memory expander, NVDIMM): buffers may
// live there, nothing can run there. cpu_nodes() and nearest_cpu_node() are what a policy that
// places work or vCPUs asks for. Distances may be asymmetric: distance(a, b) is row a, column b
// (from a's CPUs to b's memory, as in the ACPI SLIT and hwloc); nearest_nodes() orders by the row,
// nearest_to() and nearest_cpu_node() by the column (CPUs near a node's memory). docs/topology.md
// has the rules.
#pragma once

#include <pvmkit/core/error.hpp>
#include <pvmkit/core/id_set.hpp>
#include <pvmkit/core/ids.hpp>
#include <pvmkit/core/units.hpp>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pvmkit {

class topology_error : public config_error {
 public:
  using config_error::config_error;
};

struct numa_node {
  node_id id;
  cpuset cpus;  // empty for a memory-only node
  bytes memory;
  bytes free_memory;

  [[nodiscard]] bool has_cpus() const noexcept { return !cpus.empty(); }
};

enum class device_kind { network, block, other };

[[nodiscard]] constexpr std::string_view to_string(device_kind k) noexcept {
  switch (k) {
    case device_kind::network: return "network";
    case device_kind::block: return "block";
    case device_kind::other: return "other";
  }
  return "other";
}

struct device {
  std::string name;
  device_kind kind = device_kind::other;
  node_id node;
};

inline constexpr std::uint32_t local_distance = 10;

// The most NUMA nodes a topology holds: Linux's largest MAX_NUMNODES (CONFIG_NODES_SHIFT = 10), far
// above Xen's 64. It keeps the n x n distance matrix and the per-node orderings to a few MiB.
inline constexpr std::size_t max_nodes = 1024;
// CPU numbers go up to cpuset::max_index, as anywhere else in pvmkit.
inline constexpr std::size_t max_cpu_index = cpuset::max_index;

class topology {
 public:
  // nodes[i].id must be i. distances is row-major, nodes.size() squared entries.
  topology(std::vector<numa_node> nodes, std::vector<std::uint32_t> distances, std::vector<device> devices = {})
      : nodes_(std::move(nodes)), distances_(std::move(distances)), devices_(std::move(devices)) {
    validate();
    index();
  }

  [[nodiscard]] std::size_t node_count() const noexcept { return nodes_.size(); }
  [[nodiscard]] const std::vector<numa_node>& nodes() const noexcept { return nodes_; }
  [[nodiscard]] const numa_node& node(node_id n) const { return nodes_.at(n.index()); }
  [[nodiscard]] bool has_node(node_id n) const noexcept { return n.index() < nodes_.size(); }
  [[nodiscard]] std::uint32_t distance(node_id a, node_id b) const {
    return distances_.at(a.index() * nodes_.size() + b.index());
  }
  [[nodiscard]] const std::vector<std::uint32_t>& distances() const noexcept { return distances_; }

  // The nodes that have CPUs, in id order (never empty).
  [[nodiscard]] const std::vector<node_id>& cpu_nodes() const noexcept { return cpu_node_ids_; }
  // Where work that belongs on node n runs: n itself when it has CPUs, else the first node with
  // CPUs in nearest_nodes(n).
  [[nodiscard]] node_id nearest_cpu_node(node_id n) const { return nearest_cpu_.at(n.index()); }

  [[nodiscard]] std::size_t cpu_count() const noexcept { return node_of_cpu_.size() - missing_cpus_; }
  [[nodiscard]] const cpuset& cpus() const noexcept { return all_cpus_; }
  [[nodiscard]] bool has_cpu(cpu_id c) const noexcept { return all_cpus_.contains(c); }
  // invalid() for a CPU the host does not have.
  [[nodiscard]] node_id node_of(cpu_id c) const noexcept {
    return c.index() < node_of_cpu_.size() ? node_of_cpu_[c.index()] : node_id::invalid();
  }
  [[nodiscard]] bytes total_memory() const noexcept {
    bytes t;
    for (const auto& n : nodes_) t += n.memory;
    return t;
  }

  // Every node ordered by distance from `from` (itself first), ties broken by node id.
  [[nodiscard]] const std::vector<node_id>& nearest_nodes(node_id from) const { return by_distance_.at(from.index()); }
  // Nodes by their distance *to* `target` (distance(n, target), nearest first, `target` first): the
  // order in which to run work that reads `target`'s memory. Same as nearest_nodes() when the
  // matrix is symmetric.
  [[nodiscard]] const std::vector<node_id>& nearest_to(node_id target) const { return by_distance_to_.at(target.index()); }

  [[nodiscard]] const std::vector<device>& devices() const noexcept { return devices_; }
  [[nodiscard]] const device* find_device(std::string_view name) const noexcept {
    for (const auto& d : devices_)
      if (d.name == name) return &d;
    return nullptr;
  }

  friend bool operator==(const topology& a, const topology& b) {
    return a.distances_ == b.distances_ && a.nodes_.size() == b.nodes_.size() &&
           std::equal(a.nodes_.begin(), a.nodes_.end(), b.nodes_.begin(), [](const numa_node& x, const numa_node& y) {
             return x.id == y.id && x.cpus == y.cpus && x.memory == y.memory;
           });
  }

 private:
  [[noreturn]] static void fail(const std::string& what) { throw topology_error("invalid topology: " + what); }

  void validate() const {
    const std::size_t n = nodes_.size();
    if (n == 0) fail("no NUMA nodes");
    if (n > max_nodes)
      fail(std::to_string(n) + " NUMA nodes: pvmkit supports at most " + std::to_string(max_nodes));
    if (distances_.size() != n * n)
      fail("distance matrix has " + std::to_string(distances_.size()) + " entries, expected " + std::to_string(n) +
           "x" + std::to_string(n) + " = " + std::to_string(n * n));
    cpuset seen;
    for (std::size_t i = 0; i < n; ++i) {
      const auto& node = nodes_[i];
      if (node.id.index() != i)
        fail("node at position " + std::to_string(i) + " has id " + std::to_string(node.id.value()) +
             " (ids must be dense, in order)");
      if (node.cpus.extent() > max_cpu_index + 1)
        fail("node " + std::to_string(i) + " has CPU " + std::to_string(node.cpus.extent() - 1) +
             ": CPU numbers above " + std::to_string(max_cpu_index) + " are not supported");
      if (node.cpus.intersects(seen))
        fail("node " + std::to_string(i) + " shares CPUs " + (node.cpus & seen).to_string() + " with another node");
      seen |= node.cpus;
      if (node.free_memory > node.memory)
        fail("node " + std::to_string(i) + " has more free memory than memory");
      for (std::size_t j = 0; j < n; ++j) {
        const auto d = distances_[i * n + j];
        const std::string at = "distance[" + std::to_string(i) + "][" + std::to_string(j) + "] = " + std::to_string(d);
        if (d == 0) fail(at + ": distances must be positive");
        if (i == j && d != local_distance) fail(at + ": a node's distance to itself must be 10");
        if (i != j && d <= local_distance) fail(at + ": a remote node must be farther than 10");
      }
    }
    if (seen.empty()) fail("no node has CPUs: pVM work and vCPUs need a node to run on");
    for (const auto& dev : devices_)
      if (dev.node.valid() && dev.node.index() >= n)
        fail("device '" + dev.name + "' is on node " + std::to_string(dev.node.value()) + ", which does not exist");
  }

  void index() {
    for (const auto& node : nodes_) all_cpus_ |= node.cpus;
    node_of_cpu_.assign(all_cpus_.extent(), node_id::invalid());
    for (const auto& node : nodes_)
      for (cpu_id c : node.cpus) node_of_cpu_[c.index()] = node.id;
    missing_cpus_ = static_cast<std::size_t>(std::count(node_of_cpu_.begin(), node_of_cpu_.end(), node_id::invalid()));
    const std::size_t n = nodes_.size();
    by_distance_.resize(n);
    by_distance_to_.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      auto& order = by_distance_[i];
      for (std::size_t j = 0; j < n; ++j) order.emplace_back(static_cast<node_id::rep>(j));
      std::stable_sort(order.begin(), order.end(),
                       [&](node_id a, node_id b) { return distances_[i * n + a.index()] < distances_[i * n + b.index()]; });
      auto& to = by_distance_to_[i];
      for (std::size_t j = 0; j < n; ++j) to.emplace_back(static_cast<node_id::rep>(j));
      std::stable_sort(to.begin(), to.end(),
                       [&](node_id a, node_id b) { return distances_[a.index() * n + i] < distances_[b.index() * n + i]; });
    }
    for (const auto& node : nodes_)
      if (node.has_cpus()) cpu_node_ids_.push_back(node.id);
    nearest_cpu_.resize(n);
    for (std::size_t i = 0; i < n; ++i)
      nearest_cpu_[i] = *std::find_if(by_distance_to_[i].begin(), by_distance_to_[i].end(),
                                      [&](node_id x) { return nodes_[x.index()].has_cpus(); });
  }

  std::vector<numa_node> nodes_;
  std::vector<std::uint32_t> distances_;
  std::vector<device> devices_;
  cpuset all_cpus_;
  std::vector<node_id> node_of_cpu_;
  std::size_t missing_cpus_ = 0;
  std::vector<std::vector<node_id>> by_distance_;
  std::vector<std::vector<node_id>> by_distance_to_;
  std::vector<node_id> cpu_node_ids_;
  std::vector<node_id> nearest_cpu_;
};

// A host of `nodes` identical nodes with CPUs numbered node by node, every remote pair at
// `remote_distance`: the shape of most 2- and 4-socket servers, and what tests and the simulator
// build without hwloc.
[[nodiscard]] inline topology make_uniform_topology(std::size_t nodes, std::size_t cpus_per_node, bytes memory_per_node,
                                                     std::uint32_t remote_distance = 21,
                                                     std::vector<device> devices = {}) {
  std::vector<numa_node> ns;
  for (std::size_t i = 0; i < nodes; ++i)
    ns.push_back({node_id{static_cast<node_id::rep>(i)}, cpuset::range(i * cpus_per_node, (i + 1) * cpus_per_node),
                  memory_per_node, memory_per_node});
  std::vector<std::uint32_t> d(nodes * nodes, remote_distance);
  for (std::size_t i = 0; i < nodes; ++i) d[i * nodes + i] = local_distance;
  return topology{std::move(ns), std::move(d), std::move(devices)};
}

}  // namespace pvmkit
