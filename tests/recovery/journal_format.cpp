// The journal's byte format and recovery, on bytes built here with the format's own encoders: the
// little-endian fields, a record's header, and a log replayed, cut or refused. The journal that
// writes these files is tested in state_journal.cpp.
#include <pvmkit/recovery/journal_format.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <string>

using namespace pvmkit;
using namespace pvmkit::recovery;
namespace f = pvmkit::recovery::journal_format;

namespace {

constexpr std::uint64_t salt = 0x0123456789ABCDEFULL;

// A log of `n` puts k0=v0, k1=v1, ... after base_seq 0, each acknowledging the one before.
std::string log_of(int n) {
  std::string b = f::log_header(salt, 0);
  for (int i = 1; i <= n; ++i)
    f::append_record(b, f::op_put, "k" + std::to_string(i), "v" + std::to_string(i), static_cast<std::uint64_t>(i),
                     static_cast<std::uint64_t>(i - 1), f::salt_seed(salt));
  return b;
}

}  // namespace

TEST_CASE("little-endian fields: low byte first, as many bytes as asked, read back whole") {
  std::string b;
  f::append_le(b, 0x0A0B0C0DULL, 4);
  CHECK(b == std::string("\x0D\x0C\x0B\x0A", 4));
  f::append_le(b, 0xFFFFFFFFFFFFFFFFULL, 8);
  CHECK(f::get_le(b.data(), 4) == 0x0A0B0C0DULL);
  CHECK(f::get_le(b.data() + 4, 8) == 0xFFFFFFFFFFFFFFFFULL);
  CHECK(f::get_le(b.data(), 2) == 0x0C0DULL);
}

TEST_CASE("a record header reads back as written, and only with its log's salt") {
  std::string b;
  f::append_record(b, f::op_put, "key", "value", 7, 6, f::salt_seed(salt));
  REQUIRE(b.size() == f::record_header_bytes + 3 + 5);
  f::record_header h;
  CHECK(f::decode_record_header(b.data(), f::salt_seed(salt), h) == nullptr);
  CHECK(h.op == f::op_put);
  CHECK(h.key_bytes == 3);
  CHECK(h.value_bytes == 5);
  CHECK(h.seq == 7);
  CHECK(h.acked_seq == 6);
  CHECK(h.payload_bytes() == 8);
  CHECK(std::string(f::decode_record_header(b.data(), f::salt_seed(salt + 1), h)) == "record header checksum mismatch");
  std::string self_acked;
  f::append_record(self_acked, f::op_put, "k", "v", 3, 3, f::salt_seed(salt));
  CHECK(std::string(f::decode_record_header(self_acked.data(), f::salt_seed(salt), h)) == "record acknowledges itself");
  CHECK(std::string(f::decode_record_header("XXXX", f::salt_seed(salt), h)) == "no record magic");
}

TEST_CASE("recover_journal_bytes: no files is an empty journal; a log replays in order") {
  auto none = recover_journal_bytes(std::nullopt, std::nullopt);
  REQUIRE(none.has_value());
  CHECK(none->state.empty());
  CHECK_FALSE(none->report.log_present);
  const auto r = recover_journal_bytes(std::nullopt, log_of(3));
  REQUIRE(r.has_value());
  CHECK(r->state == journal_map{{"k1", "v1"}, {"k2", "v2"}, {"k3", "v3"}});
  CHECK(r->report.records_replayed == 3);
  CHECK(r->report.last_seq == 3);
  CHECK(r->salt == salt);
}

TEST_CASE("recover_journal_bytes: a torn last record is cut; a log of another format is refused") {
  const std::string log = log_of(3);
  const auto r = recover_journal_bytes(std::nullopt, std::string_view{log}.substr(0, log.size() - 1));
  REQUIRE(r.has_value());
  CHECK(r->state.size() == 2);
  CHECK(r->report.tail_damaged);
  CHECK(r->report.good_bytes == log.size() - (f::record_header_bytes + 4));
  std::string other = log;
  other[0] = 'X';  // not the log's magic
  std::string why;
  CHECK_FALSE(recover_journal_bytes(std::nullopt, other, corruption_policy::refuse, &why).has_value());
  CHECK_FALSE(why.empty());
}
