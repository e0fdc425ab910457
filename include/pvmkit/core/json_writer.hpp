// A small streaming JSON writer for decision records, CLI output and reports. Its output is always
// valid JSON in valid UTF-8: strings are escaped (control characters as \u00XX) and any byte that
// is not valid UTF-8 becomes U+FFFD; doubles are written exactly, as the shortest text that reads
// back to the same value. The reader is core/json_reader.hpp.
#pragma once

#include <pvmkit/core/utf8.hpp>

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace pvmkit {

// The shortest decimal text that reads back as `v` (std::to_chars): 0.1, 2.5e-07, 1e+300.
[[nodiscard]] inline std::string to_shortest_string(double v) {
  char buf[32];  // the longest double, -2.2250738585072014e-308, takes 24
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return r.ec == std::errc{} ? std::string{buf, r.ptr} : std::string{"?"};
}

class json_writer {
 public:
  json_writer& begin_object() { value_prefix(); out_ += '{'; stack_.push_back(true); return *this; }
  json_writer& end_object() { stack_.pop_back(); out_ += '}'; return *this; }
  json_writer& begin_array() { value_prefix(); out_ += '['; stack_.push_back(true); return *this; }
  json_writer& end_array() { stack_.pop_back(); out_ += ']'; return *this; }

  json_writer& key(std::string_view k) {
    comma();
    append_string(k);
    out_ += ':';
    after_key_ = true;
    return *this;
  }
  json_writer& value(std::string_view s) { value_prefix(); append_string(s); return *this; }
  json_writer& value(const char* s) { return value(std::string_view{s}); }
  json_writer& value(bool b) { value_prefix(); out_ += b ? "true" : "false"; return *this; }
  json_writer& value(std::int64_t v) { value_prefix(); out_ += std::to_string(v); return *this; }
  json_writer& value(std::uint64_t v) { value_prefix(); out_ += std::to_string(v); return *this; }
  json_writer& value(int v) { return value(static_cast<std::int64_t>(v)); }
  json_writer& value(unsigned v) { return value(static_cast<std::uint64_t>(v)); }
  json_writer& value(double v) {
    value_prefix();
    if (!std::isfinite(v)) { out_ += "null"; return *this; }  // JSON has no NaN or infinity
    out_ += to_shortest_string(v);
    return *this;
  }
  json_writer& null() { value_prefix(); out_ += "null"; return *this; }
  // A value that is already JSON (another writer's output), embedded as it is.
  json_writer& raw(std::string_view json) { value_prefix(); out_ += json; return *this; }

  template <class V>
  json_writer& field(std::string_view k, const V& v) { key(k); return value(v); }

  [[nodiscard]] const std::string& str() const noexcept { return out_; }
  [[nodiscard]] std::string take() { return std::move(out_); }

 private:
  void comma() {
    if (stack_.empty()) return;
    if (!stack_.back()) out_ += ',';
    stack_.back() = false;
  }
  void value_prefix() {
    if (after_key_) { after_key_ = false; return; }
    comma();
  }
  void append_string(std::string_view s) {
    out_ += '"';
    for (std::size_t i = 0; i < s.size();) {
      const char c = s[i];
      const auto b = static_cast<unsigned char>(c);
      if (b >= 0x80) {
        const auto d = utf8::decode(s, i);
        if (d.length == 0) {
          out_ += "\\ufffd";
          ++i;
        } else {
          out_.append(s.substr(i, d.length));
          i += d.length;
        }
        continue;
      }
      switch (c) {
        case '"': out_ += "\\\""; break;
        case '\\': out_ += "\\\\"; break;
        case '\n': out_ += "\\n"; break;
        case '\r': out_ += "\\r"; break;
        case '\t': out_ += "\\t"; break;
        default:
          if (b < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(b));
            out_ += buf;
          } else {
            out_ += c;
          }
      }
      ++i;
    }
    out_ += '"';
  }

  std::string out_;
  std::vector<bool> stack_;  // per open container: "no element written yet"
  bool after_key_ = false;
};

}  // namespace pvmkit
