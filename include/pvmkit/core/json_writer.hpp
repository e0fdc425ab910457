// A small streaming JSON writer for decision records, CLI output and reports. Reading JSON is the
// boundary's job (see sim/), writing is everyone's: one implementation keeps escaping right.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace pvmkit {

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
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    out_ += buf;
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
    for (char c : s) {
      switch (c) {
        case '"': out_ += "\\\""; break;
        case '\\': out_ += "\\\\"; break;
        case '\n': out_ += "\\n"; break;
        case '\r': out_ += "\\r"; break;
        case '\t': out_ += "\\t"; break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
            out_ += buf;
          } else {
            out_ += c;
          }
      }
    }
    out_ += '"';
  }

  std::string out_;
  std::vector<bool> stack_;  // per open container: "no element written yet"
  bool after_key_ = false;
};

}  // namespace pvmkit
