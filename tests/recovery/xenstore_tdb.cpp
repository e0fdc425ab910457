// The database file a killed xenstored leaves behind (tools/xenstore/tdb.c's layout): the hash,
// the committed nodes, and the records and chains that cannot be trusted.
#include <pvmkit/recovery/xenstore_tdb.hpp>

#include "config_errors.hpp"
#include "xenstore_files.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>

using namespace pvmkit::recovery::xenstore;
using pvmkit::test::error_of;
using pvmkit::test::tdb_image;

namespace {
constexpr std::uint32_t r = tdb_image::r, w = tdb_image::w, ignore = tdb_image::ignore;
}  // namespace

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
