// hwloc's own test exports (tests/topology/data/README.md): memory-only NUMA nodes (KNL MCDRAM,
// nodes whose CPUs are offline, cluster-on-die), hwloc v1 exports with relative and float
// distances, and asymmetric matrices.
#include "error_text.hpp"
#include "files.hpp"
#include "pvmkit_test_paths.hpp"

#include <pvmkit/topology/hwloc.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

using namespace pvmkit;
using namespace pvmkit::literals;
using pvmkit::test::contains;
using pvmkit::test::hwloc_exports;
using pvmkit::test::read_text;
using pvmkit::test::temp_dir;
using pvmkit::test::topology_error_text;

namespace {

node_id nid(unsigned i) { return node_id{i}; }

std::vector<node_id> memory_only(const topology& t) {
  std::vector<node_id> out;
  for (const auto& n : t.nodes())
    if (!n.has_cpus()) out.push_back(n.id);
  return out;
}

std::vector<node_id> ids(std::initializer_list<unsigned> l) {
  std::vector<node_id> out;
  for (unsigned i : l) out.push_back(nid(i));
  return out;
}

// `text` without the first element that starts with `open` (through the next `close`).
std::string without(std::string text, const std::string& open, const std::string& close) {
  const auto a = text.find(open);
  REQUIRE_MESSAGE(a != std::string::npos, open);
  const auto b = text.find(close, a);
  REQUIRE(b != std::string::npos);
  return text.erase(a, b + close.size() - a);
}

}  // namespace

TEST_CASE("hwloc's exports with memory-only NUMA nodes load, the nodes without CPUs") {
  struct expected {
    const char* file;
    std::size_t nodes;
    std::size_t cpus;
    std::vector<node_id> memory_only;
  };
  const std::vector<expected> cases{
      // KNL in SNC-4 hybrid mode: a DDR node with 16 threads and an MCDRAM node per cluster.
      {"64intel64-fakeKNL-SNC4-hybrid.xml", 8, 64, ids({1, 3, 5, 7})},
      {"64intel64-fakeKNL-SNC4-hybrid.v1tov2.xml", 8, 64, ids({1, 3, 5, 7})},
      {"64intel64-fakeKNL-SNC4-hybrid.v2tov1.xml", 8, 64, ids({1, 3, 5, 7})},
      // KNL in all-to-all hybrid mode: DDR and MCDRAM both attached to the whole machine.
      {"8intel64-fakeKNL-A2A-hybrid.rootattachednumas.xml", 2, 8, ids({1})},
      {"8intel64-fakeKNL-A2A-hybrid.rootattachednumas.v1tov2.xml", 2, 8, ids({1})},
      {"8intel64-fakeKNL-A2A-hybrid.rootattachednumas.v2tov1.xml", 2, 8, ids({1})},
      // An 8-node AMD host restricted to a cgroup: two nodes keep their memory and no allowed CPU.
      {"16amd64-8n2c-cpusets.xml", 5, 4, ids({3, 4})},
      // Cluster-on-die without groups: both nodes of a package list its CPUs; the first takes them.
      {"28intel64-2p2g7c-CoD.nogroups.v1tov2.xml", 4, 28, ids({1, 3})},
  };
  for (const auto& c : cases) {
    CAPTURE(c.file);
    const auto t = hwloc::load_xml_file(hwloc_exports / c.file);
    CHECK(t.node_count() == c.nodes);
    CHECK(t.cpu_count() == c.cpus);
    CHECK(memory_only(t) == c.memory_only);
    CHECK(t.cpu_nodes().size() + c.memory_only.size() == c.nodes);
    for (node_id n : c.memory_only) {
      CHECK(t.node(n).memory > bytes{0});
      CHECK(t.node(t.nearest_cpu_node(n)).has_cpus());
    }
  }
}

TEST_CASE("KNL SNC-4: 1 GiB of DDR with the threads and 2 GiB of MCDRAM per cluster") {
  const auto t = hwloc::load_xml_file(hwloc_exports / "64intel64-fakeKNL-SNC4-hybrid.xml");
  REQUIRE(t.node_count() == 8);
  for (unsigned i = 0; i < 8; i += 2) {
    CHECK(t.node(nid(i)).memory == 1_GiB);
    CHECK(t.node(nid(i)).cpus.size() == 16);
    CHECK(t.node(nid(i + 1)).memory == 2_GiB);
  }
  CHECK(t.node(nid(0)).cpus.to_string() == "0-3,16-19,32-35,48-51");
  // The three exports of this machine (v2, v1 converted to v2, v2 converted to v1) agree.
  CHECK(t == hwloc::load_xml_file(hwloc_exports / "64intel64-fakeKNL-SNC4-hybrid.v1tov2.xml"));
  CHECK(t == hwloc::load_xml_file(hwloc_exports / "64intel64-fakeKNL-SNC4-hybrid.v2tov1.xml"));
}

TEST_CASE("hwloc v1 export of the 8-node AMD host: its SLIT (10/20) is taken, as from the 2.x export") {
  // The v1 file has two matrices over 8 objects: packages (1, 2, 4, 8; latency_base 1) listed
  // first, then the nodes' SLIT (1.0 and 2.0 times latency_base 10). hwloc 2 takes both as NUMA
  // matrices.
  const auto v1 = hwloc::load_xml_file(hwloc_exports / "16amd64-4distances.v1.xml");
  REQUIRE(v1.node_count() == 8);
  for (unsigned i = 0; i < 8; ++i)
    for (unsigned j = 0; j < 8; ++j) CHECK(v1.distance(nid(i), nid(j)) == (i == j ? 10U : 20U));
  CHECK(v1 == hwloc::load_xml_file(hwloc_exports / "16amd64-4distances.v1tov2.xml"));
#ifdef PVMKIT_HAVE_TOPOLOGIES
  CHECK(v1 == hwloc::load_xml_file(std::filesystem::path{PVMKIT_TOPOLOGIES_DIR} / "16amd64-4distances.xml"));
#endif
}

TEST_CASE("hwloc v1 relative distances (1 on the diagonal) are normalised to SLIT") {
  temp_dir dir;
  // Only the package matrix left: 1 local, 2, 4 and 8 remote, as relative latencies.
  auto text = read_text(hwloc_exports / "16amd64-4distances.v1.xml");
  text = without(text, "<distances nbobjs=\"16\"", "</distances>");
  text = without(text, "<distances nbobjs=\"8\" relative_depth=\"2\"", "</distances>");
  text = without(text, "<distances nbobjs=\"8\" relative_depth=\"6\"", "</distances>");
  const auto t = hwloc::load_xml_file(dir.write("relative.xml", text));
  REQUIRE(t.node_count() == 8);
  CHECK(t.distance(nid(0), nid(0)) == 10);
  std::vector<std::uint32_t> row;
  for (unsigned j = 0; j < 8; ++j) row.push_back(t.distance(nid(1), nid(j)));
  // v1 matrices are in logical order: node 1's row is 2 1 4 4 8 8 8 8.
  CHECK(row == std::vector<std::uint32_t>{20, 10, 40, 40, 80, 80, 80, 80});
}

TEST_CASE("hwloc v1 float latencies, an asymmetric matrix and a memory-only node (8-CPU Itanium)") {
  temp_dir dir;
  // Two nodes with CPUs and OS node 16 with memory only. The recorded matrix is replaced by a
  // consistent asymmetric one, written as v1 relative floats (latency_base 1).
  auto text = read_text(hwloc_exports / "8ia64-2n2s2c+1n.v1.xml");
  const auto at = text.find("<distances nbobjs=\"3\"");
  REQUIRE(at != std::string::npos);
  const auto end = text.find("</distances>", at);
  std::string matrix = "<distances nbobjs=\"3\" relative_depth=\"1\" latency_base=\"1.000000\">\n";
  for (const char* v : {"1.0", "1.7", "1.4", "1.6", "1.0", "2.1", "1.4", "2.1", "1.0"})
    matrix += std::string("      <latency value=\"") + v + "\"/>\n";
  text.replace(at, end - at, matrix + "    ");
  const auto t = hwloc::load_xml_file(dir.write("floats.xml", text));
  REQUIRE(t.node_count() == 3);
  CHECK(t.distances() == std::vector<std::uint32_t>{10, 17, 14, 16, 10, 21, 14, 21, 10});
  CHECK(t.distance(nid(0), nid(1)) == 17);
  CHECK(t.distance(nid(1), nid(0)) == 16);
  CHECK(memory_only(t) == ids({2}));
  CHECK(t.node(nid(2)).memory == bytes{1044660224});
  CHECK(t.nearest_cpu_node(nid(2)) == nid(0));  // row of node 2: 14 to node 0, 21 to node 1
}

TEST_CASE("the Itanium export as hwloc recorded it: 17 and 14 on the diagonal are refused, naming the entry") {
  const auto path = hwloc_exports / "8ia64-2n2s2c+1n.v1.xml";
  const auto msg = topology_error_text([&] { return hwloc::load_xml_file(path); });
  CHECK(contains(msg, "file " + path.string() + ": invalid topology: distance[1][1] = 17: a node's distance to itself must be 10"));
}
