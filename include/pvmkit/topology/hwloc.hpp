// Builds a validated pvmkit::topology from hwloc: this machine, an XML export (file or text), or a
// synthetic description plus an optional distance matrix. Component pvmkit::hwloc.
//
// NUMA nodes get dense ids 0..n-1 in hwloc's logical order; CPUs are PU OS indexes (what the
// kernel and the hypervisor call them). Every failure is a topology_error that names its source
// ("file x.xml: ...", "synthetic \"...\": ...") and the problem.
#pragma once

#include <pvmkit/core/error.hpp>
#include <pvmkit/core/id_set.hpp>
#include <pvmkit/core/ids.hpp>
#include <pvmkit/core/units.hpp>
#include <pvmkit/topology/topology.hpp>

#include <hwloc.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pvmkit::hwloc {

namespace detail {

[[noreturn]] inline void fail(std::string_view source, std::string_view what) {
  throw topology_error(std::string(source) + ": " + std::string(what));
}

// Owns one hwloc topology so that every exit, including a throw, releases it.
class handle {
 public:
  explicit handle(std::string_view source) {
    if (hwloc_topology_init(&topo_) != 0) fail(source, "hwloc_topology_init failed: " + std::string(std::strerror(errno)));
    // hwloc drops I/O objects by default; keeping the important ones (PCI devices with an OS device,
    // bridges leading to them) is what gives NICs and disks a place in the tree.
    if (hwloc_topology_set_io_types_filter(topo_, HWLOC_TYPE_FILTER_KEEP_IMPORTANT) != 0)
      fail(source, "hwloc could not enable I/O discovery");
  }
  handle(const handle&) = delete;
  handle& operator=(const handle&) = delete;
  ~handle() { hwloc_topology_destroy(topo_); }
  [[nodiscard]] hwloc_topology_t get() const noexcept { return topo_; }

 private:
  hwloc_topology_t topo_ = nullptr;
};

class distances_guard {
 public:
  distances_guard(hwloc_topology_t t, hwloc_distances_s* d) noexcept : topo_(t), d_(d) {}
  distances_guard(const distances_guard&) = delete;
  distances_guard& operator=(const distances_guard&) = delete;
  ~distances_guard() {
    if (d_ != nullptr) hwloc_distances_release(topo_, d_);
  }

 private:
  hwloc_topology_t topo_;
  hwloc_distances_s* d_;
};

// The OS indexes in a finite hwloc bitmap, in increasing order.
inline std::vector<unsigned> bits_of(hwloc_const_bitmap_t set) {
  std::vector<unsigned> out;
  if (set == nullptr || hwloc_bitmap_weight(set) < 0) return out;  // weight -1 = infinite set
  for (int i = hwloc_bitmap_first(set); i >= 0; i = hwloc_bitmap_next(set, i)) out.push_back(static_cast<unsigned>(i));
  return out;
}

// hwloc has no free-memory attribute (its memattrs are capacity, locality, bandwidth, latency), so
// free memory comes from the kernel's per-node meminfo ("Node 0 MemFree:  123456 kB").
inline std::optional<bytes> sysfs_free_memory(unsigned os_node) {
  std::ifstream in("/sys/devices/system/node/node" + std::to_string(os_node) + "/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    const auto at = line.find("MemFree:");
    if (at == std::string::npos) continue;
    std::size_t i = at + std::strlen("MemFree:");
    while (i < line.size() && line[i] == ' ') ++i;
    std::uint64_t kib = 0;
    const std::size_t start = i;
    for (; i < line.size() && line[i] >= '0' && line[i] <= '9'; ++i) kib = kib * 10 + static_cast<std::uint64_t>(line[i] - '0');
    if (i == start) return std::nullopt;
    return bytes{kib * 1024};
  }
  return std::nullopt;
}

struct build_options {
  bool free_memory_from_sysfs = false;
  const std::vector<std::uint32_t>* distances = nullptr;  // overrides hwloc's, row-major
};

// The first NUMA-node matrix hwloc has, latency ones preferred. hwloc_distances_get_by_type with
// type NUMANODE skips matrices over other objects (the 8-node AMD export also has a Package one).
inline std::optional<std::vector<std::uint32_t>> hwloc_numa_distances(hwloc_topology_t t, std::size_t n,
                                                                      std::string_view source) {
  for (unsigned long kind : {static_cast<unsigned long>(HWLOC_DISTANCES_KIND_MEANS_LATENCY), 0UL}) {
    unsigned nr = 1;
    hwloc_distances_s* d = nullptr;
    if (hwloc_distances_get_by_type(t, HWLOC_OBJ_NUMANODE, &nr, &d, kind, 0) != 0 || nr == 0 || d == nullptr) continue;
    distances_guard guard(t, d);
    if (d->nbobjs != n)
      fail(source, "the NUMA distance matrix covers " + std::to_string(d->nbobjs) + " nodes, the topology has " +
                       std::to_string(n));
    std::vector<std::uint32_t> m(n * n, 0);
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = 0; j < n; ++j) {
        const hwloc_uint64_t v = d->values[i * n + j];
        if (v > std::numeric_limits<std::uint32_t>::max())
          fail(source, "NUMA distance " + std::to_string(v) + " does not fit 32 bits");
        // hwloc may list the nodes in any order (os indexing in the XML); place them by logical index.
        m[d->objs[i]->logical_index * n + d->objs[j]->logical_index] = static_cast<std::uint32_t>(v);
      }
    }
    return m;
  }
  return std::nullopt;
}

inline topology build(hwloc_topology_t t, std::string_view source, const build_options& opt) {
  const int count = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_NUMANODE);
  if (count <= 0) fail(source, "hwloc found no NUMA nodes");
  const auto n = static_cast<std::size_t>(count);

  std::vector<numa_node> nodes;
  std::map<unsigned, node_id> by_os_index;
  for (unsigned i = 0; i < static_cast<unsigned>(count); ++i) {
    hwloc_obj_t obj = hwloc_get_obj_by_type(t, HWLOC_OBJ_NUMANODE, i);
    numa_node node;
    node.id = node_id{i};
    node.memory = bytes{obj->attr->numanode.local_memory};
    node.free_memory = node.memory;
    if (opt.free_memory_from_sysfs)
      if (auto f = sysfs_free_memory(obj->os_index)) node.free_memory = *f < node.memory ? *f : node.memory;
    by_os_index.emplace(obj->os_index, node.id);
    nodes.push_back(std::move(node));
  }

  // A PU belongs to the node that hwloc attaches closest to it (the first NUMA node under its nearest
  // ancestor with memory). A node's own cpuset is no use here: hwloc gives a CPU-less node (CXL,
  // HBM, NVDIMM) the cpuset of the object it hangs off, so it would seem to share those CPUs.
  for (hwloc_obj_t pu = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_PU, nullptr); pu != nullptr;
       pu = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_PU, pu)) {
    for (hwloc_obj_t anc = pu->parent; anc != nullptr; anc = anc->parent) {
      if (anc->memory_arity == 0) continue;
      hwloc_obj_t mem = anc->memory_first_child;
      while (mem != nullptr && mem->type != HWLOC_OBJ_NUMANODE) mem = mem->memory_first_child;  // through memory-side caches
      if (mem != nullptr) nodes.at(mem->logical_index).cpus.insert(cpu_id{pu->os_index});
      break;
    }
  }

  std::vector<std::uint32_t> distances;
  if (opt.distances != nullptr) {
    if (opt.distances->size() != n * n)
      fail(source, "the distance matrix has " + std::to_string(opt.distances->size()) + " entries, expected " +
                       std::to_string(n) + "x" + std::to_string(n) + " = " + std::to_string(n * n) + " for " +
                       std::to_string(n) + " NUMA nodes");
    distances = *opt.distances;
  } else if (auto d = hwloc_numa_distances(t, n, source)) {
    distances = std::move(*d);
  } else {
    // No matrix (no ACPI SLIT, a synthetic host, an export without one): use 10 local and 20 remote,
    // the values Linux reports per node in that case (LOCAL_DISTANCE / REMOTE_DISTANCE), which is
    // what hwloc itself would then read from sysfs.
    distances.assign(n * n, 20);
    for (std::size_t i = 0; i < n; ++i) distances[i * n + i] = local_distance;
  }

  std::vector<device> devices;
  for (hwloc_obj_t os = hwloc_get_next_osdev(t, nullptr); os != nullptr; os = hwloc_get_next_osdev(t, os)) {
    device_kind kind;
    if (os->attr->osdev.type == HWLOC_OBJ_OSDEV_NETWORK)
      kind = device_kind::network;
    else if (os->attr->osdev.type == HWLOC_OBJ_OSDEV_BLOCK)
      kind = device_kind::block;
    else
      continue;
    device dev;
    dev.name = os->name != nullptr ? os->name : "";
    dev.kind = kind;
    // The device is local to the memory of its first non-I/O ancestor. When that ancestor spans
    // several nodes (a bridge attached to the Machine or a Group), hwloc knows no single home: we
    // take its first node, which is where firmware usually hangs such bridges.
    hwloc_obj_t anc = hwloc_get_non_io_ancestor_obj(t, os);
    const auto os_nodes = bits_of(anc != nullptr ? anc->nodeset : nullptr);
    if (!os_nodes.empty()) {
      const auto it = by_os_index.find(os_nodes.front());
      if (it != by_os_index.end()) dev.node = it->second;
    }
    devices.push_back(std::move(dev));
  }

  try {
    return topology{std::move(nodes), std::move(distances), std::move(devices)};
  } catch (const topology_error& e) {
    fail(source, e.what());
  }
}

inline std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

}  // namespace detail

// "10,21;21,10": rows separated by ';', entries by ','; spaces around entries are allowed. Returns
// the row-major matrix. Rejects anything that is not a square matrix of positive integers; the
// rules about values (10 on the diagonal, symmetry, remote > 10) are the topology's.
[[nodiscard]] inline std::vector<std::uint32_t> parse_distance_matrix(std::string_view text) {
  const std::string source = "distance matrix " + detail::quoted(text);
  std::vector<std::vector<std::uint32_t>> rows;
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  if (trim(text).empty()) detail::fail(source, "is empty");
  std::size_t row_start = 0;
  while (row_start <= text.size()) {
    std::size_t row_end = text.find(';', row_start);
    if (row_end == std::string_view::npos) row_end = text.size();
    const std::string_view row_text = text.substr(row_start, row_end - row_start);
    const std::size_t r = rows.size();
    auto& row = rows.emplace_back();
    if (trim(row_text).empty()) detail::fail(source, "row " + std::to_string(r) + " is empty");
    std::size_t cell_start = 0;
    while (cell_start <= row_text.size()) {
      std::size_t cell_end = row_text.find(',', cell_start);
      if (cell_end == std::string_view::npos) cell_end = row_text.size();
      const std::string_view cell = trim(row_text.substr(cell_start, cell_end - cell_start));
      const std::string where = "row " + std::to_string(r) + ", column " + std::to_string(row.size());
      if (cell.empty()) detail::fail(source, where + " is empty");
      std::uint64_t v = 0;
      for (char c : cell) {
        if (c < '0' || c > '9') detail::fail(source, where + ": '" + std::string(cell) + "' is not a non-negative integer");
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
        if (v > std::numeric_limits<std::uint32_t>::max()) detail::fail(source, where + ": '" + std::string(cell) + "' is too large");
      }
      row.push_back(static_cast<std::uint32_t>(v));
      cell_start = cell_end + 1;
    }
    row_start = row_end + 1;
  }
  const std::size_t n = rows.size();
  std::vector<std::uint32_t> flat;
  for (std::size_t r = 0; r < n; ++r) {
    if (rows[r].size() != n)
      detail::fail(source, "row " + std::to_string(r) + " has " + std::to_string(rows[r].size()) + " entries, expected " +
                               std::to_string(n) + " (the matrix has " + std::to_string(n) + " rows and must be square)");
    flat.insert(flat.end(), rows[r].begin(), rows[r].end());
  }
  return flat;
}

// The machine this process runs on, with free memory per node from the kernel where it reports it.
[[nodiscard]] inline topology load_this_machine() {
  constexpr std::string_view source = "this machine";
  detail::handle h(source);
  if (hwloc_topology_load(h.get()) != 0) detail::fail(source, "hwloc could not discover the topology: " + std::string(std::strerror(errno)));
  return detail::build(h.get(), source, {.free_memory_from_sysfs = true, .distances = nullptr});
}

// An hwloc XML export (format 1.x or 2.x). Free memory is not in the export: it equals total memory.
[[nodiscard]] inline topology load_xml_file(const std::filesystem::path& path) {
  const std::string source = "file " + path.string();
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) detail::fail(source, "cannot read: it is a directory");
  {
    errno = 0;
    std::ifstream probe(path);
    if (!probe) detail::fail(source, "cannot read: " + std::string(errno != 0 ? std::strerror(errno) : "open failed"));
  }
  detail::handle h(source);
  if (hwloc_topology_set_xml(h.get(), path.c_str()) != 0 || hwloc_topology_load(h.get()) != 0)
    detail::fail(source, "malformed XML: hwloc could not load it as a topology export");
  return detail::build(h.get(), source, {});
}

[[nodiscard]] inline topology load_xml_string(std::string_view text) {
  constexpr std::string_view source = "XML text";
  if (text.empty()) detail::fail(source, "malformed XML: the text is empty");
  if (text.size() >= static_cast<std::size_t>(INT_MAX)) detail::fail(source, "the text is too large for hwloc");
  const std::string buffer(text);  // hwloc wants the terminating NUL counted in the length
  detail::handle h(source);
  if (hwloc_topology_set_xmlbuffer(h.get(), buffer.c_str(), static_cast<int>(buffer.size() + 1)) != 0 ||
      hwloc_topology_load(h.get()) != 0)
    detail::fail(source, "malformed XML: hwloc could not load it as a topology export");
  return detail::build(h.get(), source, {});
}

namespace detail {
inline topology load_synthetic(std::string_view description, const std::vector<std::uint32_t>* distances) {
  const std::string source = "synthetic " + quoted(description);
  const std::string desc(description);
  if (desc.find_first_not_of(" \t") == std::string::npos) fail(source, "the description is empty");
  handle h(source);
  if (hwloc_topology_set_synthetic(h.get(), desc.c_str()) != 0)
    fail(source, "hwloc rejected the description (expected levels like \"pack:2 numa:1 core:8 pu:2\")");
  if (hwloc_topology_load(h.get()) != 0) fail(source, "hwloc could not build the topology: " + std::string(std::strerror(errno)));
  return build(h.get(), source, {.free_memory_from_sysfs = false, .distances = distances});
}
}  // namespace detail

// hwloc's synthetic syntax, e.g. "pack:2 numa:1 core:8 pu:2" (1 GiB per node unless given, as in
// "numa:1(memory=16GB)"). Without a matrix the distances are 10 local / 20 remote.
[[nodiscard]] inline topology load_synthetic(std::string_view description) {
  return detail::load_synthetic(description, nullptr);
}

// With a row-major distance matrix over the NUMA nodes in logical order.
[[nodiscard]] inline topology load_synthetic(std::string_view description, const std::vector<std::uint32_t>& distances) {
  return detail::load_synthetic(description, &distances);
}

// With the matrix written as "10,21;21,10" (see parse_distance_matrix).
[[nodiscard]] inline topology load_synthetic(std::string_view description, std::string_view distances) {
  const auto matrix = parse_distance_matrix(distances);
  return detail::load_synthetic(description, &matrix);
}

}  // namespace pvmkit::hwloc
