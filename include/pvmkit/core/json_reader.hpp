// Reading JSON input: a parser into a compact read-only document, and json_field, a decoder that
// names the file, the line and the path of a value in each error ("s.json:12: guests[3].workload.kind:
// unknown kind 'x'"). Its input is untrusted (scenario and fault scenario files, anything a user
// names), so:
//   - the grammar is RFC 8259's, strictly; strings must be valid UTF-8 and \u escapes must pair
//     their surrogates (a lone one is an error, not bytes that make every later output invalid);
//   - nesting stops at 64 levels (the parser recurses once per level);
//   - time is linear in the text, but for sorting each large object's keys to find a duplicate;
//   - memory is the text, its decoded strings, 16 bytes per value and 4 per array item or object
//     key or value (no per-value allocation);
//   - every error is a config_error "source:line:column: what", and nothing else is thrown but
//     std::bad_alloc.
// The writer is core/json_writer.hpp.
#pragma once

#include <pvmkit/core/error.hpp>
#include <pvmkit/core/json_writer.hpp>
#include <pvmkit/core/utf8.hpp>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

namespace pvmkit {

enum class json_type : std::uint8_t { null, boolean, number, string, array, object };

// "a number", "an object": for errors such as "expected a number, found a string".
[[nodiscard]] constexpr std::string_view json_type_name(json_type t) noexcept {
  switch (t) {
    case json_type::null: return "null";
    case json_type::boolean: return "a boolean";
    case json_type::number: return "a number";
    case json_type::string: return "a string";
    case json_type::array: return "an array";
    case json_type::object: return "an object";
  }
  return "?";
}

struct text_position {
  std::size_t line = 1;    // from 1
  std::size_t column = 1;  // from 1, in bytes
};

// Computed when an error needs it, so values need not carry it.
[[nodiscard]] inline text_position position_in(std::string_view text, std::size_t offset) noexcept {
  const std::string_view before = text.substr(0, std::min(offset, text.size()));
  const std::size_t last_newline = before.rfind('\n');
  return {static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n')) + 1,
          last_newline == std::string_view::npos ? before.size() + 1 : before.size() - last_newline};
}

class json_document;
namespace detail {
class json_parser;
}

// One value of a json_document: a cheap handle, valid while the document lives (and stays where it is).
class json_value {
 public:
  [[nodiscard]] json_type type() const noexcept;
  [[nodiscard]] bool boolean() const noexcept;             // false unless a boolean
  [[nodiscard]] double number() const noexcept;            // 0 unless a number
  [[nodiscard]] std::string_view string() const noexcept;  // "" unless a string
  [[nodiscard]] std::size_t size() const noexcept;         // an array's items, an object's members; else 0
  [[nodiscard]] json_value item(std::size_t i) const noexcept;        // i < size(), of an array
  [[nodiscard]] std::string_view key(std::size_t i) const noexcept;   // i < size(), of an object
  [[nodiscard]] json_value member(std::size_t i) const noexcept;      // member i's value
  [[nodiscard]] std::optional<json_value> find(std::string_view key) const noexcept;
  [[nodiscard]] text_position position() const noexcept;
  [[nodiscard]] const json_document& document() const noexcept { return *doc_; }

 private:
  friend class json_document;
  json_value(const json_document* doc, std::uint32_t index) noexcept : doc_(doc), index_(index) {}
  [[nodiscard]] json_value child(std::size_t i) const noexcept;

  const json_document* doc_;
  std::uint32_t index_;
};

class json_document {
 public:
  json_document(const json_document&) = delete;
  json_document& operator=(const json_document&) = delete;
  json_document(json_document&&) noexcept = default;
  json_document& operator=(json_document&&) noexcept = default;
  ~json_document() = default;

  [[nodiscard]] json_value root() const noexcept { return {this, 0}; }
  [[nodiscard]] const std::string& source() const noexcept { return source_; }
  [[nodiscard]] std::string_view text() const noexcept { return text_; }

 private:
  friend class json_value;
  friend class detail::json_parser;
  friend json_document parse_json(std::string_view text, std::string source);

  json_document(std::string_view text, std::string source) : text_(text), source_(std::move(source)) {}

  struct node {
    std::uint32_t offset = 0;  // where the value starts in text_
    json_type type = json_type::null;
    // number: its bits; boolean: 0 or 1; string: (offset, length) in strings_; array and object:
    // (first, count) in children_.
    std::uint64_t payload = 0;
  };
  [[nodiscard]] static constexpr std::uint64_t pack(std::size_t low, std::size_t high) noexcept {
    return (static_cast<std::uint64_t>(high) << 32) | static_cast<std::uint32_t>(low);
  }
  [[nodiscard]] static constexpr std::size_t low(std::uint64_t p) noexcept { return static_cast<std::uint32_t>(p); }
  [[nodiscard]] static constexpr std::size_t high(std::uint64_t p) noexcept { return static_cast<std::size_t>(p >> 32); }
  [[nodiscard]] std::string_view string_of(std::uint32_t i) const noexcept {
    const std::uint64_t p = nodes_[i].payload;
    return std::string_view{strings_}.substr(low(p), high(p));
  }

  std::string text_;
  std::string source_;
  std::string strings_;                  // every string and key, decoded, end to end
  std::vector<node> nodes_;              // the root first
  std::vector<std::uint32_t> children_;  // each container's children; an object's as key, value, key, value...
};

inline json_type json_value::type() const noexcept { return doc_->nodes_[index_].type; }
inline bool json_value::boolean() const noexcept {
  return type() == json_type::boolean && doc_->nodes_[index_].payload != 0;
}
inline double json_value::number() const noexcept {
  return type() == json_type::number ? std::bit_cast<double>(doc_->nodes_[index_].payload) : 0.0;
}
inline std::string_view json_value::string() const noexcept {
  return type() == json_type::string ? doc_->string_of(index_) : std::string_view{};
}
inline std::size_t json_value::size() const noexcept {
  const auto t = type();
  const std::size_t n = json_document::high(doc_->nodes_[index_].payload);
  return t == json_type::array ? n : t == json_type::object ? n / 2 : 0;
}
inline json_value json_value::child(std::size_t i) const noexcept {
  return {doc_, doc_->children_[json_document::low(doc_->nodes_[index_].payload) + i]};
}
inline json_value json_value::item(std::size_t i) const noexcept { return child(i); }
inline std::string_view json_value::key(std::size_t i) const noexcept { return child(2 * i).string(); }
inline json_value json_value::member(std::size_t i) const noexcept { return child(2 * i + 1); }
inline std::optional<json_value> json_value::find(std::string_view k) const noexcept {
  if (type() != json_type::object) return std::nullopt;
  for (std::size_t i = 0; i < size(); ++i)
    if (key(i) == k) return member(i);
  return std::nullopt;
}
inline text_position json_value::position() const noexcept {
  return position_in(doc_->text_, doc_->nodes_[index_].offset);
}

namespace detail {

class json_parser {
 public:
  explicit json_parser(json_document& doc) noexcept : d_(doc), text_(doc.text_) {}

  void parse() {
    // Offsets and counts are 32-bit: that keeps a value to 16 bytes.
    if (text_.size() >= std::numeric_limits<std::uint32_t>::max())
      throw config_error(d_.source_ + ": " + std::to_string(text_.size()) + " bytes, more than a JSON document may have (4 GiB)");
    skip_space();
    (void)value(0);
    skip_space();
    if (pos_ < text_.size()) fail("unexpected text after the top-level value");
  }

 private:
  static constexpr int max_depth = 64;
  using node = json_document::node;

  [[noreturn]] void fail_at(std::size_t offset, const std::string& what) const {
    const auto p = position_in(text_, offset);
    throw config_error(d_.source_ + ":" + std::to_string(p.line) + ":" + std::to_string(p.column) + ": " + what);
  }
  [[noreturn]] void fail(const std::string& what) const { fail_at(pos_, what); }
  [[nodiscard]] bool at_end() const noexcept { return pos_ >= text_.size(); }
  [[nodiscard]] char peek() const noexcept { return at_end() ? '\0' : text_[pos_]; }
  void skip_space() noexcept {
    while (!at_end() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r')) ++pos_;
  }
  [[nodiscard]] static std::string byte_text(char c) {
    const auto b = static_cast<unsigned char>(c);
    if (b >= 0x20 && b < 0x7F) return std::string{"'"} + c + "'";
    char buf[16];
    std::snprintf(buf, sizeof buf, "byte 0x%02x", static_cast<unsigned>(b));
    return buf;
  }
  [[nodiscard]] std::string found() const {
    return at_end() ? ", found the end of the file" : ", found " + byte_text(text_[pos_]);
  }
  void expect(char c) {
    if (peek() != c) fail(std::string{"expected '"} + c + "'" + found());
    ++pos_;
  }
  std::uint32_t add(std::size_t offset, json_type t, std::uint64_t payload) {
    d_.nodes_.push_back({static_cast<std::uint32_t>(offset), t, payload});
    return static_cast<std::uint32_t>(d_.nodes_.size() - 1);
  }

  std::uint32_t value(int depth) {
    if (depth > max_depth) fail("nesting deeper than 64 levels");
    const std::size_t at = pos_;
    const char c = peek();
    if (c == '{' || c == '[') return container(depth, c == '{');
    if (c == '"') return add(at, json_type::string, string_literal());
    if (c == '-' || (c >= '0' && c <= '9')) return add(at, json_type::number, std::bit_cast<std::uint64_t>(number()));
    for (auto [word, type, b] : {std::tuple{std::string_view{"true"}, json_type::boolean, 1U},
                                 std::tuple{std::string_view{"false"}, json_type::boolean, 0U},
                                 std::tuple{std::string_view{"null"}, json_type::null, 0U}})
      if (text_.substr(pos_, word.size()) == word) {
        pos_ += word.size();
        return add(at, type, b);
      }
    fail("expected a value (object, array, string, number, true, false or null)" + found());
  }

  // Children are gathered on one stack and copied out when their container closes, so each
  // container's children sit together in children_ without a vector per container.
  std::uint32_t container(int depth, bool object) {
    const std::uint32_t self = add(pos_, object ? json_type::object : json_type::array, 0);
    const char close = object ? '}' : ']';
    ++pos_;
    const std::size_t mark = stack_.size();
    skip_space();
    if (peek() == close) {
      ++pos_;
    } else {
      for (;;) {
        skip_space();
        if (object) {
          if (peek() != '"') fail("expected a field name in double quotes" + found());
          const std::size_t key_at = pos_;
          stack_.push_back(add(key_at, json_type::string, string_literal()));
          skip_space();
          expect(':');
          skip_space();
        }
        stack_.push_back(value(depth + 1));
        skip_space();
        if (peek() == ',') {
          ++pos_;
          continue;
        }
        if (peek() == close) {
          ++pos_;
          break;
        }
        fail(std::string{"expected ',' or '"} + close + "'" + found());
      }
    }
    if (object) check_unique_keys(mark);
    const std::size_t first = d_.children_.size();
    d_.children_.insert(d_.children_.end(), stack_.begin() + static_cast<std::ptrdiff_t>(mark), stack_.end());
    d_.nodes_[self].payload = json_document::pack(first, stack_.size() - mark);
    stack_.resize(mark);
    return self;
  }

  // Fails at the first member, in file order, whose name an earlier member has. Small objects
  // compare every pair; larger ones sort (a hash set could be flooded by chosen names).
  void check_unique_keys(std::size_t mark) const {
    const std::size_t members = (stack_.size() - mark) / 2;
    const auto key = [&](std::size_t i) { return d_.string_of(stack_[mark + 2 * i]); };
    std::size_t dup = members;
    if (members <= 16) {
      for (std::size_t j = 1; j < members && dup == members; ++j)
        for (std::size_t i = 0; i < j; ++i)
          if (key(i) == key(j)) {
            dup = j;
            break;
          }
    } else {
      std::vector<std::pair<std::string_view, std::size_t>> sorted(members);
      for (std::size_t i = 0; i < members; ++i) sorted[i] = {key(i), i};
      std::sort(sorted.begin(), sorted.end());
      for (std::size_t k = 1; k < members; ++k)
        if (sorted[k].first == sorted[k - 1].first) dup = std::min(dup, sorted[k].second);
    }
    if (dup < members)
      fail_at(d_.nodes_[stack_[mark + 2 * dup]].offset, "field '" + std::string{key(dup)} + "' appears twice");
  }

  [[nodiscard]] static bool is_number_char(char c) noexcept {
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
  }
  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  [[nodiscard]] static bool is_json_number(std::string_view s) noexcept {
    std::size_t i = 0;
    const auto digits = [&] {
      const std::size_t from = i;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
      return i > from;
    };
    if (i < s.size() && s[i] == '-') ++i;
    if (i < s.size() && s[i] == '0') ++i;
    else if (!digits()) return false;
    if (i < s.size() && s[i] == '.') {
      ++i;
      if (!digits()) return false;
    }
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
      ++i;
      if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
      if (!digits()) return false;
    }
    return i == s.size();
  }

  double number() {
    const std::size_t start = pos_;
    while (!at_end() && is_number_char(text_[pos_])) ++pos_;
    const std::string_view s = text_.substr(start, pos_ - start);
    const std::string shown = s.size() > 40 ? std::string{s.substr(0, 40)} + "..." : std::string{s};
    if (!is_json_number(s)) fail_at(start, "malformed number '" + shown + "'");
    double v = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec == std::errc::result_out_of_range || (r.ec == std::errc{} && !std::isfinite(v)))
      fail_at(start, "number out of range '" + shown + "' (a double holds magnitudes from 2.2e-308 to 1.8e308)");
    if (r.ec != std::errc{} || r.ptr != s.data() + s.size()) fail_at(start, "malformed number '" + shown + "'");
    return v;
  }

  std::uint64_t string_literal() {
    ++pos_;  // the opening quote
    std::string& out = d_.strings_;
    const std::size_t start = out.size();
    for (;;) {
      std::size_t run = pos_;
      while (run < text_.size()) {
        const auto b = static_cast<unsigned char>(text_[run]);
        if (b < 0x20 || b >= 0x80 || b == '"' || b == '\\') break;
        ++run;
      }
      out.append(text_.substr(pos_, run - pos_));
      pos_ = run;
      if (at_end()) fail("unterminated string");
      const auto b = static_cast<unsigned char>(text_[pos_]);
      if (b == '"') {
        ++pos_;
        break;
      }
      if (b == '\\') {
        escape(out);
        continue;
      }
      if (b < 0x20) fail("control character in a string (write it as an escape: \\n, \\t, \\u0001...)");
      const auto d = utf8::decode(text_, pos_);
      if (d.length == 0) fail("invalid UTF-8 in a string (" + byte_text(text_[pos_]) + ")");
      out.append(text_.substr(pos_, d.length));
      pos_ += d.length;
    }
    return json_document::pack(start, out.size() - start);
  }

  void escape(std::string& out) {
    const std::size_t at = pos_;  // the backslash
    ++pos_;
    if (at_end()) fail("unterminated string");
    const char e = text_[pos_++];
    switch (e) {
      case '"': out += '"'; return;
      case '\\': out += '\\'; return;
      case '/': out += '/'; return;
      case 'b': out += '\b'; return;
      case 'f': out += '\f'; return;
      case 'n': out += '\n'; return;
      case 'r': out += '\r'; return;
      case 't': out += '\t'; return;
      case 'u': break;
      default: fail_at(at, "unknown escape '\\" + std::string{e} + "'");
    }
    char32_t cp = hex4(at);
    const auto escape_text = [&] { return std::string{text_.substr(at, 6)}; };
    if (cp >= 0xDC00 && cp <= 0xDFFF)
      fail_at(at, "lone surrogate " + escape_text() + ": a low surrogate must follow a high one (\\ud800 to \\udbff)");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      // UTF-16 writes a code point above U+FFFF as a high then a low surrogate, each escaped.
      if (text_.substr(pos_, 2) != "\\u")
        fail_at(at, "lone surrogate " + escape_text() + ": a high surrogate must be followed by a low one (\\udc00 to \\udfff)");
      pos_ += 2;
      const char32_t low = hex4(at);
      if (low < 0xDC00 || low > 0xDFFF)
        fail_at(at, "lone surrogate " + escape_text() + ": a high surrogate must be followed by a low one (\\udc00 to \\udfff)");
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    utf8::append(out, cp);
  }

  char32_t hex4(std::size_t escape_at) {
    char32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = peek();
      unsigned d = 0;
      if (h >= '0' && h <= '9') d = static_cast<unsigned>(h - '0');
      else if (h >= 'a' && h <= 'f') d = static_cast<unsigned>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') d = static_cast<unsigned>(h - 'A' + 10);
      else fail_at(escape_at, "malformed \\u escape (expected four hex digits)");
      v = v * 16 + d;
      ++pos_;
    }
    return v;
  }

  json_document& d_;
  std::string_view text_;
  std::size_t pos_ = 0;
  std::vector<std::uint32_t> stack_;
};

}  // namespace detail

// Parses `text` (copied into the document); `source` names it in errors. Throws config_error
// "source:line:column: what" on the first problem.
[[nodiscard]] inline json_document parse_json(std::string_view text, std::string source = "json") {
  json_document doc{text, std::move(source)};
  detail::json_parser{doc}.parse();
  return doc;
}

// Decodes one value at a path ("guests[3].workload"), failing with "source:line: path: what"; the
// root's path is empty and errors call it `root_name`.
class json_field {
 public:
  json_field(json_value v, std::string path, std::string_view root_name) : v_(v), path_(std::move(path)), root_name_(root_name) {}
  [[nodiscard]] static json_field root(const json_document& doc, std::string_view root_name) { return {doc.root(), "", root_name}; }

  [[nodiscard]] json_value json() const noexcept { return v_; }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

  [[noreturn]] void fail(const std::string& what) const {
    throw config_error(v_.document().source() + ":" + std::to_string(v_.position().line) + ": " +
                       (path_.empty() ? std::string{root_name_} : path_) + ": " + what);
  }

  // An object whose field names all come from `allowed`.
  const json_field& object(std::initializer_list<std::string_view> allowed) const {
    want(json_type::object);
    for (std::size_t i = 0; i < v_.size(); ++i) {
      const std::string_view k = v_.key(i);
      if (std::find(allowed.begin(), allowed.end(), k) != allowed.end()) continue;
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string{a};
      json_field{v_.member(i), child_path(k), root_name_}.fail("unknown field (expected one of " + list + ")");
    }
    return *this;
  }
  [[nodiscard]] bool has(std::string_view key) const noexcept { return v_.find(key).has_value(); }
  [[nodiscard]] json_field at(std::string_view key) const {
    const auto c = v_.find(key);
    if (!c) fail("missing required field '" + std::string{key} + "'");
    return {*c, child_path(key), root_name_};
  }
  [[nodiscard]] std::vector<json_field> items() const {
    want(json_type::array);
    std::vector<json_field> out;
    out.reserve(v_.size());
    for (std::size_t i = 0; i < v_.size(); ++i) out.emplace_back(v_.item(i), path_ + "[" + std::to_string(i) + "]", root_name_);
    return out;
  }

  [[nodiscard]] double number(double min, double max, bool min_exclusive = false) const {
    want(json_type::number);
    const double x = v_.number();
    if (x < min || (min_exclusive && x == min)) {
      if (min == 0 && !min_exclusive) fail("must not be negative, found " + show(x));
      fail(std::string{"must be "} + (min_exclusive ? "greater than " : "at least ") + show(min) + ", found " + show(x));
    }
    if (x > max) fail("must be at most " + show(max) + ", found " + show(x));
    return x;
  }
  [[nodiscard]] std::uint64_t integer(std::uint64_t min, std::uint64_t max) const {
    want(json_type::number);
    const double x = v_.number();
    if (std::floor(x) != x) fail("must be a whole number, found " + show(x));
    if (x < 0 && min == 0) fail("must not be negative, found " + show(x));
    if (x < static_cast<double>(min)) fail("must be at least " + std::to_string(min) + ", found " + show(x));
    if (x > static_cast<double>(max)) fail("must be at most " + std::to_string(max) + ", found " + show(x));
    return static_cast<std::uint64_t>(x);
  }
  [[nodiscard]] std::string string() const {
    want(json_type::string);
    return std::string{v_.string()};
  }
  [[nodiscard]] bool boolean() const {
    want(json_type::boolean);
    return v_.boolean();
  }

 private:
  void want(json_type t) const {
    if (v_.type() != t) fail("expected " + std::string{json_type_name(t)} + ", found " + std::string{json_type_name(v_.type())});
  }
  [[nodiscard]] std::string child_path(std::string_view key) const {
    return path_.empty() ? std::string{key} : path_ + "." + std::string{key};
  }
  [[nodiscard]] static std::string show(double x) { return to_shortest_string(x); }

  json_value v_;
  std::string path_;
  std::string_view root_name_;
};

}  // namespace pvmkit
