// A topology as bytes, to hand one from a child process to its parent (hwloc.hpp parses untrusted
// XML in a child). The decoder trusts nothing: every count is checked against the bytes left and
// against the topology's bounds before anything is allocated, and what it builds is validated by
// the topology constructor like any other topology.
//
// Layout (integers little-endian):
//   "PVMKTOP1"
//   u32 n; n times: u64 memory, u64 free memory, u32 r, r CPU ranges (u32 first, u32 last),
//                   increasing and not touching
//   n*n u32 distances, row-major
//   u32 d; d times: u8 kind, u32 node (0xffffffff = unknown), u32 name length, the name
#pragma once

#include <pvmkit/core/id_set.hpp>
#include <pvmkit/core/ids.hpp>
#include <pvmkit/core/units.hpp>
#include <pvmkit/topology/topology.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pvmkit {

namespace wire_detail {

inline constexpr std::string_view magic = "PVMKTOP1";
inline constexpr std::uint32_t unknown_node = 0xffffffffU;
inline constexpr std::size_t max_name = 4096;

inline void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xffU));
}
inline void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xffU));
}

class reader {
 public:
  explicit reader(std::string_view in) : in_(in) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw topology_error("malformed topology encoding at byte " + std::to_string(at_) + ": " + what);
  }
  [[nodiscard]] std::size_t left() const noexcept { return in_.size() - at_; }
  void need(std::size_t n, const char* what) const {
    if (left() < n) fail(std::string(what) + " needs " + std::to_string(n) + " bytes, " + std::to_string(left()) + " left");
  }
  std::uint64_t unsigned_le(std::size_t bytes, const char* what) {
    need(bytes, what);
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < bytes; ++i)
      v |= std::uint64_t{static_cast<unsigned char>(in_[at_ + i])} << (8 * i);
    at_ += bytes;
    return v;
  }
  std::uint32_t u32(const char* what) { return static_cast<std::uint32_t>(unsigned_le(4, what)); }
  std::uint64_t u64(const char* what) { return unsigned_le(8, what); }
  std::uint8_t u8(const char* what) { return static_cast<std::uint8_t>(unsigned_le(1, what)); }
  std::string_view bytes(std::size_t n, const char* what) {
    need(n, what);
    const auto s = in_.substr(at_, n);
    at_ += n;
    return s;
  }

 private:
  std::string_view in_;
  std::size_t at_ = 0;
};

}  // namespace wire_detail

[[nodiscard]] inline std::string encode_topology(const topology& t) {
  using namespace wire_detail;
  std::string out(magic);
  put_u32(out, static_cast<std::uint32_t>(t.node_count()));
  for (const auto& n : t.nodes()) {
    put_u64(out, n.memory.count());
    put_u64(out, n.free_memory.count());
    std::vector<std::pair<std::uint32_t, std::uint32_t>> ranges;
    for (cpu_id c : n.cpus) {
      if (!ranges.empty() && ranges.back().second + 1 == c.value())
        ranges.back().second = c.value();
      else
        ranges.emplace_back(c.value(), c.value());
    }
    put_u32(out, static_cast<std::uint32_t>(ranges.size()));
    for (const auto& [first, last] : ranges) {
      put_u32(out, first);
      put_u32(out, last);
    }
  }
  for (std::uint32_t d : t.distances()) put_u32(out, d);
  put_u32(out, static_cast<std::uint32_t>(t.devices().size()));
  for (const auto& d : t.devices()) {
    out.push_back(static_cast<char>(d.kind));
    put_u32(out, d.node.valid() ? d.node.value() : unknown_node);
    put_u32(out, static_cast<std::uint32_t>(d.name.size()));
    out += d.name;
  }
  return out;
}

// Throws topology_error ("malformed topology encoding at byte N: ...", or the constructor's
// "invalid topology: ...").
[[nodiscard]] inline topology decode_topology(std::string_view encoded) {
  using namespace wire_detail;
  reader in(encoded);
  if (in.bytes(magic.size(), "the header") != magic) in.fail("not a pvmkit topology encoding");
  const std::uint32_t n = in.u32("the node count");
  if (n == 0 || n > max_nodes) in.fail(std::to_string(n) + " nodes (1 to " + std::to_string(max_nodes) + " allowed)");
  std::vector<numa_node> nodes(n);
  std::size_t cpus_total = 0;  // bounds the work: CPUs are on one node each
  for (std::uint32_t i = 0; i < n; ++i) {
    auto& node = nodes[i];
    node.id = node_id{i};
    node.memory = bytes{in.u64("a node's memory")};
    node.free_memory = bytes{in.u64("a node's free memory")};
    const std::uint32_t r = in.u32("a CPU range count");
    if (r > in.left() / 8) in.fail(std::to_string(r) + " CPU ranges do not fit in what is left");
    std::uint64_t next = 0;  // the lowest first CPU the next range may have
    for (std::uint32_t k = 0; k < r; ++k) {
      const std::uint32_t first = in.u32("a range's first CPU");
      const std::uint32_t last = in.u32("a range's last CPU");
      if (first < next || last < first) in.fail("CPU ranges must increase and not touch");
      if (last > max_cpu_index) in.fail("CPU " + std::to_string(last) + " is above " + std::to_string(max_cpu_index));
      cpus_total += std::size_t{last} - first + 1;
      if (cpus_total > max_cpu_index + 1) in.fail("more CPUs than CPU numbers");
      for (std::uint32_t c = first;; ++c) {
        node.cpus.insert(cpu_id{c});
        if (c == last) break;
      }
      next = std::uint64_t{last} + 2;
    }
  }
  const std::size_t cells = std::size_t{n} * n;
  if (cells > in.left() / 4) in.fail("the distance matrix does not fit in what is left");
  std::vector<std::uint32_t> distances(cells);
  for (auto& d : distances) d = in.u32("a distance");
  const std::uint32_t d = in.u32("the device count");
  if (d > in.left() / 9) in.fail(std::to_string(d) + " devices do not fit in what is left");
  std::vector<device> devices(d);
  for (auto& dev : devices) {
    const std::uint8_t kind = in.u8("a device kind");
    if (kind > static_cast<std::uint8_t>(device_kind::other)) in.fail("device kind " + std::to_string(kind));
    dev.kind = static_cast<device_kind>(kind);
    const std::uint32_t node = in.u32("a device node");
    dev.node = node == unknown_node ? node_id::invalid() : node_id{node};
    const std::uint32_t len = in.u32("a device name length");
    if (len > max_name) in.fail("a device name of " + std::to_string(len) + " bytes");
    dev.name = std::string(in.bytes(len, "a device name"));
  }
  if (in.left() != 0) in.fail(std::to_string(in.left()) + " bytes after the end");
  return topology{std::move(nodes), std::move(distances), std::move(devices)};
}

}  // namespace pvmkit
