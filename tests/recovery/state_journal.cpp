#include <pvmkit/recovery/crc32.hpp>
#include <pvmkit/recovery/state_journal.hpp>

#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

using namespace pvmkit;
using namespace pvmkit::recovery;
namespace fs = std::filesystem;

namespace {
struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "pvmkit-journal-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string slurp(const fs::path& p) {
  std::string out;
  std::FILE* f = std::fopen(p.c_str(), "rb");
  REQUIRE(f != nullptr);
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
  std::fclose(f);
  return out;
}
void spit(const fs::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << s;
}
state_journal open_ok(const fs::path& d, journal_options o = {}) {
  auto j = state_journal::open(d, o);
  REQUIRE(j.has_value());
  return std::move(j).value();
}
// Built by appending: GCC 12 at -O3 warns falsely (-Wrestrict) on "literal" + std::to_string(i).
std::string key(const char* prefix, int i) {
  std::string s{prefix};
  s.append(std::to_string(i));
  return s;
}
using kv = std::map<std::string, std::string, std::less<>>;
}  // namespace

TEST_CASE("crc32 matches the standard check value and composes") {
  CHECK(crc32(std::string_view{"123456789"}) == 0xCBF43926U);
  CHECK(crc32(std::string_view{""}) == 0U);
  CHECK(crc32(std::string_view{"6789"}, crc32(std::string_view{"12345"})) == 0xCBF43926U);
}

TEST_CASE("journal: state survives reopening, puts and erases in order") {
  temp_dir d;
  {
    auto j = open_ok(d.path);
    CHECK(j.recovery().records_replayed == 0);
    CHECK(j.put("/local/domain/1/name", "guest1").value() == 1);
    CHECK(j.put("/local/domain/2/name", "guest2").value() == 2);
    CHECK(j.put("/local/domain/1/name", "renamed").value() == 3);
    CHECK(j.erase("/local/domain/2/name").value() == 4);
    CHECK(j.put("empty", "").value() == 5);
    CHECK(j.durable_seq() == 5);
  }
  auto j = open_ok(d.path);
  CHECK(j.state() == kv{{"/local/domain/1/name", "renamed"}, {"empty", ""}});
  CHECK(j.recovery().records_replayed == 5);
  CHECK_FALSE(j.recovery().tail_damaged);
  CHECK(j.put("x", "y").value() == 6);  // the sequence continues
}

TEST_CASE("journal: a log truncated anywhere in its last record recovers to the record before") {
  temp_dir d;
  std::uintmax_t before_last = 0, full = 0;
  {
    auto j = open_ok(d.path);
    for (int i = 0; i < 10; ++i) REQUIRE(j.put(key("k", i), std::string(static_cast<std::size_t>(i * 3), 'v')));
    before_last = j.log_bytes();
    REQUIRE(j.put("last", "value-of-the-last-record"));
    full = j.log_bytes();
  }
  const std::string whole = slurp(d.path / "wal");
  REQUIRE(whole.size() == full);
  for (std::uintmax_t cut = before_last; cut < full; ++cut) {
    CAPTURE(cut);
    spit(d.path / "wal", whole.substr(0, cut));
    {
      auto j = open_ok(d.path);
      CHECK(j.state().size() == 10);
      CHECK(j.state().count("last") == 0);
      CHECK(j.recovery().tail_damaged == (cut != before_last));
      CHECK(j.recovery().good_bytes == before_last);
      CHECK(j.recovery().discarded_bytes == cut - before_last);
      CHECK(j.last_seq() == 10);
      CHECK(fs::file_size(d.path / "wal") == before_last);  // the torn tail is cut off
      if (cut == before_last + 3) {
        REQUIRE(j.put("after", "repair"));  // appends go after the last good record
      }
    }
    if (cut == before_last + 3) {
      auto j = open_ok(d.path);
      CHECK_FALSE(j.recovery().tail_damaged);
      CHECK(j.state().at("after") == "repair");
      CHECK(j.last_seq() == 11);
    }
  }
}

TEST_CASE("journal: a corrupt byte is detected by the checksum and reported") {
  temp_dir d;
  std::uintmax_t after_first = 0;
  {
    auto j = open_ok(d.path);
    REQUIRE(j.put("a", "1"));
    after_first = j.log_bytes();
    REQUIRE(j.put("b", "2"));
    REQUIRE(j.put("c", "3"));
  }
  std::string wal = slurp(d.path / "wal");
  SUBCASE("in the last record") {
    wal[wal.size() - 1] ^= 0x01;
    spit(d.path / "wal", wal);
    auto j = open_ok(d.path);
    CHECK(j.state() == kv{{"a", "1"}, {"b", "2"}});
    CHECK(j.recovery().tail_damaged);
    CHECK(j.recovery().tail_problem.find("checksum mismatch") != std::string::npos);
  }
  SUBCASE("in a middle record: recovery stops at the last good record before it") {
    wal[static_cast<std::size_t>(after_first) + 10] ^= 0x40;
    spit(d.path / "wal", wal);
    auto j = open_ok(d.path);
    CHECK(j.state() == kv{{"a", "1"}});
    CHECK(j.recovery().tail_problem == "checksum mismatch at byte " + std::to_string(after_first));
  }
  SUBCASE("in a length field") {
    wal[static_cast<std::size_t>(after_first) + 3] = '\x7f';
    spit(d.path / "wal", wal);
    auto j = open_ok(d.path);
    CHECK(j.state() == kv{{"a", "1"}});
    CHECK(j.recovery().tail_problem.find("implausible record length") != std::string::npos);
  }
}

TEST_CASE("journal: compaction keeps the state, empties the log, and survives a crash half-way") {
  temp_dir d;
  std::string old_log;
  {
    auto j = open_ok(d.path);
    for (int i = 0; i < 100; ++i) REQUIRE(j.put(key("k", i % 10), std::to_string(i)));
    old_log = slurp(d.path / "wal");
    REQUIRE(j.compact());
    CHECK(j.log_bytes() == 0);
    CHECK(fs::file_size(d.path / "wal") == 0);
    REQUIRE(j.put("after", "compaction"));
  }
  {
    auto j = open_ok(d.path);
    CHECK(j.recovery().snapshot_seq == 100);
    CHECK(j.recovery().snapshot_entries == 10);
    CHECK(j.recovery().records_replayed == 1);
    CHECK(j.state().size() == 11);
    CHECK(j.state().at("k3") == "93");
  }
  // A crash after the snapshot's rename but before the log's truncation: the old records are
  // still in the log; they are in the snapshot already and must not be applied again.
  spit(d.path / "wal", old_log);
  spit(d.path / "snapshot.tmp", "half-written garbage");
  auto j = open_ok(d.path);
  CHECK(j.recovery().records_skipped == 100);
  CHECK(j.recovery().records_replayed == 0);
  CHECK(j.state().at("k3") == "93");
  CHECK_FALSE(fs::exists(d.path / "snapshot.tmp"));
}

TEST_CASE("journal: a damaged snapshot is refused, not silently replaced by an empty state") {
  temp_dir d;
  {
    auto j = open_ok(d.path);
    REQUIRE(j.put("a", "1"));
    REQUIRE(j.compact());
  }
  std::string snap = slurp(d.path / "snapshot");
  snap[snap.size() / 2] ^= 0x10;
  spit(d.path / "snapshot", snap);
  auto j = state_journal::open(d.path);
  REQUIRE_FALSE(j.has_value());
  CHECK(j.error() == make_error_code(errc::corrupt_data));
}

TEST_CASE("journal: fsync policies decide when a write is acknowledged") {
  temp_dir d;
  auto j = open_ok(d.path, {.sync = fsync_policy::every(3), .compact_after_bytes = 0});
  REQUIRE(j.put("a", "1"));
  REQUIRE(j.put("b", "2"));
  CHECK(j.durable_seq() == 0);
  REQUIRE(j.put("c", "3"));
  CHECK(j.durable_seq() == 3);
  REQUIRE(j.put("d", "4"));
  CHECK(j.durable_seq() == 3);
  REQUIRE(j.sync());
  CHECK(j.durable_seq() == 4);

  temp_dir d2;
  auto n = open_ok(d2.path, {.sync = fsync_policy::none(), .compact_after_bytes = 0});
  REQUIRE(n.put("a", "1"));
  CHECK(n.durable_seq() == 1);
}

TEST_CASE("journal: automatic compaction bounds the log") {
  temp_dir d;
  {
    auto j = open_ok(d.path, {.sync = fsync_policy::none(), .compact_after_bytes = 4096});
    for (int i = 0; i < 2000; ++i) REQUIRE(j.put(key("key", i % 50), std::to_string(i)));
    CHECK(j.log_bytes() <= 4096);
  }
  auto j = open_ok(d.path);
  CHECK(j.state().size() == 50);
  CHECK(j.state().at("key49") == "1999");
}
