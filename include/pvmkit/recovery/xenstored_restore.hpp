// xenstored_restore: the recovery technique of C xenstored (Xen 4.17) after a kill -9. Stock Xen
// has none: a new xenstored starts empty, running guests lose their names, their devices and
// their watches, and the host cannot create a guest any more (docs/recovery.md, "xenstored on a
// real Xen"). pvmkit brings one back with its state, from three copies that outlive the process:
//
//  - the nodes: xenstored runs with --internal-db=off, so its database is a file whose every
//    acknowledged write is in the page cache when the process dies (recovery/xenstore_tdb.hpp);
//  - the domains' connections and the watches they registered: xenstored's trace (a FIFO that
//    pvmkit reads as it is written, recovery/xenstore_trace.hpp);
//  - the listening socket: a copy taken with pidfd_getfd(2) while xenstored runs, so tools that
//    connect while it is down wait in the backlog instead of failing.
// The dead process's event-channel file closed with it, which unbound its ports: each guest's
// xenstore port is back to "unbound, for dom0" and pvmkit binds it again on a fresh
// /dev/xen/evtchn. A new xenstored then starts with --live-update, reads the state stream pvmkit
// wrote in the documented migration format (recovery/xenstore_state.hpp) and inherits the socket
// and the event-channel file: the same rings, the same ports, the same watches.
#pragma once

#include <pvmkit/core/error.hpp>
#include <pvmkit/core/json_writer.hpp>
#include <pvmkit/core/result.hpp>
#include <pvmkit/linux/pidfd.hpp>
#include <pvmkit/recovery/xenstore_state.hpp>
#include <pvmkit/recovery/xenstore_tdb.hpp>
#include <pvmkit/recovery/xenstore_trace.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <linux/ioctl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

namespace pvmkit::recovery::xenstore {

// ---- what a restore brought back, and what it could not --------------------------------------

struct restore_report {
  std::size_t nodes = 0;
  std::size_t parents_added = 0;        // missing in the database (a torn write): recreated empty
  std::size_t owners_to_dom0 = 0;       // owned by a domain that no longer exists: given to dom0
  std::size_t perms_marked_stale = 0;   // naming a domain that no longer exists
  std::size_t connections = 0;
  std::size_t connections_unbound = 0;  // event channel not bound again: kept, but ignored
  std::size_t watches = 0;
  tdb_report database;
  std::vector<std::string> notes;       // one line per thing not brought back as it was

  void write_json(json_writer& w) const {
    w.begin_object();
    w.field("nodes", static_cast<std::uint64_t>(nodes)).field("connections", static_cast<std::uint64_t>(connections));
    w.field("watches", static_cast<std::uint64_t>(watches)).field("parents_added", static_cast<std::uint64_t>(parents_added));
    w.field("owners_to_dom0", static_cast<std::uint64_t>(owners_to_dom0));
    w.field("perms_marked_stale", static_cast<std::uint64_t>(perms_marked_stale));
    w.field("connections_unbound", static_cast<std::uint64_t>(connections_unbound));
    w.field("db_records", static_cast<std::uint64_t>(database.records));
    w.field("db_transaction_nodes", static_cast<std::uint64_t>(database.transaction_nodes));
    w.field("db_skipped", static_cast<std::uint64_t>(database.skipped));
    if (!database.first_problem.empty()) w.field("db_first_problem", database.first_problem);
    w.key("notes").begin_array();
    for (const auto& n : notes) w.value(n);
    w.end_array();
    w.end_object();
  }
};

// ---- the plan: database nodes + traced connections -> a state stream -------------------------

// The state a new xenstored restores. `bind(domid, store_port)` binds the domain's xenstore event
// channel again and returns the local port (an error leaves the connection in, ignored, so the
// domain still gets its @releaseDomain); `alive(domid)` says whether a domain exists. The master
// domain (dom0) comes first: xenstored creates its database when it restores that connection.
template <class Bind, class Alive>
[[nodiscard]] state plan_restore(const std::vector<node>& db_nodes, std::vector<traced_domain> domains,
                                 const std::map<std::string, std::vector<permission>>& special, Bind&& bind, Alive&& alive,
                                 std::int32_t socket_fd, std::int32_t evtchn_fd, restore_report& rep) {
  state s;
  s.socket_fd = socket_fd;
  s.evtchn_fd = evtchn_fd;
  if (std::none_of(domains.begin(), domains.end(), [](const traced_domain& d) { return d.domid == 0; }))
    domains.insert(domains.begin(), traced_domain{0, 0, {}});
  std::stable_partition(domains.begin(), domains.end(), [](const traced_domain& d) { return d.domid == 0; });
  std::set<std::uint16_t> connected;
  for (const auto& d : domains) {
    ring_connection c;
    c.conn_id = static_cast<std::uint32_t>(s.connections.size() + 1);
    c.domid = d.domid;
    const result<std::uint32_t> port = bind(d.domid, d.store_port);
    if (port) {
      c.port = *port;
    } else {
      ++rep.connections_unbound;
      rep.notes.push_back("domain " + std::to_string(d.domid) + ": its xenstore event channel (port " + std::to_string(d.store_port) +
                          ") was not bound again (" + port.error().message() + "); its connection is kept but ignored");
    }
    s.connections.push_back(c);
    connected.insert(d.domid);
    for (const auto& w : d.watches) s.watches.push_back({c.conn_id, w.path, w.token});
  }
  rep.connections = s.connections.size();
  rep.watches = s.watches.size();

  auto exists = [&](std::uint16_t domid) { return connected.count(domid) > 0 || alive(domid); };
  std::map<std::string, node> tree;
  for (node n : db_nodes) {
    if (n.path == "/" || n.path.empty() || n.path.front() != '/' || n.perms.empty()) continue;
    if (!exists(n.perms.front().domid)) {
      rep.notes.push_back("node " + n.path + ": owner domain " + std::to_string(n.perms.front().domid) + " no longer exists; owned by dom0");
      n.perms.front().domid = 0;
      ++rep.owners_to_dom0;
    }
    for (std::size_t i = 1; i < n.perms.size(); ++i)
      if (!n.perms[i].stale && !exists(n.perms[i].domid)) {
        n.perms[i].stale = true;  // as xenstored marks a permission outliving its domain
        ++rep.perms_marked_stale;
      }
    auto path = n.path;
    tree.emplace(std::move(path), std::move(n));
  }
  // Every node needs its parent before it in the stream; a parent lost to a torn write comes back
  // empty, with the permissions of its nearest surviving ancestor (as xenstored creates parents).
  std::vector<node> added;
  for (const auto& [path, n] : tree) {
    std::vector<std::string> missing;
    std::string p = path;
    for (auto slash = p.rfind('/'); slash != std::string::npos && slash > 0; slash = p.rfind('/')) {
      p.resize(slash);
      if (tree.count(p)) break;
      if (std::any_of(added.begin(), added.end(), [&](const node& a) { return a.path == p; })) break;
      missing.push_back(p);
    }
    if (missing.empty()) continue;
    std::vector<permission> perms{{'n', false, 0}};
    std::string anc = missing.back();
    for (auto slash = anc.rfind('/'); slash != std::string::npos && slash > 0; slash = anc.rfind('/')) {
      anc.resize(slash);
      if (auto it = tree.find(anc); it != tree.end()) {
        perms = it->second.perms;
        break;
      }
    }
    for (auto& m : missing) {
      rep.notes.push_back("node " + m + ": missing from the database under " + path + "; recreated empty");
      added.push_back({std::move(m), {}, perms});
    }
  }
  rep.parents_added = added.size();
  for (auto& a : added) {
    auto path = a.path;
    tree.emplace(std::move(path), std::move(a));
  }
  for (auto& [path, n] : tree) s.nodes.push_back(std::move(n));
  rep.nodes = s.nodes.size();
  for (const char* sp : {"@releaseDomain", "@introduceDomain"}) {
    const auto it = special.find(sp);
    s.nodes.push_back({sp, {}, it == special.end() ? std::vector<permission>{{'n', false, 0}} : it->second});
  }
  return s;
}

// ---- Linux's interfaces to Xen (the privcmd-side devices of a dom0) --------------------------

namespace detail {
struct evtchn_bind_interdomain {
  unsigned int remote_domain, remote_port;
};
// Linux's include/uapi/xen/evtchn.h: IOCTL_EVTCHN_BIND_INTERDOMAIN.
inline constexpr unsigned long evtchn_ioctl_bind_interdomain = _IOC(_IOC_NONE, 'E', 1, sizeof(evtchn_bind_interdomain));

[[nodiscard]] inline std::error_code last_error() { return {errno, std::system_category()}; }
}  // namespace detail

// An open /dev/xen/evtchn: the file xenstored's event channels are bound through.
class evtchn_device {
 public:
  evtchn_device() = default;
  explicit evtchn_device(int fd) noexcept : fd_(fd) {}
  evtchn_device(evtchn_device&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  evtchn_device& operator=(evtchn_device&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  evtchn_device(const evtchn_device&) = delete;
  evtchn_device& operator=(const evtchn_device&) = delete;
  ~evtchn_device() { reset(); }

  static result<evtchn_device> open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return unexpected{detail::last_error()};
    return evtchn_device{fd};
  }
  // Binds a local port to <domid, remote_port>; Xen allows it once the remote port is unbound and
  // waiting for dom0, as it is when the process that held the old binding has died.
  result<std::uint32_t> bind_interdomain(std::uint16_t domid, std::uint32_t remote_port) const {
    detail::evtchn_bind_interdomain b{domid, remote_port};
    const int r = ::ioctl(fd_, detail::evtchn_ioctl_bind_interdomain, &b);
    if (r < 0) return unexpected{detail::last_error()};
    return static_cast<std::uint32_t>(r);
  }
  [[nodiscard]] int fd() const noexcept { return fd_; }
  void reset() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// A decimal number in a small file (/proc/xen/xsd_port: dom0's end of its xenstore channel).
[[nodiscard]] inline result<std::uint32_t> read_port_file(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  if (!in || !std::getline(in, text)) return unexpected{make_error_code(errc::backend_unavailable)};
  std::uint32_t v = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (r.ec != std::errc{} || v == 0) return unexpected{make_error_code(errc::corrupt_data)};
  return v;
}

// The inode of the listening Unix socket bound to `path`, from /proc/net/unix ("Num RefCount
// Protocol Flags Type St Inode Path"; Flags 00010000 = __SO_ACCEPTCON: listening). The table shows
// the path as it was bound (xenstored binds /var/run/xenstored/socket, /var/run being a link to
// /run on most systems): both sides are compared once their links are resolved.
[[nodiscard]] inline std::optional<unsigned long> listening_socket_inode(const std::string& path, const std::string& table = "/proc/net/unix") {
  auto resolved = [](const std::string& p) {
    std::error_code ec;
    auto r = std::filesystem::weakly_canonical(p, ec);
    return ec ? p : r.string();
  };
  const std::string want = resolved(path);
  std::ifstream in(table);
  std::string l;
  std::getline(in, l);  // header
  while (std::getline(in, l)) {
    char flags[32] = {}, p[256] = {};
    unsigned long inode = 0;
    if (std::sscanf(l.c_str(), "%*s %*s %*s %31s %*s %*s %lu %255s", flags, &inode, p) == 3 && (path == p || want == resolved(p)) &&
        (std::strtoul(flags, nullptr, 16) & 0x10000UL) != 0)
      return inode;
  }
  return std::nullopt;
}

// A copy of process `pid`'s listening socket on `path` (pidfd_getfd(2)), close-on-exec, placed at
// a descriptor number of at least 100 so that a child's fixed descriptors never collide with it.
[[nodiscard]] inline result<int> copy_listening_socket(pid_t pid, const std::string& path) {
  const auto inode = listening_socket_inode(path);
  if (!inode) return unexpected{make_error_code(errc::unknown_task)};
  const std::string want = "socket:[" + std::to_string(*inode) + "]";
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return unexpected{detail::last_error()};
  int found = -1;
  while (const dirent* e = ::readdir(d)) {
    char target[64] = {};
    const std::string link = dir + "/" + e->d_name;
    const ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
    if (n > 0 && want == std::string_view(target, static_cast<std::size_t>(n))) {
      found = std::atoi(e->d_name);
      break;
    }
  }
  ::closedir(d);
  if (found < 0) return unexpected{make_error_code(errc::unknown_task)};
  const int pidfd = linux_process::pidfd_open(pid);
  if (pidfd < 0) return unexpected{detail::last_error()};
  const int copy = linux_process::pidfd_getfd(pidfd, found);
  const auto ec = detail::last_error();
  ::close(pidfd);
  if (copy < 0) return unexpected{ec};
  const int high = ::fcntl(copy, F_DUPFD_CLOEXEC, 100);
  ::close(copy);
  if (high < 0) return unexpected{detail::last_error()};
  return high;
}

// A new listening socket on `path` (when no copy of the old one could be kept).
[[nodiscard]] inline result<int> listen_unix(const std::string& path) {
  sockaddr_un a{};
  if (path.size() >= sizeof a.sun_path) return unexpected{errc::invalid_argument};
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return unexpected{detail::last_error()};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
  ::unlink(path.c_str());
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 128) != 0) {
    const auto ec = detail::last_error();
    ::close(fd);
    return unexpected{ec};
  }
  const int high = ::fcntl(fd, F_DUPFD_CLOEXEC, 100);
  ::close(fd);
  if (high < 0) return unexpected{detail::last_error()};
  return high;
}

// ---- the technique: everything pvmkit keeps for xenstored between its incarnations -----------

struct xenstored_paths {
  std::string rundir = "/var/run/xenstored";  // XENSTORED_RUNDIR: Xen 4.17 keeps its socket, database (tdb) and state_dump there
  std::string socket = "/var/run/xenstored/socket";
  std::string trace = "/run/pvmkit/xenstored.trace";  // a FIFO pvmkit reads
  std::string port_file = "/proc/xen/xsd_port";
  std::string evtchn_device = "/dev/xen/evtchn";
};

// Descriptor numbers the restored xenstored finds its socket and event-channel file at.
inline constexpr int restored_socket_fd = 60;
inline constexpr int restored_evtchn_fd = 61;

class xenstored_keeper {
 public:
  explicit xenstored_keeper(xenstored_paths p) : paths_(std::move(p)) {}
  xenstored_keeper(const xenstored_keeper&) = delete;
  xenstored_keeper& operator=(const xenstored_keeper&) = delete;
  ~xenstored_keeper() {
    for (int fd : {trace_read_, trace_hold_, socket_})
      if (fd >= 0) ::close(fd);
  }

  // Creates the trace FIFO and opens both of its ends: ours to read, and one held open so that
  // the reader never sees end-of-file between two xenstored processes. 1 MiB of pipe buffer: a
  // busy supervisor must fall far behind before xenstored waits on its trace.
  result<void> open_trace() {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(fs::path(paths_.trace).parent_path(), ec);
    ::unlink(paths_.trace.c_str());
    if (::mkfifo(paths_.trace.c_str(), 0600) != 0) return unexpected{detail::last_error()};
    trace_read_ = ::open(paths_.trace.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (trace_read_ < 0) return unexpected{detail::last_error()};
    trace_hold_ = ::open(paths_.trace.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (trace_hold_ < 0) return unexpected{detail::last_error()};
    (void)::fcntl(trace_read_, F_SETPIPE_SZ, 1 << 20);
    return {};
  }
  [[nodiscard]] int trace_fd() const noexcept { return trace_read_; }

  // Reads what the trace holds now. Returns the bytes read.
  std::size_t drain() {
    std::size_t total = 0;
    char buf[1 << 16];
    for (;;) {
      const ssize_t n = ::read(trace_read_, buf, sizeof buf);
      if (n <= 0) break;
      tracker_.feed(std::string_view(buf, static_cast<std::size_t>(n)));
      total += static_cast<std::size_t>(n);
    }
    return total;
  }

  // The arguments pvmkit adds to the configured command line.
  [[nodiscard]] std::vector<std::string> extra_args(bool restore) const {
    std::vector<std::string> a{"--no-fork", "--internal-db=off", "--trace-file", paths_.trace};
    if (restore) a.emplace_back("--live-update");
    return a;
  }
  [[nodiscard]] std::string database_path() const { return paths_.rundir + "/tdb"; }
  [[nodiscard]] std::string state_path() const { return paths_.rundir + "/state_dump"; }
  [[nodiscard]] bool has_database() const { return ::access(database_path().c_str(), R_OK) == 0; }

  // Before a start with an empty store.
  void prepare_fresh() {
    drain();
    ::unlink(state_path().c_str());
    tracker_.begin_incarnation({});
    restored_ = false;
  }

  // Before a start with --live-update: reads the dead process's database and the trace, binds the
  // domains' event channels again, writes the state stream. Returns the descriptors the new
  // process inherits ((ours, its number)); they stay open here until started() is called.
  result<std::vector<std::pair<int, int>>> prepare_restore(const std::function<bool(std::uint16_t)>& alive, restore_report& rep) {
    drain();
    // A restored process that never became ready may have replaced the database with part of its
    // own: the nodes read for it are used again until one restore succeeds.
    if (!pending_) {
      std::string db;
      {
        std::ifstream in(database_path(), std::ios::binary);
        if (!in) return unexpected{make_error_code(errc::backend_unavailable)};
        db.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      }
      try {
        pending_ = read_tdb(db);
      } catch (const config_error& e) {
        rep.notes.emplace_back(e.what());
        return unexpected{make_error_code(errc::corrupt_data)};
      }
    }
    const tdb_contents& contents = *pending_;
    rep.database = contents.report;
    if (socket_ < 0) {
      auto s = listen_unix(paths_.socket);
      if (!s) return unexpected{s.error()};
      socket_ = *s;
      rep.notes.emplace_back("no copy of the listening socket was held: a new one was made; clients connected before are gone either way");
    }
    auto dev = evtchn_device::open(paths_.evtchn_device);
    if (!dev) return unexpected{dev.error()};
    evtchn_ = std::move(*dev);
    const int lifted = ::fcntl(evtchn_.fd(), F_DUPFD_CLOEXEC, 100);
    if (lifted < 0) return unexpected{detail::last_error()};
    evtchn_ = evtchn_device{lifted};  // (the low descriptor closes with the moved-from object)
    auto bind = [&](std::uint16_t domid, std::uint32_t port) -> result<std::uint32_t> {
      if (domid == 0) {
        auto p = read_port_file(paths_.port_file);
        if (!p) return unexpected{p.error()};
        port = *p;
      }
      if (port == 0) return unexpected{make_error_code(errc::invalid_state)};
      result<std::uint32_t> r = evtchn_.bind_interdomain(domid, port);
      for (int attempt = 0; !r && attempt < 20; ++attempt) {  // the old file's release may still be running
        ::usleep(10000);
        r = evtchn_.bind_interdomain(domid, port);
      }
      return r;
    };
    auto domains = tracker_.domains();
    state s = plan_restore(contents.nodes, domains, tracker_.special_perms(), bind, alive, restored_socket_fd, restored_evtchn_fd, rep);
    std::string stream;
    try {
      stream = write_state(s);
    } catch (const config_error& e) {
      rep.notes.emplace_back(e.what());
      return unexpected{make_error_code(errc::invalid_argument)};
    }
    const std::string tmp = state_path() + ".pvmkit";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out.write(stream.data(), static_cast<std::streamsize>(stream.size()));
      if (!out) return unexpected{make_error_code(errc::backend_failure)};
    }
    if (::rename(tmp.c_str(), state_path().c_str()) != 0) return unexpected{detail::last_error()};
    // The restored process creates the stream's ring connections first, in the stream's order.
    std::vector<traced_domain> restored;
    for (const auto& c : s.connections) {
      traced_domain d{c.domid, 0, {}};
      for (const auto& td : domains)
        if (td.domid == c.domid) d = td;
      restored.push_back(std::move(d));
    }
    tracker_.begin_incarnation(std::move(restored));
    restored_ = true;
    last_state_ = std::move(s);
    return std::vector<std::pair<int, int>>{{socket_, restored_socket_fd}, {evtchn_.fd(), restored_evtchn_fd}};
  }

  // After the process started: our copy of the event-channel file goes (the new process holds
  // it; ours would keep its ports bound after that process dies), and a copy of the listening
  // socket is taken if none is held (a fresh xenstored makes its own).
  result<void> started(pid_t pid) {
    evtchn_.reset();
    pending_.reset();
    if (!restored_) {
      if (socket_ >= 0) ::close(socket_);
      socket_ = -1;
      auto s = copy_listening_socket(pid, paths_.socket);
      if (!s) return unexpected{s.error()};
      socket_ = *s;
    }
    return {};
  }

  [[nodiscard]] const trace_tracker& tracker() const noexcept { return tracker_; }
  [[nodiscard]] const state& last_restored_state() const noexcept { return last_state_; }
  [[nodiscard]] bool holds_socket() const noexcept { return socket_ >= 0; }
  [[nodiscard]] const xenstored_paths& paths() const noexcept { return paths_; }

 private:
  xenstored_paths paths_;
  trace_tracker tracker_;
  int trace_read_ = -1;
  int trace_hold_ = -1;
  int socket_ = -1;
  evtchn_device evtchn_;
  bool restored_ = false;
  state last_state_;
  std::optional<tdb_contents> pending_;
};

}  // namespace pvmkit::recovery::xenstore
