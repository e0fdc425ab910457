// Dense sets of ids (cpuset, nodeset), printed and parsed in the Linux/Xen list syntax "0-3,8".
#pragma once

#include <pvmkit/core/ids.hpp>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
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

 public:
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

  id_set() = default;
  id_set(std::initializer_list<Id> ids) { for (Id i : ids) insert(i); }

  // [first, last) as a contiguous range of ids.
  [[nodiscard]] static id_set range(std::size_t first, std::size_t last) {
    id_set s;
    for (std::size_t i = first; i < last; ++i) s.insert(Id{static_cast<typename Id::rep>(i)});
    return s;
  }

  void insert(Id id) {
    const std::size_t i = id.index();
    if (i / bits >= words_.size()) words_.resize(i / bits + 1, 0);
    words_[i / bits] |= word{1} << (i % bits);
  }
  void erase(Id id) {
    const std::size_t i = id.index();
    if (i / bits < words_.size()) words_[i / bits] &= ~(word{1} << (i % bits));
    trim();
  }
  void clear() noexcept { words_.clear(); }

  [[nodiscard]] bool contains(Id id) const noexcept {
    const std::size_t i = id.index();
    return i / bits < words_.size() && ((words_[i / bits] >> (i % bits)) & 1U) != 0;
  }
  [[nodiscard]] std::size_t size() const noexcept {
    std::size_t n = 0;
    for (word w : words_) n += static_cast<std::size_t>(std::popcount(w));
    return n;
  }
  [[nodiscard]] bool empty() const noexcept { return words_.empty(); }
  [[nodiscard]] std::optional<Id> first() const noexcept {
    const std::size_t p = next_from(0);
    if (p == npos()) return std::nullopt;
    return Id{static_cast<typename Id::rep>(p)};
  }
  // One past the largest member: the size a dense table indexed by these ids needs.
  [[nodiscard]] std::size_t extent() const noexcept {
    if (words_.empty()) return 0;
    return (words_.size() - 1) * bits + (bits - static_cast<std::size_t>(std::countl_zero(words_.back())));
  }

  [[nodiscard]] iterator begin() const { return iterator{this, 0}; }
  [[nodiscard]] iterator end() const { return iterator{this, npos()}; }

  id_set& operator|=(const id_set& o) {
    if (o.words_.size() > words_.size()) words_.resize(o.words_.size(), 0);
    for (std::size_t i = 0; i < o.words_.size(); ++i) words_[i] |= o.words_[i];
    return *this;
  }
  id_set& operator&=(const id_set& o) {
    words_.resize(std::min(words_.size(), o.words_.size()));
    for (std::size_t i = 0; i < words_.size(); ++i) words_[i] &= o.words_[i];
    trim();
    return *this;
  }
  id_set& operator-=(const id_set& o) {
    for (std::size_t i = 0; i < std::min(words_.size(), o.words_.size()); ++i) words_[i] &= ~o.words_[i];
    trim();
    return *this;
  }
  friend id_set operator|(id_set a, const id_set& b) { return a |= b; }
  friend id_set operator&(id_set a, const id_set& b) { return a &= b; }
  friend id_set operator-(id_set a, const id_set& b) { return a -= b; }
  [[nodiscard]] bool intersects(const id_set& o) const noexcept {
    for (std::size_t i = 0; i < std::min(words_.size(), o.words_.size()); ++i)
      if ((words_[i] & o.words_[i]) != 0) return true;
    return false;
  }
  [[nodiscard]] bool is_subset_of(const id_set& o) const noexcept { return (*this - o).empty(); }

  friend bool operator==(const id_set&, const id_set&) = default;

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
        if (v > 1U << 20) return false;  // no host has a million CPUs: treat as garbage
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
  [[nodiscard]] std::size_t next_from(std::size_t pos) const noexcept {
    std::size_t w = pos / bits;
    if (w >= words_.size()) return npos();
    word cur = words_[w] & (~word{0} << (pos % bits));
    while (true) {
      if (cur != 0) return w * bits + static_cast<std::size_t>(std::countr_zero(cur));
      if (++w >= words_.size()) return npos();
      cur = words_[w];
    }
  }
  // Keeps equality structural: no trailing zero words.
  void trim() noexcept {
    while (!words_.empty() && words_.back() == 0) words_.pop_back();
  }

  std::vector<word> words_;
};

using cpuset = id_set<cpu_id>;
using nodeset = id_set<node_id>;

}  // namespace pvmkit
