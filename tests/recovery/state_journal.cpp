#include <pvmkit/recovery/crc32.hpp>
#include <pvmkit/recovery/power_cut_io.hpp>
#include <pvmkit/recovery/state_journal.hpp>

#include "temp_dir.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <string>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace pvmkit;
using namespace pvmkit::recovery;
namespace fs = std::filesystem;
using pvmkit::test::temp_dir;

namespace {
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
  std::string why;
  auto j = state_journal::open(d, o, {}, &why);
  INFO(why);
  REQUIRE(j.has_value());
  return std::move(j).value();
}
struct open_failure {
  std::error_code code;
  std::string why;
};
open_failure open_fails(const fs::path& d, journal_options o = {}) {
  std::string why;
  auto j = state_journal::open(d, o, {}, &why);
  REQUIRE_FALSE(j.has_value());
  return {j.error(), why};
}
// Built by appending: GCC 12 at -O3 warns falsely (-Wrestrict) on "literal" + std::to_string(i).
std::string key(const char* prefix, int i) {
  std::string s{prefix};
  s.append(std::to_string(i));
  return s;
}
bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }
using kv = std::map<std::string, std::string, std::less<>>;
using sim_journal = basic_state_journal<power_cut_io>;

sim_journal open_sim(const std::shared_ptr<power_cut_fs>& disk, journal_options o = {}) {
  std::string why;
  auto j = sim_journal::open("j", o, power_cut_io{disk}, &why);
  INFO(why);
  REQUIRE(j.has_value());
  return std::move(j).value();
}
std::error_code inject_nothing(const power_cut_fs::call&) { return {}; }

// The snapshot format written out independently of the journal's encoder (format 1, unchanged).
std::string snapshot_file(std::uint64_t seq, const kv& entries) {
  std::string b = "PVMKSNAP";
  auto le = [&](std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) b.push_back(static_cast<char>((v >> (8 * i)) & 0xFFU));
  };
  le(1, 4);
  le(seq, 8);
  le(entries.size(), 8);
  for (const auto& [k, v] : entries) {
    le(k.size(), 4);
    b += k;
    le(v.size(), 4);
    b += v;
  }
  le(crc32(std::string_view{b}), 4);
  return b;
}

constexpr std::size_t log_header = 36;
constexpr std::size_t record_header = 40;

// Puts a=1, b=2, c=3 (each acknowledged); returns where the second and the third record start.
struct three_records {
  std::size_t second = 0, third = 0;
};
three_records write_three(const fs::path& d) {
  three_records at;
  auto j = open_ok(d);
  REQUIRE(j.put("a", "1"));
  at.second = static_cast<std::size_t>(j.log_bytes());
  REQUIRE(j.put("b", "2"));
  at.third = static_cast<std::size_t>(j.log_bytes());
  REQUIRE(j.put("c", "3"));
  return at;
}

std::string flipped(std::string s, std::size_t at, unsigned bit = 0) {
  s[at] = static_cast<char>(static_cast<unsigned char>(s[at]) ^ (1U << bit));
  return s;
}
}  // namespace

TEST_CASE("journal: state survives reopening, puts and erases in order") {
  temp_dir d;
  {
    auto j = open_ok(d.path());
    CHECK(j.recovery().records_replayed == 0);
    CHECK(j.put("/local/domain/1/name", "guest1").value() == 1);
    CHECK(j.put("/local/domain/2/name", "guest2").value() == 2);
    CHECK(j.put("/local/domain/1/name", "renamed").value() == 3);
    CHECK(j.erase("/local/domain/2/name").value() == 4);
    CHECK(j.put("empty", "").value() == 5);
    CHECK(j.durable_seq() == 5);
  }
  auto j = open_ok(d.path());
  CHECK(j.state() == kv{{"/local/domain/1/name", "renamed"}, {"empty", ""}});
  CHECK(j.recovery().records_replayed == 5);
  CHECK_FALSE(j.recovery().tail_damaged);
  CHECK(j.put("x", "y").value() == 6);  // the sequence continues
}

TEST_CASE("journal: a log truncated anywhere in its last record recovers to the record before") {
  temp_dir d;
  std::uintmax_t before_last = 0, full = 0;
  {
    auto j = open_ok(d.path());
    for (int i = 0; i < 10; ++i) REQUIRE(j.put(key("k", i), std::string(static_cast<std::size_t>(i * 3), 'v')));
    before_last = j.log_bytes();
    REQUIRE(j.put("last", "value-of-the-last-record"));
    full = j.log_bytes();
  }
  const std::string whole = slurp(d.path() / "wal");
  REQUIRE(whole.size() == full);
  for (std::uintmax_t cut = before_last; cut < full; ++cut) {
    CAPTURE(cut);
    spit(d.path() / "wal", whole.substr(0, cut));
    {
      auto j = open_ok(d.path());
      CHECK(j.state().size() == 10);
      CHECK(j.state().count("last") == 0);
      CHECK(j.recovery().tail_damaged == (cut != before_last));
      CHECK(j.recovery().good_bytes == before_last);
      CHECK(j.recovery().discarded_bytes == cut - before_last);
      CHECK(j.recovery().quarantine.empty());
      CHECK(j.last_seq() == 10);
      CHECK(fs::file_size(d.path() / "wal") == before_last);  // the torn tail is cut off
      if (cut == before_last + 3) {
        REQUIRE(j.put("after", "repair"));  // appends go after the last good record
      }
    }
    if (cut == before_last + 3) {
      auto j = open_ok(d.path());
      CHECK_FALSE(j.recovery().tail_damaged);
      CHECK(j.state().at("after") == "repair");
      CHECK(j.last_seq() == 11);
    }
  }
}

// Regression: one flipped bit in the first of three acknowledged records made open() succeed with 0
// entries and truncate the log to 0 bytes.
TEST_CASE("journal: damage to an acknowledged record before intact ones is refused, never cut silently") {
  temp_dir d;
  const auto [after_first, after_second] = write_three(d.path());
  const std::string wal = slurp(d.path() / "wal");
  SUBCASE("a bit flipped anywhere in the first record: refused, files untouched") {
    for (std::size_t at = log_header; at < after_first; ++at) {
      CAPTURE(at);
      const std::string bad = flipped(wal, at, static_cast<unsigned>(at % 8));
      spit(d.path() / "wal", bad);
      const auto f = open_fails(d.path());
      CHECK(f.code == journal_errc::corrupt_log);
      CHECK(contains(f.why, "at byte 36 (seq 1)"));
      CHECK(contains(f.why, "2 intact record(s) follow"));
      CHECK(contains(f.why, "salvage"));
      CHECK(slurp(d.path() / "wal") == bad);
      CHECK_FALSE(fs::exists(d.path() / "snapshot"));
      CHECK_FALSE(fs::exists(d.path() / "wal.quarantine-1"));
    }
  }
  SUBCASE("salvage keeps the records before the damage and a copy of the whole log") {
    const std::string bad = flipped(wal, after_second - 1, 5);  // the value of the second record
    spit(d.path() / "wal", bad);
    CHECK(open_fails(d.path()).code == journal_errc::corrupt_log);
    {
      auto j = open_ok(d.path(), {.on_corruption = corruption_policy::salvage});
      CHECK(j.state() == kv{{"a", "1"}});
      CHECK(j.recovery().acknowledged_damage);
      CHECK(j.recovery().records_after_damage == 1);
      CHECK(j.recovery().quarantine == (d.path() / "wal.quarantine-1").string());
      CHECK(slurp(d.path() / "wal.quarantine-1") == bad);
      CHECK(j.put("d", "4").value() == 2);
    }
    auto j = open_ok(d.path());  // the default policy again: the salvaged journal is clean
    CHECK_FALSE(j.recovery().tail_damaged);
    CHECK(j.state() == kv{{"a", "1"}, {"d", "4"}});
  }
  SUBCASE("a length field of a middle record") {
    std::string bad = wal;
    bad[after_first + 10] = '\x7f';
    spit(d.path() / "wal", bad);
    const auto f = open_fails(d.path());
    CHECK(f.code == journal_errc::corrupt_log);
    CHECK(contains(f.why, ("record header checksum mismatch at byte " + std::to_string(after_first)).c_str()));
  }
  SUBCASE("a bit in the last record: indistinguishable from a torn write, cut off and reported") {
    spit(d.path() / "wal", flipped(wal, wal.size() - 1));
    auto j = open_ok(d.path());
    CHECK(j.state() == kv{{"a", "1"}, {"b", "2"}});
    CHECK(j.recovery().tail_damaged);
    CHECK(contains(j.recovery().tail_problem, "payload checksum mismatch"));
    CHECK(j.recovery().quarantine.empty());
  }
  SUBCASE("zeros or garbage after the last record are a torn tail") {
    std::mt19937 rng(7);
    std::string junk(5000, '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    for (const auto& tail : {std::string(4096, '\0'), junk}) {
      spit(d.path() / "wal", wal + tail);
      auto j = open_ok(d.path());
      CHECK(j.state().size() == 3);
      CHECK(j.recovery().discarded_bytes == tail.size());
      CHECK(j.recovery().records_after_damage == 0);
      CHECK(slurp(d.path() / "wal") == wal);
    }
  }
}

TEST_CASE("journal: group commit, a torn unacknowledged group is cut with a copy; an acknowledged one is refused") {
  temp_dir d;
  std::size_t group2 = 0;
  {
    auto j = open_ok(d.path(), {.sync = fsync_policy::every(3)});
    for (const char* k : {"a", "b", "c"}) REQUIRE(j.put(k, "v"));
    REQUIRE(j.durable_seq() == 3);
    group2 = static_cast<std::size_t>(j.log_bytes());
    REQUIRE(j.put("d", "v"));
    REQUIRE(j.put("e", "v"));  // never synced: not acknowledged
    CHECK(j.durable_seq() == 3);
  }
  const std::string wal = slurp(d.path() / "wal");
  SUBCASE("damage in the unacknowledged group: e was written before d was acknowledged") {
    const std::string bad = flipped(wal, group2 + record_header);  // d's key
    spit(d.path() / "wal", bad);
    auto j = open_ok(d.path());
    CHECK(j.state() == kv{{"a", "v"}, {"b", "v"}, {"c", "v"}});
    CHECK(j.recovery().records_after_damage == 1);
    CHECK(slurp(d.path() / "wal.quarantine-1") == bad);
  }
  SUBCASE("damage in the acknowledged group: d and e were written after it was acknowledged") {
    spit(d.path() / "wal", flipped(wal, log_header + record_header));  // a's key
    CHECK(open_fails(d.path()).code == journal_errc::corrupt_log);
  }
}

TEST_CASE("journal: a damaged log header is refused; salvage starts from the snapshot and keeps a copy") {
  temp_dir d;
  {
    auto j = open_ok(d.path());
    REQUIRE(j.put("a", "1"));
    REQUIRE(j.compact());
    REQUIRE(j.put("b", "2"));
  }
  const std::string wal = flipped(slurp(d.path() / "wal"), 20, 2);  // the salt
  spit(d.path() / "wal", wal);
  const auto f = open_fails(d.path());
  CHECK(f.code == journal_errc::corrupt_log);
  CHECK(contains(f.why, "header damaged"));
  auto j = open_ok(d.path(), {.on_corruption = corruption_policy::salvage});
  CHECK(j.state() == kv{{"a", "1"}});
  CHECK(j.recovery().log_header_damaged);
  CHECK(slurp(d.path() / "wal.quarantine-1") == wal);
  CHECK(j.put("c", "3").value() == 2);
}

TEST_CASE("journal: files of another format are refused as such, and never salvaged") {
  temp_dir d;
  { auto j = open_ok(d.path()); }
  SUBCASE("a format 1 log (no header)") {
    spit(d.path() / "wal", std::string("\x15\0\0\0", 4) + std::string(25, 'x'));
    const auto f = open_fails(d.path(), {.on_corruption = corruption_policy::salvage});
    CHECK(f.code == journal_errc::unsupported_format);
    CHECK(contains(f.why, "format 2"));
  }
  SUBCASE("a newer log version") {
    std::string wal = slurp(d.path() / "wal");
    wal[8] = 3;
    spit(d.path() / "wal", wal);
    const auto f = open_fails(d.path(), {.on_corruption = corruption_policy::salvage});
    CHECK(f.code == journal_errc::unsupported_format);
    CHECK(contains(f.why, "version 3"));
  }
  SUBCASE("a newer snapshot version") {
    std::string snap = snapshot_file(0, {});
    snap[8] = 2;
    spit(d.path() / "snapshot", snap);
    CHECK(open_fails(d.path()).code == journal_errc::unsupported_format);
  }
}

// Regression: append accepted a 32 MiB key + 32 MiB value that recovery refused as "implausible", and
// the acknowledged write after it was lost too.
TEST_CASE("journal: the writer refuses what recovery would refuse, and the writes around it are kept") {
  temp_dir d;
  {
    auto j = open_ok(d.path());
    REQUIRE(j.put("a", "1"));
    const std::string big(std::size_t{32} << 20, 'x');
    auto r = j.put(big, big);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == journal_errc::record_too_large);
    CHECK(j.put(std::string(journal_limits::max_key_bytes + 1, 'k'), "v").error() == journal_errc::record_too_large);
    CHECK(j.put("k", std::string(journal_limits::max_value_bytes + 1, 'v')).error() == journal_errc::record_too_large);
    CHECK(j.erase(std::string(journal_limits::max_key_bytes + 1, 'k')).error() == journal_errc::record_too_large);
    CHECK_FALSE(j.stopped());
    CHECK(j.put("c", "3").value() == 2);
    // The largest record the limits allow goes through and comes back.
    CHECK(j.put(std::string(journal_limits::max_key_bytes, 'K'), std::string(journal_limits::max_value_bytes, 'V')).value() == 3);
  }
  auto j = open_ok(d.path());
  CHECK(j.state().size() == 3);
  CHECK(j.state().at("a") == "1");
  CHECK(j.state().at("c") == "3");
  CHECK(j.state().at(std::string(journal_limits::max_key_bytes, 'K')).size() == journal_limits::max_value_bytes);
  CHECK_FALSE(j.recovery().tail_damaged);
}

// Regression: after sequence 2^64-1, put() returned 0 and reopening dropped the record silently.
TEST_CASE("journal: sequence numbers end at 2^64-1, put fails cleanly after it") {
  constexpr auto max = std::numeric_limits<std::uint64_t>::max();
  temp_dir d;
  { auto j = open_ok(d.path()); }
  // A journal whose snapshot is near the end of the sequence space (a log whose records start
  // before it is what a compaction leaves when a crash stops it before its new log).
  spit(d.path() / "snapshot", snapshot_file(max - 2, {{"old", "x"}}));
  {
    auto j = open_ok(d.path());
    CHECK(j.last_seq() == max - 2);
    CHECK(j.put("a", "1").value() == max - 1);
    CHECK(j.put("b", "2").value() == max);
    auto r = j.put("c", "3");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == journal_errc::sequence_exhausted);
    CHECK(j.erase("a").error() == journal_errc::sequence_exhausted);
    CHECK(j.state() == kv{{"a", "1"}, {"b", "2"}, {"old", "x"}});
  }
  {
    auto j = open_ok(d.path());
    CHECK(j.last_seq() == max);
    CHECK(j.state() == kv{{"a", "1"}, {"b", "2"}, {"old", "x"}});
    REQUIRE(j.compact());  // still possible: it takes no sequence number
    CHECK(j.put("c", "3").error() == journal_errc::sequence_exhausted);
  }
  auto j = open_ok(d.path());
  CHECK(j.recovery().snapshot_seq == max);
  CHECK(j.state().size() == 3);
}

// Regression: two processes could open one journal and both acknowledge sequence 1.
TEST_CASE("journal: one journal object per directory") {
  temp_dir d;
  SUBCASE("two objects in one process") {
    auto first = open_ok(d.path());
    REQUIRE(first.put("a", "1"));
    const auto f = open_fails(d.path());
    CHECK(f.code == journal_errc::locked);
    CHECK(contains(f.why, "already open"));
    auto moved = std::move(first);  // the lock moves with the object
    CHECK(open_fails(d.path()).code == journal_errc::locked);
    REQUIRE(moved.put("b", "2"));
  }
  auto j = open_ok(d.path());  // released with the last owner
  CHECK(j.state() == kv{{"a", "1"}, {"b", "2"}});
}

TEST_CASE("journal: one journal object per directory, across processes") {
  temp_dir d;
  SUBCASE("the parent holds it, a forked child is refused") {
    auto j = open_ok(d.path());
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      auto other = state_journal::open(d.path());
      ::_exit(!other.has_value() && other.error() == journal_errc::locked ? 0 : 1);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  SUBCASE("a child holds it, the parent is refused until the child is gone") {
    int go[2], ready[2];
    REQUIRE(::pipe(go) == 0);
    REQUIRE(::pipe(ready) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      auto j = state_journal::open(d.path());
      const char ok = j.has_value() && j->put("child", "1") ? 'y' : 'n';
      (void)!::write(ready[1], &ok, 1);
      char c;
      (void)!::read(go[0], &c, 1);
      ::_exit(0);
    }
    char ok = 0;
    REQUIRE(::read(ready[0], &ok, 1) == 1);
    CHECK(ok == 'y');
    CHECK(open_fails(d.path()).code == journal_errc::locked);
    (void)!::write(go[1], "x", 1);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    auto j = open_ok(d.path());
    CHECK(j.state() == kv{{"child", "1"}});
    for (int fd : {go[0], go[1], ready[0], ready[1]}) ::close(fd);
  }
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PVMKIT_NO_ADDRESS_LIMIT 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define PVMKIT_NO_ADDRESS_LIMIT 1
#endif
#endif

// Regression: the files were read whole into memory (bad_alloc instead of an error on a large log).
TEST_CASE("journal: recovery streams, a 1 GiB log is read in bounded memory") {
#ifdef PVMKIT_NO_ADDRESS_LIMIT
  MESSAGE("skipped under a sanitizer: its shadow memory defeats RLIMIT_AS");
#else
  temp_dir d;
  std::uint64_t good = 0;
  {
    auto j = open_ok(d.path());
    for (int i = 0; i < 5; ++i) REQUIRE(j.put(key("k", i), "v"));
    good = j.log_bytes();
  }
  constexpr std::uint64_t gib = std::uint64_t{1} << 30;
  REQUIRE(::truncate((d.path() / "wal").c_str(), static_cast<off_t>(good + gib)) == 0);  // a sparse GiB of zeros
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // The child may use 256 MiB more address space than it has now: the old reader needed 1 GiB.
    std::size_t pages = 0;
    if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
      if (std::fscanf(f, "%zu", &pages) != 1) pages = 0;
      std::fclose(f);
    }
    const rlim_t limit = static_cast<rlim_t>(pages) * static_cast<rlim_t>(::sysconf(_SC_PAGESIZE)) + (rlim_t{256} << 20);
    const rlimit rl{limit, limit};
    if (pages == 0 || ::setrlimit(RLIMIT_AS, &rl) != 0) ::_exit(3);
    auto j = state_journal::open(d.path());
    if (!j) ::_exit(1);
    ::_exit(j->state().size() == 5 && j->recovery().discarded_bytes == gib ? 0 : 2);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(fs::file_size(d.path() / "wal") == good);
#endif
}

TEST_CASE("journal: recovery never reads more than a 64 KiB buffer or one record at once") {
  auto disk = std::make_shared<power_cut_fs>();
  const std::size_t big = std::size_t{1} << 20;
  {
    auto j = open_sim(disk, {.sync = fsync_policy::none(), .compact_after_bytes = 0});
    for (int i = 0; i < 4000; ++i) REQUIRE(j.put(key("key", i % 300), std::string(4000, static_cast<char>('a' + i % 26))));
    REQUIRE(j.put("big", std::string(big, 'b')));
    REQUIRE(j.log_bytes() > (std::uint64_t{16} << 20));
  }
  const std::size_t before = disk->largest_read();
  auto j = open_sim(disk);
  CHECK(j.state().size() == 301);
  CHECK(disk->largest_read() >= before);
  CHECK(disk->largest_read() <= big);  // the big value, read straight into its string
  REQUIRE(j.compact());
  j = open_sim(std::make_shared<power_cut_fs>());  // releases "j"
  auto again = open_sim(disk);                     // a snapshot read the same way
  CHECK(again.state().size() == 301);
  CHECK(disk->largest_read() <= big);
}

TEST_CASE("journal: impossible sizes in the files are errors, not allocations") {
  SUBCASE("a snapshot that claims 2^60 entries") {
    std::string snap = snapshot_file(3, {{"a", "1"}});
    for (int i = 0; i < 8; ++i) snap[static_cast<std::size_t>(20 + i)] = i == 7 ? '\x10' : '\0';
    std::string why;
    auto r = recover_journal_bytes(snap, std::nullopt, corruption_policy::refuse, &why);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == journal_errc::corrupt_snapshot);
    INFO(why);
    CHECK(contains(why, "entry"));
  }
  SUBCASE("a snapshot entry beyond the limits") {
    std::string snap = snapshot_file(3, {{"a", "1"}});
    snap[28 + 4 + 1 + 3] = '\x7f';  // the value's length
    std::string why;
    auto r = recover_journal_bytes(snap, std::nullopt, corruption_policy::refuse, &why);
    CHECK(r.error() == journal_errc::corrupt_snapshot);
    CHECK(contains(why, "beyond the limits"));
  }
}

// Regression: the log was never compacted by default.
TEST_CASE("journal: compaction is on by default") {
  CHECK(journal_options{}.compact_after_bytes == std::size_t{4} << 20);
  auto disk = std::make_shared<power_cut_fs>();
  kv expect;
  {
    auto j = open_sim(disk);
    for (int i = 0; i < 1500; ++i) {  // 12 MB through a log that stays under 4 MiB + one record
      const std::string k = key("k", i % 100), v(8000, static_cast<char>('a' + i % 26));
      REQUIRE(j.put(k, v));
      expect[k] = v;
      CHECK(j.log_bytes() <= (std::uint64_t{4} << 20) + 8100);
    }
    CHECK(disk->file("j/snapshot").has_value());
    CHECK(disk->file("j/wal")->size() <= (std::size_t{4} << 20) + 8100);
  }
  auto j = open_sim(disk);
  CHECK(j.state() == expect);
  CHECK(j.recovery().snapshot_seq > 0);
}

// Regression: after a failed fdatasync a later sync could report success for records that may be gone.
TEST_CASE("journal: a failed fdatasync stops the journal, nothing more is acknowledged") {
  auto disk = std::make_shared<power_cut_fs>();
  int syncs = 0;
  disk->inject = [&](const power_cut_fs::call& c) {
    if (c.kind == power_cut_fs::call_kind::sync_data && ++syncs == 3) return std::make_error_code(std::errc::io_error);
    return std::error_code{};
  };
  auto j = open_sim(disk);
  REQUIRE(j.put("a", "1"));
  REQUIRE(j.put("b", "2"));
  auto r = j.put("c", "3");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error() == std::errc::io_error);
  CHECK(j.stopped());
  CHECK(contains(j.failure(), "fdatasync of j/wal failed"));
  CHECK(j.durable_seq() == 2);
  CHECK(j.state() == kv{{"a", "1"}, {"b", "2"}});  // c was never acknowledged, so never shown
  disk->inject = inject_nothing;                     // the disk works again: the journal still refuses
  CHECK(j.put("d", "4").error() == journal_errc::stopped);
  CHECK(j.erase("a").error() == journal_errc::stopped);
  CHECK(j.sync().error() == journal_errc::stopped);
  CHECK(j.compact().error() == journal_errc::stopped);
  CHECK(j.durable_seq() == 2);
  CHECK(j.state() == kv{{"a", "1"}, {"b", "2"}});
  // The power goes: c's write was lost with its failed sync.
  auto after = std::make_shared<power_cut_fs>(disk->after({.keep = disk->pending().size()}));
  auto k = open_sim(after);
  CHECK(k.state() == kv{{"a", "1"}, {"b", "2"}});
}

TEST_CASE("journal: the directory fsync's errors stop the journal") {
  SUBCASE("during compaction") {
    auto disk = std::make_shared<power_cut_fs>();
    auto j = open_sim(disk);
    REQUIRE(j.put("a", "1"));
    disk->inject = [](const power_cut_fs::call& c) {
      return c.kind == power_cut_fs::call_kind::sync_dir ? std::make_error_code(std::errc::io_error) : std::error_code{};
    };
    CHECK(j.compact().error() == std::errc::io_error);
    CHECK(contains(j.failure(), "fsync of directory j failed"));
    disk->inject = inject_nothing;
    CHECK(j.put("b", "2").error() == journal_errc::stopped);
    CHECK(j.state() == kv{{"a", "1"}});
  }
  SUBCASE("when a new journal is created") {
    auto disk = std::make_shared<power_cut_fs>();
    disk->inject = [](const power_cut_fs::call& c) {
      return c.kind == power_cut_fs::call_kind::sync_dir ? std::make_error_code(std::errc::io_error) : std::error_code{};
    };
    std::string why;
    auto j = sim_journal::open("j", {}, power_cut_io{disk}, &why);
    REQUIRE_FALSE(j.has_value());
    CHECK(j.error() == std::errc::io_error);
    CHECK(contains(why, "fsync of directory . failed"));
  }
  SUBCASE("a failed append (disk full)") {
    auto disk = std::make_shared<power_cut_fs>();
    auto j = open_sim(disk);
    REQUIRE(j.put("a", "1"));
    disk->inject = [](const power_cut_fs::call& c) {
      return c.kind == power_cut_fs::call_kind::append ? std::make_error_code(std::errc::no_space_on_device) : std::error_code{};
    };
    CHECK(j.put("b", "2").error() == std::errc::no_space_on_device);
    disk->inject = inject_nothing;
    CHECK(j.put("c", "3").error() == journal_errc::stopped);
  }
}

TEST_CASE("journal: a new journal's directory is made durable with its parents") {
  auto disk = std::make_shared<power_cut_fs>();
  std::vector<std::string> synced;
  disk->on_call = [&](const power_cut_fs&, const power_cut_fs::call& c) {
    if (c.kind == power_cut_fs::call_kind::sync_dir) synced.push_back(c.path);
  };
  auto j = sim_journal::open("a/b/j", {}, power_cut_io{disk});
  REQUIRE(j.has_value());
  CHECK(synced == std::vector<std::string>{".", "a", "a/b", "a/b/j"});
}

// Regression: state() showed writes before they were acknowledged.
TEST_CASE("journal: nothing is visible before it is acknowledged") {
  temp_dir d;
  auto j = open_ok(d.path(), {.sync = fsync_policy::every(3)});
  REQUIRE(j.put("a", "1"));
  REQUIRE(j.put("b", "2"));
  CHECK(j.last_seq() == 2);
  CHECK(j.durable_seq() == 0);
  CHECK(j.state().empty());
  REQUIRE(j.erase("a"));
  CHECK(j.durable_seq() == 3);
  CHECK(j.state() == kv{{"b", "2"}});
  REQUIRE(j.put("c", "3"));
  CHECK(j.state().count("c") == 0);
  REQUIRE(j.sync());
  CHECK(j.state() == kv{{"b", "2"}, {"c", "3"}});
}

TEST_CASE("journal: compaction keeps the state, empties the log, and survives a crash half-way") {
  temp_dir d;
  std::string old_log;
  {
    auto j = open_ok(d.path(), {.compact_after_bytes = 0});
    for (int i = 0; i < 100; ++i) REQUIRE(j.put(key("k", i % 10), std::to_string(i)));
    old_log = slurp(d.path() / "wal");
    REQUIRE(j.compact());
    CHECK(j.log_bytes() == log_header);
    CHECK(fs::file_size(d.path() / "wal") == log_header);
    REQUIRE(j.put("after", "compaction"));
  }
  {
    auto j = open_ok(d.path());
    CHECK(j.recovery().snapshot_seq == 100);
    CHECK(j.recovery().snapshot_entries == 10);
    CHECK(j.recovery().records_replayed == 1);
    CHECK(j.state().size() == 11);
    CHECK(j.state().at("k3") == "93");
  }
  // A crash after the snapshot's rename but before the new log's: the old records are still in
  // the log; they are in the snapshot already and must not be applied again.
  spit(d.path() / "wal", old_log);
  spit(d.path() / "snapshot.tmp", "half-written garbage");
  spit(d.path() / "wal.tmp", "half-written garbage");
  {
    auto j = open_ok(d.path());
    CHECK(j.recovery().records_skipped == 100);
    CHECK(j.recovery().records_replayed == 0);
    CHECK(j.state().at("k3") == "93");
    CHECK(j.state().count("after") == 0);
    CHECK_FALSE(fs::exists(d.path() / "snapshot.tmp"));
    CHECK_FALSE(fs::exists(d.path() / "wal.tmp"));
    CHECK(j.put("next", "1").value() == 101);
  }
  auto j = open_ok(d.path());
  CHECK(j.state().at("next") == "1");
  CHECK(j.state().size() == 11);
}

TEST_CASE("journal: a damaged snapshot is refused, not silently replaced by an empty state") {
  temp_dir d;
  {
    auto j = open_ok(d.path());
    REQUIRE(j.put("a", "1"));
    REQUIRE(j.compact());
  }
  std::string snap = slurp(d.path() / "snapshot");
  CHECK(snap == snapshot_file(1, {{"a", "1"}}));  // format 1, byte for byte
  snap[snap.size() / 2] ^= 0x10;
  spit(d.path() / "snapshot", snap);
  const auto f = open_fails(d.path(), {.on_corruption = corruption_policy::salvage});
  CHECK(f.code == journal_errc::corrupt_snapshot);
  INFO(f.why);
  CHECK(contains(f.why, "snapshot: "));
  CHECK(slurp(d.path() / "snapshot") == snap);
}

TEST_CASE("journal: a snapshot and a log that do not fit together are refused") {
  temp_dir d;
  {
    auto j = open_ok(d.path());
    REQUIRE(j.put("a", "1"));
    REQUIRE(j.compact());
    REQUIRE(j.put("b", "2"));
  }
  SUBCASE("the log is missing") {
    fs::remove(d.path() / "wal");
    const auto f = open_fails(d.path());
    CHECK(f.code == journal_errc::inconsistent);
    CHECK(contains(f.why, "without a log"));
  }
  SUBCASE("the snapshot is missing") {
    fs::remove(d.path() / "snapshot");
    const auto f = open_fails(d.path());
    CHECK(f.code == journal_errc::inconsistent);
    CHECK(contains(f.why, "records 1..1 are missing"));
  }
}

TEST_CASE("journal: fsync policies decide when a write is acknowledged") {
  temp_dir d;
  auto j = open_ok(d.path(), {.sync = fsync_policy::every(3), .compact_after_bytes = 0});
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
  auto n = open_ok(d2.path(), {.sync = fsync_policy::none(), .compact_after_bytes = 0});
  REQUIRE(n.put("a", "1"));
  CHECK(n.durable_seq() == 1);
  CHECK(n.state().count("a") == 1);
}

TEST_CASE("journal: automatic compaction bounds the log") {
  temp_dir d;
  {
    auto j = open_ok(d.path(), {.sync = fsync_policy::none(), .compact_after_bytes = 4096});
    for (int i = 0; i < 2000; ++i) REQUIRE(j.put(key("key", i % 50), std::to_string(i)));
    CHECK(j.log_bytes() <= 4096 + 64);
  }
  auto j = open_ok(d.path());
  CHECK(j.state().size() == 50);
  CHECK(j.state().at("key49") == "1999");
}

TEST_CASE("journal: recover_journal_bytes (the fuzzers' entry) agrees with open and survives any damage") {
  temp_dir d;
  kv expect;
  {
    auto j = open_ok(d.path(), {.compact_after_bytes = 0});
    for (int i = 0; i < 20; ++i) REQUIRE(j.put(key("k", i % 7), key("v", i)));
    REQUIRE(j.compact());
    for (int i = 0; i < 20; ++i) {
      auto r = i % 5 == 0 ? j.erase(key("k", i % 7)) : j.put(key("k", i % 7), key("w", i));
      REQUIRE(r.has_value());
    }
    expect = j.state();
  }
  const std::string snap = slurp(d.path() / "snapshot"), wal = slurp(d.path() / "wal");
  auto r = recover_journal_bytes(snap, wal);
  REQUIRE(r.has_value());
  CHECK(r->state == expect);
  CHECK(r->report.records_replayed == 20);
  CHECK(recover_journal_bytes(std::nullopt, std::nullopt).has_value());  // a new journal
  // Every truncation and every bit flip: an answer (a prefix of the records, or an error), never a crash.
  std::size_t refused = 0;
  for (std::size_t at = 0; at < wal.size(); ++at) {
    (void)recover_journal_bytes(snap, std::string_view{wal}.substr(0, at));
    auto b = recover_journal_bytes(snap, flipped(wal, at, static_cast<unsigned>(at % 8)));
    if (!b) ++refused;
    else CHECK(b->report.last_seq <= r->report.last_seq);
  }
  CHECK(refused > 0);
  for (std::size_t at = 0; at < snap.size(); ++at) {
    CHECK_FALSE(recover_journal_bytes(flipped(snap, at), wal).has_value());
  }
}

TEST_CASE("journal: a missing acknowledged record (a later one in its place) is refused") {
  temp_dir d;
  const auto [second, third] = write_three(d.path());
  std::string wal = slurp(d.path() / "wal");
  wal.erase(second, third - second);  // record 2 gone: record 3 (acked seq 2) follows record 1
  spit(d.path() / "wal", wal);
  const auto f = open_fails(d.path());
  CHECK(f.code == journal_errc::corrupt_log);
  CHECK(contains(f.why, "sequence number out of order (3 after 1)"));
}
