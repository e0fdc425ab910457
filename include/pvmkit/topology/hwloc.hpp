// Builds a validated pvmkit::topology from hwloc: this machine, an XML export (file or text), or a
// synthetic description plus an optional distance matrix. Component pvmkit::hwloc.
//
// NUMA nodes get dense ids 0..n-1 in hwloc's logical order; CPUs are PU OS indexes (what the
// kernel and the hypervisor call them). Every failure is a topology_error that names its source
// ("file x.xml: ...", "synthetic \"...\": ...") and the problem.
//
// XML is untrusted input: libhwloc 2.9 dereferences NULL or frees twice on some malformed exports,
// and allocates gigabytes for an index in the billions. It is therefore parsed in a child process
// (core/run_in_child.hpp) that sends the topology back encoded (topology/wire.hpp); a crash, a
// hang or a runaway allocation there is an error naming the file. This machine and synthetic
// descriptions are trusted and loaded in-process.
#pragma once

#include <pvmkit/core/error.hpp>
#include <pvmkit/core/id_set.hpp>
#include <pvmkit/core/ids.hpp>
#include <pvmkit/core/run_in_child.hpp>
#include <pvmkit/core/units.hpp>
#include <pvmkit/topology/topology.hpp>
#include <pvmkit/topology/wire.hpp>

#include <fcntl.h>
#include <hwloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <new>
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

// The distance matrices one query returned, released on every exit.
class distances_list {
 public:
  distances_list(hwloc_topology_t t, std::size_t n) : topo_(t), all_(n, nullptr) {}
  distances_list(const distances_list&) = delete;
  distances_list& operator=(const distances_list&) = delete;
  ~distances_list() {
    for (hwloc_distances_s* d : all_)
      if (d != nullptr) hwloc_distances_release(topo_, d);
  }
  [[nodiscard]] std::vector<hwloc_distances_s*>& get() noexcept { return all_; }

 private:
  hwloc_topology_t topo_;
  std::vector<hwloc_distances_s*> all_;
};

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

// hwloc's matrix as SLIT values (10 = local). hwloc v1 exports often hold relative distances, 1
// on the diagonal (latency_base 1), and hwloc 2 scales v1 float latencies (1.0, 2.1) by 1000: a
// matrix whose diagonal is one value d other than 10 is scaled by 10 / d and rounded. A remote
// entry above d that would round to 10 becomes 11, the nearest value that still says "remote". A
// diagonal that is not one value is left for the topology to reject.
inline std::vector<std::uint32_t> to_slit(const std::vector<std::uint64_t>& m, std::size_t n, std::string_view source) {
  const std::uint64_t d = m[0];
  bool uniform = d > 0;
  for (std::size_t i = 0; i < n; ++i) uniform = uniform && m[i * n + i] == d;
  std::vector<std::uint32_t> out(n * n);
  for (std::size_t k = 0; k < n * n; ++k) {
    long double v = static_cast<long double>(m[k]);
    if (uniform && d != local_distance) {
      v = std::round(v * local_distance / static_cast<long double>(d));
      if (m[k] > d && v <= local_distance) v = local_distance + 1;
    }
    if (v > static_cast<long double>(std::numeric_limits<std::uint32_t>::max()))
      fail(source, "NUMA distance " + std::to_string(m[k]) + " does not fit 32 bits");
    out[k] = static_cast<std::uint32_t>(v);
  }
  return out;
}

// The NUMA-node matrix to use: latency matrices first, then any but bandwidth ones (there more is
// nearer); among them the first that is a SLIT already, else the first, made one by to_slit.
// hwloc_distances_get_by_type with type NUMANODE skips matrices over other objects (the 8-node AMD
// export also has a Package one), but hwloc 2 imports every v1 matrix over as many objects as there
// are nodes as a NUMA matrix: the v1 export of that machine lists its package matrix (1, 2, 4, 8)
// before the NUMA one (10, 20).
inline std::optional<std::vector<std::uint32_t>> hwloc_numa_distances(hwloc_topology_t t, std::size_t n,
                                                                      std::string_view source) {
  std::optional<std::vector<std::uint64_t>> first;
  std::size_t wrong_size = 0;  // objects of the first matrix that does not cover every node
  for (unsigned long kind : {static_cast<unsigned long>(HWLOC_DISTANCES_KIND_MEANS_LATENCY), 0UL}) {
    unsigned nr = 0;
    if (hwloc_distances_get_by_type(t, HWLOC_OBJ_NUMANODE, &nr, nullptr, kind, 0) != 0 || nr == 0) continue;
    distances_list all(t, nr);
    if (hwloc_distances_get_by_type(t, HWLOC_OBJ_NUMANODE, &nr, all.get().data(), kind, 0) != 0) continue;
    for (const hwloc_distances_s* d : all.get()) {
      if (d == nullptr || (kind == 0 && (d->kind & HWLOC_DISTANCES_KIND_MEANS_BANDWIDTH) != 0)) continue;
      if (d->nbobjs != n) {
        if (wrong_size == 0) wrong_size = d->nbobjs;
        continue;
      }
      std::vector<std::uint64_t> m(n * n, 0);
      bool slit = true;
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) {
          // hwloc may list the nodes in any order (os indexing in the XML); place them by logical index.
          const std::size_t at = d->objs[i]->logical_index * n + d->objs[j]->logical_index;
          m[at] = d->values[i * n + j];
          if (i == j) slit = slit && m[at] == local_distance;
        }
      if (slit) return to_slit(m, n, source);
      if (!first) first = std::move(m);
    }
  }
  if (first) return to_slit(*first, n, source);
  if (wrong_size != 0)
    fail(source, "the NUMA distance matrix covers " + std::to_string(wrong_size) + " nodes, the topology has " +
                     std::to_string(n));
  return std::nullopt;
}

inline topology build(hwloc_topology_t t, std::string_view source, const build_options& opt) {
  const int count = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_NUMANODE);
  if (count <= 0) fail(source, "hwloc found no NUMA nodes");
  const auto n = static_cast<std::size_t>(count);
  if (n > max_nodes) fail(source, std::to_string(n) + " NUMA nodes: pvmkit supports at most " + std::to_string(max_nodes));

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
  // HBM, NVDIMM) the cpuset of the object it hangs off, so it would seem to share those CPUs. Such
  // a node gets no CPUs: a memory-only node.
  for (hwloc_obj_t pu = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_PU, nullptr); pu != nullptr;
       pu = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_PU, pu)) {
    if (pu->os_index > max_cpu_index)
      fail(source, "PU " + std::to_string(pu->logical_index) + " has OS index " + std::to_string(pu->os_index) +
                       ": CPU numbers above " + std::to_string(max_cpu_index) + " are not supported");
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
    const int os_node = anc != nullptr && anc->nodeset != nullptr ? hwloc_bitmap_first(anc->nodeset) : -1;
    if (os_node >= 0) {
      const auto it = by_os_index.find(static_cast<unsigned>(os_node));
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

struct xml_options {
  // Parse in a child process. false only for XML the caller trusts (it saves the fork: a few ms).
  bool isolate = true;
  // The child's wall-clock time, the memory it may add to what it inherits, and its output.
  child_limits limits{};
  // hwloc's own exports of real machines are under 100 KiB; a machine with thousands of CPUs and
  // devices stays far below this.
  std::size_t max_size = std::size_t{64} << 20;
};

namespace detail {

// The value of attribute `name` in the text of one start tag, nullopt when absent. XML allows
// blanks around '=' and either quote.
inline std::optional<std::string_view> xml_attribute(std::string_view tag, std::string_view name) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  for (std::size_t at = tag.find(name); at != std::string_view::npos; at = tag.find(name, at + 1)) {
    if (at == 0 || !blank(tag[at - 1])) continue;
    std::size_t i = at + name.size();
    while (i < tag.size() && blank(tag[i])) ++i;
    if (i >= tag.size() || tag[i] != '=') continue;
    ++i;
    while (i < tag.size() && blank(tag[i])) ++i;
    if (i >= tag.size() || (tag[i] != '"' && tag[i] != '\'')) continue;
    const std::size_t close = tag.find(tag[i], i + 1);
    if (close == std::string_view::npos) return std::nullopt;
    return tag.substr(i + 1, close - i - 1);
  }
  return std::nullopt;
}

// hwloc writes its major version as the XML format's ("2.0" for hwloc 2, "3.0" for hwloc 3; v1
// exports have none) and refuses a newer one as if it were malformed: name the cause instead.
inline void check_xml_version(std::string_view source, std::string_view text) {
  for (std::size_t at = text.find("<topology"); at != std::string_view::npos; at = text.find("<topology", at + 1)) {
    const std::size_t after = at + std::strlen("<topology");
    if (after < text.size() && text[after] != ' ' && text[after] != '\t' && text[after] != '\n' && text[after] != '\r' &&
        text[after] != '>')
      continue;
    const std::size_t end = text.find('>', after);
    const auto version = xml_attribute(text.substr(at, end == std::string_view::npos ? text.size() - at : end - at), "version");
    if (!version) return;
    unsigned major = 0;
    std::size_t i = 0;
    for (; i < version->size() && i < 6 && (*version)[i] >= '0' && (*version)[i] <= '9'; ++i)
      major = major * 10 + static_cast<unsigned>((*version)[i] - '0');
    const unsigned readable = hwloc_get_api_version() >> 16;
    if (i > 0 && major > readable)
      fail(source, "made by hwloc " + std::to_string(major) + ".x (XML format version " + std::string(*version) +
                       "); this build reads hwloc XML up to " + std::to_string(readable) + ".x (libhwloc " +
                       HWLOC_VERSION + "): export it in the " + std::to_string(readable) + ".x format (hwloc " +
                       std::to_string(major) + ": lstopo --of xml --export-xml-flags 2)");
    return;
  }
}

// hwloc sizes its bitmaps by the largest PU and NUMA node os_index (a bit per index), so an index
// in the billions makes it allocate gigabytes before pvmkit sees the topology. One pass over the
// object tags finds them first.
inline void check_xml_indexes(std::string_view source, std::string_view text) {
  // Each search starts after the last tag's end, so the scan stays linear however the text is made.
  for (std::size_t at = text.find("<object"); at != std::string_view::npos; at = text.find("<object", at)) {
    const std::size_t end = std::min(text.find('>', at), text.size());
    const std::string_view tag = text.substr(at, end - at);
    at = end;
    const auto type = xml_attribute(tag, "type");
    if (!type || (*type != "PU" && *type != "NUMANode")) continue;
    const auto index = xml_attribute(tag, "os_index");
    if (!index) continue;
    // Read as hwloc reads it (strtoul): blanks, a sign, digits; a negative number wraps to a huge one.
    std::string_view digits = *index;
    while (!digits.empty() && (digits.front() == ' ' || digits.front() == '\t' || digits.front() == '\n')) digits.remove_prefix(1);
    const bool negative = !digits.empty() && digits.front() == '-';
    if (!digits.empty() && (digits.front() == '+' || digits.front() == '-')) digits.remove_prefix(1);
    std::uint64_t v = 0;
    std::size_t i = 0;
    for (; i < digits.size() && digits[i] >= '0' && digits[i] <= '9'; ++i)
      if (v <= max_cpu_index) v = v * 10 + static_cast<std::uint64_t>(digits[i] - '0');
    if (i > 0 && (v > max_cpu_index || (negative && v != 0)))
      fail(source, std::string(*type) + " with os_index " + std::string(*index) + ": " +
                       (*type == "PU" ? "CPU" : "NUMA node") + " numbers above " + std::to_string(max_cpu_index) +
                       " are not supported");
  }
}

inline std::string too_large_message(std::size_t max) {
  return "larger than " + std::to_string(max) + " bytes (xml_options::max_size), far more than an hwloc export of any machine";
}

// The whole file, refusing what is not a regular file (a FIFO or /dev/zero would never end) or is
// larger than `max`.
inline std::string read_xml_file(const std::filesystem::path& path, std::string_view source, std::size_t max) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);  // a FIFO must not block the open
  if (fd < 0) fail(source, "cannot read: " + std::string(std::strerror(errno)));
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } guard{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail(source, "cannot read: " + std::string(std::strerror(errno)));
  if (S_ISDIR(st.st_mode)) fail(source, "cannot read: it is a directory");
  if (!S_ISREG(st.st_mode)) fail(source, "cannot read: not a regular file (a device, pipe or socket)");
  const auto too_large = [&] { fail(source, too_large_message(max)); };
  if (static_cast<std::uint64_t>(st.st_size) > max) too_large();
  std::string text;
  char buf[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(source, "cannot read: " + std::string(std::strerror(errno)));
    if (n == 0) break;
    if (text.size() + static_cast<std::size_t>(n) > max) too_large();  // it grew while read
    text.append(buf, static_cast<std::size_t>(n));
  }
  return text;
}

// hwloc in this process. `text` must outlive the call (hwloc wants the terminating NUL counted).
inline topology parse_xml(std::string_view source, const std::string& text) {
  if (text.size() >= static_cast<std::size_t>(INT_MAX)) fail(source, "too large for hwloc");
  handle h(source);
  errno = 0;
  if (hwloc_topology_set_xmlbuffer(h.get(), text.c_str(), static_cast<int>(text.size() + 1)) != 0 ||
      hwloc_topology_load(h.get()) != 0) {
    if (errno == ENOMEM) fail(source, "hwloc ran out of memory reading it");
    fail(source, "malformed XML: hwloc could not load it as a topology export");
  }
  return build(h.get(), source, {});
}

// The child's answer: 'T' and the encoded topology, or 'E' and the complete error message.
inline topology parse_xml_in_child(std::string_view source, const std::string& text, const child_limits& limits) {
  const auto outcome = run_in_child(
      [&](int fd) {
        std::string reply;
        try {
          reply = "T" + encode_topology(parse_xml(source, text));
        } catch (const std::bad_alloc&) {
          reply = "E" + std::string(source) + ": reading it needs more than the " + std::to_string(limits.memory_budget >> 20) +
                  " MiB the parser may use";
        } catch (const std::exception& e) {
          reply = "E" + std::string(e.what());
        }
        write_all(fd, reply);
      },
      limits);
  // What hwloc printed before it died, made printable: it often names the problem.
  auto said = [&] {
    std::string t;
    for (char c : outcome.errors.substr(0, 300)) t += (c >= ' ' && c <= '~') ? c : ' ';
    while (!t.empty() && t.back() == ' ') t.pop_back();
    return t.empty() ? std::string{} : "; it printed: " + t;
  };
  using end = child_outcome::end;
  switch (outcome.how) {
    case end::not_started: fail(source, "could not start the parser process: " + std::string(std::strerror(outcome.code)));
    case end::timed_out:
      fail(source, "hwloc did not finish reading it within " + std::to_string(limits.timeout.count()) + " ms; stopped");
    case end::output_too_large: fail(source, "the parser process sent more than " + std::to_string(limits.max_output) + " bytes; stopped");
    case end::signalled:
      fail(source, "hwloc crashed reading it (" + signal_name(outcome.code) + "): the file is malformed" + said());
    case end::exited: break;
  }
  if (outcome.code != 0)
    fail(source, "hwloc crashed reading it (the parser process exited with code " + std::to_string(outcome.code) +
                     "): the file is malformed" + said());
  const std::string_view reply = outcome.output;
  if (!reply.empty() && reply.front() == 'E') throw topology_error(std::string(reply.substr(1)));
  if (reply.empty() || reply.front() != 'T') fail(source, "the parser process ended without an answer" + said());
  try {
    return decode_topology(reply.substr(1));
  } catch (const topology_error& e) {
    fail(source, "the parser process sent back a bad topology: " + std::string(e.what()));
  }
}

inline topology load_xml_text(std::string_view source, std::string text, const xml_options& opt) {
  check_xml_version(source, text);
  check_xml_indexes(source, text);
  if (!opt.isolate) return parse_xml(source, text);
  return parse_xml_in_child(source, text, opt.limits);
}

}  // namespace detail

// An hwloc XML export (format 1.x or 2.x), parsed in a child process unless opt.isolate is false.
// Free memory is not in the export: it equals total memory.
[[nodiscard]] inline topology load_xml_file(const std::filesystem::path& path, const xml_options& opt = {}) {
  const std::string source = "file " + path.string();
  std::string text = detail::read_xml_file(path, source, opt.max_size);
  if (text.empty()) detail::fail(source, "malformed XML: the file is empty");
  return detail::load_xml_text(source, std::move(text), opt);
}

[[nodiscard]] inline topology load_xml_string(std::string_view text, const xml_options& opt = {}) {
  constexpr std::string_view source = "XML text";
  if (text.empty()) detail::fail(source, "malformed XML: the text is empty");
  if (text.size() > opt.max_size)
    detail::fail(source, detail::too_large_message(opt.max_size));
  return detail::load_xml_text(source, std::string(text), opt);
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
