// Reading the few things pvmkit needs from libvirt's XML documents. The host's NUMA cells from the
// capabilities (virConnectGetCapabilities):
//   <host><topology><cells num='2'>
//     <cell id='0'><memory unit='KiB'>N</memory>
//       <distances><sibling id='0' value='10'/>...</distances>
//       <cpus num='8'><cpu id='0' .../>...</cpus></cell>...
// and the PCI devices passed through to a guest, from its domain XML (virDomainGetXMLDesc).
// libvirt writes these documents itself, so a small scanner suffices: it reads only the elements
// above, and anything it cannot read is corrupt_data rather than a guess. Cell ids may have gaps
// (cells 0 and 2): pvmkit's nodes are dense, so node i is the i-th cell read, whose `id` is libvirt's.
#pragma once

#include <pvmkit/core/error.hpp>
#include <pvmkit/core/id_set.hpp>
#include <pvmkit/core/ids.hpp>
#include <pvmkit/core/result.hpp>
#include <pvmkit/core/units.hpp>
#include <pvmkit/topology/topology.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pvmkit::libvirt_xml {

// The text of the element's start tag "<name ...>" found at or after `from`, and where it ends.
struct tag {
  std::string_view text;   // "<cell id='0'>" (with the brackets)
  std::size_t end = 0;     // just past '>'
  bool empty = false;      // "<cpu .../>"
};

[[nodiscard]] inline std::optional<tag> find_tag(std::string_view doc, std::string_view name, std::size_t from = 0,
                                                 std::size_t until = std::string_view::npos) {
  const std::size_t limit = until == std::string_view::npos ? doc.size() : until;
  for (std::size_t p = doc.find('<', from); p != std::string_view::npos && p < limit; p = doc.find('<', p + 1)) {
    if (doc.compare(p + 1, name.size(), name) != 0) continue;
    const std::size_t after = p + 1 + name.size();
    if (after >= doc.size() || !(doc[after] == ' ' || doc[after] == '>' || doc[after] == '/' || doc[after] == '\n' || doc[after] == '\t'))
      continue;
    const std::size_t close = doc.find('>', after);
    if (close == std::string_view::npos || close >= limit) return std::nullopt;
    return tag{doc.substr(p, close + 1 - p), close + 1, doc[close - 1] == '/'};
  }
  return std::nullopt;
}

// Where "</name>" starts, at or after `from`.
[[nodiscard]] inline std::size_t find_end(std::string_view doc, std::string_view name, std::size_t from) {
  const std::string closing = "</" + std::string{name} + ">";
  return doc.find(closing, from);
}

[[nodiscard]] inline std::optional<std::string_view> attribute(std::string_view tag_text, std::string_view name) {
  for (std::size_t p = tag_text.find(name); p != std::string_view::npos; p = tag_text.find(name, p + 1)) {
    if (p == 0 || tag_text[p - 1] != ' ') continue;
    std::size_t q = p + name.size();
    if (q + 1 >= tag_text.size() || tag_text[q] != '=') continue;
    const char quote = tag_text[q + 1];
    if (quote != '\'' && quote != '"') return std::nullopt;
    const std::size_t close = tag_text.find(quote, q + 2);
    if (close == std::string_view::npos) return std::nullopt;
    return tag_text.substr(q + 2, close - q - 2);
  }
  return std::nullopt;
}

[[nodiscard]] inline std::optional<std::uint64_t> to_number(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n')) s.remove_suffix(1);
  if (s.empty() || s.size() > 19) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

// A size element's value in bytes: libvirt's units are b, KiB (its default), MiB, GiB.
[[nodiscard]] inline std::optional<bytes> to_bytes(std::string_view value, std::string_view unit) {
  auto v = to_number(value);
  if (!v) return std::nullopt;
  std::uint64_t scale = 0;
  if (unit.empty() || unit == "KiB" || unit == "k" || unit == "K") scale = 1024;
  else if (unit == "b" || unit == "bytes") scale = 1;
  else if (unit == "MiB" || unit == "M") scale = 1024ULL * 1024;
  else if (unit == "GiB" || unit == "G") scale = 1024ULL * 1024 * 1024;
  else return std::nullopt;
  if (*v > std::numeric_limits<std::uint64_t>::max() / scale) return std::nullopt;  // would wrap around
  return bytes{*v * scale};
}

struct host_cell {
  std::uint32_t id = 0;  // libvirt's cell id
  bytes memory;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> distances;  // (sibling cell id, value)
  cpuset cpus;
};

// The cells of <host><topology>; an empty vector when the document has no topology (some drivers
// report none). A topology that is there but unreadable is corrupt_data.
[[nodiscard]] inline result<std::vector<host_cell>> parse_host_cells(std::string_view doc) {
  const auto host = find_tag(doc, "host");
  if (!host) return unexpected{errc::corrupt_data};
  const std::size_t host_end = find_end(doc, "host", host->end);
  if (host_end == std::string_view::npos) return unexpected{errc::corrupt_data};
  const auto topo = find_tag(doc, "topology", host->end, host_end);
  if (!topo) return std::vector<host_cell>{};
  const std::size_t topo_end = find_end(doc, "topology", topo->end);
  if (topo_end == std::string_view::npos || topo_end > host_end) return unexpected{errc::corrupt_data};
  std::vector<host_cell> cells;
  std::size_t pos = topo->end;
  while (auto cell = find_tag(doc, "cell", pos, topo_end)) {
    const std::size_t cell_end = find_end(doc, "cell", cell->end);
    if (cell->empty || cell_end == std::string_view::npos || cell_end > topo_end) return unexpected{errc::corrupt_data};
    host_cell c;
    const auto id = attribute(cell->text, "id");
    const auto idn = id ? to_number(*id) : std::nullopt;
    if (!idn || *idn > 0xffffU) return unexpected{errc::corrupt_data};
    c.id = static_cast<std::uint32_t>(*idn);
    if (auto mem = find_tag(doc, "memory", cell->end, cell_end)) {
      const std::size_t mem_end = find_end(doc, "memory", mem->end);
      if (mem_end == std::string_view::npos || mem_end > cell_end) return unexpected{errc::corrupt_data};
      auto b = to_bytes(doc.substr(mem->end, mem_end - mem->end), attribute(mem->text, "unit").value_or("KiB"));
      if (!b) return unexpected{errc::corrupt_data};
      c.memory = *b;
    }
    if (auto dist = find_tag(doc, "distances", cell->end, cell_end)) {
      std::size_t dp = dist->end;
      while (auto sib = find_tag(doc, "sibling", dp, cell_end)) {
        const auto sid = attribute(sib->text, "id");
        const auto val = attribute(sib->text, "value");
        // Plain numbers, not optionals: g++ 12 at -O2 takes a checked optional for uninitialised.
        std::uint64_t sidn = 0, valn = 0;
        if (const auto n = sid ? to_number(*sid) : std::nullopt) sidn = *n;
        else return unexpected{errc::corrupt_data};
        if (const auto n = val ? to_number(*val) : std::nullopt) valn = *n;
        else return unexpected{errc::corrupt_data};
        if (valn == 0 || valn > 0xffffU || sidn > 0xffffU) return unexpected{errc::corrupt_data};
        c.distances.emplace_back(static_cast<std::uint32_t>(sidn), static_cast<std::uint32_t>(valn));
        dp = sib->end;
      }
    }
    if (auto cpus = find_tag(doc, "cpus", cell->end, cell_end)) {
      std::size_t cp = cpus->end;
      while (auto cpu = find_tag(doc, "cpu", cp, cell_end)) {
        const auto cid = attribute(cpu->text, "id");
        const auto cidn = cid ? to_number(*cid) : std::nullopt;
        if (!cidn || *cidn > 65535) return unexpected{errc::corrupt_data};
        c.cpus.insert(cpu_id{static_cast<cpu_id::rep>(*cidn)});
        cp = cpu->end;
      }
    }
    cells.push_back(std::move(c));
    pos = cell_end;
  }
  if (cells.empty()) return unexpected{errc::corrupt_data};  // a <topology> with no cell in it
  return cells;
}

// pvmkit's topology from the cells: node i is cells[i]; free memory per node from
// virNodeGetCellsFreeMemory (same order; missing entries count as 0). Distances missing from the
// document fall back to 10 local / 20 remote, as libvirt prints none when firmware has no SLIT.
// A cell without CPUs is a memory-only node (a CXL expander, KNL's MCDRAM): nothing runs there,
// buffers may live there (docs/topology.md). A layout the model refuses is not_supported.
[[nodiscard]] inline result<std::shared_ptr<const topology>> to_topology(const std::vector<host_cell>& cells,
                                                                        const std::vector<bytes>& free_per_cell) {
  const std::size_t n = cells.size();
  std::vector<numa_node> nodes(n);
  for (std::size_t i = 0; i < n; ++i) {
    nodes[i].id = node_id{static_cast<node_id::rep>(i)};
    nodes[i].cpus = cells[i].cpus;
    nodes[i].memory = cells[i].memory;
    const bytes free = i < free_per_cell.size() ? free_per_cell[i] : bytes{};
    nodes[i].free_memory = free > cells[i].memory ? cells[i].memory : free;
  }
  std::vector<std::uint32_t> dist(n * n, 0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      std::uint32_t d = i == j ? local_distance : 2 * local_distance;
      for (const auto& [sib, value] : cells[i].distances)
        if (sib == cells[j].id) d = value;
      dist[i * n + j] = d;
    }
  try {
    return std::make_shared<const topology>(std::move(nodes), std::move(dist));
  } catch (const topology_error&) {
    return unexpected{errc::not_supported};
  }
}

// The PCI addresses ("0000:06:12.5", as Linux names the device) of a domain's passed-through PCI
// devices: <hostdev mode='subsystem' type='pci'><source><address domain='0x0000' bus='0x06'
// slot='0x12' function='0x5'/></source></hostdev>. Their host IRQs are the guest's.
[[nodiscard]] inline result<std::vector<std::string>> parse_pci_hostdevs(std::string_view doc) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (auto dev = find_tag(doc, "hostdev", pos)) {
    pos = dev->end;
    if (dev->empty || attribute(dev->text, "type").value_or("") != "pci") continue;
    const std::size_t dev_end = find_end(doc, "hostdev", dev->end);
    if (dev_end == std::string_view::npos) return unexpected{errc::corrupt_data};
    const auto source = find_tag(doc, "source", dev->end, dev_end);
    const auto addr = source ? find_tag(doc, "address", source->end, dev_end) : std::nullopt;
    if (!addr) return unexpected{errc::corrupt_data};
    auto hex = [&](std::string_view name, unsigned width) -> std::optional<std::string> {
      auto v = attribute(addr->text, name);
      if (!v) return std::nullopt;
      std::string_view s = *v;
      if (s.substr(0, 2) == "0x") s.remove_prefix(2);
      if (s.empty() || s.size() > width) return std::nullopt;
      std::string r(width - s.size(), '0');
      for (char c : s) {
        const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (!ok) return std::nullopt;
        r += (c >= 'A' && c <= 'F') ? static_cast<char>(c - 'A' + 'a') : c;
      }
      return r;
    };
    const auto d = hex("domain", 4), b = hex("bus", 2), s = hex("slot", 2), f = hex("function", 1);
    if (!d || !b || !s || !f) return unexpected{errc::corrupt_data};
    out.push_back(*d + ":" + *b + ":" + *s + "." + *f);
    pos = dev_end;
  }
  return out;
}

}  // namespace pvmkit::libvirt_xml
