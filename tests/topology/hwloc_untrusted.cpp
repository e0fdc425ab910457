// Untrusted XML: inputs that crash libhwloc, indexes that would make it allocate gigabytes, files
// that are not exports, XML from a newer hwloc. Each is an error that names its source, and this
// process survives it.
#include "error_text.hpp"
#include "files.hpp"

#include <pvmkit/topology/hwloc.hpp>

#include <doctest/doctest.h>

#include <sys/resource.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

using namespace pvmkit;
using namespace pvmkit::literals;
using pvmkit::test::contains;
using pvmkit::test::hwloc_exports;
using pvmkit::test::read_text;
using pvmkit::test::temp_dir;
using pvmkit::test::topology_error_text;
using pvmkit::test::xml_crashes;
namespace fs = std::filesystem;

namespace {

long peak_rss_kib() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

// A valid export of a 2-CPU, 1-node machine, as hwloc 2.9 writes it, with the given os_index on
// its second PU (written `attribute`) and its node.
std::string two_cpu_export(const std::string& pu_index, const std::string& node_index = "0",
                           const std::string& attribute = "os_index=") {
  return R"(<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE topology SYSTEM "hwloc2.dtd">
<topology version="2.0">
  <object type="Machine" os_index="0" cpuset="0x00000003" complete_cpuset="0x00000003" allowed_cpuset="0x00000003" nodeset="0x00000001" complete_nodeset="0x00000001" allowed_nodeset="0x00000001" gp_index="1">
    <object type="NUMANode" )" +
         attribute + "\"" + node_index +
         R"(" cpuset="0x00000003" complete_cpuset="0x00000003" nodeset="0x00000001" complete_nodeset="0x00000001" gp_index="2" local_memory="1073741824"/>
    <object type="PU" os_index="0" cpuset="0x00000001" complete_cpuset="0x00000001" nodeset="0x00000001" complete_nodeset="0x00000001" gp_index="3"/>
    <object type="PU" )" +
         attribute + "\"" + pu_index +
         R"(" cpuset="0x00000002" complete_cpuset="0x00000002" nodeset="0x00000001" complete_nodeset="0x00000001" gp_index="4"/>
  </object>
</topology>
)";
}

std::vector<fs::path> crash_inputs() {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(xml_crashes))
    if (entry.is_regular_file()) out.push_back(entry.path());
  return out;
}

}  // namespace

TEST_CASE("every XML input that ever crashed libhwloc or pvmkit is an error naming its source, or loads") {
  const auto inputs = crash_inputs();
  CHECK(inputs.size() >= 6);
  for (const auto& path : inputs) {
    CAPTURE(path.string());
    // Once the bug behind an input is fixed (in hwloc), loading it may succeed: that is fine too.
    try {
      (void)hwloc::load_xml_file(path);
    } catch (const topology_error& e) {
      CHECK(contains(e.what(), "file " + path.string() + ": "));
    }
    try {
      (void)hwloc::load_xml_string(read_text(path));
    } catch (const topology_error& e) {
      CHECK(contains(e.what(), "XML text: "));
    }
  }
}

TEST_CASE("XML on which libhwloc 2.9 crashes is reported as hwloc's crash, naming the file") {
  // lstopo --input F of hwloc 2.9.0 (Debian 12) dies of SIGSEGV on each; a fixed hwloc calls them
  // malformed. Under AddressSanitizer a crash may end the child through ASan's report (exit code 1)
  // instead of the signal: a PU without os_index makes hwloc ask for 512 MiB, beyond the budget.
  for (const char* name : {"root-numanode.xml", "root-pu-truncated.xml", "pu-without-complete-cpuset.xml",
                           "pu-without-os-index.xml", "cache-without-complete-cpuset.xml",
                           "v1-numanode-without-complete-cpuset.xml"}) {
    const auto path = xml_crashes / name;
    CAPTURE(path.string());
    const auto msg = topology_error_text([&] { return hwloc::load_xml_file(path); });
    CHECK((contains(msg, "file " + path.string() + ": hwloc crashed reading it (") ||
           contains(msg, "file " + path.string() + ": malformed XML")));
    CHECK(contains(msg, "malformed"));
  }
  // "Topology became empty, aborting!": what hwloc printed before it died is part of the message.
  const auto msg = topology_error_text([] { return hwloc::load_xml_string(read_text(xml_crashes / "root-numanode.xml")); });
  CHECK(((contains(msg, "XML text: hwloc crashed reading it (") && contains(msg, "it printed: hwloc: Topology became empty")) ||
         contains(msg, "XML text: malformed XML")));
}

TEST_CASE("a PU or NUMA node os_index in the billions is a clear error, not a 16 GiB allocation") {
  const long before = peak_rss_kib();
  // As hwloc reads it (strtoul): a sign, blanks, and a negative number wrapping to a huge one.
  for (const std::string index : {"4294967294", "+4294967294", " 4294967294", "-2", "1048577", "99999999999999999999"}) {
    CAPTURE(index);
    CHECK(contains(topology_error_text([&] { return hwloc::load_xml_string(two_cpu_export(index)); }),
                   "XML text: PU with os_index " + index + ": CPU numbers above 1048576 are not supported"));
  }
  CHECK(contains(topology_error_text([] { return hwloc::load_xml_string(two_cpu_export("1", "4294967294")); }),
                 "XML text: NUMANode with os_index 4294967294: NUMA node numbers above 1048576 are not supported"));
  // XML allows blanks around '=' and single quotes.
  CHECK(contains(topology_error_text([] { return hwloc::load_xml_string(two_cpu_export("4294967294", "0", "os_index = ")); }),
                 "PU with os_index 4294967294"));
  temp_dir dir;
  const auto file = dir.write("huge-index.xml", two_cpu_export("4294967294"));
  CHECK(contains(topology_error_text([&] { return hwloc::load_xml_file(file); }),
                 "file " + file.string() + ": PU with os_index 4294967294: CPU numbers above 1048576 are not supported"));
  // The largest number an id set takes still loads.
  const auto t = hwloc::load_xml_string(two_cpu_export("1048576"));
  CHECK(t.node(node_id{0}).cpus == cpuset{cpu_id{0}, cpu_id{1048576}});
  CHECK(peak_rss_kib() - before < 256 * 1024);
}

TEST_CASE("XML made by hwloc 3 is named as such, not called malformed") {
  const auto path = hwloc_exports / "cxlmem+dax.v3.xml";
  const auto msg = topology_error_text([&] { return hwloc::load_xml_file(path); });
  CHECK(contains(msg, "file " + path.string() + ": made by hwloc 3.x (XML format version 3.0); this build reads hwloc XML up to 2.x"));
  CHECK(contains(msg, "lstopo --of xml --export-xml-flags 2"));
  auto text = two_cpu_export("1");
  text.replace(text.find("version=\"2.0\""), 13, "version='12.4'");
  CHECK(contains(topology_error_text([&] { return hwloc::load_xml_string(text); }),
                 "XML text: made by hwloc 12.x (XML format version 12.4)"));
}

TEST_CASE("files that are not exports: a device, a FIFO, an empty file, one too large") {
  temp_dir dir;
  SUBCASE("/dev/zero would never end") {
    CHECK(contains(topology_error_text([] { return hwloc::load_xml_file("/dev/zero"); }),
                   "file /dev/zero: cannot read: not a regular file"));
  }
  SUBCASE("a FIFO nobody writes to does not block") {
    const auto fifo = dir.path() / "fifo.xml";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK(contains(topology_error_text([&] { return hwloc::load_xml_file(fifo); }), "cannot read: not a regular file"));
  }
  SUBCASE("empty") {
    const auto empty = dir.write("empty.xml", "");
    CHECK(contains(topology_error_text([&] { return hwloc::load_xml_file(empty); }), "malformed XML: the file is empty"));
  }
  SUBCASE("larger than the limit") {
    const auto file = dir.write("big.xml", two_cpu_export("1"));
    hwloc::xml_options small;
    small.max_size = 100;
    CHECK(contains(topology_error_text([&] { return hwloc::load_xml_file(file, small); }), "larger than 100 bytes (xml_options::max_size)"));
    CHECK(contains(topology_error_text([&] { return hwloc::load_xml_string(two_cpu_export("1"), small); }), "larger than"));
  }
}

TEST_CASE("in-process parsing (trusted XML) gives the topology the child process sends back") {
  const auto path = hwloc_exports / "64intel64-fakeKNL-SNC4-hybrid.xml";
  hwloc::xml_options trusted;
  trusted.isolate = false;
  CHECK(hwloc::load_xml_file(path, trusted) == hwloc::load_xml_file(path));
  // Bounds hold in-process too: they are checked before hwloc sees the text.
  CHECK(contains(topology_error_text([&] { return hwloc::load_xml_string(two_cpu_export("4294967294"), trusted); }),
                 "PU with os_index 4294967294"));
}
