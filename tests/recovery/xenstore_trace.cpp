// xenstored's trace read as it is written: each domain's connection, its port and its watches,
// across a restored process.
#include <pvmkit/recovery/xenstore_trace.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace pvmkit::recovery::xenstore;

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
