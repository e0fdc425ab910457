// xenstore_tdb: reads the nodes out of C xenstored's database file. Started with
// --internal-db=off, xenstored keeps its nodes in a TDB file (tools/xenstore/tdb.c, the "trivial
// database" of Samba, built without mmap) and writes every change to it with pwrite() before it
// answers the client. A kill -9 does not undo a pwrite: the file, in the page cache, holds every
// node whose write was acknowledged, so it is the copy of the store pvmkit restores from.
//
//   header  = char[32] "TDB file\n" | u32 version 0x2601196E | u32 hash size | u32 | u32[31]
//   buckets = (hash size + 1) x u32: the free list's head, then each hash chain's first record
//   record  = u32 next | u32 record length | u32 key length | u32 data length | u32 hash
//             | u32 magic (0x26011999 live, 0xFEE1DEAD dead, ~live free) | key | data
//   a node's data (tools/xenstore/utils.h) = u64 generation | u32 permission count | u32 value
//             length | u32 children length | count x (u32 domid | u32 bits) | value | children
//             | 4 bytes of nothing: xenstored sizes the record with sizeof(struct
//             xs_tdb_record_hdr), 24 on x86-64 (its u64 aligns it), but puts the permissions at
//             offset 20, where the flexible array starts (read off a real 4.17 database)
// Keys are the nodes' paths without a NUL. A transaction's private copies are keyed
// "<generation>/path": only keys starting with '/' are committed nodes.
//
// The file is read as untrusted: every offset and length is bounds-checked, a chain that loops
// or leaves the file stops, and a record that does not parse (a write torn by the kill, in
// the microseconds between tdb_store()'s steps) is skipped and counted, never trusted.
#pragma once

#include <pvmkit/recovery/xenstore_state.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace pvmkit::recovery::xenstore {

struct tdb_report {
  std::size_t records = 0;          // live records seen on the hash chains
  std::size_t transaction_nodes = 0;  // private copies of open transactions: not committed
  std::size_t skipped = 0;          // records that did not parse
  std::string first_problem;        // what was wrong with the first skipped record (or the chains)
};

struct tdb_contents {
  std::vector<node> nodes;  // sorted by path: every parent before its children
  tdb_report report;
};

// tdb.c's default_tdb_hash(), bytes taken as the signed chars its C code sees.
[[nodiscard]] inline std::uint32_t tdb_hash(std::string_view key) noexcept {
  auto value = static_cast<std::uint32_t>(0x238F13AFU * static_cast<std::uint32_t>(key.size()));
  for (std::size_t i = 0; i < key.size(); ++i) {
    const auto c = static_cast<std::uint32_t>(static_cast<std::int32_t>(static_cast<signed char>(key[i])));
    value += c << ((i * 5) % 24);
  }
  return 1103515243U * value + 12345U;
}

namespace detail {

inline constexpr std::uint32_t tdb_version = 0x26011967U + 7;
inline constexpr std::uint32_t tdb_magic = 0x26011999U;
inline constexpr std::size_t tdb_header_size = 32 + 4 * 3 + 4 * 31;
inline constexpr std::size_t tdb_record_header = 24;
inline constexpr std::size_t node_header_size = 24;  // sizeof(struct xs_tdb_record_hdr); its fields take 20
inline constexpr std::uint32_t xs_perm_read = 0x01, xs_perm_write = 0x02, xs_perm_ignore = 0x10;

[[nodiscard]] inline char access_of(std::uint32_t bits) noexcept {
  const bool r = (bits & xs_perm_read) != 0, w = (bits & xs_perm_write) != 0;
  return r && w ? 'b' : r ? 'r' : w ? 'w' : 'n';
}

}  // namespace detail

// The committed nodes of a TDB image. Throws config_error when the header is not a TDB's (then
// the file is not xenstored's database at all); damage past the header is skipped and reported.
[[nodiscard]] inline tdb_contents read_tdb(std::string_view f) {
  using namespace detail;
  auto get32 = [&](std::size_t at) { std::uint32_t v; std::memcpy(&v, f.data() + at, 4); return v; };
  if (f.size() < tdb_header_size || f.substr(0, 9) != "TDB file\n")
    throw config_error("xenstore database: not a TDB file (no 'TDB file' header)");
  if (get32(32) != tdb_version) throw config_error("xenstore database: TDB version " + std::to_string(get32(32)) + " (expected the native-endian " +
                                                   std::to_string(tdb_version) + ")");
  const std::uint32_t hash_size = get32(36);
  if (hash_size == 0 || (f.size() - tdb_header_size) / 4 < std::size_t{hash_size} + 1)
    throw config_error("xenstore database: hash table of " + std::to_string(hash_size) + " buckets does not fit the file");

  tdb_contents out;
  auto skip = [&](const std::string& why) {
    ++out.report.skipped;
    if (out.report.first_problem.empty()) out.report.first_problem = why;
  };
  std::map<std::string, node> found;  // the first record of a key on its chain is the current one
  std::unordered_set<std::uint32_t> seen;
  for (std::uint32_t bucket = 0; bucket < hash_size; ++bucket) {
    std::uint32_t off = get32(tdb_header_size + 4 * (std::size_t{bucket} + 1));
    seen.clear();
    while (off != 0) {
      if (!seen.insert(off).second) {
        skip("hash chain " + std::to_string(bucket) + " loops");
        break;
      }
      if (off < tdb_header_size || off > f.size() || f.size() - off < tdb_record_header) {
        skip("hash chain " + std::to_string(bucket) + " leaves the file");
        break;
      }
      const std::uint32_t next = get32(off), key_len = get32(off + 8), data_len = get32(off + 12), hash = get32(off + 16),
                          magic = get32(off + 20);
      const std::uint32_t here = off;
      off = next;
      if (magic != tdb_magic) continue;  // dead or free: deleted
      ++out.report.records;
      if (std::size_t{key_len} + data_len > f.size() - here - tdb_record_header) {
        skip("record at " + std::to_string(here) + " overruns the file");
        continue;
      }
      const std::string_view key = f.substr(here + tdb_record_header, key_len);
      const std::string_view data = f.substr(here + tdb_record_header + key_len, data_len);
      if (tdb_hash(key) != hash || hash % hash_size != bucket) {
        skip("record at " + std::to_string(here) + " has a key that does not hash to it");
        continue;
      }
      if (key.empty() || key.front() != '/') {
        ++out.report.transaction_nodes;
        continue;
      }
      if (found.count(std::string{key})) continue;  // an older copy further down the chain
      if (data.size() < node_header_size) {
        skip("node '" + std::string{key} + "' has a short record");
        continue;
      }
      const std::uint32_t nperms = get32(static_cast<std::size_t>(data.data() - f.data()) + 8);
      const std::uint32_t vlen = get32(static_cast<std::size_t>(data.data() - f.data()) + 12);
      const std::uint32_t clen = get32(static_cast<std::size_t>(data.data() - f.data()) + 16);
      if (nperms == 0 || std::uint64_t{node_header_size} + 8ULL * nperms + vlen + clen != data.size()) {
        skip("node '" + std::string{key} + "' has inconsistent lengths");
        continue;
      }
      node n;
      n.path = std::string{key};
      const std::size_t perms_at = static_cast<std::size_t>(data.data() - f.data()) + 20;
      bool ids_ok = true;
      for (std::uint32_t i = 0; i < nperms; ++i) {
        const std::uint32_t id = get32(perms_at + 8 * std::size_t{i}), bits = get32(perms_at + 8 * std::size_t{i} + 4);
        ids_ok = ids_ok && id <= 0xFFFF;
        n.perms.push_back({access_of(bits), (bits & xs_perm_ignore) != 0, static_cast<std::uint16_t>(id)});
      }
      if (!ids_ok) {
        skip("node '" + n.path + "' names a domain id above 65535");
        continue;
      }
      n.value = std::string{data.substr(20 + 8 * std::size_t{nperms}, vlen)};
      found.emplace(n.path, std::move(n));
    }
  }
  out.nodes.reserve(found.size());
  for (auto& [path, n] : found) out.nodes.push_back(std::move(n));
  return out;
}

}  // namespace pvmkit::recovery::xenstore
