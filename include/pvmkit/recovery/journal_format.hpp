// The state journal's files and their recovery, without I/O of their own: recover_journal reads a
// snapshot and a log through any ByteSource (a file, a byte buffer), streaming, and says what the
// state is and what must be repaired; state_journal.hpp does the repairs. The format and the
// guarantees are described in state_journal.hpp and docs/recovery.md ("State journal guarantees").
#pragma once

#include <pvmkit/core/result.hpp>
#include <pvmkit/recovery/crc32.hpp>
#include <pvmkit/recovery/journal_error.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pvmkit::recovery {

// One definition for the writer and for recovery, so that they cannot disagree: append refuses
// what recovery would refuse. Recovery holds at most one record (and a 64 KiB buffer) besides the
// state itself.
struct journal_limits {
  static constexpr std::size_t max_key_bytes = std::size_t{64} << 10;
  static constexpr std::size_t max_value_bytes = std::size_t{16} << 20;
};

// What open() does when damage is followed by records proving that the damaged one had been
// acknowledged (corruption of stored data, not a torn write).
enum class corruption_policy : std::uint8_t {
  refuse,   // fail with journal_errc::corrupt_log and change nothing (the default)
  salvage,  // copy the whole log to wal.quarantine-N, keep the records before the damage
};

struct journal_recovery_report {
  bool snapshot_present = false;
  std::uint64_t snapshot_seq = 0;
  std::size_t snapshot_entries = 0;
  std::uint64_t snapshot_bytes = 0;
  bool log_present = false;
  std::uint64_t log_base_seq = 0;     // the log's records start at log_base_seq + 1
  std::uint64_t log_last_seq = 0;     // seq of the last good record (log_base_seq if none)
  std::size_t records_replayed = 0;
  std::size_t records_skipped = 0;    // already in the snapshot (a crash during compaction)
  bool tail_damaged = false;          // the log is cut at good_bytes
  std::string tail_problem;           // what was wrong, with the byte offset
  std::uint64_t good_bytes = 0;       // log prefix kept
  std::uint64_t discarded_bytes = 0;  // cut off
  std::size_t records_after_damage = 0;  // intact record headers in the cut-off part (then a quarantine copy is kept)
  bool acknowledged_damage = false;   // salvage only: the damaged record had been acknowledged
  bool log_header_damaged = false;    // salvage only: the whole log is unreadable
  std::string quarantine;             // where the log was copied before it was cut (set by state_journal)
  std::uint64_t last_seq = 0;
};

using journal_map = std::map<std::string, std::string, std::less<>>;

struct recovered_journal {
  journal_map state;
  journal_recovery_report report;
  std::uint64_t salt = 0;  // of the log, which new records must carry
};

namespace journal_format {

inline constexpr std::string_view snapshot_magic{"PVMKSNAP"};
inline constexpr std::uint32_t snapshot_version = 1;
inline constexpr std::size_t snapshot_header_bytes = 28;
inline constexpr std::string_view log_magic{"PVMKWAL\0", 8};
inline constexpr std::uint32_t log_version = 2;
inline constexpr std::size_t log_header_bytes = 36;
inline constexpr std::string_view record_magic{"PVJR"};
inline constexpr std::size_t record_header_bytes = 40;
inline constexpr unsigned char op_put = 1;
inline constexpr unsigned char op_erase = 2;

inline void put_le(char* p, std::uint64_t v, int n) noexcept {
  for (int i = 0; i < n; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xFFU);
}
inline void append_le(std::string& b, std::uint64_t v, int n) {
  char tmp[8];
  put_le(tmp, v, n);
  b.append(tmp, static_cast<std::size_t>(n));
}
[[nodiscard]] inline std::uint64_t get_le(const char* p, int n) noexcept {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

// Every record's header checksum starts from the log's salt: bytes of an older log (or a value that
// imitates a record) never pass for a record of this one.
[[nodiscard]] inline std::uint32_t salt_seed(std::uint64_t salt) noexcept {
  char b[8];
  put_le(b, salt, 8);
  return crc32(std::string_view{b, 8});
}

[[nodiscard]] inline std::string log_header(std::uint64_t salt, std::uint64_t base_seq) {
  std::string b{log_magic};
  append_le(b, log_version, 4);
  append_le(b, 0, 4);
  append_le(b, salt, 8);
  append_le(b, base_seq, 8);
  append_le(b, crc32(std::string_view{b}), 4);
  return b;
}

struct record_header {
  unsigned char op = 0;
  std::uint32_t key_bytes = 0;
  std::uint32_t value_bytes = 0;
  std::uint64_t seq = 0;
  std::uint64_t acked_seq = 0;  // every record up to this one was acknowledged when this one was written
  std::uint32_t payload_crc = 0;
  [[nodiscard]] std::uint64_t payload_bytes() const noexcept { return std::uint64_t{key_bytes} + value_bytes; }
};

inline void append_record(std::string& out, unsigned char op, std::string_view key, std::string_view value,
                          std::uint64_t seq, std::uint64_t acked_seq, std::uint32_t seed) {
  const std::size_t at = out.size();
  out.append(record_magic);
  out.push_back(static_cast<char>(op));
  out.append(3, '\0');
  append_le(out, key.size(), 4);
  append_le(out, value.size(), 4);
  append_le(out, seq, 8);
  append_le(out, acked_seq, 8);
  append_le(out, crc32(value, crc32(key)), 4);
  append_le(out, crc32(std::string_view{out}.substr(at, 36), seed), 4);
  out.append(key);
  out.append(value);
}

// nullptr if the 40 bytes at p are a record header of the log with this seed; else what is wrong.
[[nodiscard]] inline const char* decode_record_header(const char* p, std::uint32_t seed, record_header& h) noexcept {
  if (std::string_view{p, 4} != record_magic) return "no record magic";
  if (crc32(std::string_view{p, 36}, seed) != static_cast<std::uint32_t>(get_le(p + 36, 4))) return "record header checksum mismatch";
  h.op = static_cast<unsigned char>(p[4]);
  h.key_bytes = static_cast<std::uint32_t>(get_le(p + 8, 4));
  h.value_bytes = static_cast<std::uint32_t>(get_le(p + 12, 4));
  h.seq = get_le(p + 16, 8);
  h.acked_seq = get_le(p + 24, 8);
  h.payload_crc = static_cast<std::uint32_t>(get_le(p + 32, 4));
  // A header with a valid checksum is what the writer wrote; these are checked all the same.
  if ((h.op != op_put && h.op != op_erase) || p[5] != 0 || p[6] != 0 || p[7] != 0) return "unknown record type";
  if (h.key_bytes > journal_limits::max_key_bytes || h.value_bytes > journal_limits::max_value_bytes ||
      (h.op == op_erase && h.value_bytes != 0))
    return "record beyond the size limits";
  if (h.acked_seq >= h.seq) return "record acknowledges itself";
  return nullptr;
}

}  // namespace journal_format

// Where recovery reads from: size() bytes, read_at short only at the end.
template <class S>
concept ByteSource = requires(const S& s, std::span<char> out, std::uint64_t offset) {
  { s.size() } -> std::same_as<std::uint64_t>;
  { s.read_at(out, offset) } -> std::same_as<result<std::size_t>>;
};

struct memory_source {
  std::string_view bytes;
  [[nodiscard]] std::uint64_t size() const noexcept { return bytes.size(); }
  [[nodiscard]] result<std::size_t> read_at(std::span<char> out, std::uint64_t offset) const {
    if (offset >= bytes.size()) return std::size_t{0};
    const auto n = std::min<std::size_t>(out.size(), bytes.size() - static_cast<std::size_t>(offset));
    std::memcpy(out.data(), bytes.data() + offset, n);
    return n;
  }
};
static_assert(ByteSource<memory_source>);

namespace detail {

// Sequential reads through a 64 KiB buffer; large reads go straight to the source.
template <ByteSource S>
class source_reader {
 public:
  static constexpr std::size_t buffer_bytes = std::size_t{64} << 10;
  explicit source_reader(const S& s) : src_(s), size_(s.size()) {}
  [[nodiscard]] std::uint64_t size() const noexcept { return size_; }

  // Fills out from offset; fewer bytes only at the end of the source.
  result<std::size_t> read(std::uint64_t offset, std::span<char> out) {
    std::size_t done = 0;
    while (done < out.size() && offset + done < size_) {
      const std::uint64_t at = offset + done;
      if (at < buf_at_ || at >= buf_at_ + buf_len_) {
        if (out.size() - done >= buffer_bytes) {
          auto n = src_.read_at(out.subspan(done), at);
          if (!n) return n;
          done += *n;
          break;
        }
        buf_.resize(buffer_bytes);
        auto n = src_.read_at(std::span<char>{buf_}, at);
        if (!n) return n;
        buf_at_ = at;
        buf_len_ = *n;
        if (buf_len_ == 0) break;
      }
      const auto from = static_cast<std::size_t>(at - buf_at_);
      const std::size_t n = std::min(out.size() - done, buf_len_ - from);
      std::memcpy(out.data() + done, buf_.data() + from, n);
      done += n;
    }
    return done;
  }

 private:
  const S& src_;
  std::uint64_t size_;
  std::vector<char> buf_;
  std::uint64_t buf_at_ = 0;
  std::size_t buf_len_ = 0;
};

inline result<recovered_journal> fail(journal_errc e, std::string text, std::string* why) {
  if (why) *why = std::move(text);
  return unexpected{e};
}

template <ByteSource S>
result<void> read_snapshot(const S& src, recovered_journal& out, std::string* why) {
  namespace f = journal_format;
  source_reader<S> in(src);
  std::uint64_t at = 0;
  std::uint32_t crc = 0;
  auto bad = [&](std::string what) -> result<void> {
    if (why) *why = "snapshot: " + what + " at byte " + std::to_string(at) + " of " + std::to_string(in.size());
    return unexpected{journal_errc::corrupt_snapshot};
  };
  // Reads n bytes into out, summing them into the checksum; false at the end of the file.
  auto take = [&](char* p, std::size_t n, bool checksummed = true) -> result<bool> {
    auto got = in.read(at, std::span<char>{p, n});
    if (!got) return unexpected{got.error()};
    if (*got < n) return false;
    if (checksummed) crc = crc32(std::string_view{p, n}, crc);
    at += n;
    return true;
  };
  char h[f::snapshot_header_bytes];
  auto ok = take(h, sizeof h);
  if (!ok) return unexpected{ok.error()};
  if (!*ok || std::string_view{h, 8} != f::snapshot_magic) return bad("not a pvmkit snapshot (bad magic or too short)");
  if (const auto v = f::get_le(h + 8, 4); v != f::snapshot_version) {
    if (why) *why = "snapshot: format version " + std::to_string(v) + "; this pvmkit reads version 1";
    return unexpected{journal_errc::unsupported_format};
  }
  const std::uint64_t seq = f::get_le(h + 12, 8);
  const std::uint64_t count = f::get_le(h + 20, 8);
  for (std::uint64_t i = 0; i < count; ++i) {
    std::string kv[2];
    for (int part = 0; part < 2; ++part) {
      char len[4];
      if (ok = take(len, 4); !ok) return unexpected{ok.error()};
      if (!*ok) return bad("truncated entry " + std::to_string(i) + " of " + std::to_string(count));
      const auto n = static_cast<std::size_t>(f::get_le(len, 4));
      if (n > (part == 0 ? journal_limits::max_key_bytes : journal_limits::max_value_bytes))
        return bad("entry " + std::to_string(i) + ": length " + std::to_string(n) + " beyond the limits");
      kv[part].resize(n);
      if (ok = take(kv[part].data(), n); !ok) return unexpected{ok.error()};
      if (!*ok) return bad("truncated entry " + std::to_string(i) + " of " + std::to_string(count));
    }
    if (!out.state.empty() && !(out.state.rbegin()->first < kv[0])) return bad("keys out of order");
    out.state.emplace_hint(out.state.end(), std::move(kv[0]), std::move(kv[1]));
  }
  char stored[4];
  if (ok = take(stored, 4, false); !ok) return unexpected{ok.error()};
  if (!*ok) return bad("truncated checksum");
  if (static_cast<std::uint32_t>(f::get_le(stored, 4)) != crc) return bad("checksum mismatch");
  if (at != in.size()) return bad("trailing bytes after the checksum");
  auto& r = out.report;
  r.snapshot_present = true;
  r.snapshot_seq = seq;
  r.snapshot_entries = out.state.size();
  r.snapshot_bytes = in.size();
  return {};
}

struct scan_result {
  std::size_t intact = 0;  // record headers of this log with seq > the snapshot's
  bool proof = false;      // one of them was written after the damaged record had been acknowledged
  std::uint64_t proof_at = 0;
  std::uint64_t proof_seq = 0;
};

// Looks at every byte from `from` on for record headers of this log: linear, one window in memory.
template <ByteSource S>
result<scan_result> scan_after_damage(source_reader<S>& in, std::uint64_t from, std::uint32_t seed,
                                      std::uint64_t damaged_seq, std::uint64_t snapshot_seq) {
  namespace f = journal_format;
  constexpr std::size_t step = std::size_t{64} << 10;
  scan_result s;
  std::vector<char> win(step + f::record_header_bytes);
  for (std::uint64_t pos = from; pos + f::record_header_bytes <= in.size(); pos += step) {
    auto got = in.read(pos, std::span<char>{win});
    if (!got) return unexpected{got.error()};
    if (*got < f::record_header_bytes) break;
    const std::string_view w{win.data(), *got};
    const std::size_t last = std::min(step, *got - f::record_header_bytes + 1);
    for (std::size_t i = w.find(f::record_magic); i != std::string_view::npos && i < last; i = w.find(f::record_magic, i + 1)) {
      f::record_header h;
      if (f::decode_record_header(win.data() + i, seed, h) != nullptr || h.seq <= snapshot_seq) continue;
      ++s.intact;
      if (!s.proof && h.acked_seq >= damaged_seq) {
        s.proof = true;
        s.proof_at = pos + i;
        s.proof_seq = h.seq;
      }
    }
  }
  return s;
}

template <ByteSource S>
result<recovered_journal> recover(const S* snapshot, const S* log, corruption_policy policy, std::string* why) {
  namespace f = journal_format;
  recovered_journal out;
  auto& rep = out.report;
  if (snapshot)
    if (auto r = read_snapshot(*snapshot, out, why); !r) return unexpected{r.error()};
  rep.last_seq = rep.snapshot_seq;
  if (!log) {
    if (snapshot)
      return fail(journal_errc::inconsistent,
                  "snapshot (seq " + std::to_string(rep.snapshot_seq) +
                      ") without a log: records acknowledged after the snapshot would be missing",
                  why);
    return out;  // a new journal
  }
  rep.log_present = true;
  source_reader<S> in(*log);
  const std::uint64_t size = in.size();
  char h[f::record_header_bytes];
  auto got = in.read(0, std::span<char>{h, f::log_header_bytes});
  if (!got) return unexpected{got.error()};
  const std::string_view hv{h, *got};
  if (*got < 8 || hv.substr(0, 8) != f::log_magic)
    return fail(journal_errc::unsupported_format,
                "wal: not a pvmkit journal log of format 2 (no header; a log written before format 2 cannot be read)", why);
  if (*got >= 12 && f::get_le(h + 8, 4) != f::log_version)  // never salvaged: it may be a newer pvmkit's
    return fail(journal_errc::unsupported_format,
                "wal: format version " + std::to_string(f::get_le(h + 8, 4)) + " (or a damaged header); this pvmkit reads version 2",
                why);
  if (*got < f::log_header_bytes || crc32(hv.substr(0, 32)) != static_cast<std::uint32_t>(f::get_le(h + 32, 4))) {
    // Log headers are made durable before the log is renamed into place: this is not a torn write.
    if (policy == corruption_policy::refuse)
      return fail(journal_errc::corrupt_log, "wal: header damaged (checksum mismatch or truncated); the whole log is unreadable", why);
    rep.log_header_damaged = rep.tail_damaged = true;
    rep.tail_problem = "log header damaged";
    rep.discarded_bytes = size;
    return out;
  }
  out.salt = f::get_le(h + 16, 8);
  rep.log_base_seq = f::get_le(h + 24, 8);
  if (rep.snapshot_seq < rep.log_base_seq)
    return fail(journal_errc::inconsistent,
                "log starts after seq " + std::to_string(rep.log_base_seq) + " but the snapshot ends at seq " +
                    std::to_string(rep.snapshot_seq) + (snapshot ? "" : " (no snapshot)") + ": records " +
                    std::to_string(rep.snapshot_seq + 1) + ".." + std::to_string(rep.log_base_seq) + " are missing",
                why);
  const std::uint32_t seed = f::salt_seed(out.salt);
  std::uint64_t at = f::log_header_bytes;
  std::uint64_t last = rep.log_base_seq;  // seq of the last good record
  std::string key, value;
  const char* problem = nullptr;
  std::string detail;
  while (at < size) {
    if (last == std::numeric_limits<std::uint64_t>::max()) {
      problem = "a record after sequence number 2^64-1";
      break;
    }
    if (got = in.read(at, std::span<char>{h}); !got) return unexpected{got.error()};
    if (*got < f::record_header_bytes) {
      problem = "truncated record header";
      detail = " (" + std::to_string(*got) + " of 40 bytes)";
      break;
    }
    f::record_header rh;
    if ((problem = f::decode_record_header(h, seed, rh)) != nullptr) break;
    if (rh.seq != last + 1) {
      problem = "sequence number out of order";
      detail = " (" + std::to_string(rh.seq) + " after " + std::to_string(last) + ")";
      break;
    }
    const std::uint64_t room = size - at - f::record_header_bytes;
    if (room < rh.payload_bytes()) {
      problem = "truncated record";
      detail = " (" + std::to_string(room) + " of " + std::to_string(rh.payload_bytes()) + " payload bytes)";
      break;
    }
    key.resize(rh.key_bytes);
    value.resize(rh.value_bytes);
    if (got = in.read(at + f::record_header_bytes, std::span<char>{key}); !got) return unexpected{got.error()};
    if (got = in.read(at + f::record_header_bytes + rh.key_bytes, std::span<char>{value}); !got) return unexpected{got.error()};
    if (crc32(std::string_view{value}, crc32(std::string_view{key})) != rh.payload_crc) {
      problem = "record payload checksum mismatch";
      break;
    }
    if (rh.seq <= rep.snapshot_seq) {
      ++rep.records_skipped;
    } else {
      if (rh.op == f::op_put) out.state.insert_or_assign(std::move(key), std::move(value));
      else if (auto it = out.state.find(key); it != out.state.end()) out.state.erase(it);
      ++rep.records_replayed;
    }
    last = rh.seq;
    at += f::record_header_bytes + rh.payload_bytes();
  }
  rep.good_bytes = at;
  rep.discarded_bytes = size - at;
  rep.log_last_seq = last;
  rep.last_seq = std::max(last, rep.snapshot_seq);
  if (problem == nullptr) return out;

  // A torn write leaves nothing of this log after it that was written once it was acknowledged.
  // An intact header with the wrong seq is evidence itself; any other damaged record is not.
  const bool intact_header = std::string_view{problem} == "sequence number out of order";
  auto scan = scan_after_damage(in, intact_header ? at : at + 1, seed, last + 1, rep.snapshot_seq);
  if (!scan) return unexpected{scan.error()};
  rep.tail_damaged = true;
  rep.tail_problem = std::string{problem} + detail + " at byte " + std::to_string(at) + " (seq " + std::to_string(last + 1) + ")";
  rep.records_after_damage = scan->intact;
  if (scan->proof) {
    if (policy == corruption_policy::refuse)
      return fail(journal_errc::corrupt_log,
                  "wal: " + rep.tail_problem + "; the record at byte " + std::to_string(scan->proof_at) + " (seq " +
                      std::to_string(scan->proof_seq) + ") was written after seq " + std::to_string(last + 1) +
                      " had been acknowledged, so this is damage to acknowledged data, not a torn write; " +
                      std::to_string(scan->intact) + " intact record(s) follow. Nothing was changed; opening with "
                      "corruption_policy::salvage keeps the " + std::to_string(rep.records_replayed + rep.records_skipped) +
                      " record(s) before the damage and copies the whole log aside",
                  why);
    rep.acknowledged_damage = true;
  }
  return out;
}

}  // namespace detail

// Recovers a journal's state from its files' bytes: a snapshot (nullptr: none) and a log (nullptr:
// none). Pure: reads through the sources, never writes; what would be cut off is in the report.
template <ByteSource S>
[[nodiscard]] result<recovered_journal> recover_journal(const S* snapshot, const S* log,
                                                        corruption_policy policy = corruption_policy::refuse,
                                                        std::string* why = nullptr) {
  try {
    return detail::recover(snapshot, log, policy, why);
  } catch (const std::bad_alloc&) {
    if (why) *why = "out of memory while rebuilding the state";
    return unexpected{std::make_error_code(std::errc::not_enough_memory)};
  }
}

// The same from byte buffers (an absent file is nullopt): what a fuzzer calls.
[[nodiscard]] inline result<recovered_journal> recover_journal_bytes(std::optional<std::string_view> snapshot,
                                                                     std::optional<std::string_view> log,
                                                                     corruption_policy policy = corruption_policy::refuse,
                                                                     std::string* why = nullptr) {
  const memory_source s{snapshot.value_or(std::string_view{})}, l{log.value_or(std::string_view{})};
  return recover_journal(snapshot ? &s : nullptr, log ? &l : nullptr, policy, why);
}

}  // namespace pvmkit::recovery
