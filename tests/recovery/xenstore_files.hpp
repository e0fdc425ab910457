// What the xenstore tests share: a little-endian field read out of a byte string, and a TDB file
// built record by record as xenstored's tdb.c builds it.
#pragma once

#include <pvmkit/recovery/xenstore_tdb.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pvmkit::test {

// The T stored at byte `at` of `s`, in the host's (little-endian) order.
template <class T>
T get(const std::string& s, std::size_t at) {
  T v{};
  std::memcpy(&v, s.data() + at, sizeof v);
  return v;
}

// A TDB file laid out as tools/xenstore/tdb.c lays it out: records pushed on the head of their
// hash chain, dead and free records left where they were.
class tdb_image {
 public:
  explicit tdb_image(std::uint32_t hash_size = 7) : hash_size_(hash_size) {
    data_.assign(168 + 4 * (hash_size + 1), '\0');
    std::memcpy(data_.data(), "TDB file\n", 9);
    put32(32, 0x26011967U + 7);
    put32(36, hash_size);
  }
  // A node record: xs_tdb_record_hdr, permissions (domid, bits), value, children.
  static std::string node_data(const std::vector<std::pair<std::uint32_t, std::uint32_t>>& perms, const std::string& value,
                               const std::string& children = {}) {
    std::string d(20, '\0');
    const std::uint32_t n = static_cast<std::uint32_t>(perms.size()), vl = static_cast<std::uint32_t>(value.size()),
                        cl = static_cast<std::uint32_t>(children.size());
    std::memcpy(d.data() + 8, &n, 4);
    std::memcpy(d.data() + 12, &vl, 4);
    std::memcpy(d.data() + 16, &cl, 4);
    for (const auto& [id, bits] : perms) {
      d.append(reinterpret_cast<const char*>(&id), 4);
      d.append(reinterpret_cast<const char*>(&bits), 4);
    }
    return d + value + children + "pad!";  // xenstored sizes the record with the header's sizeof, 24
  }
  // Returns the record's offset.
  std::uint32_t add(const std::string& key, const std::string& data, std::uint32_t magic = 0x26011999U, std::optional<std::uint32_t> hash = {}) {
    const std::uint32_t h = hash.value_or(recovery::xenstore::tdb_hash(key));
    const std::uint32_t top = 168 + 4 * (h % hash_size_ + 1);
    const auto off = static_cast<std::uint32_t>(data_.size());
    data_.append(24, '\0');
    put32(off, get<std::uint32_t>(data_, top));
    put32(off + 4, static_cast<std::uint32_t>(key.size() + data.size() + 4));
    put32(off + 8, static_cast<std::uint32_t>(key.size()));
    put32(off + 12, static_cast<std::uint32_t>(data.size()));
    put32(off + 16, h);
    put32(off + 20, magic);
    data_ += key + data + std::string(4, '\0');
    put32(top, off);
    return off;
  }
  void put32(std::size_t at, std::uint32_t v) { std::memcpy(data_.data() + at, &v, 4); }
  [[nodiscard]] const std::string& bytes() const noexcept { return data_; }

  // Permission bits as xenstored stores them in a node record.
  static constexpr std::uint32_t r = 1, w = 2, ignore = 0x10;

 private:
  std::uint32_t hash_size_;
  std::string data_;
};

}  // namespace pvmkit::test
