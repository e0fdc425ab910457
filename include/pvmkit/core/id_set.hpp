// Dense sets of ids (cpuset, nodeset), printed and parsed in the Linux/Xen list syntax "0-3,8".
#pragma once

#include <pvmkit/core/ids.hpp>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pvmkit {

template <class Id>
class id_set {
  using word = std::uint64_t;
  static constexpr std::size_t bits = 64;
  // Sets of ids below 256 (every node set; the CPU sets of hosts up to 256 CPUs) live inline, larger
  // ones on the heap. A snapshot holds a CPU set per task and two per vCPU: with a heap block
  // each, a full plan spends its time chasing pointers and in allocator calls on every copy.
  static constexpr std::uint32_t inline_words = 4;

 public:
  // The largest id a set takes from text or a topology: no host has a million CPUs or nodes, and a
  // bigger number is garbage that would make a dense table (one bit, or one entry, per id) huge.
  static constexpr std::size_t max_index = std::size_t{1} << 20;

  class iterator {
   public:
    using value_type = Id;
    using difference_type = std::ptrdiff_t;
    using iterator_category = std::forward_iterator_tag;

    iterator() = default;
    iterator(const id_set* s, std::size_t pos) : set_(s), pos_(s->next_from(pos)) {}
    Id operator*() const { return Id{static_cast<typename Id::rep>(pos_)}; }
    iterator& operator++() { pos_ = set_->next_from(pos_ + 1); return *this; }
    iterator operator++(int) { auto t = *this; ++*this; return t; }
    friend bool operator==(const iterator& a, const iterator& b) { return a.pos_ == b.pos_; }

   private:
    const id_set* set_ = nullptr;
    std::size_t pos_ = 0;
  };

  id_set() noexcept = default;
  id_set(std::initializer_list<Id> ids) { for (Id i : ids) insert(i); }
  // An inline set is copied whole, its unused words zero as they are there: no calls to copy and
  // clear a variable number of words (a plan copies a CPU set into each of its thousands of steps).
  id_set(const id_set& o) {
    if (o.on_heap()) {
      assign_words(o.data(), o.size_);
    } else {
      store_ = o.store_;
      size_ = o.size_;
    }
  }
  id_set(id_set&& o) noexcept { take(o); }
  id_set& operator=(const id_set& o) {
    if (!on_heap() && !o.on_heap()) {
      store_ = o.store_;
      size_ = o.size_;
    } else if (this != &o) {
      assign_words(o.data(), o.size_);
    }
    return *this;
  }
  id_set& operator=(id_set&& o) noexcept {
    if (this != &o) {
      release();
      take(o);
    }
    return *this;
  }
  ~id_set() {
    if (on_heap()) delete[] store_.heap;  // an inline set has nothing to give back
  }

  // [first, last) as a contiguous range of ids.
  [[nodiscard]] static id_set range(std::size_t first, std::size_t last) {
    id_set s;
    for (std::size_t i = first; i < last; ++i) s.insert(Id{static_cast<typename Id::rep>(i)});
    return s;
  }

  void insert(Id id) {
    const std::size_t i = id.index();
    if (i / bits >= size_) grow(i / bits + 1);
    data()[i / bits] |= word{1} << (i % bits);
  }
  void erase(Id id) {
    const std::size_t i = id.index();
    if (i / bits < size_) data()[i / bits] &= ~(word{1} << (i % bits));
    trim();
  }
  void clear() noexcept {
    if (!on_heap()) std::fill_n(store_.local, size_, word{0});
    size_ = 0;
  }

  [[nodiscard]] bool contains(Id id) const noexcept {
    const std::size_t i = id.index();
    return i / bits < size_ && ((data()[i / bits] >> (i % bits)) & 1U) != 0;
  }
  [[nodiscard]] std::size_t size() const noexcept {
    std::size_t n = 0;
    const word* w = data();
    for (std::size_t k = 0; k < size_; ++k) n += static_cast<std::size_t>(std::popcount(w[k]));
    return n;
  }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] std::optional<Id> first() const noexcept {
    const std::size_t p = next_from(0);
    if (p == npos()) return std::nullopt;
    return Id{static_cast<typename Id::rep>(p)};
  }
  // One past the largest member: the size a dense table indexed by these ids needs.
  [[nodiscard]] std::size_t extent() const noexcept {
    if (size_ == 0) return 0;
    return (size_ - 1) * bits + (bits - static_cast<std::size_t>(std::countl_zero(data()[size_ - 1])));
  }

  [[nodiscard]] iterator begin() const { return iterator{this, 0}; }
  [[nodiscard]] iterator end() const { return iterator{this, npos()}; }

  id_set& operator|=(const id_set& o) {
    if (o.size_ > size_) grow(o.size_);
    word* w = data();
    const word* x = o.data();
    for (std::size_t i = 0; i < o.size_; ++i) w[i] |= x[i];
    return *this;
  }
  id_set& operator&=(const id_set& o) {
    const std::uint32_t keep = std::min(size_, o.size_);
    if (!on_heap()) std::fill(store_.local + keep, store_.local + size_, word{0});
    size_ = keep;
    word* w = data();
    const word* x = o.data();
    for (std::size_t i = 0; i < size_; ++i) w[i] &= x[i];
    trim();
    return *this;
  }
  id_set& operator-=(const id_set& o) {
    word* w = data();
    const word* x = o.data();
    for (std::size_t i = 0; i < std::min(size_, o.size_); ++i) w[i] &= ~x[i];
    trim();
    return *this;
  }
  friend id_set operator|(id_set a, const id_set& b) { return a |= b; }
  friend id_set operator&(id_set a, const id_set& b) { return a &= b; }
  friend id_set operator-(id_set a, const id_set& b) { return a -= b; }
  [[nodiscard]] bool intersects(const id_set& o) const noexcept {
    const word* w = data();
    const word* x = o.data();
    for (std::size_t i = 0; i < std::min(size_, o.size_); ++i)
      if ((w[i] & x[i]) != 0) return true;
    return false;
  }
  [[nodiscard]] bool is_subset_of(const id_set& o) const noexcept {
    if (size_ > o.size_) return false;  // trimmed: our last word has a member beyond o
    const word* w = data();
    const word* x = o.data();
    for (std::size_t i = 0; i < size_; ++i)
      if ((w[i] & ~x[i]) != 0) return false;
    return true;
  }

  // Structural: both are trimmed, so equal sets have the same words wherever they are stored. Two
  // inline sets compare their whole inline storage in one go (unused inline words are zero); always
  // inlined: a snapshot comparison calls it once per task.
  [[gnu::always_inline]] friend bool operator==(const id_set& a, const id_set& b) noexcept {
    if (a.size_ != b.size_) return false;
    if ((a.cap_ | b.cap_) == inline_words)
      return std::memcmp(a.store_.local, b.store_.local, sizeof a.store_.local) == 0;
    return equal_words(a.data(), b.data(), a.size_);
  }

  // "0-3,8,10-11"; empty set prints as "".
  [[nodiscard]] std::string to_string() const {
    std::string out;
    std::size_t p = next_from(0);
    while (p != npos()) {
      std::size_t q = p;
      while (next_from(q + 1) == q + 1) ++q;
      if (!out.empty()) out += ',';
      out += std::to_string(p);
      if (q > p) { out += '-'; out += std::to_string(q); }
      p = next_from(q + 1);
    }
    return out;
  }

  // Parses the list syntax; nullopt on anything malformed (callers name the field in their error).
  [[nodiscard]] static std::optional<id_set> parse(std::string_view text) {
    id_set s;
    std::size_t i = 0;
    auto number = [&](std::size_t& out) {
      const std::size_t start = i;
      std::size_t v = 0;
      while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        v = v * 10 + static_cast<std::size_t>(text[i] - '0');
        if (v > max_index) return false;
        ++i;
      }
      out = v;
      return i > start;
    };
    if (text.empty()) return s;
    while (true) {
      std::size_t a = 0;
      if (!number(a)) return std::nullopt;
      std::size_t b = a;
      if (i < text.size() && text[i] == '-') {
        ++i;
        if (!number(b) || b < a) return std::nullopt;
      }
      for (std::size_t k = a; k <= b; ++k) s.insert(Id{static_cast<typename Id::rep>(k)});
      if (i == text.size()) return s;
      if (text[i] != ',') return std::nullopt;
      ++i;
    }
  }

 private:
  static constexpr std::size_t npos() noexcept { return static_cast<std::size_t>(-1); }
  [[nodiscard]] bool on_heap() const noexcept { return cap_ > inline_words; }
  [[nodiscard]] static bool equal_words(const word* x, const word* y, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i)
      if (x[i] != y[i]) return false;
    return true;
  }
  [[nodiscard]] word* data() noexcept { return on_heap() ? store_.heap : store_.local; }
  [[nodiscard]] const word* data() const noexcept { return on_heap() ? store_.heap : store_.local; }

  [[nodiscard]] std::size_t next_from(std::size_t pos) const noexcept {
    std::size_t w = pos / bits;
    if (w >= size_) return npos();
    const word* d = data();
    word cur = d[w] & (~word{0} << (pos % bits));
    while (true) {
      if (cur != 0) return w * bits + static_cast<std::size_t>(std::countr_zero(cur));
      if (++w >= size_) return npos();
      cur = d[w];
    }
  }
  // Keeps equality structural: no trailing zero words.
  void trim() noexcept {
    const word* d = data();
    while (size_ > 0 && d[size_ - 1] == 0) --size_;
  }
  // Room for n words, the new ones zero.
  void grow(std::size_t n) {
    if (n > cap_) {
      const std::size_t cap = std::max<std::size_t>(n, 2 * std::size_t{cap_});
      word* heap = new word[cap];
      std::copy_n(data(), size_, heap);
      if (on_heap()) delete[] store_.heap;
      store_.heap = heap;
      cap_ = static_cast<std::uint32_t>(cap);
    }
    std::fill(data() + size_, data() + n, word{0});
    size_ = static_cast<std::uint32_t>(n);
  }
  void assign_words(const word* src, std::uint32_t n) {
    if (n > cap_) {
      release();
      store_.heap = new word[n];
      cap_ = n;
    }
    std::copy_n(src, n, data());
    if (!on_heap()) std::fill(store_.local + n, store_.local + inline_words, word{0});
    size_ = n;
  }
  void release() noexcept {
    if (on_heap()) delete[] store_.heap;
    store_ = storage{};
    cap_ = inline_words;
    size_ = 0;
  }
  // Moves o's words here (this holds nothing on the heap) and leaves o empty, as a moved-from
  // vector was.
  void take(id_set& o) noexcept {
    store_ = o.store_;
    size_ = o.size_;
    cap_ = o.cap_;
    o.store_ = storage{};
    o.cap_ = inline_words;
    o.size_ = 0;
  }

  union storage {
    word local[inline_words];
    word* heap;
  };
  // Inline words past size_ are kept zero; heap words past size_ may hold stale bits.
  storage store_{};
  std::uint32_t size_ = 0;             // words in use, the last one non-zero
  std::uint32_t cap_ = inline_words;   // above inline_words: the words are on the heap
};

using cpuset = id_set<cpu_id>;
using nodeset = id_set<node_id>;

}  // namespace pvmkit
