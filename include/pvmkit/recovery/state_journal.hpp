// state_journal: durable key-value state for a component that must come back with its state
// (a XenStore, a toolstack's domain table). A snapshot file plus an append-only write-ahead log:
//
//   wal record  = u32 length | u32 crc32(length bytes + payload) | payload
//   payload     = u64 seq | u8 op (1 put, 2 erase) | u32 key length | key | u32 value length | value
//   snapshot    = "PVMKSNAP" | u32 version | u64 seq | u64 count | count x (u32 len key u32 len value)
//                 | u32 crc32(everything before it)
//
// all integers little-endian. A write is acknowledged (durable_seq() reaches its seq) only once
// its record is durable under the fsync policy. Recovery replays the log on top of the snapshot
// and stops at the first record that is truncated or fails its checksum (a torn tail from a crash
// mid-write): that is reported, the tail is cut off, and the state is exactly the acknowledged one
// (a torn record was never acknowledged, since its write had not returned).
// Compaction writes a new snapshot atomically (temp file, fsync, rename, fsync of the directory),
// then truncates the log; records a crash leaves behind in the log with seq <= the snapshot's are
// skipped at recovery, so a crash between the two steps loses nothing and applies nothing twice.
#pragma once

#include <pvmkit/core/error.hpp>
#include <pvmkit/core/result.hpp>
#include <pvmkit/recovery/crc32.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace pvmkit::recovery {

// When the log is fsync'ed, which is when writes are acknowledged.
struct fsync_policy {
  enum class mode : std::uint8_t { every_record, every_n, none };
  mode when = mode::every_record;
  std::size_t n = 1;

  static constexpr fsync_policy every_record() noexcept { return {mode::every_record, 1}; }
  // Group commit: one fsync per n records; a write is acknowledged when its group is synced.
  static constexpr fsync_policy every(std::size_t records) noexcept { return {mode::every_n, records == 0 ? 1 : records}; }
  // Acknowledged once handed to the kernel: survives the process being killed, not a power cut.
  static constexpr fsync_policy none() noexcept { return {mode::none, 1}; }
};

struct journal_options {
  fsync_policy sync = fsync_policy::every_record();
  std::size_t compact_after_bytes = 0;  // compact automatically when the log grows past this; 0 = never
};

struct journal_recovery_report {
  std::uint64_t snapshot_seq = 0;
  std::size_t snapshot_entries = 0;
  std::size_t records_replayed = 0;
  std::size_t records_skipped = 0;    // already in the snapshot (crash during compaction)
  bool tail_damaged = false;
  std::string tail_problem;           // what was wrong, with the byte offset
  std::uint64_t good_bytes = 0;       // log prefix kept
  std::uint64_t discarded_bytes = 0;  // torn or corrupt tail cut off
  std::uint64_t last_seq = 0;
};

class state_journal {
 public:
  using map_type = std::map<std::string, std::string, std::less<>>;

  static result<state_journal> open(const std::filesystem::path& dir, journal_options opts = {}) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return unexpected{ec};
    state_journal j(dir, opts);
    std::filesystem::remove(j.tmp_path(), ec);  // a compaction that died before its rename
    if (auto r = j.load_snapshot(); !r) return unexpected{r.error()};
    if (auto r = j.replay_log(); !r) return unexpected{r.error()};
    return j;
  }

  state_journal(state_journal&& o) noexcept { *this = std::move(o); }
  state_journal& operator=(state_journal&& o) noexcept {
    if (this != &o) {
      close_fd();
      dir_ = std::move(o.dir_);
      opts_ = o.opts_;
      state_ = std::move(o.state_);
      report_ = std::move(o.report_);
      fd_ = std::exchange(o.fd_, -1);
      seq_ = o.seq_;
      durable_ = o.durable_;
      unsynced_ = o.unsynced_;
      log_bytes_ = o.log_bytes_;
    }
    return *this;
  }
  state_journal(const state_journal&) = delete;
  state_journal& operator=(const state_journal&) = delete;
  ~state_journal() { close_fd(); }

  // Appends and applies; returns the record's seq. It is acknowledged once durable_seq() >= seq
  // (at once under every_record and none).
  result<std::uint64_t> put(std::string_view key, std::string_view value) { return append(op_put, key, value); }
  result<std::uint64_t> erase(std::string_view key) { return append(op_erase, key, {}); }

  // Makes every appended record durable (ends a group under every_n).
  result<void> sync() {
    if (durable_ == seq_) return {};
    if (::fdatasync(fd_) != 0) return unexpected{std::error_code{errno, std::system_category()}};
    durable_ = seq_;
    unsynced_ = 0;
    return {};
  }

  result<void> compact() {
    if (auto r = sync(); !r) return r;
    if (auto r = write_snapshot(); !r) return r;
    if (::ftruncate(fd_, 0) != 0 || ::fsync(fd_) != 0) return unexpected{std::error_code{errno, std::system_category()}};
    log_bytes_ = 0;
    return {};
  }

  [[nodiscard]] const map_type& state() const noexcept { return state_; }
  [[nodiscard]] const journal_recovery_report& recovery() const noexcept { return report_; }
  [[nodiscard]] std::uint64_t last_seq() const noexcept { return seq_; }
  [[nodiscard]] std::uint64_t durable_seq() const noexcept { return durable_; }
  [[nodiscard]] std::uint64_t log_bytes() const noexcept { return log_bytes_; }
  [[nodiscard]] std::filesystem::path log_path() const { return dir_ / "wal"; }
  [[nodiscard]] std::filesystem::path snapshot_path() const { return dir_ / "snapshot"; }

 private:
  static constexpr unsigned char op_put = 1;
  static constexpr unsigned char op_erase = 2;
  static constexpr std::uint32_t max_record = 64U << 20;  // larger is framing damage, not data
  static constexpr std::uint32_t snapshot_version = 1;

  state_journal(std::filesystem::path dir, journal_options opts) : dir_(std::move(dir)), opts_(opts) {}

  [[nodiscard]] std::filesystem::path tmp_path() const { return dir_ / "snapshot.tmp"; }

  void close_fd() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  static std::error_code last_error() { return {errno, std::system_category()}; }

  static void put_u32(std::string& b, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) b.push_back(static_cast<char>((v >> (8 * i)) & 0xFFU));
  }
  static void put_u64(std::string& b, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) b.push_back(static_cast<char>((v >> (8 * i)) & 0xFFU));
  }
  static std::uint64_t get_le(const std::string& b, std::size_t at, int n) {
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i)
      v |= static_cast<std::uint64_t>(static_cast<unsigned char>(b[at + static_cast<std::size_t>(i)])) << (8 * i);
    return v;
  }

  static result<std::string> read_file(const std::filesystem::path& p, bool& exists) {
    exists = false;
    const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return std::string{};
      return unexpected{last_error()};
    }
    exists = true;
    std::string data;
    char buf[1 << 16];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0) {
        if (errno == EINTR) continue;
        const auto ec = last_error();
        ::close(fd);
        return unexpected{ec};
      }
      if (n == 0) break;
      data.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return data;
  }

  static bool write_all(int fd, const std::string& b) {
    std::size_t done = 0;
    while (done < b.size()) {
      const ssize_t n = ::write(fd, b.data() + done, b.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        return false;
      }
      done += static_cast<std::size_t>(n);
    }
    return true;
  }

  void apply(unsigned char op, std::string key, std::string value) {
    if (op == op_put) state_.insert_or_assign(std::move(key), std::move(value));
    else state_.erase(key);
  }

  result<void> load_snapshot() {
    bool exists = false;
    auto data = read_file(snapshot_path(), exists);
    if (!data) return unexpected{data.error()};
    if (!exists) return {};
    const std::string& b = *data;
    // The snapshot was renamed into place only after an fsync: damage here is not a torn write but
    // storage corruption, and silently starting empty would lose acknowledged state. Refuse.
    if (b.size() < 8 + 4 + 8 + 8 + 4 || b.compare(0, 8, "PVMKSNAP") != 0) return unexpected{errc::corrupt_data};
    const auto stored = static_cast<std::uint32_t>(get_le(b, b.size() - 4, 4));
    if (crc32(std::string_view{b}.substr(0, b.size() - 4)) != stored) return unexpected{errc::corrupt_data};
    if (get_le(b, 8, 4) != snapshot_version) return unexpected{errc::corrupt_data};
    const std::uint64_t seq = get_le(b, 12, 8);
    const std::uint64_t count = get_le(b, 20, 8);
    std::size_t at = 28;
    const std::size_t end = b.size() - 4;
    for (std::uint64_t i = 0; i < count; ++i) {
      std::string kv[2];
      for (auto& s : kv) {
        if (end - at < 4) return unexpected{errc::corrupt_data};
        const auto len = static_cast<std::size_t>(get_le(b, at, 4));
        at += 4;
        if (end - at < len) return unexpected{errc::corrupt_data};
        s.assign(b, at, len);
        at += len;
      }
      state_.insert_or_assign(std::move(kv[0]), std::move(kv[1]));
    }
    if (at != end) return unexpected{errc::corrupt_data};
    report_.snapshot_seq = seq;
    report_.snapshot_entries = state_.size();
    seq_ = durable_ = seq;
    return {};
  }

  result<void> replay_log() {
    bool exists = false;
    auto data = read_file(log_path(), exists);
    if (!data) return unexpected{data.error()};
    const std::string& b = *data;
    std::size_t at = 0;
    auto damaged = [&](std::string why) {
      report_.tail_damaged = true;
      report_.tail_problem = std::move(why) + " at byte " + std::to_string(at);
    };
    while (at < b.size()) {
      if (b.size() - at < 8) {
        damaged("truncated record header (" + std::to_string(b.size() - at) + " of 8 bytes)");
        break;
      }
      const auto len = static_cast<std::uint32_t>(get_le(b, at, 4));
      const auto stored = static_cast<std::uint32_t>(get_le(b, at + 4, 4));
      if (len > max_record || len < 8 + 1 + 4 + 4) {
        damaged("implausible record length " + std::to_string(len));
        break;
      }
      if (b.size() - at - 8 < len) {
        damaged("truncated record (" + std::to_string(b.size() - at - 8) + " of " + std::to_string(len) + " payload bytes)");
        break;
      }
      const std::string_view sv{b};
      if (crc32(sv.substr(at + 8, len), crc32(sv.substr(at, 4))) != stored) {
        damaged("checksum mismatch");
        break;
      }
      std::size_t p = at + 8;
      const std::size_t end = p + len;
      const std::uint64_t seq = get_le(b, p, 8);
      const auto op = static_cast<unsigned char>(b[p + 8]);
      p += 9;
      const auto klen = static_cast<std::size_t>(get_le(b, p, 4));
      p += 4;
      if (end - p < klen + 4 || (op != op_put && op != op_erase)) {
        damaged("malformed record payload");
        break;
      }
      std::string key(b, p, klen);
      p += klen;
      const auto vlen = static_cast<std::size_t>(get_le(b, p, 4));
      p += 4;
      if (end - p != vlen) {
        damaged("malformed record payload");
        break;
      }
      std::string value(b, p, vlen);
      if (seq <= report_.snapshot_seq) {
        ++report_.records_skipped;
      } else {
        if (seq <= seq_) {
          damaged("sequence number goes back (" + std::to_string(seq) + " after " + std::to_string(seq_) + ")");
          break;
        }
        apply(op, std::move(key), std::move(value));
        seq_ = seq;
        ++report_.records_replayed;
      }
      at = end;
    }
    report_.good_bytes = at;
    report_.discarded_bytes = b.size() - at;
    report_.last_seq = seq_;
    durable_ = seq_;  // everything kept was read back from the file

    fd_ = ::open(log_path().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) return unexpected{last_error()};
    if (report_.discarded_bytes > 0) {
      // Cut the damage off so that new records follow the last good one.
      if (::ftruncate(fd_, static_cast<off_t>(at)) != 0 || ::fsync(fd_) != 0) return unexpected{last_error()};
    }
    if (!exists) sync_dir();
    log_bytes_ = at;
    return {};
  }

  result<std::uint64_t> append(unsigned char op, std::string_view key, std::string_view value) {
    if (fd_ < 0) return unexpected{errc::invalid_state};
    if (key.size() > max_record / 2 || value.size() > max_record / 2) return unexpected{errc::invalid_argument};
    const std::uint64_t seq = seq_ + 1;
    std::string rec;
    rec.reserve(8 + 8 + 1 + 8 + key.size() + value.size());
    const auto len = static_cast<std::uint32_t>(8 + 1 + 4 + key.size() + 4 + value.size());
    put_u32(rec, len);
    put_u32(rec, 0);  // crc, filled below
    put_u64(rec, seq);
    rec.push_back(static_cast<char>(op));
    put_u32(rec, static_cast<std::uint32_t>(key.size()));
    rec.append(key);
    put_u32(rec, static_cast<std::uint32_t>(value.size()));
    rec.append(value);
    const std::string_view sv{rec};
    const std::uint32_t c = crc32(sv.substr(8), crc32(sv.substr(0, 4)));
    for (std::size_t i = 0; i < 4; ++i) rec[4 + i] = static_cast<char>((c >> (8 * i)) & 0xFFU);

    if (!write_all(fd_, rec)) {
      const auto ec = last_error();
      // A partial record would be read back as a torn tail; remove it now so later appends are clean.
      (void)::ftruncate(fd_, static_cast<off_t>(log_bytes_));
      return unexpected{ec};
    }
    log_bytes_ += rec.size();
    seq_ = seq;
    apply(op, std::string{key}, std::string{value});
    ++unsynced_;
    switch (opts_.sync.when) {
      case fsync_policy::mode::every_record:
        if (auto r = sync(); !r) return unexpected{r.error()};
        break;
      case fsync_policy::mode::every_n:
        if (unsynced_ >= opts_.sync.n)
          if (auto r = sync(); !r) return unexpected{r.error()};
        break;
      case fsync_policy::mode::none:
        durable_ = seq_;
        break;
    }
    if (opts_.compact_after_bytes > 0 && log_bytes_ > opts_.compact_after_bytes)
      if (auto r = compact(); !r) return unexpected{r.error()};
    return seq;
  }

  result<void> write_snapshot() {
    std::string b = "PVMKSNAP";
    put_u32(b, snapshot_version);
    put_u64(b, seq_);
    put_u64(b, state_.size());
    for (const auto& [k, v] : state_) {
      put_u32(b, static_cast<std::uint32_t>(k.size()));
      b.append(k);
      put_u32(b, static_cast<std::uint32_t>(v.size()));
      b.append(v);
    }
    put_u32(b, crc32(std::string_view{b}));
    const int fd = ::open(tmp_path().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return unexpected{last_error()};
    if (!write_all(fd, b) || ::fsync(fd) != 0) {
      const auto ec = last_error();
      ::close(fd);
      return unexpected{ec};
    }
    ::close(fd);
    if (::rename(tmp_path().c_str(), snapshot_path().c_str()) != 0) return unexpected{last_error()};
    sync_dir();
    return {};
  }

  // The rename (or the log's creation) is durable only once the directory is.
  void sync_dir() const {
    const int d = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d < 0) return;
    (void)::fsync(d);
    ::close(d);
  }

  std::filesystem::path dir_;
  journal_options opts_{};
  map_type state_;
  journal_recovery_report report_;
  int fd_ = -1;
  std::uint64_t seq_ = 0;
  std::uint64_t durable_ = 0;
  std::size_t unsynced_ = 0;
  std::uint64_t log_bytes_ = 0;
};

}  // namespace pvmkit::recovery
