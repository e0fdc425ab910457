// libvirt/libvirt_xml.hpp: the readers of libvirt's capabilities (parse_host_cells, then
// to_topology) and of a domain's PCI host devices (parse_pci_hostdevs) answer a value or a result
// error (corrupt_data; not_supported for a topology pvmkit cannot model) and throw nothing. A PCI
// address is "dddd:bb:ss.f" in lower-case hex. A size (to_bytes, the input as its value) is its
// number times the unit, or nullopt: never a product that wrapped around.
#include "fuzz_support.hpp"

#include <pvmkit/core/error.hpp>
#include <pvmkit/libvirt/libvirt_xml.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace {

using pvmkit::fuzz::expect;
namespace lx = pvmkit::libvirt_xml;

bool pci_address(const std::string& a) {
  if (a.size() != 12 || a[4] != ':' || a[7] != ':' || a[10] != '.') return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (i != 4 && i != 7 && i != 10 && !((a[i] >= '0' && a[i] <= '9') || (a[i] >= 'a' && a[i] <= 'f'))) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto doc = pvmkit::fuzz::as_text(data, size);
  (void)pvmkit::fuzz::accepted<pvmkit::fuzz::no_exception>([&] {
    const auto cells = lx::parse_host_cells(doc);
    if (!cells) {
      expect(cells.error() == pvmkit::errc::corrupt_data, "capabilities are read or corrupt_data");
    } else if (!cells->empty()) {
      std::vector<pvmkit::bytes> free;
      for (const auto& c : *cells) free.push_back(c.memory);
      const auto t = lx::to_topology(*cells, free);
      expect(t.has_value() || t.error() == pvmkit::errc::not_supported, "cells make a topology or not_supported");
      if (t) expect((*t)->node_count() == cells->size(), "a node per cell");
    }
    for (const auto& [unit, scale] : {std::pair{"b", 1ULL}, std::pair{"KiB", 1ULL << 10}, std::pair{"GiB", 1ULL << 30}})
      if (const auto b = lx::to_bytes(doc, unit)) {
        const auto n = lx::to_number(doc);
        expect(n && b->count() / scale == *n && b->count() % scale == 0, "a size is its number times its unit, not wrapped around");
      }
    const auto devs = lx::parse_pci_hostdevs(doc);
    if (!devs) expect(devs.error() == pvmkit::errc::corrupt_data, "host devices are read or corrupt_data");
    else
      for (const auto& a : *devs) expect(pci_address(a), "a PCI address dddd:bb:ss.f: " + a);
  });
  return 0;
}
