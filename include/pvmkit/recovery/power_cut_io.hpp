// power_cut_io: a JournalIo over an in-memory file system that knows what is durable, to test what
// a power cut does to the journal (or to anything written through a JournalIo), the way SQLite's
// crash tests do.
//
// Model. Each file has the data a reader sees and the data on disk. A write or truncate changes
// the former at once and joins a list of pending operations, in the order they were made; a
// create, rename or remove changes the names at once and joins the same list. sync_data/sync of
// a file puts its pending data operations on disk; sync_dir of a directory its pending name
// operations. A failed sync loses the file's pending data operations for good (the kernel marks
// the pages clean; Linux since 4.13): the reader still sees them, the disk never will.
// after(cut) is the disk after a power cut: the durable state plus the first `keep` pending
// operations, the next one torn after `torn` bytes (the rest lost, or read back as zeros when
// zero_fill: the size reached the disk, the data did not), or all pending operations but one
// (`drop`: the disk reordered writes that were never synced).
//
// on_call sees every write and sync with the state a power cut during that call could leave: a
// write, truncate, create, rename or remove is already pending; a sync has not happened yet.
// inject makes a call fail (return an error) without effect.
#pragma once

#include <pvmkit/core/random.hpp>
#include <pvmkit/core/result.hpp>
#include <pvmkit/recovery/journal_error.hpp>
#include <pvmkit/recovery/journal_io.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace pvmkit::recovery {

class power_cut_fs {
 public:
  enum class call_kind : std::uint8_t { create, append, truncate, sync_data, sync, rename, remove, sync_dir };
  struct call {
    std::size_t index = 0;  // counts the calls above, from 0
    call_kind kind{};
    std::string path;
    std::size_t bytes = 0;  // of an append
  };

  struct op {
    enum class kind_t : std::uint8_t { write, truncate, link, unlink, rename } kind{};
    std::uint64_t inode = 0;
    std::uint64_t offset = 0;  // write: where; truncate: the new size
    std::string bytes;         // write
    std::string name, to;      // link, unlink, rename
    [[nodiscard]] bool is_data() const noexcept { return kind == kind_t::write || kind == kind_t::truncate; }
  };

  struct cut {
    std::size_t keep = 0;
    std::optional<std::size_t> torn;
    bool zero_fill = false;
    std::optional<std::size_t> drop;
  };

  std::function<void(const power_cut_fs&, const call&)> on_call;
  std::function<std::error_code(const call&)> inject;

  // A file as a reader sees it; nullopt if absent.
  [[nodiscard]] std::optional<std::string> file(const std::filesystem::path& p) const {
    const auto it = names_.find(p.string());
    if (it == names_.end()) return std::nullopt;
    return inodes_.at(it->second).cache;
  }
  // Puts a file on disk, durably (a test's starting point).
  void set_file(const std::filesystem::path& p, std::string bytes) {
    const auto id = next_inode_++;
    inodes_[id] = {bytes, bytes};
    names_[p.string()] = durable_names_[p.string()] = id;
    dirs_.insert(p.parent_path().string());
  }
  [[nodiscard]] std::vector<std::string> files() const {
    std::vector<std::string> out;
    for (const auto& [name, id] : names_) out.push_back(name);
    return out;
  }
  // Names and contents, hashed: equal for equal file systems (a test skips disks it has seen).
  [[nodiscard]] std::size_t content_hash() const {
    std::size_t h = 0;
    for (const auto& [name, id] : names_)
      for (std::string_view part : {std::string_view{name}, std::string_view{inodes_.at(id).cache}})
        h = (h ^ std::hash<std::string_view>{}(part)) * 0x100000001B3ULL;
    return h;
  }
  [[nodiscard]] std::size_t calls() const noexcept { return calls_; }
  // Changes whenever a file, a name or what is durable changes: equal versions, equal cuts.
  [[nodiscard]] std::uint64_t version() const noexcept { return version_; }
  [[nodiscard]] std::size_t largest_read() const noexcept { return largest_read_; }
  [[nodiscard]] const std::vector<op>& pending() const noexcept { return pending_; }

  [[nodiscard]] power_cut_fs after(const cut& c) const {
    std::map<std::string, std::uint64_t> names = durable_names_;
    std::map<std::uint64_t, std::string> data;  // of the files a cut can reach
    for (const auto& [name, id] : names) data[id] = inodes_.at(id).disk;
    for (const auto& o : pending_)
      if (o.is_data() || o.kind == op::kind_t::link) data.try_emplace(o.inode, inodes_.at(o.inode).disk);
    for (std::size_t i = 0; i < pending_.size(); ++i) {
      if (c.drop) {
        if (i != *c.drop) land(pending_[i], names, data, std::nullopt, false);
      } else if (i < c.keep) {
        land(pending_[i], names, data, std::nullopt, false);
      } else {
        if (i == c.keep && c.torn) land(pending_[i], names, data, c.torn, c.zero_fill);
        break;
      }
    }
    power_cut_fs out;
    out.dirs_ = dirs_;
    out.next_inode_ = next_inode_;
    out.salt_ = salt_;
    for (const auto& [name, id] : names) {
      out.names_[name] = out.durable_names_[name] = id;
      out.inodes_[id] = {data[id], data[id]};
    }
    return out;
  }

  // The operations of power_cut_io.
  result<int> open_read(const std::filesystem::path& p) { return open_existing(p); }
  result<int> open_append(const std::filesystem::path& p) { return open_existing(p); }
  result<int> create(const std::filesystem::path& p) {
    const std::string name = p.string();
    if (auto e = begin({0, call_kind::create, name, 0})) return unexpected{e};
    if (const auto it = names_.find(name); it != names_.end()) {
      inodes_[it->second].cache.clear();
      pending_.push_back({op::kind_t::truncate, it->second, 0, {}, {}, {}});
    } else {
      const auto id = next_inode_++;
      inodes_[id] = {};
      names_[name] = id;
      pending_.push_back({op::kind_t::link, id, 0, {}, name, {}});
    }
    const int fd = next_fd_++;
    fds_[fd] = {names_[name], name};
    done_mutation();
    return fd;
  }
  void close(int fd) noexcept { fds_.erase(fd); }
  result<std::uint64_t> size(int fd) {
    const auto f = fds_.find(fd);
    if (f == fds_.end()) return unexpected{std::make_error_code(std::errc::bad_file_descriptor)};
    return static_cast<std::uint64_t>(inodes_[f->second.inode].cache.size());
  }
  result<std::size_t> read_at(int fd, std::span<char> out, std::uint64_t offset) {
    const auto f = fds_.find(fd);
    if (f == fds_.end()) return unexpected{std::make_error_code(std::errc::bad_file_descriptor)};
    largest_read_ = std::max(largest_read_, out.size());
    const std::string& d = inodes_[f->second.inode].cache;
    if (offset >= d.size()) return std::size_t{0};
    const auto n = std::min(out.size(), d.size() - static_cast<std::size_t>(offset));
    std::memcpy(out.data(), d.data() + offset, n);
    return n;
  }
  result<void> append(int fd, std::span<const char> in) {
    const auto f = fds_.find(fd);
    if (f == fds_.end()) return unexpected{std::make_error_code(std::errc::bad_file_descriptor)};
    if (auto e = begin({0, call_kind::append, f->second.path, in.size()})) return unexpected{e};
    std::string& d = inodes_[f->second.inode].cache;
    pending_.push_back({op::kind_t::write, f->second.inode, d.size(), std::string{in.data(), in.size()}, {}, {}});
    d.append(in.data(), in.size());
    done_mutation();
    return {};
  }
  result<void> truncate(int fd, std::uint64_t n) {
    const auto f = fds_.find(fd);
    if (f == fds_.end()) return unexpected{std::make_error_code(std::errc::bad_file_descriptor)};
    if (auto e = begin({0, call_kind::truncate, f->second.path, 0})) return unexpected{e};
    inodes_[f->second.inode].cache.resize(static_cast<std::size_t>(n));
    pending_.push_back({op::kind_t::truncate, f->second.inode, n, {}, {}, {}});
    done_mutation();
    return {};
  }
  result<void> sync_file(int fd, call_kind kind) {
    const auto f = fds_.find(fd);
    if (f == fds_.end()) return unexpected{std::make_error_code(std::errc::bad_file_descriptor)};
    const auto id = f->second.inode;
    const auto e = begin({0, kind, f->second.path, 0});
    if (!e && on_call) on_call(*this, last_);
    std::map<std::string, std::uint64_t> unused;
    std::map<std::uint64_t, std::string> disk{{id, std::move(inodes_[id].disk)}};
    std::erase_if(pending_, [&](const op& o) {
      if (o.inode != id || !o.is_data()) return false;
      if (!e) land(o, unused, disk, std::nullopt, false);
      return true;  // a failed sync loses them
    });
    inodes_[id].disk = std::move(disk[id]);
    ++version_;
    if (e) return unexpected{e};
    return {};
  }
  result<void> rename(const std::filesystem::path& from, const std::filesystem::path& to) {
    const auto it = names_.find(from.string());
    if (it == names_.end()) return unexpected{std::make_error_code(std::errc::no_such_file_or_directory)};
    if (auto e = begin({0, call_kind::rename, to.string(), 0})) return unexpected{e};
    const auto id = it->second;
    names_.erase(it);
    names_[to.string()] = id;
    pending_.push_back({op::kind_t::rename, id, 0, {}, from.string(), to.string()});
    done_mutation();
    return {};
  }
  result<void> remove(const std::filesystem::path& p) {
    const auto it = names_.find(p.string());
    if (it == names_.end()) return {};
    if (auto e = begin({0, call_kind::remove, p.string(), 0})) return unexpected{e};
    pending_.push_back({op::kind_t::unlink, it->second, 0, {}, p.string(), {}});
    names_.erase(it);
    done_mutation();
    return {};
  }
  result<bool> make_dir(const std::filesystem::path& p) { return dirs_.insert(p.string()).second; }
  result<void> sync_dir(const std::filesystem::path& p) {
    const auto e = begin({0, call_kind::sync_dir, p.string(), 0});
    if (e) return unexpected{e};
    if (on_call) on_call(*this, last_);
    std::map<std::uint64_t, std::string> unused;
    std::erase_if(pending_, [&](const op& o) {
      if (o.is_data() || std::filesystem::path{o.kind == op::kind_t::rename ? o.to : o.name}.parent_path() != p) return false;
      land(o, durable_names_, unused, std::nullopt, false);
      return true;
    });
    ++version_;
    return {};
  }
  result<int> lock(const std::filesystem::path& p) {
    for (const auto& [fd, held] : locks_)
      if (held == p.string()) return unexpected{journal_errc::locked};
    const int fd = next_fd_++;
    locks_[fd] = p.string();
    return fd;
  }
  void unlock(int fd) noexcept { locks_.erase(fd); }
  std::uint64_t new_salt() noexcept { return salt_.next(); }  // seeded: a failing run replays

 private:
  struct inode_data {
    std::string cache;
    std::string disk;
  };
  struct open_file {
    std::uint64_t inode = 0;
    std::string path;
  };

  // Counts a call and asks inject whether it fails.
  std::error_code begin(call c) {
    c.index = calls_++;
    last_ = std::move(c);
    return inject ? inject(last_) : std::error_code{};
  }
  void done_mutation() {
    ++version_;
    if (on_call) on_call(*this, last_);
  }

  static void land(const op& o, std::map<std::string, std::uint64_t>& names, std::map<std::uint64_t, std::string>& data,
                   std::optional<std::size_t> torn, bool zero_fill) {
    switch (o.kind) {
      case op::kind_t::write: {
        std::string& d = data[o.inode];
        const auto at = static_cast<std::size_t>(o.offset);
        const std::size_t n = torn ? std::min(*torn, o.bytes.size()) : o.bytes.size();
        if (d.size() < at + n) d.resize(at + n, '\0');
        d.replace(at, n, o.bytes, 0, n);
        if (zero_fill && d.size() < at + o.bytes.size()) d.resize(at + o.bytes.size(), '\0');
        break;
      }
      case op::kind_t::truncate: data[o.inode].resize(static_cast<std::size_t>(o.offset), '\0'); break;
      case op::kind_t::link: names[o.name] = o.inode; break;
      case op::kind_t::unlink: names.erase(o.name); break;
      case op::kind_t::rename:
        if (const auto it = names.find(o.name); it != names.end() && it->second == o.inode) names.erase(it);
        names[o.to] = o.inode;
        break;
    }
  }

  result<int> open_existing(const std::filesystem::path& p) {
    const auto it = names_.find(p.string());
    if (it == names_.end()) return unexpected{std::make_error_code(std::errc::no_such_file_or_directory)};
    const int fd = next_fd_++;
    fds_[fd] = {it->second, p.string()};
    return fd;
  }

  std::map<std::uint64_t, inode_data> inodes_;
  std::map<std::string, std::uint64_t> names_;
  std::map<std::string, std::uint64_t> durable_names_;
  std::vector<op> pending_;
  std::set<std::string> dirs_;
  std::map<int, open_file> fds_;
  std::map<int, std::string> locks_;
  call last_;
  int next_fd_ = 3;
  std::uint64_t next_inode_ = 1;
  splitmix64 salt_{};
  std::size_t calls_ = 0;
  std::size_t largest_read_ = 0;
  std::uint64_t version_ = 0;
};

// The JournalIo over a shared power_cut_fs (copies share it, as processes share a disk).
class power_cut_io {
 public:
  explicit power_cut_io(std::shared_ptr<power_cut_fs> fs) : fs_(std::move(fs)) {}
  [[nodiscard]] power_cut_fs& fs() const noexcept { return *fs_; }

  result<int> open_read(const std::filesystem::path& p) { return fs_->open_read(p); }
  result<int> open_append(const std::filesystem::path& p) { return fs_->open_append(p); }
  result<int> create(const std::filesystem::path& p) { return fs_->create(p); }
  void close(int fd) noexcept { fs_->close(fd); }
  result<std::uint64_t> size(int fd) { return fs_->size(fd); }
  result<std::size_t> read_at(int fd, std::span<char> out, std::uint64_t offset) { return fs_->read_at(fd, out, offset); }
  result<void> append(int fd, std::span<const char> in) { return fs_->append(fd, in); }
  result<void> truncate(int fd, std::uint64_t n) { return fs_->truncate(fd, n); }
  result<void> sync_data(int fd) { return fs_->sync_file(fd, power_cut_fs::call_kind::sync_data); }
  result<void> sync(int fd) { return fs_->sync_file(fd, power_cut_fs::call_kind::sync); }
  result<void> rename(const std::filesystem::path& from, const std::filesystem::path& to) { return fs_->rename(from, to); }
  result<void> remove(const std::filesystem::path& p) { return fs_->remove(p); }
  result<bool> make_dir(const std::filesystem::path& p) { return fs_->make_dir(p); }
  result<void> sync_dir(const std::filesystem::path& p) { return fs_->sync_dir(p); }
  result<int> lock(const std::filesystem::path& p) { return fs_->lock(p); }
  void unlock(int fd) noexcept { fs_->unlock(fd); }
  std::uint64_t new_salt() noexcept { return fs_->new_salt(); }

 private:
  std::shared_ptr<power_cut_fs> fs_;
};
static_assert(JournalIo<power_cut_io>);

}  // namespace pvmkit::recovery
