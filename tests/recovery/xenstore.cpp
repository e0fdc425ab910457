// pvmkit's xenstored restore, off a hypervisor: the state stream xenstored --live-update reads,
// the database file it leaves behind, its trace, the plan that joins them, the wire protocol, and
// the keeper that does it all in order (with a FIFO, a database file and a port file of its own).
// The real thing runs in the Xen harness (tests/xen/dom0-recovery.sh).
#include <pvmkit/recovery/xenstore_state.hpp>
#include <pvmkit/recovery/xenstore_tdb.hpp>
#include <pvmkit/recovery/xenstore_trace.hpp>
#include <pvmkit/recovery/xenstore_wire.hpp>
#include <pvmkit/recovery/xenstored_restore.hpp>

#include "config_errors.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace pvmkit;
using namespace pvmkit::recovery::xenstore;
using namespace std::chrono_literals;
using pvmkit::test::error_of;

namespace {

template <class T>
T get(const std::string& s, std::size_t at) {
  T v{};
  std::memcpy(&v, s.data() + at, sizeof v);
  return v;
}

state small_state() {
  state s;
  s.socket_fd = 60;
  s.evtchn_fd = 61;
  s.connections = {{1, 0, domid_invalid, 5}, {2, 3, domid_invalid, 9}};
  s.watches = {{2, "device", "ffff8880"}, {1, "backend/vif", "be"}};
  s.nodes = {{"/local", "", {{'n', false, 0}}},
             {"/local/domain/3/name", "g0", {{'n', false, 3}, {'r', false, 0}}},
             {"/local/domain/3/data", std::string("a\0b", 3), {{'b', false, 3}, {'r', true, 7}}},
             {"@releaseDomain", "", {{'n', false, 0}}}};
  return s;
}

// A TDB file laid out as tools/xenstore/tdb.c lays it out: records pushed on the head of their
// hash chain, dead and free records left where they were.
class tdb_image {
 public:
  explicit tdb_image(std::uint32_t hash_size = 7) : hash_size_(hash_size) {
    data_.assign(168 + 4 * (hash_size + 1), '\0');
    std::memcpy(data_.data(), "TDB file\n", 9);
    put32(32, 0x26011967U + 7);
    put32(36, hash_size);
  }
  // A node record: xs_tdb_record_hdr, permissions (domid, bits), value, children.
  static std::string node_data(const std::vector<std::pair<std::uint32_t, std::uint32_t>>& perms, const std::string& value,
                               const std::string& children = {}) {
    std::string d(20, '\0');
    const std::uint32_t n = static_cast<std::uint32_t>(perms.size()), vl = static_cast<std::uint32_t>(value.size()),
                        cl = static_cast<std::uint32_t>(children.size());
    std::memcpy(d.data() + 8, &n, 4);
    std::memcpy(d.data() + 12, &vl, 4);
    std::memcpy(d.data() + 16, &cl, 4);
    for (const auto& [id, bits] : perms) {
      d.append(reinterpret_cast<const char*>(&id), 4);
      d.append(reinterpret_cast<const char*>(&bits), 4);
    }
    return d + value + children + "pad!";  // xenstored sizes the record with the header's sizeof, 24
  }
  // Returns the record's offset.
  std::uint32_t add(const std::string& key, const std::string& data, std::uint32_t magic = 0x26011999U, std::optional<std::uint32_t> hash = {}) {
    const std::uint32_t h = hash.value_or(tdb_hash(key));
    const std::uint32_t top = 168 + 4 * (h % hash_size_ + 1);
    const auto off = static_cast<std::uint32_t>(data_.size());
    data_.append(24, '\0');
    put32(off, get<std::uint32_t>(data_, top));
    put32(off + 4, static_cast<std::uint32_t>(key.size() + data.size() + 4));
    put32(off + 8, static_cast<std::uint32_t>(key.size()));
    put32(off + 12, static_cast<std::uint32_t>(data.size()));
    put32(off + 16, h);
    put32(off + 20, magic);
    data_ += key + data + std::string(4, '\0');
    put32(top, off);
    return off;
  }
  void put32(std::size_t at, std::uint32_t v) { std::memcpy(data_.data() + at, &v, 4); }
  [[nodiscard]] const std::string& bytes() const noexcept { return data_; }

 private:
  std::uint32_t hash_size_;
  std::string data_;
};

constexpr std::uint32_t r = 1, w = 2, ignore = 0x10;

}  // namespace

// ---- the state stream ----------------------------------------------------------------------------

TEST_CASE("the state stream is laid out as xenstored reads it: preamble, 8-byte records, little-endian fields") {
  const std::string s = write_state(small_state());
  CHECK(s.substr(0, 8) == "xenstore");
  CHECK(s.substr(8, 4) == std::string("\0\0\0\1", 4));  // version 1, big-endian
  CHECK(get<std::uint32_t>(s, 12) == 0);                 // little-endian records
  // GLOBAL: type 1, length 8, the two descriptors.
  CHECK(get<std::uint32_t>(s, 16) == 1);
  CHECK(get<std::uint32_t>(s, 20) == 8);
  CHECK(get<std::int32_t>(s, 24) == 60);
  CHECK(get<std::int32_t>(s, 28) == 61);
  // CONNECTION of dom0: id 1, ring, domid 0, no target, port 5, no pending data: 24 bytes.
  CHECK(get<std::uint32_t>(s, 32) == 2);
  CHECK(get<std::uint32_t>(s, 36) == 24);
  CHECK(get<std::uint32_t>(s, 40) == 1);
  CHECK(get<std::uint16_t>(s, 44) == 0);
  CHECK(get<std::uint16_t>(s, 48) == 0);
  CHECK(get<std::uint16_t>(s, 50) == domid_invalid);
  CHECK(get<std::uint32_t>(s, 52) == 5);
  CHECK(get<std::uint32_t>(s, 56) == 0);
  CHECK(get<std::uint32_t>(s, 60) == 0);
  // Every record's length is a multiple of 8 and the stream ends with an empty END record.
  std::size_t off = 16, records = 0;
  while (get<std::uint32_t>(s, off) != 0) {
    CHECK(get<std::uint32_t>(s, off + 4) % 8 == 0);
    off += 8 + get<std::uint32_t>(s, off + 4);
    ++records;
  }
  CHECK(records == 1 + 2 + 2 + 4);
  CHECK(off + 8 == s.size());
  CHECK(get<std::uint32_t>(s, off + 4) == 0);
}

TEST_CASE("a state stream reads back as written, values with NUL bytes included") {
  const state s = small_state();
  CHECK(read_state(write_state(s)) == s);
  state empty;
  CHECK(read_state(write_state(empty)) == empty);
}

TEST_CASE("a state that does not fit the format is refused before anything is written") {
  auto s = small_state();
  s.connections[1].conn_id = 1;
  CHECK(error_of([&] { (void)write_state(s); }) == "xenstore state: connection id 1 used twice");
  s = small_state();
  s.connections[0].conn_id = 0;
  CHECK(error_of([&] { (void)write_state(s); }) == "xenstore state: connection of domain 0 has id 0");
  s = small_state();
  s.watches.push_back({7, "x", "t"});
  CHECK(error_of([&] { (void)write_state(s); }) == "xenstore state: watch 'x' names connection 7, which is not in the state");
  s = small_state();
  s.nodes[1].value.assign(70000, 'x');
  CHECK(error_of([&] { (void)write_state(s); }).find("value of node '/local/domain/3/name' is 70000 bytes, the stream allows 65535") !=
        std::string::npos);
  s = small_state();
  s.nodes[1].perms[0].access = 'x';
  CHECK(error_of([&] { (void)write_state(s); }) == "xenstore state: node '/local/domain/3/name' has permission letter 'x'");
  s = small_state();
  s.nodes[0].perms.clear();
  CHECK(error_of([&] { (void)write_state(s); }) == "xenstore state: node '/local' has no owner");
}

TEST_CASE("a damaged state stream is refused with the offset of the damage") {
  const std::string good = write_state(small_state());
  CHECK(error_of([&] { (void)read_state("xenstorf" + good.substr(8)); }).find("not a xenstore state stream") != std::string::npos);
  CHECK(error_of([&] { (void)read_state(good.substr(0, 40)); }) == "xenstore state: at byte 32: truncated record body");
  std::string bad = good;
  bad[11] = 2;
  CHECK(error_of([&] { (void)read_state(bad); }).find("version is not 1") != std::string::npos);
  bad = good;
  bad[20] = 9;  // GLOBAL's length
  CHECK(error_of([&] { (void)read_state(bad); }).find("is not a multiple of 8") != std::string::npos);
}

// ---- the database --------------------------------------------------------------------------------

TEST_CASE("tdb_hash is tdb.c's default_tdb_hash, signed chars included") {
  // Values computed with tools/xenstore/tdb.c's function compiled as C on x86-64.
  CHECK(tdb_hash("") == 12345U);
  CHECK(tdb_hash("/") == 1103515243U * (0x238F13AFU + '/') + 12345U);
  CHECK(tdb_hash("ab") == 1103515243U * (0x238F13AFU * 2 + 'a' + ('b' << 5)) + 12345U);
  const std::string high = "\xe9";
  CHECK(tdb_hash(high) == 1103515243U * (0x238F13AFU + static_cast<std::uint32_t>(-23)) + 12345U);
}

TEST_CASE("the database's committed nodes come back with values and permissions; the rest is set aside") {
  tdb_image t;
  t.add("/", tdb_image::node_data({{0, 0}}, "", std::string("local\0tool\0", 11)));
  t.add("/local", tdb_image::node_data({{0, 0}}, ""));
  t.add("/local/domain/5/name", tdb_image::node_data({{5, 0}, {0, r}}, "g0"));
  t.add("/local/domain/5/data", tdb_image::node_data({{5, 0}, {7, r | ignore}, {0, r | w}}, std::string("x\0y", 3)));
  t.add("17/local/domain/5/name", tdb_image::node_data({{5, 0}}, "in a transaction"));
  t.add("/local/domain/5/gone", tdb_image::node_data({{5, 0}}, "deleted"), 0xFEE1DEADU);
  const auto got = read_tdb(t.bytes());
  REQUIRE(got.nodes.size() == 4);
  CHECK(got.nodes[0].path == "/");
  CHECK(got.nodes[1].path == "/local");
  CHECK(got.nodes[2] == node{"/local/domain/5/data", std::string("x\0y", 3), {{'n', false, 5}, {'r', true, 7}, {'b', false, 0}}});
  CHECK(got.nodes[3] == node{"/local/domain/5/name", "g0", {{'n', false, 5}, {'r', false, 0}}});
  CHECK(got.report.records == 5);
  CHECK(got.report.transaction_nodes == 1);
  CHECK(got.report.skipped == 0);
}

TEST_CASE("a key stored twice counts once: the copy at the head of its chain is the current one") {
  tdb_image t(1);
  t.add("/k", tdb_image::node_data({{0, 0}}, "old"));
  t.add("/k", tdb_image::node_data({{0, 0}}, "new"));
  const auto got = read_tdb(t.bytes());
  REQUIRE(got.nodes.size() == 1);
  CHECK(got.nodes[0].value == "new");
}

TEST_CASE("records a kill tore, and chains that loop or leave the file, are skipped and reported, never trusted") {
  tdb_image t(3);
  t.add("/ok", tdb_image::node_data({{0, 0}}, "fine"));
  t.add("/wrong-hash", tdb_image::node_data({{0, 0}}, "v"), 0x26011999U, tdb_hash("/ok"));
  std::string short_rec = tdb_image::node_data({{0, 0}}, "value");
  short_rec.resize(10);
  t.add("/short", short_rec);
  std::string lying = tdb_image::node_data({{0, 0}}, "v");
  lying[12] = 50;  // the value length overruns the record
  t.add("/lying", lying);
  t.add("/big-domid", tdb_image::node_data({{70000, 0}}, "v"));
  auto got = read_tdb(t.bytes());
  REQUIRE(got.nodes.size() == 1);
  CHECK(got.nodes[0].path == "/ok");
  CHECK(got.report.skipped == 4);
  CHECK(!got.report.first_problem.empty());

  tdb_image loop(1);
  const auto a = loop.add("/a", tdb_image::node_data({{0, 0}}, "1"));
  loop.put32(a, a);  // the record is its own successor
  got = read_tdb(loop.bytes());
  CHECK(got.nodes.size() == 1);
  CHECK(got.report.first_problem == "hash chain 0 loops");

  tdb_image out(1);
  const auto b = out.add("/b", tdb_image::node_data({{0, 0}}, "1"));
  out.put32(b, 0x7FFFFFFF);
  got = read_tdb(out.bytes());
  CHECK(got.nodes.size() == 1);
  CHECK(got.report.first_problem == "hash chain 0 leaves the file");
}

TEST_CASE("a file that is not a TDB is refused as a whole") {
  CHECK(error_of([] { (void)read_tdb("hello"); }) == "xenstore database: not a TDB file (no 'TDB file' header)");
  tdb_image t;
  t.put32(32, 7);
  CHECK(error_of([&] { (void)read_tdb(t.bytes()); }).find("TDB version 7") != std::string::npos);
  tdb_image h;
  h.put32(36, 100000);
  CHECK(error_of([&] { (void)read_tdb(h.bytes()); }).find("does not fit the file") != std::string::npos);
}

// ---- the trace -----------------------------------------------------------------------------------

TEST_CASE("the trace gives each domain's connection, its xenstore port and the watches it registered") {
  trace_tracker t;
  t.begin_incarnation({});
  t.feed("\n***\nCREATE connection 0x10\n");  // a fresh xenstored: dom0's ring first
  t.feed("CREATE connection 0x20\n");          // a tool on the socket
  t.feed("IN 0x20 20250101 10:00:00 INTRODUCE (5 12345 7 )\nCREATE connection 0x30\nOUT 0x20 20250101 10:00:00 INTRODUCE (OK )\n");
  t.feed("IN 0x30 20250101 10:00:01 WATCH (device 0xffff88800 )\nCREATE watch 0x40\nOUT 0x30 20250101 10:00:01 WATCH (OK )\n");
  t.feed("IN 0x30 20250101 10:00:01 WATCH (control/shutdown tok with spaces )\nCREATE watch 0x41\n");
  t.feed("IN 0x10 20250101 10:00:02 WATCH (backend/vif be )\nCREATE watch 0x42\n");
  t.feed("IN 0x20 20250101 10:00:02 WATCH (@releaseDomain tool )\nCREATE watch 0x43\n");
  t.feed("IN 0x30 20250101 10:00:03 WATCH (device 0xffff88800 )\nOUT 0x30 20250101 10:00:03 ERROR (EEXIST )\n");  // no CREATE: refused
  const auto d = t.domains();
  REQUIRE(d.size() == 2);
  CHECK(d[0].domid == 0);
  REQUIRE(d[0].watches.size() == 1);
  CHECK(d[0].watches[0].canonical == "/local/domain/0/backend/vif");
  CHECK(d[1].domid == 5);
  CHECK(d[1].store_port == 7);
  REQUIRE(d[1].watches.size() == 2);
  CHECK(d[1].watches[0].path == "device");
  CHECK(d[1].watches[0].canonical == "/local/domain/5/device");
  CHECK(d[1].watches[0].token == "0xffff88800");
  CHECK(d[1].watches[1].token == "tok with spaces");
  CHECK(t.stats().watches_added == 4);
}

TEST_CASE("watches go with UNWATCH, RESET_WATCHES, a re-introduction and the end of their connection") {
  trace_tracker t;
  t.begin_incarnation({});
  t.feed("CREATE connection 0x10\nCREATE connection 0x20\n");
  t.feed("IN 0x20 d t INTRODUCE (5 1 7 )\nCREATE connection 0x30\nIN 0x20 d t INTRODUCE (6 1 8 )\nCREATE connection 0x31\n");
  for (const char* p : {"a", "b", "c"}) t.feed(std::string("IN 0x30 d t WATCH (") + p + " k )\nCREATE watch 0x4" + p + "\n");
  t.feed("IN 0x31 d t WATCH (x k )\nCREATE watch 0x50\n");
  t.feed("IN 0x30 d t UNWATCH (/local/domain/5/b k )\nDESTROY watch 0x4b\n");
  CHECK(t.domains()[1].watches.size() == 2);
  t.feed("IN 0x30 d t RESET_WATCHES ()\nDESTROY watch 0x4a\nDESTROY watch 0x4c\n");
  CHECK(t.domains()[1].watches.empty());
  t.feed("IN 0x30 d t WATCH (again k )\nCREATE watch 0x4d\n");
  t.feed("IN 0x20 d t INTRODUCE (5 1 9 )\n");  // re-introduced (its ring was reset): watches gone
  CHECK(t.domains()[1].watches.empty());
  CHECK(t.domains()[1].store_port == 9);
  t.feed("DESTROY watch 0x50\nDESTROY connection 0x31\n");  // domain 6 released
  CHECK(t.domains().size() == 2);
}

TEST_CASE("a restored xenstored creates the stream's connections first, in order; their watches carry over") {
  trace_tracker t;
  t.begin_incarnation({});
  t.feed("CREATE connection 0x10\nIN 0x99 d t INTRODUCE (5 1 7 )\n");  // an unknown connection: ignored
  CHECK(t.domains().size() == 1);
  traced_domain g{5, 7, {{"device", "/local/domain/5/device", "t1", "0x77"}, {"control/shutdown", "/local/domain/5/control/shutdown", "t2", "0x78"}}};
  t.begin_incarnation({traced_domain{0, 0, {}}, g});
  CHECK(t.domains().size() == 2);  // known before the new process even created them
  t.feed("\n***\nCREATE connection 0xA0\nCREATE connection 0xB0\n");
  auto d = t.domains();
  REQUIRE(d.size() == 2);
  CHECK(d[1].watches.size() == 2);
  // A restored watch has no known address: its UNWATCH names it by path and token.
  t.feed("IN 0xB0 d t UNWATCH (device t1 )\nDESTROY watch 0x1234\n");
  // An address of the dead process means nothing: "0x78" now is someone else's watch.
  t.feed("DESTROY watch 0x78\n");
  d = t.domains();
  REQUIRE(d[1].watches.size() == 1);
  CHECK(d[1].watches[0].path == "control/shutdown");
}

TEST_CASE("trace lines may arrive in pieces; an absurdly long one is dropped; special permissions are kept") {
  trace_tracker t;
  t.begin_incarnation({});
  const std::string text = "CREATE connection 0x10\nCREATE connection 0x20\nIN 0x20 d t SET_PERMS (@releaseDomain n0 r5 )\n";
  for (char c : text) t.feed(std::string(1, c));
  REQUIRE(t.special_perms().count("@releaseDomain") == 1);
  CHECK(t.special_perms().at("@releaseDomain") == std::vector<permission>{{'n', false, 0}, {'r', false, 5}});
  t.feed(std::string(trace_tracker::max_line + 10, 'x') + "\nCREATE connection 0x30\n");
  CHECK(t.stats().long_lines_dropped == 1);
  CHECK(t.connections() == 3);
}

// ---- the plan ------------------------------------------------------------------------------------

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

// ---- the wire protocol ---------------------------------------------------------------------------

namespace {
// Answers one request on `fd` with (type, payload), after sending a watch event first.
void answer(int fd, message type, const std::string& payload) {
  wire_header h{};
  REQUIRE(::recv(fd, &h, sizeof h, MSG_WAITALL) == sizeof h);
  std::string body(h.len, '\0');
  if (h.len) REQUIRE(::recv(fd, body.data(), body.size(), MSG_WAITALL) == static_cast<ssize_t>(h.len));
  const std::string ev = std::string("some/path\0tok\0", 14);
  wire_header e{static_cast<std::uint32_t>(message::watch_event), 0, 0, static_cast<std::uint32_t>(ev.size())};
  std::string out(reinterpret_cast<const char*>(&e), sizeof e);
  out += ev;
  wire_header rh{static_cast<std::uint32_t>(type), h.req_id, 0, static_cast<std::uint32_t>(payload.size())};
  out.append(reinterpret_cast<const char*>(&rh), sizeof rh);
  out += payload;
  REQUIRE(::send(fd, out.data(), out.size(), 0) == static_cast<ssize_t>(out.size()));
}
}  // namespace

TEST_CASE("the wire client: replies, errors by name, watch events skipped, a silent daemon times out") {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  wire_client c{sv[0]};
  std::thread server([&] {
    answer(sv[1], message::directory, std::string("local\0tool\0", 11));
    answer(sv[1], message::error, std::string("ENOENT\0", 7));
    answer(sv[1], message::get_perms, std::string("n0\0r5\0", 6));
    answer(sv[1], message::get_perms, std::string("x0\0", 3));
  });
  auto dir = c.directory("/", 5s);
  REQUIRE(dir);
  CHECK(*dir == std::vector<std::string>{"local", "tool"});
  auto missing = c.read("/nope", 5s);
  REQUIRE(!missing);
  CHECK(missing.error() == std::errc::no_such_file_or_directory);
  auto perms = c.get_perms("/local", 5s);
  REQUIRE(perms);
  CHECK(*perms == std::vector<permission>{{'n', false, 0}, {'r', false, 5}});
  CHECK(c.get_perms("/x", 5s).error() == make_error_code(errc::corrupt_data));
  server.join();
  // Nobody answers now: the call returns at its timeout, and the connection is dropped.
  const auto t0 = std::chrono::steady_clock::now();
  auto late = c.read("/local", 100ms);
  CHECK(late.error() == make_error_code(errc::timeout));
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
  CHECK(c.fd() == -1);
  ::close(sv[1]);
  CHECK(wire_client::connect("/nonexistent/socket").error() == std::errc::no_such_file_or_directory);
}

// ---- the keeper ----------------------------------------------------------------------------------

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
