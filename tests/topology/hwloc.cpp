// The hwloc loaders: synthetic hosts, this machine, real machines' XML exports, and every rejection.
#include "error_text.hpp"
#include "files.hpp"
#include "pvmkit_test_paths.hpp"

#include <pvmkit/topology/hwloc.hpp>

#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace pvmkit;
using namespace pvmkit::literals;
using pvmkit::test::contains;
using pvmkit::test::read_text;
using pvmkit::test::temp_dir;
using pvmkit::test::topology_error_text;
namespace fs = std::filesystem;

namespace {

node_id nid(unsigned i) { return node_id{i}; }

// hwloc unloads its plugins when the process's last topology is destroyed; the PCI plugin takes
// libpciaccess with it, whose cached allocations then look leaked to LeakSanitizer (a plain C program
// that loads and destroys one topology shows the same 1016 bytes). One topology that lives until
// exit keeps them loaded and reachable, so the asan build checks our code, not that teardown.
[[maybe_unused]] const hwloc_topology_t keep_hwloc_plugins_loaded = [] {
  hwloc_topology_t t = nullptr;
  hwloc_topology_init(&t);
  return t;
}();

// A minimal hwloc 2 export with a CPU-less node attached to the Machine, as CXL or HBM memory is.
const char* const cpuless_node_xml = R"(<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE topology SYSTEM "hwloc2.dtd">
<topology version="2.0">
  <object type="Machine" os_index="0" cpuset="0x00000003" complete_cpuset="0x00000003" allowed_cpuset="0x00000003" nodeset="0x00000003" complete_nodeset="0x00000003" allowed_nodeset="0x00000003" gp_index="1">
    <object type="NUMANode" os_index="1" cpuset="0x0" complete_cpuset="0x0" nodeset="0x00000002" complete_nodeset="0x00000002" gp_index="3" local_memory="1073741824"/>
    <object type="Package" os_index="0" cpuset="0x00000003" complete_cpuset="0x00000003" nodeset="0x00000001" complete_nodeset="0x00000001" gp_index="4">
      <object type="NUMANode" os_index="0" cpuset="0x00000003" complete_cpuset="0x00000003" nodeset="0x00000001" complete_nodeset="0x00000001" gp_index="2" local_memory="1073741824"/>
      <object type="PU" os_index="0" cpuset="0x00000001" complete_cpuset="0x00000001" nodeset="0x00000001" complete_nodeset="0x00000001" gp_index="5"/>
      <object type="PU" os_index="1" cpuset="0x00000002" complete_cpuset="0x00000002" nodeset="0x00000001" complete_nodeset="0x00000001" gp_index="6"/>
    </object>
  </object>
</topology>
)";

}  // namespace

TEST_CASE("synthetic two-socket host without a matrix: 2 nodes x 16 CPUs, 10/20") {
  const auto t = hwloc::load_synthetic("pack:2 numa:1 core:8 pu:2");
  REQUIRE(t.node_count() == 2);
  CHECK(t.cpu_count() == 32);
  CHECK(t.node(nid(0)).cpus == cpuset::range(0, 16));
  CHECK(t.node(nid(1)).cpus == cpuset::range(16, 32));
  CHECK(t.node_of(cpu_id{17}) == nid(1));
  CHECK(t.distances() == std::vector<std::uint32_t>{10, 20, 20, 10});
  CHECK(t.node(nid(0)).memory == 1_GiB);  // hwloc's synthetic default per node
  CHECK(t.node(nid(0)).free_memory == t.node(nid(0)).memory);
  CHECK(t.devices().empty());
}

TEST_CASE("synthetic host with a distance matrix, as text or as a vector") {
  const auto a = hwloc::load_synthetic("pack:2 numa:1 core:8 pu:2", "10,21;21,10");
  CHECK(a.distance(nid(0), nid(1)) == 21);
  CHECK(a.distance(nid(1), nid(1)) == 10);
  const auto b = hwloc::load_synthetic("pack:2 numa:1 core:8 pu:2", std::vector<std::uint32_t>{10, 32, 32, 10});
  CHECK(b.distance(nid(1), nid(0)) == 32);
  CHECK(hwloc::load_synthetic("pack:2 numa:1 core:8 pu:2", " 10 , 21 ; 21 , 10 ").distance(nid(0), nid(1)) == 21);
}

TEST_CASE("synthetic host with an asymmetric matrix keeps both directions") {
  const auto t = hwloc::load_synthetic("pack:2 numa:1 pu:2", "10,21;31,10");
  CHECK(t.distance(nid(0), nid(1)) == 21);
  CHECK(t.distance(nid(1), nid(0)) == 31);
}

TEST_CASE("synthetic host with 4 nodes on a ring: distances drive nearest_nodes") {
  const auto t = hwloc::load_synthetic("pack:4 numa:1 core:4 pu:1", "10,20,30,20;20,10,20,30;30,20,10,20;20,30,20,10");
  REQUIRE(t.node_count() == 4);
  for (unsigned i = 0; i < 4; ++i) CHECK(t.node(nid(i)).cpus == cpuset::range(i * 4, i * 4 + 4));
  CHECK(t.nearest_nodes(nid(1)) == std::vector<node_id>{nid(1), nid(0), nid(2), nid(3)});
  CHECK(t.nearest_nodes(nid(3)) == std::vector<node_id>{nid(3), nid(0), nid(2), nid(1)});
}

TEST_CASE("synthetic host with 8 nodes and memory given in the description") {
  const auto t = hwloc::load_synthetic("pack:8 numa:1(memory=16GB) core:2 pu:1");
  REQUIRE(t.node_count() == 8);
  CHECK(t.cpu_count() == 16);
  CHECK(t.node_of(cpu_id{15}) == nid(7));
  CHECK(t.node(nid(5)).memory == bytes{16'000'000'000});  // hwloc's GB is 10^9
  CHECK(t.distance(nid(2), nid(6)) == 20);
}

TEST_CASE("parse_distance_matrix reads rows and names what is wrong") {
  CHECK(hwloc::parse_distance_matrix("10") == std::vector<std::uint32_t>{10});
  CHECK(hwloc::parse_distance_matrix("10,21;21,10") == std::vector<std::uint32_t>{10, 21, 21, 10});
  auto err = [](const char* text) { return topology_error_text([&] { return hwloc::parse_distance_matrix(text); }); };
  CHECK(contains(err(""), "distance matrix \"\": is empty"));
  CHECK(contains(err("10,21;21"), "row 1 has 1 entries, expected 2"));
  CHECK(contains(err("10,21,21;21,10,21"), "row 0 has 3 entries, expected 2"));
  CHECK(contains(err("10,x;21,10"), "row 0, column 1: 'x' is not a non-negative integer"));
  CHECK(contains(err("10,-21;21,10"), "'-21' is not a non-negative integer"));
  CHECK(contains(err("10,,21;21,10"), "row 0, column 1 is empty"));
  CHECK(contains(err("10,21;21,10;"), "row 2 is empty"));
  CHECK(contains(err("10,99999999999;21,10"), "'99999999999' is too large"));
}

TEST_CASE("synthetic rejections name the source and the problem") {
  SUBCASE("a description hwloc does not understand") {
    const auto msg = topology_error_text([] { return hwloc::load_synthetic("pack:2 numa:1 core:x pu:2"); });
    CHECK(contains(msg, "synthetic \"pack:2 numa:1 core:x pu:2\": hwloc rejected the description"));
  }
  SUBCASE("an empty description") {
    CHECK(contains(topology_error_text([] { return hwloc::load_synthetic("  "); }), "the description is empty"));
  }
  SUBCASE("a matrix for the wrong number of nodes") {
    const auto msg =
        topology_error_text([] { return hwloc::load_synthetic("pack:2 numa:1 core:8 pu:2", "10,21,21;21,10,21;21,21,10"); });
    CHECK(contains(msg, "synthetic \"pack:2 numa:1 core:8 pu:2\": the distance matrix has 9 entries, expected 2x2 = 4"));
  }
  SUBCASE("a matrix vector of the wrong size") {
    const auto msg =
        topology_error_text([] { return hwloc::load_synthetic("pack:4 numa:1 pu:1", std::vector<std::uint32_t>{10, 20, 20, 10}); });
    CHECK(contains(msg, "4 entries, expected 4x4 = 16 for 4 NUMA nodes"));
  }
  SUBCASE("not 10 on the diagonal") {
    const auto msg = topology_error_text([] { return hwloc::load_synthetic("pack:2 numa:1 pu:2", "10,21;21,12"); });
    CHECK(contains(msg, "synthetic \"pack:2 numa:1 pu:2\": invalid topology: distance[1][1] = 12"));
    CHECK(contains(msg, "distance to itself must be 10"));
  }
  SUBCASE("zero") {
    const auto msg = topology_error_text([] { return hwloc::load_synthetic("pack:2 numa:1 pu:2", "10,0;0,10"); });
    CHECK(contains(msg, "distance[0][1] = 0: distances must be positive"));
  }
  SUBCASE("a malformed matrix") {
    const auto msg = topology_error_text([] { return hwloc::load_synthetic("pack:2 numa:1 pu:2", "10,21;21,ten"); });
    CHECK(contains(msg, "distance matrix \"10,21;21,ten\": row 1, column 1: 'ten' is not a non-negative integer"));
  }
}

TEST_CASE("a synthetic NUMA node with no CPUs (memory attached to the whole machine) is memory-only") {
  const auto t = hwloc::load_synthetic("[numa] pack:2 [numa] pu:2");
  REQUIRE(t.node_count() == 3);
  CHECK(t.node(nid(0)).cpus == cpuset::range(0, 2));
  CHECK(t.node(nid(1)).cpus == cpuset::range(2, 4));
  CHECK_FALSE(t.node(nid(2)).has_cpus());  // hwloc numbers the machine's node after the packages'
  CHECK(t.cpu_nodes() == std::vector<node_id>{nid(0), nid(1)});
  CHECK(t.nearest_cpu_node(nid(2)) == nid(0));  // 20 to both: the lower id
}

TEST_CASE("XML rejections name the source and the problem") {
  temp_dir dir;
  SUBCASE("a file that does not exist") {
    const auto missing = dir.path() / "missing.xml";
    const auto msg = topology_error_text([&] { return hwloc::load_xml_file(missing); });
    CHECK(contains(msg, "file " + missing.string() + ": cannot read: No such file or directory"));
  }
  SUBCASE("a directory") {
    const auto msg = topology_error_text([&] { return hwloc::load_xml_file(dir.path()); });
    CHECK(contains(msg, "cannot read: it is a directory"));
  }
  SUBCASE("malformed XML in a file") {
    const auto bad = dir.write("bad.xml", "<?xml version=\"1.0\"?>\n<topology version=\"2.0\">\n  <object type=\"Machine\"\n");
    const auto msg = topology_error_text([&] { return hwloc::load_xml_file(bad); });
    CHECK(contains(msg, "file " + bad.string() + ": malformed XML"));
  }
  SUBCASE("well-formed XML that is not a topology") {
    const auto msg = topology_error_text([] { return hwloc::load_xml_string("<inventory><host/></inventory>"); });
    CHECK(contains(msg, "XML text: malformed XML"));
  }
  SUBCASE("empty text") {
    CHECK(contains(topology_error_text([] { return hwloc::load_xml_string(""); }), "XML text: malformed XML: the text is empty"));
  }
}

TEST_CASE("an XML NUMA node with no CPUs (CXL or HBM memory hung off the machine) is memory-only") {
  temp_dir dir;
  const auto file = dir.write("cpuless.xml", cpuless_node_xml);
  for (const auto& t : {hwloc::load_xml_string(cpuless_node_xml), hwloc::load_xml_file(file)}) {
    REQUIRE(t.node_count() == 2);
    CHECK(t.node(nid(0)).cpus == cpuset::range(0, 2));
    CHECK_FALSE(t.node(nid(1)).has_cpus());  // OS node 1, on the machine
    CHECK(t.node(nid(1)).memory == 1_GiB);
    CHECK(t.cpu_count() == 2);
  }
}

namespace {

// The kernel's per-node view: how many nodes, their total memory and their CPUs.
struct sysfs_nodes {
  std::size_t count = 0;
  std::uint64_t total_kib = 0;
  cpuset cpus;
};

sysfs_nodes read_sysfs_nodes() {
  const fs::path sys{"/sys/devices/system/node"};
  sysfs_nodes out;
  for (unsigned i = 0; fs::exists(sys / ("node" + std::to_string(i))); ++i) {
    ++out.count;
    const auto dir = sys / ("node" + std::to_string(i));
    std::string list = read_text(dir / "cpulist");
    while (!list.empty() && (list.back() == '\n' || list.back() == ' ')) list.pop_back();
    if (auto s = cpuset::parse(list)) out.cpus |= *s;
    std::istringstream meminfo(read_text(dir / "meminfo"));
    for (std::string line; std::getline(meminfo, line);) {
      const auto at = line.find("MemTotal:");
      if (at != std::string::npos) out.total_kib += std::stoull(line.substr(at + 9));
    }
  }
  return out;
}

}  // namespace

TEST_CASE("this machine loads, with its CPUs, memory and free memory from the kernel") {
  // Read before and after: a VM's memory can be hot-plugged or ballooned while we look.
  const auto before = read_sysfs_nodes();
  const auto t = hwloc::load_this_machine();
  const auto after = read_sysfs_nodes();
  REQUIRE(t.node_count() >= 1);
  CHECK(t.cpu_count() >= 1);
  for (const auto& n : t.nodes()) {
    CHECK(n.memory > bytes{0});
    CHECK(n.free_memory <= n.memory);
  }
  if (before.count > 0) {
    CHECK(t.node_count() == before.count);
    const bytes low{std::min(before.total_kib, after.total_kib) * 1024};
    const bytes high{std::max(before.total_kib, after.total_kib) * 1024};
    CHECK(t.total_memory() >= low);
    CHECK(t.total_memory() <= high);
    CHECK(t.cpus().is_subset_of(before.cpus | after.cpus));  // hwloc keeps only the CPUs this process may use
    // A running system never has all of a node's memory free: equality would mean sysfs was not read.
    CHECK(t.node(node_id{0}).free_memory < t.node(node_id{0}).memory);
  }
}

#ifdef PVMKIT_HAVE_TOPOLOGIES

namespace {
const fs::path topologies{PVMKIT_TOPOLOGIES_DIR};
}

TEST_CASE("2-socket Intel export: 2 nodes x 12 CPUs, 10/20, 18 GB per node, NICs on node 0") {
  const auto t = hwloc::load_xml_file(topologies / "24em64t-2n6c2t-pci.xml");
  REQUIRE(t.node_count() == 2);
  CHECK(t.node(nid(0)).cpus.size() == 12);
  CHECK(t.node(nid(1)).cpus.size() == 12);
  CHECK(t.node(nid(0)).cpus.to_string() == "0,2,4,6,8,10,12,14,16,18,20,22");  // threads interleaved across sockets
  CHECK(t.node_of(cpu_id{7}) == nid(1));
  CHECK(t.distances() == std::vector<std::uint32_t>{10, 20, 20, 10});
  CHECK(t.node(nid(0)).memory == bytes{19316633600});
  CHECK(t.node(nid(1)).memory == bytes{19327348736});
  CHECK(t.node(nid(1)).memory.gib() == doctest::Approx(18.0).epsilon(0.01));
  CHECK(t.node(nid(0)).free_memory == t.node(nid(0)).memory);  // an export has no free figure
  for (const char* nic : {"eth0", "eth1", "eth2", "ib0"}) {
    CAPTURE(nic);
    const auto* d = t.find_device(nic);
    REQUIRE(d != nullptr);
    CHECK(d->kind == device_kind::network);
    CHECK(d->node == nid(0));
  }
  REQUIRE(t.find_device("sda") != nullptr);
  CHECK(t.find_device("sda")->kind == device_kind::block);
  CHECK(t.find_device("mlx4_0") == nullptr);  // OpenFabrics, neither network nor block
  CHECK(t.devices().size() == 5);
}

TEST_CASE("4-node Intel export: 4 x 24 CPUs, 10/26, NICs spread over the nodes") {
  const auto t = hwloc::load_xml_file(topologies / "96em64t-4n4d3ca2co-pci.xml");
  REQUIRE(t.node_count() == 4);
  for (unsigned i = 0; i < 4; ++i) CHECK(t.node(nid(i)).cpus == cpuset::range(i * 24, i * 24 + 24));
  for (unsigned i = 0; i < 4; ++i)
    for (unsigned j = 0; j < 4; ++j) CHECK(t.distance(nid(i), nid(j)) == (i == j ? 10U : 26U));
  CHECK(t.node(nid(2)).memory == bytes{51271172096});
  const std::vector<std::pair<const char*, unsigned>> expected{{"eth0", 0}, {"eth1", 0}, {"eth2", 1}, {"eth3", 1}, {"eth4", 2},
                                                               {"eth5", 2}, {"eth6", 3}, {"eth7", 3}, {"sdc", 3}};
  for (const auto& e : expected) {
    const std::string name = e.first;  // clang 14 cannot capture a structured binding in CAPTURE's lambda
    CAPTURE(name);
    REQUIRE(t.find_device(name) != nullptr);
    CHECK(t.find_device(name)->node == nid(e.second));
  }
}

TEST_CASE("8-node AMD export: the NUMA-level matrix is used, not the package-level one") {
  const auto t = hwloc::load_xml_file(topologies / "16amd64-4distances.xml");
  REQUIRE(t.node_count() == 8);
  for (unsigned i = 0; i < 8; ++i) CHECK(t.node(nid(i)).cpus == cpuset::range(i * 2, i * 2 + 2));
  for (unsigned i = 0; i < 8; ++i)
    for (unsigned j = 0; j < 8; ++j) CHECK(t.distance(nid(i), nid(j)) == (i == j ? 10U : 20U));  // package matrix has 40, 80
  // Logical order, not OS order: the second node in the tree is OS node 0, the one with less memory.
  CHECK(t.node(nid(1)).memory == bytes{8587984896});
  CHECK(t.node(nid(0)).memory == 8_GiB);
  CHECK(t.devices().empty());
}

TEST_CASE("XML distances listed out of order land on the right nodes") {
  temp_dir dir;
  auto text = read_text(topologies / "96em64t-4n4d3ca2co-pci.xml");
  const auto begin = text.find("<distances2");
  const auto end = text.find("</distances2>");
  REQUIRE(begin != std::string::npos);
  REQUIRE(end != std::string::npos);
  // Nodes listed as OS 3,2,1,0; distance(x, y) = 20 + x + y for x != y, so a mix-up shows.
  const std::string block = R"(<distances2 type="NUMANode" nbobjs="4" kind="5" name="NUMALatency" indexing="os">
    <indexes length="8">3 2 1 0 </indexes>
    <u64values length="48">10 25 24 23 25 10 23 22 24 23 10 21 23 22 21 10 </u64values>
  )";
  text.replace(begin, end - begin, block);
  const auto t = hwloc::load_xml_file(dir.write("reordered.xml", text));
  CHECK(t.distance(nid(0), nid(1)) == 21);
  CHECK(t.distance(nid(0), nid(3)) == 23);
  CHECK(t.distance(nid(1), nid(2)) == 23);
  CHECK(t.distance(nid(2), nid(3)) == 25);
  CHECK(t.nearest_nodes(nid(0)) == std::vector<node_id>{nid(0), nid(1), nid(2), nid(3)});
  CHECK(t.nearest_nodes(nid(3)) == std::vector<node_id>{nid(3), nid(0), nid(1), nid(2)});
}

TEST_CASE("XML exports with a bad NUMA matrix are rejected, naming the file; asymmetric ones are not bad") {
  temp_dir dir;
  const auto original = read_text(topologies / "24em64t-2n6c2t-pci.xml");
  auto with_values = [&](const std::string& values) {
    auto text = original;
    const std::string from = "<u64values length=\"12\">10 20 20 10 <";
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    // hwloc checks the length attribute against the text.
    text.replace(at, from.size(), "<u64values length=\"" + std::to_string(values.size() + 1) + "\">" + values + " <");
    return dir.write("bad-distances.xml", text);
  };
  SUBCASE("asymmetric: accepted, each direction kept") {
    const auto t = hwloc::load_xml_file(with_values("10 20 30 10"));
    CHECK(t.distance(nid(0), nid(1)) == 20);
    CHECK(t.distance(nid(1), nid(0)) == 30);
  }
  SUBCASE("relative distances (one value other than 10 on the diagonal) are scaled to SLIT") {
    CHECK(hwloc::load_xml_file(with_values("1 2 2 1")).distances() == std::vector<std::uint32_t>{10, 20, 20, 10});
    // hwloc 2 reads v1 float latencies 1.0 and 2.1 as 1000 and 2100.
    CHECK(hwloc::load_xml_file(with_values("1000 2100 2100 1000")).distances() == std::vector<std::uint32_t>{10, 21, 21, 10});
    // 10.4 rounds to 10 but is remote: the nearest SLIT value that says so.
    CHECK(hwloc::load_xml_file(with_values("100 104 104 100")).distances() == std::vector<std::uint32_t>{10, 11, 11, 10});
    CHECK(hwloc::load_xml_file(with_values("5 6 9 5")).distances() == std::vector<std::uint32_t>{10, 12, 18, 10});
  }
  SUBCASE("a remote node nearer than local, once scaled") {
    const auto f = with_values("4 3 5 4");
    CHECK(contains(topology_error_text([&] { return hwloc::load_xml_file(f); }), "distance[0][1] = 8: a remote node must be farther than 10"));
  }
  SUBCASE("not 10 on the diagonal") {
    const auto f = with_values("11 20 20 10");
    CHECK(contains(topology_error_text([&] { return hwloc::load_xml_file(f); }), "distance[0][0] = 11"));
  }
  SUBCASE("zero") {
    const auto f = with_values("10 00 00 10");
    CHECK(contains(topology_error_text([&] { return hwloc::load_xml_file(f); }), "distances must be positive"));
  }
}

TEST_CASE("XML from a string gives the same topology as from the file") {
  const auto path = topologies / "24em64t-2n6c2t-pci.xml";
  const auto from_file = hwloc::load_xml_file(path);
  const auto from_text = hwloc::load_xml_string(read_text(path));
  CHECK(from_file == from_text);
  CHECK(from_text.devices().size() == from_file.devices().size());
}

#endif
