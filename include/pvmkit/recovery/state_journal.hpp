// state_journal: durable key-value state for a component that must come back with its state
// (a XenStore, a toolstack's domain table). A snapshot file plus an append-only write-ahead log in
// one directory, locked by one journal object at a time.
//
//   wal        = header | record*            (format 2: format 1 logs had no header and no salt)
//   header     = "PVMKWAL\0" | u32 version=2 | u32 0 | u64 salt | u64 base seq | u32 crc32(the 32 bytes before)
//   record     = "PVJR" | u8 op (1 put, 2 erase) | 3 x u8 0 | u32 key length | u32 value length | u64 seq
//                | u64 acked seq | u32 crc32(key value) | u32 crc32 seeded by the salt (the 36 bytes before)
//                | key | value
//   snapshot   = "PVMKSNAP" | u32 version=1 | u64 seq | u64 count | count x (u32 len key u32 len value)
//                | u32 crc32(everything before it)                        (unchanged since format 1)
//
// All integers little-endian. Records follow each other with seq = base + 1, + 2, ... A record's
// acked seq is what had been acknowledged when it was written: it is why format 2 exists, it lets
// recovery tell a torn write from damage to acknowledged data.
//
// Guarantees (docs/recovery.md, "State journal guarantees"):
// - A write is acknowledged once durable_seq() >= its seq: after its fdatasync (every_record), its
//   group's (every(n)), or at once (none: survives kill -9, not a power cut). state() shows only
//   acknowledged writes; last_seq() counts appended ones.
// - Recovery streams both files (one record and a 64 KiB buffer in memory besides the state).
//   At the first damaged record it looks at the rest of the log. Torn tail (nothing of this log
//   after it, or only records written before the damaged one was acknowledged): cut off and
//   reported; when intact records are cut off a copy of the log is kept as wal.quarantine-N.
//   Damage to acknowledged data (a later record says it was acknowledged): open() refuses with
//   journal_errc::corrupt_log and changes nothing, unless corruption_policy::salvage is asked for
//   (a quarantine copy, then the records before the damage are kept). A damaged snapshot or log
//   header, or a snapshot and log that do not fit together, are refused the same way.
// - Limits: journal_limits (key 64 KiB, value 16 MiB), checked by put() before anything is written.
//   Sequence numbers end at 2^64-1: the next put() fails with sequence_exhausted.
// - One journal object per directory: an flock on dir/lock; a second open fails with locked.
// - Compaction is on by default: before an append, when the log exceeds
//   max(compact_after_bytes = 4 MiB, the last snapshot's size). Snapshot: temp file, fsync,
//   rename, directory fsync; then a new log the same way. A crash between the two leaves records
//   with seq <= the snapshot's in the old log, skipped at recovery.
// - Fail-stop: the first failed write, sync, rename or directory fsync stops the journal: that call
//   returns the system's error, every later one journal_errc::stopped (failure() says what failed),
//   nothing more is acknowledged and state() stays the last acknowledged state. Reopen to recover.
#pragma once

#include <pvmkit/core/result.hpp>
#include <pvmkit/recovery/crc32.hpp>
#include <pvmkit/recovery/journal_error.hpp>
#include <pvmkit/recovery/journal_format.hpp>
#include <pvmkit/recovery/journal_io.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

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
  // Compact before an append once the log is larger than this and than the last snapshot (so that
  // rewriting the snapshot costs no more I/O than the log it replaces); 0 = never.
  std::size_t compact_after_bytes = std::size_t{4} << 20;
  corruption_policy on_corruption = corruption_policy::refuse;
};

template <JournalIo Io>
class basic_state_journal;

// A ByteSource over an open file of a JournalIo.
template <JournalIo Io>
struct journal_file_source {
  Io* io;
  int fd;
  std::uint64_t bytes;
  [[nodiscard]] std::uint64_t size() const noexcept { return bytes; }
  [[nodiscard]] result<std::size_t> read_at(std::span<char> out, std::uint64_t offset) const {
    return io->read_at(fd, out, offset);
  }
};

template <JournalIo Io = posix_journal_io>
class basic_state_journal {
 public:
  using map_type = journal_map;

  // Locks the directory (created if missing), recovers, repairs what recovery found (a torn tail
  // is cut off, an interrupted compaction finished), and opens the log for appending. On failure
  // *why (if given) says what and where; files are left as they were unless the repair itself
  // failed half-way, which the next open redoes.
  static result<basic_state_journal> open(const std::filesystem::path& dir, journal_options opts = {}, Io io = {},
                                          std::string* why = nullptr) {
    basic_state_journal j(dir, opts, std::move(io));
    std::string ignored;
    std::string& w = why ? *why : ignored;
    try {
      if (auto r = j.open_files(w); !r) return unexpected{r.error()};
    } catch (const std::bad_alloc&) {
      w = "out of memory while recovering " + dir.string();
      return unexpected{std::make_error_code(std::errc::not_enough_memory)};
    }
    return j;
  }

  basic_state_journal(basic_state_journal&& o) noexcept : io_(o.io_) { take(o); }
  basic_state_journal& operator=(basic_state_journal&& o) noexcept {
    if (this != &o) {
      release();
      take(o);
    }
    return *this;
  }
  basic_state_journal(const basic_state_journal&) = delete;
  basic_state_journal& operator=(const basic_state_journal&) = delete;
  ~basic_state_journal() { release(); }

  // Appends; returns the record's seq, acknowledged once durable_seq() >= seq (at once under
  // every_record and none). A key or value beyond journal_limits is refused (record_too_large)
  // before anything is written, and the journal stays usable.
  result<std::uint64_t> put(std::string_view key, std::string_view value) {
    return append(journal_format::op_put, key, value);
  }
  result<std::uint64_t> erase(std::string_view key) { return append(journal_format::op_erase, key, {}); }

  // Makes every appended record durable and acknowledges it (ends a group under every_n).
  result<void> sync() {
    if (stopped_) return unexpected{journal_errc::stopped};
    if (synced_ < seq_) {
      if (auto r = io_.sync_data(wal_fd_); !r) return stop("fdatasync of " + log_path().string(), r.error());
      synced_ = seq_;
    }
    acknowledge();
    return {};
  }

  // Writes the acknowledged state as the snapshot and starts an empty log.
  result<void> compact() {
    if (auto r = sync(); !r) return r;
    if (auto r = write_snapshot(); !r) return r;
    return reset_log(seq_);
  }

  [[nodiscard]] const map_type& state() const noexcept { return state_; }  // acknowledged writes only
  [[nodiscard]] const journal_recovery_report& recovery() const noexcept { return report_; }
  [[nodiscard]] std::uint64_t last_seq() const noexcept { return seq_; }
  [[nodiscard]] std::uint64_t durable_seq() const noexcept { return durable_; }
  [[nodiscard]] std::uint64_t log_bytes() const noexcept { return log_bytes_; }
  [[nodiscard]] bool stopped() const noexcept { return stopped_; }
  [[nodiscard]] const std::string& failure() const noexcept { return failure_; }  // what stopped it
  [[nodiscard]] const journal_options& options() const noexcept { return opts_; }
  [[nodiscard]] std::filesystem::path log_path() const { return dir_ / "wal"; }
  [[nodiscard]] std::filesystem::path snapshot_path() const { return dir_ / "snapshot"; }
  [[nodiscard]] std::filesystem::path lock_path() const { return dir_ / "lock"; }

 private:
  struct pending_write {
    unsigned char op;
    std::string key;
    std::string value;
  };

  basic_state_journal(std::filesystem::path dir, journal_options opts, Io io)
      : io_(std::move(io)), dir_(std::move(dir)), opts_(opts) {}

  [[nodiscard]] std::filesystem::path snapshot_tmp() const { return dir_ / "snapshot.tmp"; }
  [[nodiscard]] std::filesystem::path log_tmp() const { return dir_ / "wal.tmp"; }
  [[nodiscard]] std::filesystem::path quarantine_tmp() const { return dir_ / "wal.quarantine.tmp"; }

  void take(basic_state_journal& o) noexcept {
    io_ = o.io_;
    dir_ = std::move(o.dir_);
    opts_ = o.opts_;
    state_ = std::move(o.state_);
    pending_ = std::move(o.pending_);
    report_ = std::move(o.report_);
    failure_ = std::move(o.failure_);
    wal_fd_ = std::exchange(o.wal_fd_, -1);
    lock_fd_ = std::exchange(o.lock_fd_, -1);
    stopped_ = o.stopped_;
    seq_ = o.seq_;
    durable_ = o.durable_;
    synced_ = o.synced_;
    log_bytes_ = o.log_bytes_;
    snapshot_bytes_ = o.snapshot_bytes_;
    salt_ = o.salt_;
  }

  void release() noexcept {
    if (wal_fd_ >= 0) io_.close(wal_fd_);
    if (lock_fd_ >= 0) io_.unlock(lock_fd_);
    wal_fd_ = lock_fd_ = -1;
  }

  // Fail-stop: from now on nothing is written, synced or acknowledged.
  unexpected stop(const std::string& what, std::error_code ec) {
    stopped_ = true;
    failure_ = what + " failed: " + ec.message() + "; the journal accepts no more writes (reopen it to recover)";
    return unexpected{ec};
  }

  void acknowledge() {
    for (auto& p : pending_) apply(state_, p.op, std::move(p.key), std::move(p.value));
    pending_.clear();
    durable_ = seq_;
  }

  static void apply(map_type& m, unsigned char op, std::string key, std::string value) {
    if (op == journal_format::op_put) m.insert_or_assign(std::move(key), std::move(value));
    else if (auto it = m.find(key); it != m.end()) m.erase(it);
  }

  // Opens a file for recovery: nullopt-like -1 when it does not exist.
  result<int> open_existing(const std::filesystem::path& p) {
    auto fd = io_.open_read(p);
    if (!fd && fd.error() == std::errc::no_such_file_or_directory) return -1;
    return fd;
  }

  result<void> make_dirs(std::string& why) {
    std::filesystem::path at;
    for (const auto& part : dir_) {
      at /= part;
      if (at == at.root_path()) continue;
      auto made = io_.make_dir(at);
      if (!made) {
        why = "cannot create " + at.string() + ": " + made.error().message();
        return unexpected{made.error()};
      }
      if (*made) {  // a new directory is durable only once its parent is synced
        const auto parent = at.has_parent_path() ? at.parent_path() : std::filesystem::path{"."};
        if (auto r = io_.sync_dir(parent); !r) {
          why = "fsync of directory " + parent.string() + " failed: " + r.error().message();
          return r;
        }
      }
    }
    return {};
  }

  result<void> open_files(std::string& why) {
    if (auto r = make_dirs(why); !r) return r;
    auto lock = io_.lock(lock_path());
    if (!lock) {
      why = lock.error() == journal_errc::locked
                ? lock_path().string() + " is held: the journal in " + dir_.string() + " is already open (in this process or another)"
                : "cannot lock " + lock_path().string() + ": " + lock.error().message();
      return unexpected{lock.error()};
    }
    lock_fd_ = *lock;
    for (const auto& p : {snapshot_tmp(), log_tmp(), quarantine_tmp()})  // left by a crash
      if (auto r = io_.remove(p); !r) {
        why = "cannot remove " + p.string() + ": " + r.error().message();
        return r;
      }

    auto snap_fd = open_existing(snapshot_path());
    auto log_fd = snap_fd ? open_existing(log_path()) : result<int>{-1};
    auto close_both = [&] {
      if (snap_fd && *snap_fd >= 0) io_.close(*snap_fd);
      if (log_fd && *log_fd >= 0) io_.close(*log_fd);
    };
    if (!snap_fd || !log_fd) {
      const auto ec = !snap_fd ? snap_fd.error() : log_fd.error();
      close_both();
      why = "cannot open the journal's files in " + dir_.string() + ": " + ec.message();
      return unexpected{ec};
    }
    auto sized = [&](int fd) -> result<journal_file_source<Io>> {
      auto n = io_.size(fd);
      if (!n) return unexpected{n.error()};
      return journal_file_source<Io>{&io_, fd, *n};
    };
    result<journal_file_source<Io>> snap = *snap_fd >= 0 ? sized(*snap_fd) : journal_file_source<Io>{};
    result<journal_file_source<Io>> log = *log_fd >= 0 ? sized(*log_fd) : journal_file_source<Io>{};
    result<recovered_journal> rec = unexpected{std::make_error_code(std::errc::io_error)};
    if (!snap || !log) rec = unexpected{!snap ? snap.error() : log.error()};
    else rec = recover_journal(*snap_fd >= 0 ? &*snap : nullptr, *log_fd >= 0 ? &*log : nullptr, opts_.on_corruption, &why);
    close_both();
    if (!rec) {
      why = dir_.string() + ": " + (why.empty() ? rec.error().message() : why);
      return unexpected{rec.error()};
    }
    state_ = std::move(rec->state);
    report_ = std::move(rec->report);
    salt_ = rec->salt;
    seq_ = durable_ = synced_ = report_.last_seq;
    snapshot_bytes_ = report_.snapshot_bytes;
    auto failed = [&](const result<void>& r) {
      why = dir_.string() + ": repairing the journal: " + failure_;
      return r;
    };
    if (!report_.log_present) {  // a new journal
      if (auto r = reset_log(0); !r) return failed(r);
    } else {
      if (report_.log_header_damaged || report_.acknowledged_damage || report_.records_after_damage > 0)
        if (auto r = quarantine_log(); !r) return failed(r);
      if (report_.log_header_damaged || report_.log_last_seq < report_.snapshot_seq) {
        // No usable record of the log is newer than the snapshot (a compaction interrupted before
        // its new log, or salvage): finish the compaction.
        if (auto r = reset_log(report_.snapshot_seq); !r) return failed(r);
      } else {
        if (auto r = open_log_for_append(); !r) return failed(r);
        if (report_.discarded_bytes > 0) {
          // Cut the damage off so that new records follow the last good one, durably before any.
          if (auto r = io_.truncate(wal_fd_, report_.good_bytes); !r) return failed(stop("truncating " + log_path().string(), r.error()));
          if (auto r = io_.sync(wal_fd_); !r) return failed(stop("fsync of " + log_path().string(), r.error()));
        }
        log_bytes_ = report_.good_bytes;
      }
    }
    return {};
  }

  result<void> open_log_for_append() {
    auto fd = io_.open_append(log_path());
    if (!fd) return stop("opening " + log_path().string(), fd.error());
    wal_fd_ = *fd;
    return {};
  }

  // Writes a file through a 64 KiB buffer: create, append, fsync, close.
  class file_writer {
   public:
    file_writer(Io& io, int fd) : io_(io), fd_(fd) { buf_.reserve(buffer_bytes); }
    result<void> write(std::string_view s) {
      while (!s.empty()) {
        const std::size_t n = std::min(s.size(), buffer_bytes - buf_.size());
        buf_.append(s.substr(0, n));
        s.remove_prefix(n);
        if (buf_.size() == buffer_bytes)
          if (auto r = flush(); !r) return r;
      }
      return {};
    }
    result<void> flush() {
      if (buf_.empty()) return {};
      auto r = io_.append(fd_, std::span<const char>{buf_.data(), buf_.size()});
      buf_.clear();
      return r;
    }

   private:
    static constexpr std::size_t buffer_bytes = std::size_t{64} << 10;
    Io& io_;
    int fd_;
    std::string buf_;
  };

  // Writes `fill` into tmp, makes it durable and renames it to `to`, durably.
  template <class Fill>
  result<void> replace_file(const std::filesystem::path& tmp, const std::filesystem::path& to, Fill fill) {
    auto fd = io_.create(tmp);
    if (!fd) return stop("creating " + tmp.string(), fd.error());
    file_writer out(io_, *fd);
    auto r = fill(out);
    if (r) r = out.flush();
    if (!r) {
      io_.close(*fd);
      return stop("writing " + tmp.string(), r.error());
    }
    r = io_.sync(*fd);
    io_.close(*fd);
    if (!r) return stop("fsync of " + tmp.string(), r.error());
    if (r = io_.rename(tmp, to); !r) return stop("renaming " + tmp.string() + " to " + to.string(), r.error());
    if (r = io_.sync_dir(dir_); !r) return stop("fsync of directory " + dir_.string(), r.error());
    return {};
  }

  result<void> write_snapshot() {
    namespace f = journal_format;
    std::uint64_t written = 0;
    auto r = replace_file(snapshot_tmp(), snapshot_path(), [&](file_writer& out) -> result<void> {
      std::uint32_t crc = 0;
      auto emit = [&](std::string_view s) {
        crc = crc32(s, crc);
        written += s.size();
        return out.write(s);
      };
      std::string b{f::snapshot_magic};
      f::append_le(b, f::snapshot_version, 4);
      f::append_le(b, seq_, 8);
      f::append_le(b, state_.size(), 8);
      if (auto e = emit(b); !e) return e;
      for (const auto& [k, v] : state_) {
        b.clear();
        f::append_le(b, k.size(), 4);
        if (auto e = emit(b); !e) return e;
        if (auto e = emit(k); !e) return e;
        b.clear();
        f::append_le(b, v.size(), 4);
        if (auto e = emit(b); !e) return e;
        if (auto e = emit(v); !e) return e;
      }
      b.clear();
      f::append_le(b, crc, 4);
      written += 4;
      return out.write(b);
    });
    if (r) snapshot_bytes_ = written;
    return r;
  }

  // A new, empty log whose records start after base (a fresh salt, so nothing of an older log can
  // pass for one of its records), renamed over the old one.
  result<void> reset_log(std::uint64_t base) {
    const std::uint64_t salt = io_.new_salt();
    if (auto r = replace_file(log_tmp(), log_path(), [&](file_writer& out) { return out.write(journal_format::log_header(salt, base)); });
        !r)
      return r;
    if (wal_fd_ >= 0) io_.close(wal_fd_);
    wal_fd_ = -1;
    if (auto r = open_log_for_append(); !r) return r;
    salt_ = salt;
    log_bytes_ = journal_format::log_header_bytes;
    return {};
  }

  // Keeps a copy of the whole log (wal.quarantine-N, the first free N) before recovery cuts it.
  result<void> quarantine_log() {
    std::filesystem::path to;
    for (unsigned n = 1;; ++n) {
      to = dir_ / ("wal.quarantine-" + std::to_string(n));
      auto fd = open_existing(to);
      if (!fd) return stop("looking for a quarantine name " + to.string(), fd.error());
      if (*fd < 0) break;
      io_.close(*fd);
    }
    auto in = io_.open_read(log_path());
    if (!in) return stop("opening " + log_path().string(), in.error());
    auto r = replace_file(quarantine_tmp(), to, [&](file_writer& out) -> result<void> {
      std::vector<char> buf(std::size_t{64} << 10);
      for (std::uint64_t at = 0;;) {
        auto n = io_.read_at(*in, std::span<char>{buf}, at);
        if (!n) return unexpected{n.error()};
        if (*n == 0) return {};
        if (auto w = out.write(std::string_view{buf.data(), *n}); !w) return w;
        at += *n;
      }
    });
    io_.close(*in);
    if (r) report_.quarantine = to.string();
    return r;
  }

  result<std::uint64_t> append(unsigned char op, std::string_view key, std::string_view value) {
    if (stopped_) return unexpected{journal_errc::stopped};
    if (key.size() > journal_limits::max_key_bytes || value.size() > journal_limits::max_value_bytes)
      return unexpected{journal_errc::record_too_large};
    if (seq_ == std::numeric_limits<std::uint64_t>::max()) return unexpected{journal_errc::sequence_exhausted};
    if (opts_.compact_after_bytes > 0 && log_bytes_ > std::max<std::uint64_t>(opts_.compact_after_bytes, snapshot_bytes_))
      if (auto r = compact(); !r) return unexpected{r.error()};
    const std::uint64_t seq = seq_ + 1;
    std::string rec;
    rec.reserve(journal_format::record_header_bytes + key.size() + value.size());
    journal_format::append_record(rec, op, key, value, seq, durable_, journal_format::salt_seed(salt_));
    if (auto r = io_.append(wal_fd_, std::span<const char>{rec.data(), rec.size()}); !r)
      return stop("appending to " + log_path().string(), r.error());
    log_bytes_ += rec.size();
    seq_ = seq;
    if (opts_.sync.when == fsync_policy::mode::none) {
      apply(state_, op, std::string{key}, std::string{value});
      durable_ = seq_;
      return seq;
    }
    pending_.push_back({op, std::string{key}, std::string{value}});
    if (opts_.sync.when == fsync_policy::mode::every_record || pending_.size() >= opts_.sync.n)
      if (auto r = sync(); !r) return unexpected{r.error()};
    return seq;
  }

  [[no_unique_address]] Io io_;
  std::filesystem::path dir_;
  journal_options opts_{};
  map_type state_;
  std::vector<pending_write> pending_;  // appended, not yet acknowledged (every_n)
  journal_recovery_report report_;
  std::string failure_;
  int wal_fd_ = -1;
  int lock_fd_ = -1;
  bool stopped_ = false;
  std::uint64_t seq_ = 0;      // last appended
  std::uint64_t durable_ = 0;  // last acknowledged
  std::uint64_t synced_ = 0;   // last covered by an fdatasync
  std::uint64_t log_bytes_ = 0;
  std::uint64_t snapshot_bytes_ = 0;
  std::uint64_t salt_ = 0;
};

using state_journal = basic_state_journal<>;

}  // namespace pvmkit::recovery
