// The restore of a killed xenstored, off a hypervisor: the plan that joins the database and the
// trace, and the keeper that does it all in order (with a FIFO, a database file and a port file of
// its own). The real thing runs in the Xen harness (tests/xen/dom0-recovery.sh).
#include <pvmkit/recovery/xenstored_restore.hpp>

#include "temp_dir.hpp"
#include "xenstore_files.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

using namespace pvmkit;
using namespace pvmkit::recovery::xenstore;
using pvmkit::test::tdb_image;

namespace {
constexpr std::uint32_t r = tdb_image::r;
}  // namespace

TEST_CASE("the restore plan: dom0 first, every domain bound again, every node under a parent, dead domains handled") {
  const std::vector<node> db{
      {"/", "", {{'n', false, 0}}},
      {"/local/domain/5/name", "g0", {{'n', false, 5}, {'r', false, 0}}},
      {"/local/domain/5/device/vif/0/state", "4", {{'n', false, 5}, {'r', false, 0}, {'r', false, 9}}},
      {"/local/domain", "", {{'n', false, 0}, {'r', false, 5}}},
      {"/local", "", {{'n', false, 0}}},
      {"/vm/9/name", "gone", {{'n', false, 9}}},
  };
  std::vector<traced_domain> domains{{5, 7, {{"device", "/local/domain/5/device", "tok", ""}}}, {6, 8, {}}};
  std::map<std::string, std::vector<permission>> special{{"@releaseDomain", {{'n', false, 0}, {'r', false, 5}}}};
  std::vector<std::pair<int, int>> bound;
  auto bind = [&](std::uint16_t domid, std::uint32_t port) -> result<std::uint32_t> {
    bound.emplace_back(domid, port);
    if (domid == 6) return unexpected{errc::invalid_state};
    return 100U + domid;
  };
  auto alive = [](std::uint16_t domid) { return domid == 0 || domid == 5 || domid == 6; };
  restore_report rep;
  const state s = plan_restore(db, domains, special, bind, alive, 60, 61, rep);
  CHECK(bound == std::vector<std::pair<int, int>>{{0, 0}, {5, 7}, {6, 8}});
  CHECK(s.connections == std::vector<ring_connection>{{1, 0, domid_invalid, 100}, {2, 5, domid_invalid, 105}, {3, 6, domid_invalid, 0}});
  CHECK(s.watches == std::vector<watch>{{2, "device", "tok"}});
  CHECK(rep.connections_unbound == 1);
  std::vector<std::string> paths;
  for (const auto& n : s.nodes) paths.push_back(n.path);
  CHECK(paths == std::vector<std::string>{"/local", "/local/domain", "/local/domain/5", "/local/domain/5/device", "/local/domain/5/device/vif",
                                          "/local/domain/5/device/vif/0", "/local/domain/5/device/vif/0/state", "/local/domain/5/name", "/vm",
                                          "/vm/9", "/vm/9/name", "@releaseDomain", "@introduceDomain"});
  CHECK(rep.parents_added == 6);  // lost to a torn write: back empty, with their ancestor's permissions
  CHECK(s.nodes[2].perms == std::vector<permission>{{'n', false, 0}, {'r', false, 5}});
  CHECK(s.nodes[10].perms.front().domid == 0);  // domain 9 is gone: dom0 owns its node
  CHECK(rep.owners_to_dom0 == 1);
  CHECK(s.nodes[6].perms[2] == permission{'r', true, 9});  // and a permission naming it is stale
  CHECK(rep.perms_marked_stale == 1);
  CHECK(s.nodes[11].perms == special.at("@releaseDomain"));
  CHECK(s.nodes[12].perms == std::vector<permission>{{'n', false, 0}});
  CHECK(read_state(write_state(s)) == s);
}

TEST_CASE("the keeper restores from the database and the trace: the state stream holds the nodes, domains and watches") {
  pvmkit::test::temp_dir dir;
  xenstored_paths p;
  p.rundir = dir.path().string();
  p.socket = (dir.path() / "socket").string();
  p.trace = (dir.path() / "run" / "trace").string();
  p.port_file = dir.write("xsd_port", "3\n");
  p.evtchn_device = "/dev/null";  // no Xen here: binding fails, and the plan says so
  xenstored_keeper k{p};
  REQUIRE(k.open_trace());
  k.prepare_fresh();
  {
    const int wfd = ::open(p.trace.c_str(), O_WRONLY | O_CLOEXEC);
    REQUIRE(wfd >= 0);
    const std::string trace = "\n***\nCREATE connection 0x1\nCREATE connection 0x2\nIN 0x2 d t INTRODUCE (4 1 11 )\nCREATE connection 0x3\n"
                              "IN 0x3 d t WATCH (control/shutdown 0xabc )\nCREATE watch 0x9\n";
    REQUIRE(::write(wfd, trace.data(), trace.size()) == static_cast<ssize_t>(trace.size()));
    ::close(wfd);  // the process died: what it wrote stays in the pipe
  }
  tdb_image t;
  t.add("/local", tdb_image::node_data({{0, 0}}, ""));
  t.add("/local/domain/4/name", tdb_image::node_data({{4, 0}, {0, r}}, "g0"));
  (void)dir.write("tdb", t.bytes());
  CHECK(k.has_database());
  restore_report rep;
  auto fds = k.prepare_restore([](std::uint16_t) { return true; }, rep);
  REQUIRE(fds);
  CHECK(fds->size() == 2);
  CHECK((*fds)[0].second == restored_socket_fd);
  CHECK((*fds)[1].second == restored_evtchn_fd);
  CHECK(::fcntl((*fds)[0].first, F_GETFD) >= 0);  // the socket made for it (no copy was held)
  CHECK(rep.connections == 2);
  CHECK(rep.connections_unbound == 2);  // /dev/null binds nothing
  CHECK(rep.watches == 1);
  std::ifstream in(k.state_path(), std::ios::binary);
  const state s = read_state(std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()));
  CHECK(s.socket_fd == restored_socket_fd);
  CHECK(s.evtchn_fd == restored_evtchn_fd);
  REQUIRE(s.connections.size() == 2);
  CHECK(s.connections[0].domid == 0);
  CHECK(s.connections[1].domid == 4);
  CHECK(s.watches == std::vector<watch>{{2, "control/shutdown", "0xabc"}});
  REQUIRE(s.nodes.size() == 6);
  CHECK(s.nodes[3] == node{"/local/domain/4/name", "g0", {{'n', false, 4}, {'r', false, 0}}});
  CHECK(k.extra_args(true).back() == "--live-update");
  // The restored process then creates those two connections first.
  (void)k.started(::getpid());
  CHECK(k.tracker().domains().size() == 2);
}

TEST_CASE("the keeper refuses to restore from a database that is not one") {
  pvmkit::test::temp_dir dir;
  xenstored_paths p;
  p.rundir = dir.path().string();
  p.trace = (dir.path() / "trace").string();
  xenstored_keeper k{p};
  REQUIRE(k.open_trace());
  restore_report rep;
  CHECK(k.prepare_restore([](std::uint16_t) { return true; }, rep).error() == make_error_code(errc::backend_unavailable));
  (void)dir.write("tdb", "garbage");
  CHECK(k.prepare_restore([](std::uint16_t) { return true; }, rep).error() == make_error_code(errc::corrupt_data));
  CHECK(rep.notes.back() == "xenstore database: not a TDB file (no 'TDB file' header)");
}

TEST_CASE("the listening socket is found by its resolved path: the table shows the path it was bound to") {
  pvmkit::test::temp_dir dir;
  std::filesystem::create_directories(dir.path() / "run" / "xenstored");
  std::filesystem::create_directory_symlink(dir.path() / "run", dir.path() / "varrun");  // as /var/run -> /run
  const std::string bound = (dir.path() / "varrun" / "xenstored" / "socket").string();
  const std::string table = dir.write("unix",
                                      "Num       RefCount Protocol Flags    Type St Inode Path\n"
                                      "0000000000000000: 00000002 00000000 00000000 0001 03 111 " +
                                          bound +
                                          "\n"  // connected, not listening
                                          "0000000000000000: 00000002 00000000 00010000 0001 01 222 " +
                                          bound + "\n");
  CHECK(listening_socket_inode(bound, table) == 222UL);
  CHECK(listening_socket_inode((dir.path() / "run" / "xenstored" / "socket").string(), table) == 222UL);
  CHECK_FALSE(listening_socket_inode((dir.path() / "run" / "other").string(), table));
}

TEST_CASE("Xen 4.17's xenstored keeps its database and state_dump in XENSTORED_RUNDIR, beside its socket") {
  const xenstored_paths p;
  const xenstored_keeper k{p};
  CHECK(k.database_path() == "/var/run/xenstored/tdb");
  CHECK(k.state_path() == "/var/run/xenstored/state_dump");
  CHECK(p.socket == "/var/run/xenstored/socket");
}
