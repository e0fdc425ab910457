// xenstore_state: the state stream C xenstored reads when it starts with --live-update (Xen's
// docs/designs/xenstore-migration.md, tools/xenstore/include/xenstore_state.h; version 1, the one
// Xen 4.17's xenstored writes and accepts). pvmkit writes it to bring a killed xenstored back with
// its nodes, its domains' connections and their watches (recovery/xenstored_restore.hpp).
//
//   preamble = "xenstore" | u32 version (big-endian, 1) | u32 flags (0: the records are little-endian)
//   record   = u32 type | u32 length of the body | body | zero padding to 8 bytes
//   GLOBAL     (1) = i32 listening socket fd | i32 event-channel fd
//   CONNECTION (2) = u32 conn id | u16 type (0 ring) | u16 0 | u16 domid | u16 target | u32 local port
//                    | u16 unread bytes | u16 partial reply | u32 unsent bytes | those bytes
//   WATCH      (3) = u32 conn id | u16 path length | u16 token length (both with their NUL) | path | token
//   NODE       (5) = u32 conn id | u32 transaction | u16 path length (with NUL) | u16 value length
//                    | u16 access | u16 permission count | count x (u8 'n'/'r'/'w'/'b' | u8 flags | u16 domid)
//                    | path | value
//   END        (0)
// The records are in the host's byte order, as xenstored reads them: this header only writes
// little-endian streams (x86, the machines Xen's dom0 runs on) and says so in the flags.
#pragma once

#include <pvmkit/core/error.hpp>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace pvmkit::recovery::xenstore {

inline constexpr std::uint16_t domid_invalid = 0x7FF4;  // xen.h's DOMID_INVALID: no SET_TARGET

// One permission of a node: the first names the owner (who has every right).
struct permission {
  char access = 'n';      // 'n' none, 'r' read, 'w' write, 'b' both
  bool stale = false;     // names a domain that died after the node was written: ignored
  std::uint16_t domid = 0;
  friend bool operator==(const permission&, const permission&) = default;
};

struct node {
  std::string path;   // absolute ("/local/domain/1/name") or special ("@releaseDomain")
  std::string value;  // may hold NUL bytes
  std::vector<permission> perms;
  friend bool operator==(const node&, const node&) = default;
};

// A domain's shared-ring connection to xenstored, through event-channel port `port` of the
// event-channel file the new xenstored inherits.
struct ring_connection {
  std::uint32_t conn_id = 0;  // non-zero, referenced by watches
  std::uint16_t domid = 0;
  std::uint16_t target = domid_invalid;
  std::uint32_t port = 0;     // 0: the connection could not be re-established (kept, ignored)
  friend bool operator==(const ring_connection&, const ring_connection&) = default;
};

struct watch {
  std::uint32_t conn_id = 0;
  std::string path;   // as the client sent it: relative paths stay relative to its domain
  std::string token;
  friend bool operator==(const watch&, const watch&) = default;
};

struct state {
  std::int32_t socket_fd = -1;  // the listening socket in the new process (-1: none)
  std::int32_t evtchn_fd = -1;  // /dev/xen/evtchn in the new process
  std::vector<ring_connection> connections;  // the master domain (dom0) first
  std::vector<watch> watches;
  std::vector<node> nodes;  // every parent before its children
  friend bool operator==(const state&, const state&) = default;
};

enum class record_type : std::uint32_t { end = 0, global = 1, connection = 2, watch = 3, transaction = 4, node = 5 };

namespace detail {

class stream_writer {
 public:
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u16(std::uint16_t v) { raw(&v, 2); }
  void u32(std::uint32_t v) { raw(&v, 4); }
  void i32(std::int32_t v) { raw(&v, 4); }
  void bytes(std::string_view s) { out_.append(s); }
  void cstr(std::string_view s) {
    out_.append(s);
    out_.push_back('\0');
  }
  // Starts a record; finish() fills in its length and pads it.
  std::size_t begin(record_type t) {
    u32(static_cast<std::uint32_t>(t));
    const std::size_t at = out_.size();
    u32(0);
    return at;
  }
  void finish(std::size_t length_at) {
    const std::size_t body = out_.size() - length_at - 4;
    const std::size_t padded = (body + 7) & ~std::size_t{7};
    out_.append(padded - body, '\0');
    const auto len = static_cast<std::uint32_t>(padded);
    std::memcpy(out_.data() + length_at, &len, 4);
  }
  std::string take() { return std::move(out_); }

 private:
  void raw(const void* p, std::size_t n) { out_.append(static_cast<const char*>(p), n); }
  std::string out_;
};

[[nodiscard]] inline bool valid_access(char a) noexcept { return a == 'n' || a == 'r' || a == 'w' || a == 'b'; }

inline void check_length(std::size_t n, std::size_t max, const std::string& what) {
  if (n > max) throw config_error("xenstore state: " + what + " is " + std::to_string(n) + " bytes, the stream allows " + std::to_string(max));
}

}  // namespace detail

[[nodiscard]] constexpr bool little_endian_host() noexcept { return std::endian::native == std::endian::little; }

// The stream for `s`. Throws config_error when a field does not fit the format (a path, value or
// token too long for its 16-bit length, an unknown access letter, a watch of an unknown
// connection, a connection id of 0 or used twice): nothing is written for such a state.
[[nodiscard]] inline std::string write_state(const state& s) {
  static_assert(little_endian_host(), "xenstore state streams are written little-endian only");
  using detail::check_length;
  for (std::size_t i = 0; i < s.connections.size(); ++i) {
    const auto id = s.connections[i].conn_id;
    if (id == 0) throw config_error("xenstore state: connection of domain " + std::to_string(s.connections[i].domid) + " has id 0");
    for (std::size_t j = 0; j < i; ++j)
      if (s.connections[j].conn_id == id) throw config_error("xenstore state: connection id " + std::to_string(id) + " used twice");
  }
  detail::stream_writer w;
  w.bytes("xenstore");
  w.bytes(std::string_view{"\0\0\0\1", 4});  // version 1, big-endian
  w.u32(0);                            // flags: little-endian records

  auto at = w.begin(record_type::global);
  w.i32(s.socket_fd);
  w.i32(s.evtchn_fd);
  w.finish(at);

  for (const auto& c : s.connections) {
    at = w.begin(record_type::connection);
    w.u32(c.conn_id);
    w.u16(0);  // shared ring
    w.u16(0);
    w.u16(c.domid);
    w.u16(c.target);
    w.u32(c.port);
    w.u16(0);  // nothing read and not processed,
    w.u16(0);  // no partial reply,
    w.u32(0);  // nothing waiting to be written: those were in the dead process
    w.finish(at);
  }
  for (const auto& x : s.watches) {
    if (std::none_of(s.connections.begin(), s.connections.end(), [&](const ring_connection& c) { return c.conn_id == x.conn_id; }))
      throw config_error("xenstore state: watch '" + x.path + "' names connection " + std::to_string(x.conn_id) + ", which is not in the state");
    check_length(x.path.size() + 1, 0xFFFF, "watch path '" + x.path + "'");
    check_length(x.token.size() + 1, 0xFFFF, "watch token of '" + x.path + "'");
    at = w.begin(record_type::watch);
    w.u32(x.conn_id);
    w.u16(static_cast<std::uint16_t>(x.path.size() + 1));
    w.u16(static_cast<std::uint16_t>(x.token.size() + 1));
    w.cstr(x.path);
    w.cstr(x.token);
    w.finish(at);
  }
  for (const auto& n : s.nodes) {
    if (n.path.empty() || n.path.find('\0') != std::string::npos) throw config_error("xenstore state: a node has an empty or NUL-holding path");
    if (n.perms.empty()) throw config_error("xenstore state: node '" + n.path + "' has no owner");
    check_length(n.path.size() + 1, 0xFFFF, "node path '" + n.path + "'");
    check_length(n.value.size(), 0xFFFF, "value of node '" + n.path + "'");
    check_length(n.perms.size(), 0xFFFF, "permission list of node '" + n.path + "'");
    at = w.begin(record_type::node);
    w.u32(0);  // committed, not in a transaction
    w.u32(0);
    w.u16(static_cast<std::uint16_t>(n.path.size() + 1));
    w.u16(static_cast<std::uint16_t>(n.value.size()));
    w.u16(0);
    w.u16(static_cast<std::uint16_t>(n.perms.size()));
    for (const auto& p : n.perms) {
      if (!detail::valid_access(p.access))
        throw config_error("xenstore state: node '" + n.path + "' has permission letter '" + std::string(1, p.access) + "'");
      w.u8(static_cast<std::uint8_t>(p.access));
      w.u8(p.stale ? 1 : 0);
      w.u16(p.domid);
    }
    w.cstr(n.path);
    w.bytes(n.value);
    w.finish(at);
  }
  w.u32(static_cast<std::uint32_t>(record_type::end));
  w.u32(0);
  return w.take();
}

// Reads a stream back (pvmkit's own, or one xenstored dumped for a live update): for tests and
// for `pvmkit supervise --show-state`. Pending transactions and buffered data are skipped, as the
// restoring xenstored skips transactions. Throws config_error naming the offset of what is wrong.
[[nodiscard]] inline state read_state(std::string_view b) {
  static_assert(little_endian_host(), "xenstore state streams are read little-endian only");
  std::size_t off = 0;
  auto fail = [&](const std::string& what) -> void {
    throw config_error("xenstore state: at byte " + std::to_string(off) + ": " + what);
  };
  auto need = [&](std::size_t at, std::size_t n, const char* what) {
    if (at > b.size() || b.size() - at < n) fail(std::string{"truncated "} + what);
  };
  auto get16 = [&](std::size_t at) { std::uint16_t v; std::memcpy(&v, b.data() + at, 2); return v; };
  auto get32 = [&](std::size_t at) { std::uint32_t v; std::memcpy(&v, b.data() + at, 4); return v; };
  need(0, 16, "preamble");
  if (b.substr(0, 8) != "xenstore") fail("not a xenstore state stream (no 'xenstore' identifier)");
  if (b.substr(8, 4) != std::string_view{"\0\0\0\1", 4}) fail("version is not 1");
  if (get32(12) != 0) fail("flags say big-endian records");
  off = 16;
  state s;
  bool ended = false;
  while (!ended) {
    need(off, 8, "record header");
    const auto type = get32(off);
    const auto len = get32(off + 4);
    if (len % 8 != 0) fail("record length " + std::to_string(len) + " is not a multiple of 8");
    need(off + 8, len, "record body");
    const std::size_t body = off + 8;
    switch (static_cast<record_type>(type)) {
      case record_type::end: ended = true; break;
      case record_type::global: {
        if (len < 8) fail("short global record");
        s.socket_fd = static_cast<std::int32_t>(get32(body));
        s.evtchn_fd = static_cast<std::int32_t>(get32(body + 4));
        break;
      }
      case record_type::connection: {
        if (len < 24) fail("short connection record");
        if (get16(body + 4) != 0) break;  // a socket connection: only a live update in place keeps those
        ring_connection c;
        c.conn_id = get32(body);
        c.domid = get16(body + 8);
        c.target = get16(body + 10);
        c.port = get32(body + 12);
        s.connections.push_back(c);
        break;
      }
      case record_type::watch: {
        if (len < 8) fail("short watch record");
        const std::size_t pl = get16(body + 4), tl = get16(body + 6);
        if (pl == 0 || tl == 0 || 8 + pl + tl > len) fail("watch lengths overrun the record");
        watch x;
        x.conn_id = get32(body);
        x.path.assign(b.data() + body + 8, pl - 1);
        x.token.assign(b.data() + body + 8 + pl, tl - 1);
        s.watches.push_back(std::move(x));
        break;
      }
      case record_type::node: {
        if (len < 16) fail("short node record");
        if (get32(body) != 0) break;  // belongs to a pending transaction
        const std::size_t pl = get16(body + 8), vl = get16(body + 10), np = get16(body + 14);
        if (pl == 0 || 16 + 4 * np + pl + vl > len) fail("node lengths overrun the record");
        node n;
        for (std::size_t i = 0; i < np; ++i) {
          const std::size_t p = body + 16 + 4 * i;
          permission perm{static_cast<char>(b[p]), (static_cast<unsigned char>(b[p + 1]) & 1U) != 0, get16(p + 2)};
          if (!detail::valid_access(perm.access)) fail("unknown permission letter");
          n.perms.push_back(perm);
        }
        const std::size_t path_at = body + 16 + 4 * np;
        if (b[path_at + pl - 1] != '\0') fail("node path without its NUL");
        n.path.assign(b.data() + path_at, pl - 1);
        n.value.assign(b.data() + path_at + pl, vl);
        s.nodes.push_back(std::move(n));
        break;
      }
      default: break;  // transactions and record types a later version added
    }
    off = body + len;
  }
  return s;
}

}  // namespace pvmkit::recovery::xenstore
