// Reading libvirt's XML: the host's cells from a capabilities document (a real host's shape, gaps
// in cell ids, distances, units) and passed-through PCI devices from a domain; documents that
// cannot be read are corrupt_data, never a guess.
#include <pvmkit/libvirt/libvirt_xml.hpp>

#include <doctest/doctest.h>

#include <optional>
#include <string>

using namespace pvmkit;
using namespace pvmkit::libvirt_xml;

namespace {
// Two cells with ids 0 and 2 (a gap), a SLIT, memory in KiB, two CPUs each.
const std::string caps =
    "<capabilities>\n  <host>\n    <uuid>x</uuid>\n    <cpu><arch>x86_64</arch><topology sockets='1' cores='2' threads='1'/></cpu>\n"
    "    <topology>\n      <cells num='2'>\n"
    "        <cell id='0'>\n          <memory unit='KiB'>4194304</memory>\n"
    "          <pages unit='KiB' size='4'>1048576</pages>\n"
    "          <distances>\n            <sibling id='0' value='10'/>\n            <sibling id='2' value='21'/>\n          </distances>\n"
    "          <cpus num='2'>\n            <cpu id='0' socket_id='0' die_id='0' core_id='0' siblings='0'/>\n"
    "            <cpu id='1' socket_id='0' die_id='0' core_id='1' siblings='1'/>\n          </cpus>\n        </cell>\n"
    "        <cell id='2'>\n          <memory unit='GiB'>2</memory>\n"
    "          <distances>\n            <sibling id='0' value='21'/>\n            <sibling id='2' value='10'/>\n          </distances>\n"
    "          <cpus num='2'>\n            <cpu id='2'/>\n            <cpu id='3'/>\n          </cpus>\n        </cell>\n"
    "      </cells>\n    </topology>\n  </host>\n  <guest><os_type>hvm</os_type></guest>\n</capabilities>\n";

std::string replace(std::string s, const std::string& from, const std::string& to) {
  const auto p = s.find(from);
  REQUIRE(p != std::string::npos);
  return s.replace(p, from.size(), to);
}
}  // namespace

TEST_CASE("host cells from a capabilities document") {
  auto cells = parse_host_cells(caps);
  REQUIRE(cells.has_value());
  REQUIRE(cells->size() == 2);
  CHECK((*cells)[0].id == 0);
  CHECK((*cells)[1].id == 2);
  CHECK((*cells)[0].memory == bytes{4ULL << 30});
  CHECK((*cells)[1].memory == bytes{2ULL << 30});
  CHECK((*cells)[0].cpus == cpuset::range(0, 2));
  CHECK((*cells)[1].cpus == cpuset::range(2, 4));
  auto topo = to_topology(*cells, {bytes{1ULL << 30}, bytes{8ULL << 30}});
  REQUIRE(topo.has_value());
  CHECK((*topo)->node_count() == 2);
  CHECK((*topo)->distance(node_id{0}, node_id{1}) == 21);  // cell 2 is node 1
  CHECK((*topo)->node(node_id{0}).free_memory == bytes{1ULL << 30});
  CHECK((*topo)->node(node_id{1}).free_memory == bytes{2ULL << 30});  // clipped to the cell's size
}

TEST_CASE("capabilities without a topology, and ones that cannot be read") {
  CHECK(parse_host_cells("<capabilities><host><uuid>x</uuid></host></capabilities>").value().empty());
  CHECK(parse_host_cells("<capabilities></capabilities>").error() == errc::corrupt_data);
  CHECK(parse_host_cells(replace(caps, "<memory unit='KiB'>4194304", "<memory unit='KiB'>four")).error() == errc::corrupt_data);
  CHECK(parse_host_cells(replace(caps, "<memory unit='KiB'>", "<memory unit='parsecs'>")).error() == errc::corrupt_data);
  CHECK(parse_host_cells(replace(caps, "<cpu id='3'/>", "<cpu id='x'/>")).error() == errc::corrupt_data);
  CHECK(parse_host_cells(replace(caps, "<sibling id='2' value='21'/>", "<sibling id='2' value='0'/>")).error() == errc::corrupt_data);
  CHECK(parse_host_cells(replace(caps, "</topology>", "")).error() == errc::corrupt_data);
  CHECK(parse_host_cells("<capabilities><host><topology><cells num='0'></cells></topology></host></capabilities>").error() ==
        errc::corrupt_data);
  // A memory-only cell is a node without CPUs (docs/topology.md).
  auto cells = parse_host_cells(replace(caps, "<cpu id='2'/>\n            <cpu id='3'/>", ""));
  REQUIRE(cells.has_value());
  auto topo = to_topology(*cells, {});
  REQUIRE(topo.has_value());
  CHECK((*topo)->node(node_id{0}).has_cpus());
  CHECK_FALSE((*topo)->node(node_id{1}).has_cpus());
  CHECK((*topo)->nearest_cpu_node(node_id{1}) == node_id{0});
}

TEST_CASE("missing distances fall back to 10 local, 20 remote") {
  std::string doc = caps;
  for (int i = 0; i < 2; ++i) {
    const auto a = doc.find("<distances>");
    const auto b = doc.find("</distances>") + std::string{"</distances>"}.size();
    doc.erase(a, b - a);
  }
  auto cells = parse_host_cells(doc);
  REQUIRE(cells.has_value());
  auto topo = to_topology(*cells, {});
  REQUIRE(topo.has_value());
  CHECK((*topo)->distance(node_id{1}, node_id{0}) == 20);
  CHECK((*topo)->distance(node_id{1}, node_id{1}) == 10);
}

TEST_CASE("passed-through PCI devices of a domain") {
  const std::string dom =
      "<domain type='kvm'><devices><hostdev mode='subsystem' type='usb'><source><vendor id='0x1'/></source></hostdev>"
      "<hostdev mode='subsystem' type='pci' managed='yes'><driver name='vfio'/><source>"
      "<address domain='0x0000' bus='0x06' slot='0x12' function='0x5'/></source>"
      "<address type='pci' domain='0x0000' bus='0x00' slot='0x07' function='0x0'/></hostdev>"
      "<hostdev mode='subsystem' type='pci'><source><address domain='0x0001' bus='0xAF' slot='0x0' function='0x1'/></source></hostdev>"
      "</devices></domain>";
  auto devs = parse_pci_hostdevs(dom);
  REQUIRE(devs.has_value());
  REQUIRE(devs->size() == 2);
  CHECK((*devs)[0] == "0000:06:12.5");  // the host address, not the guest's
  CHECK((*devs)[1] == "0001:af:00.1");
  CHECK(parse_pci_hostdevs("<domain><devices/></domain>").value().empty());
  CHECK(parse_pci_hostdevs("<domain><devices><hostdev type='pci'><source/></hostdev></devices></domain>").error() ==
        errc::corrupt_data);
  CHECK(parse_pci_hostdevs("<domain><devices><hostdev type='pci'><source><address domain='0x0' bus='0x1g' slot='0x0' "
                           "function='0x0'/></source></hostdev></devices></domain>")
            .error() == errc::corrupt_data);
}

TEST_CASE("a size that does not fit in 64 bits is refused, never wrapped around") {
  CHECK(to_bytes("4", "GiB") == std::optional<bytes>{bytes{4ULL << 30}});
  CHECK(to_bytes("17179869183", "GiB") == std::optional<bytes>{bytes{17179869183ULL << 30}});  // the largest that fits
  CHECK_FALSE(to_bytes("17179869184", "GiB").has_value());
  CHECK_FALSE(to_bytes("5555555555555555554", "KiB").has_value());  // found by the libvirt_xml fuzzer
  CHECK(to_bytes("5555555555555555554", "b") == std::optional<bytes>{bytes{5555555555555555554ULL}});
}
