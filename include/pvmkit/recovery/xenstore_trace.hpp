// xenstore_trace: which domains are connected to xenstored and which watches they registered,
// followed from xenstored's trace (--trace-file). Nothing else outside xenstored knows a guest's
// watches, and a guest whose watches are lost no longer sees control/shutdown or its devices'
// backend states; the trace is how pvmkit keeps them across a kill -9.
//
// What C xenstored (Xen 4.17, tools/xenstore/xenstored_core.c) writes, one record a line:
//   IN <conn> <date> <time> <TYPE> (<body>)     a request, its NULs shown as spaces
//   OUT <conn> <date> <time> <TYPE> (<body>)    a reply or watch event, once written
//   CREATE connection <conn> | CREATE watch <w> | DESTROY connection <conn> | DESTROY watch <w>
// and "***" when the file is (re)opened. xenstored is single-threaded, so the effects of a request
// follow its IN line directly: a WATCH that succeeds is followed by "CREATE watch", an INTRODUCE
// of a new domain by "CREATE connection" of its ring, an UNWATCH by "DESTROY watch". A fresh
// xenstored creates the master domain's (dom0's) connection first; one started with
// --live-update creates the ring connections of its state stream, in the stream's order.
//
// The trace is not framed: a value holding a newline and a forged record could only name
// connections by address, which a guest cannot see; records of unknown connections are ignored.
#pragma once

#include <pvmkit/recovery/xenstore_state.hpp>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pvmkit::recovery::xenstore {

struct traced_watch {
  std::string path;       // as sent (relative paths are relative to the domain's home)
  std::string canonical;  // absolute, as xenstored compares them
  std::string token;
  std::string address;    // "CREATE watch" address; empty for a watch restored from a stream
  friend bool operator==(const traced_watch& a, const traced_watch& b) { return a.canonical == b.canonical && a.token == b.token; }
};

// A domain's shared-ring connection, as the trace showed it.
struct traced_domain {
  std::uint16_t domid = 0;
  std::uint32_t store_port = 0;  // the domain's end of its xenstore event channel (0: unknown, dom0)
  std::vector<traced_watch> watches;
};

struct trace_stats {
  std::size_t lines = 0;
  std::size_t requests = 0;
  std::size_t watches_added = 0;
  std::size_t watches_removed = 0;
  std::size_t long_lines_dropped = 0;
};

[[nodiscard]] inline std::string canonical_path(std::string_view path, std::uint16_t home_domid) {
  if (path.empty() || path.front() == '/' || path.front() == '@') return std::string{path};
  return "/local/domain/" + std::to_string(home_domid) + "/" + std::string{path};
}

class trace_tracker {
 public:
  static constexpr std::size_t max_line = std::size_t{1} << 20;

  // A new xenstored is about to start. `restored`: the ring connections its state stream creates,
  // in order (empty: a fresh start, whose first connection is the master domain's). Whatever the
  // previous process had is gone, except what `restored` brings back.
  void begin_incarnation(std::vector<traced_domain> restored, std::uint16_t master_domid = 0) {
    conns_.clear();
    for (auto& d : restored)
      for (auto& w : d.watches) w.address.clear();  // addresses of the dead process mean nothing now
    expected_.assign(restored.begin(), restored.end());
    fresh_ = expected_.empty();
    master_ = master_domid;
    pending_ = {};
    partial_.clear();
    dropping_ = false;
  }

  // Raw bytes read from the trace; lines may arrive in pieces.
  void feed(std::string_view bytes) {
    for (char c : bytes) {
      if (c == '\n') {
        if (!dropping_) line(partial_);
        partial_.clear();
        dropping_ = false;
      } else if (!dropping_) {
        partial_.push_back(c);
        if (partial_.size() > max_line) {
          partial_.clear();
          dropping_ = true;
          ++stats_.long_lines_dropped;
        }
      }
    }
  }

  // Every ring connection the store has (or was about to restore), with its watches, master first.
  [[nodiscard]] std::vector<traced_domain> domains() const {
    std::vector<traced_domain> out;
    for (const auto& [addr, c] : conns_)
      if (c.ring) out.push_back(c.domain);
    for (const auto& d : expected_) out.push_back(d);
    std::sort(out.begin(), out.end(), [&](const traced_domain& a, const traced_domain& b) {
      if ((a.domid == master_) != (b.domid == master_)) return a.domid == master_;
      return a.domid < b.domid;
    });
    return out;
  }

  // Permissions set on "@releaseDomain" / "@introduceDomain" by privileged clients (kept in
  // xenstored's memory, not in its database).
  [[nodiscard]] const std::map<std::string, std::vector<permission>>& special_perms() const noexcept { return special_; }
  [[nodiscard]] const trace_stats& stats() const noexcept { return stats_; }
  [[nodiscard]] std::size_t connections() const noexcept { return conns_.size(); }

 private:
  struct conn {
    bool ring = false;
    traced_domain domain;  // domid 0 = a dom0 process for socket connections
  };
  struct pending {
    enum class kind : std::uint8_t { none, watch, unwatch, introduce, reset } what = kind::none;
    std::string conn;
    std::string path, token;
    std::uint16_t domid = 0;
    std::uint32_t port = 0;
  };

  static std::string_view word(std::string_view& s) {
    const auto sp = s.find(' ');
    const std::string_view w = s.substr(0, sp);
    s = sp == std::string_view::npos ? std::string_view{} : s.substr(sp + 1);
    return w;
  }
  template <class T>
  static bool number(std::string_view s, T& out) {
    const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    return r.ec == std::errc{} && r.ptr == s.data() + s.size();
  }
  // "path token " (NULs shown as spaces): the path has no spaces, the token may.
  static std::pair<std::string, std::string> path_and_token(std::string_view body) {
    std::string_view rest = body;
    std::string path{word(rest)};
    if (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
    return {std::move(path), std::string{rest}};
  }

  conn* find(std::string_view addr) {
    auto it = conns_.find(std::string{addr});
    return it == conns_.end() ? nullptr : &it->second;
  }
  conn* ring_of(std::uint16_t domid) {
    for (auto& [a, c] : conns_)
      if (c.ring && c.domain.domid == domid) return &c;
    return nullptr;
  }
  void remove_watch(conn& c, const std::string& canonical, const std::string& token) {
    auto& w = c.domain.watches;
    const auto n = w.size();
    w.erase(std::remove_if(w.begin(), w.end(), [&](const traced_watch& x) { return x.canonical == canonical && x.token == token; }), w.end());
    stats_.watches_removed += n - w.size();
  }

  void line(std::string_view l) {
    ++stats_.lines;
    if (l.starts_with("IN ")) {
      request(l.substr(3));
    } else if (l.starts_with("OUT ")) {
      pending_ = {};
    } else if (l.starts_with("CREATE connection ")) {
      created_connection(l.substr(18));
    } else if (l.starts_with("CREATE watch ")) {
      created_watch(l.substr(13));
    } else if (l.starts_with("DESTROY connection ")) {
      conns_.erase(std::string{l.substr(19)});
      pending_ = {};
    } else if (l.starts_with("DESTROY watch ")) {
      destroyed_watch(l.substr(14));
    }
  }

  void request(std::string_view rest) {
    pending_ = {};
    const std::string addr{word(rest)};
    word(rest);  // date
    word(rest);  // time
    const std::string_view type = word(rest);
    if (!rest.starts_with("(") || !rest.ends_with(")")) return;
    const std::string_view body = rest.substr(1, rest.size() - 2);
    ++stats_.requests;
    conn* c = find(addr);
    if (!c) return;  // a connection from before this tracker started reading
    if (type == "WATCH" || type == "UNWATCH") {
      auto [path, token] = path_and_token(body);
      pending_ = {type == "WATCH" ? pending::kind::watch : pending::kind::unwatch, addr, std::move(path), std::move(token), 0, 0};
    } else if (type == "RESET_WATCHES") {
      stats_.watches_removed += c->domain.watches.size();
      c->domain.watches.clear();
      pending_ = {pending::kind::reset, addr, {}, {}, 0, 0};
    } else if (type == "INTRODUCE") {
      std::string_view b = body;
      std::uint16_t domid = 0;
      std::uint64_t mfn = 0;
      std::uint32_t port = 0;
      if (!number(word(b), domid) || !number(word(b), mfn) || !number(word(b), port)) return;
      if (conn* existing = ring_of(domid)) {  // re-introduced: xenstored drops its watches and rebinds
        stats_.watches_removed += existing->domain.watches.size();
        existing->domain.watches.clear();
        existing->domain.store_port = port;
      }
      pending_ = {pending::kind::introduce, addr, {}, {}, domid, port};
    } else if (type == "SET_PERMS" && (!c->ring || c->domain.domid == master_)) {
      std::string_view b = body;
      const std::string path{word(b)};
      if (!path.starts_with("@")) return;
      std::vector<permission> perms;
      for (std::string_view p = word(b); !p.empty(); p = word(b)) {
        std::uint16_t id = 0;
        if (!number(p.substr(1), id) || !detail::valid_access(p.front())) return;
        perms.push_back({p.front(), false, id});
      }
      if (!perms.empty()) special_[path] = std::move(perms);
    }
  }

  void created_connection(std::string_view addr) {
    conn c;
    if (!expected_.empty()) {
      c.ring = true;
      c.domain = std::move(expected_.front());
      expected_.pop_front();
    } else if (fresh_) {
      c.ring = true;
      c.domain.domid = master_;
      fresh_ = false;
    } else if (pending_.what == pending::kind::introduce) {
      c.ring = true;
      c.domain.domid = pending_.domid;
      c.domain.store_port = pending_.port;
    }
    conns_[std::string{addr}] = std::move(c);
    pending_ = {};
  }

  void created_watch(std::string_view addr) {
    if (pending_.what != pending::kind::watch) return;
    if (conn* c = find(pending_.conn)) {
      traced_watch w{pending_.path, canonical_path(pending_.path, c->ring ? c->domain.domid : master_), pending_.token, std::string{addr}};
      c->domain.watches.push_back(std::move(w));
      ++stats_.watches_added;
    }
    pending_ = {};
  }

  void destroyed_watch(std::string_view addr) {
    for (auto& [a, c] : conns_) {
      auto& w = c.domain.watches;
      const auto it = std::find_if(w.begin(), w.end(), [&](const traced_watch& x) { return !x.address.empty() && x.address == addr; });
      if (it != w.end()) {
        w.erase(it);
        ++stats_.watches_removed;
        return;
      }
    }
    // A watch restored from a stream has no known address: an UNWATCH names it by path and token.
    if (pending_.what == pending::kind::unwatch)
      if (conn* c = find(pending_.conn)) remove_watch(*c, canonical_path(pending_.path, c->ring ? c->domain.domid : master_), pending_.token);
  }

  std::map<std::string, conn> conns_;
  std::deque<traced_domain> expected_;
  bool fresh_ = true;
  std::uint16_t master_ = 0;
  pending pending_;
  std::string partial_;
  bool dropping_ = false;
  std::map<std::string, std::vector<permission>> special_;
  trace_stats stats_;
};

}  // namespace pvmkit::recovery::xenstore
