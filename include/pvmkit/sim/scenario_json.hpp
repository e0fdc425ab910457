// Reading scenarios from JSON. A small JSON parser that remembers where each value starts, and a
// decoder that checks every field (type, range, unknown names, references to nodes and devices)
// and names it in the error: "scenario.json:12: guests[3].workload.kind: unknown kind 'burstyy'
// (expected one of steady, bursty, diurnal, flash_crowd, trace)". docs/simulator.md has the format.
#pragma once

#include <pvmkit/core/error.hpp>
#include <pvmkit/sim/scenario.hpp>
#include <pvmkit/sim/trace.hpp>
#include <pvmkit/sim/workload.hpp>

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace pvmkit::sim {

struct json_value {
  enum class type { null, boolean, number, string, array, object };
  type kind = type::null;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<json_value> items;
  // An object's fields in file order, as parallel lists (a pair would need json_value complete).
  std::vector<std::string> keys;
  std::vector<json_value> values;
  std::size_t line = 1;
  std::size_t column = 1;

  [[nodiscard]] const json_value* find(std::string_view key) const noexcept;
};

inline const json_value* json_value::find(std::string_view key) const noexcept {
  for (std::size_t i = 0; i < keys.size(); ++i)
    if (keys[i] == key) return &values[i];
  return nullptr;
}

[[nodiscard]] constexpr std::string_view type_name(json_value::type t) noexcept {
  switch (t) {
    case json_value::type::null: return "null";
    case json_value::type::boolean: return "a boolean";
    case json_value::type::number: return "a number";
    case json_value::type::string: return "a string";
    case json_value::type::array: return "an array";
    case json_value::type::object: return "an object";
  }
  return "?";
}

class json_parser {
 public:
  json_parser(std::string_view text, std::string source) : text_(text), source_(std::move(source)) {}

  [[nodiscard]] json_value parse() {
    skip_space();
    json_value v = value(0);
    skip_space();
    if (pos_ < text_.size()) fail("unexpected text after the top-level value");
    return v;
  }

 private:
  static constexpr int max_depth = 64;

  [[noreturn]] void fail(const std::string& what) const {
    throw config_error(source_ + ":" + std::to_string(line_) + ":" + std::to_string(col_) + ": " + what);
  }
  [[nodiscard]] bool at_end() const noexcept { return pos_ >= text_.size(); }
  [[nodiscard]] char peek() const noexcept { return at_end() ? '\0' : text_[pos_]; }
  void advance() noexcept {
    if (text_[pos_] == '\n') {
      ++line_;
      col_ = 1;
    } else {
      ++col_;
    }
    ++pos_;
  }
  void skip_space() noexcept {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) advance();
  }
  void expect(char c) {
    if (peek() != c) fail(std::string{"expected '"} + c + "'" + found());
    advance();
  }
  [[nodiscard]] std::string found() const {
    if (at_end()) return ", found the end of the file";
    return std::string{", found '"} + peek() + "'";
  }

  json_value value(int depth) {
    if (depth > max_depth) fail("nesting deeper than 64 levels");
    json_value v;
    v.line = line_;
    v.column = col_;
    const char c = peek();
    if (c == '{') {
      v.kind = json_value::type::object;
      advance();
      skip_space();
      if (peek() == '}') {
        advance();
        return v;
      }
      for (;;) {
        skip_space();
        if (peek() != '"') fail("expected a field name in double quotes" + found());
        const std::size_t kl = line_, kc = col_;
        std::string key = string_literal();
        for (const auto& k : v.keys)
          if (k == key) {
            line_ = kl;
            col_ = kc;
            fail("field '" + key + "' appears twice");
          }
        skip_space();
        expect(':');
        skip_space();
        v.keys.push_back(std::move(key));
        v.values.push_back(value(depth + 1));
        skip_space();
        if (peek() == ',') {
          advance();
          continue;
        }
        if (peek() == '}') {
          advance();
          return v;
        }
        fail("expected ',' or '}'" + found());
      }
    }
    if (c == '[') {
      v.kind = json_value::type::array;
      advance();
      skip_space();
      if (peek() == ']') {
        advance();
        return v;
      }
      for (;;) {
        skip_space();
        v.items.push_back(value(depth + 1));
        skip_space();
        if (peek() == ',') {
          advance();
          continue;
        }
        if (peek() == ']') {
          advance();
          return v;
        }
        fail("expected ',' or ']'" + found());
      }
    }
    if (c == '"') {
      v.kind = json_value::type::string;
      v.string = string_literal();
      return v;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      v.kind = json_value::type::number;
      const std::size_t start = pos_;
      while (!at_end() && (std::string_view{"+-.eE0123456789"}.find(peek()) != std::string_view::npos)) advance();
      const auto* first = text_.data() + start;
      const auto* last = text_.data() + pos_;
      const auto r = std::from_chars(first, last, v.number);
      if (r.ec != std::errc{} || r.ptr != last || !std::isfinite(v.number)) {
        line_ = v.line;
        col_ = v.column;
        fail("malformed number '" + std::string{first, last} + "'");
      }
      return v;
    }
    for (auto [word, kind, b] : {std::tuple{std::string_view{"true"}, json_value::type::boolean, true},
                                 std::tuple{std::string_view{"false"}, json_value::type::boolean, false},
                                 std::tuple{std::string_view{"null"}, json_value::type::null, false}})
      if (text_.substr(pos_, word.size()) == word) {
        for (std::size_t i = 0; i < word.size(); ++i) advance();
        v.kind = kind;
        v.boolean = b;
        return v;
      }
    fail("expected a value (object, array, string, number, true, false or null)" + found());
  }

  std::string string_literal() {
    expect('"');
    std::string s;
    for (;;) {
      if (at_end()) fail("unterminated string");
      const char c = peek();
      if (c == '"') {
        advance();
        return s;
      }
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
      if (c != '\\') {
        s += c;
        advance();
        continue;
      }
      advance();
      const char e = peek();
      switch (e) {
        case '"': s += '"'; break;
        case '\\': s += '\\'; break;
        case '/': s += '/'; break;
        case 'b': s += '\b'; break;
        case 'f': s += '\f'; break;
        case 'n': s += '\n'; break;
        case 'r': s += '\r'; break;
        case 't': s += '\t'; break;
        case 'u': {
          advance();
          unsigned cp = 0;
          for (int i = 0; i < 4; ++i) {
            const char h = peek();
            unsigned d = 0;
            if (h >= '0' && h <= '9') d = static_cast<unsigned>(h - '0');
            else if (h >= 'a' && h <= 'f') d = static_cast<unsigned>(h - 'a' + 10);
            else if (h >= 'A' && h <= 'F') d = static_cast<unsigned>(h - 'A' + 10);
            else fail("malformed \\u escape");
            cp = cp * 16 + d;
            advance();
          }
          // Names in scenarios are ASCII in practice; other code points are kept as UTF-8.
          if (cp < 0x80) s += static_cast<char>(cp);
          else if (cp < 0x800) {
            s += static_cast<char>(0xC0 | (cp >> 6));
            s += static_cast<char>(0x80 | (cp & 0x3F));
          } else {
            s += static_cast<char>(0xE0 | (cp >> 12));
            s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            s += static_cast<char>(0x80 | (cp & 0x3F));
          }
          continue;
        }
        default: fail(std::string{"unknown escape '\\"} + e + "'");
      }
      advance();
    }
  }

  std::string_view text_;
  std::string source_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
  std::size_t col_ = 1;
};

[[nodiscard]] inline json_value parse_json(std::string_view text, std::string source = "json") {
  return json_parser{text, std::move(source)}.parse();
}

namespace detail {

// Decodes one JSON value at a path ("guests[3].workload"), failing with source:line: path: what.
class field {
 public:
  field(const json_value& v, std::string path, const std::string& source) : v_(&v), path_(std::move(path)), source_(&source) {}

  [[nodiscard]] const json_value& json() const noexcept { return *v_; }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

  [[noreturn]] void fail(const std::string& what) const {
    throw config_error(*source_ + ":" + std::to_string(v_->line) + ": " + (path_.empty() ? "scenario" : path_) + ": " + what);
  }

  // An object whose field names all come from `allowed`.
  const field& object(std::initializer_list<std::string_view> allowed) const {
    want(json_value::type::object);
    for (std::size_t i = 0; i < v_->keys.size(); ++i) {
      const std::string& k = v_->keys[i];
      bool ok = false;
      for (auto a : allowed) ok = ok || a == k;
      if (!ok) {
        std::string list;
        for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string{a};
        field{v_->values[i], child_path(k), *source_}.fail("unknown field (expected one of " + list + ")");
      }
    }
    return *this;
  }
  [[nodiscard]] bool has(std::string_view key) const { return v_->find(key) != nullptr; }
  [[nodiscard]] field at(std::string_view key) const {
    const json_value* c = v_->find(key);
    if (!c) fail("missing required field '" + std::string{key} + "'");
    return {*c, child_path(key), *source_};
  }
  [[nodiscard]] std::vector<field> items() const {
    want(json_value::type::array);
    std::vector<field> out;
    for (std::size_t i = 0; i < v_->items.size(); ++i) out.emplace_back(v_->items[i], path_ + "[" + std::to_string(i) + "]", *source_);
    return out;
  }

  [[nodiscard]] double number(double min, double max, bool min_exclusive = false) const {
    want(json_value::type::number);
    const double x = v_->number;
    if (x < min || (min_exclusive && x == min)) {
      if (min == 0 && !min_exclusive) fail("must not be negative, found " + show(x));
      fail(std::string{"must be "} + (min_exclusive ? "greater than " : "at least ") + show(min) + ", found " + show(x));
    }
    if (x > max) fail("must be at most " + show(max) + ", found " + show(x));
    return x;
  }
  [[nodiscard]] std::uint64_t integer(std::uint64_t min, std::uint64_t max) const {
    want(json_value::type::number);
    const double x = v_->number;
    if (std::floor(x) != x) fail("must be a whole number, found " + show(x));
    if (x < 0 && min == 0) fail("must not be negative, found " + show(x));
    if (x < static_cast<double>(min)) fail("must be at least " + std::to_string(min) + ", found " + show(x));
    if (x > static_cast<double>(max)) fail("must be at most " + std::to_string(max) + ", found " + show(x));
    return static_cast<std::uint64_t>(x);
  }
  [[nodiscard]] const std::string& string() const {
    want(json_value::type::string);
    return v_->string;
  }

 private:
  void want(json_value::type t) const {
    if (v_->kind != t)
      fail("expected " + std::string{type_name(t)} + ", found " + std::string{type_name(v_->kind)});
  }
  [[nodiscard]] std::string child_path(std::string_view key) const {
    return path_.empty() ? std::string{key} : path_ + "." + std::string{key};
  }
  static std::string show(double x) {
    std::ostringstream s;
    s << x;
    return s.str();
  }

  const json_value* v_;
  std::string path_;
  const std::string* source_;
};

inline constexpr double unbounded = 1e300;

template <class F>
void optional_field(const field& obj, std::string_view key, F&& f) {
  if (obj.has(key)) f(obj.at(key));
}

inline io_rates read_rates(const field& w, bool required) {
  io_rates r;
  if (required || w.has("net_pps")) r.net_pps = w.at("net_pps").number(0, unbounded);
  if (required || w.has("block_iops")) r.block_iops = w.at("block_iops").number(0, unbounded);
  return r;
}

}  // namespace detail

// Loads trace files named by "trace" workloads; paths are relative to the scenario's directory.
using trace_loader = std::function<io_trace(const std::string& path)>;

[[nodiscard]] inline workload read_workload(const detail::field& w, const std::string& guest_name, std::uint64_t seed,
                                            std::size_t guest_index, const trace_loader& traces) {
  using detail::unbounded;
  w.object({"kind", "net_pps", "block_iops", "peak", "on_probability", "slot_s", "amplitude", "period_s", "phase_s",
            "start_s", "ramp_s", "multiple", "decay_s", "file", "guest"});
  const auto kind_f = w.at("kind");
  const std::string& kind = kind_f.string();
  // Fields that only some kinds take are rejected for the others, so a typo'd kind cannot
  // silently drop its parameters.
  auto only = [&](std::initializer_list<std::string_view> allowed) {
    for (const auto& k : w.json().keys) {
      bool ok = k == "kind";
      for (auto a : allowed) ok = ok || a == k;
      if (!ok) w.at(k).fail("not a field of a '" + kind + "' workload");
    }
  };
  if (kind == "steady") {
    only({"net_pps", "block_iops"});
    return steady_load{detail::read_rates(w, false)};
  }
  if (kind == "bursty") {
    only({"net_pps", "block_iops", "peak", "on_probability", "slot_s"});
    bursty_load b;
    b.base = detail::read_rates(w, false);
    detail::optional_field(w, "peak", [&](const detail::field& f) { b.peak = f.number(0, unbounded); });
    detail::optional_field(w, "on_probability", [&](const detail::field& f) { b.on_probability = f.number(0, 1); });
    detail::optional_field(w, "slot_s", [&](const detail::field& f) { b.slot_s = f.number(0, unbounded, true); });
    b.seed = detail::mix64(seed ^ detail::mix64(guest_index + 1));
    return b;
  }
  if (kind == "diurnal") {
    only({"net_pps", "block_iops", "amplitude", "period_s", "phase_s"});
    diurnal_load d;
    d.mean = detail::read_rates(w, false);
    detail::optional_field(w, "amplitude", [&](const detail::field& f) { d.amplitude = f.number(0, 1); });
    detail::optional_field(w, "period_s", [&](const detail::field& f) { d.period_s = f.number(0, unbounded, true); });
    detail::optional_field(w, "phase_s", [&](const detail::field& f) { d.phase_s = f.number(-unbounded, unbounded); });
    return d;
  }
  if (kind == "flash_crowd") {
    only({"net_pps", "block_iops", "start_s", "ramp_s", "multiple", "decay_s"});
    flash_crowd_load f;
    f.base = detail::read_rates(w, false);
    detail::optional_field(w, "start_s", [&](const detail::field& x) { f.start_s = x.number(0, unbounded); });
    detail::optional_field(w, "ramp_s", [&](const detail::field& x) { f.ramp_s = x.number(0, unbounded, true); });
    detail::optional_field(w, "multiple", [&](const detail::field& x) { f.multiple = x.number(1, unbounded); });
    detail::optional_field(w, "decay_s", [&](const detail::field& x) { f.decay_s = x.number(0, unbounded, true); });
    return f;
  }
  if (kind == "trace") {
    only({"file", "guest"});
    const auto file_f = w.at("file");
    const std::string& file = file_f.string();
    std::string who = guest_name;
    detail::optional_field(w, "guest", [&](const detail::field& x) { who = x.string(); });
    if (!traces) file_f.fail("trace files cannot be read here");
    io_trace t = traces(file);
    trace_load l = t.load_for(who);
    if (!l.points) file_f.fail("trace '" + file + "' has no rows for guest '" + who + "'");
    return l;
  }
  kind_f.fail("unknown kind '" + kind + "' (expected one of steady, bursty, diurnal, flash_crowd, trace)");
}

// Parses and validates a scenario. `source` names the file in error messages; `traces` reads
// the trace files that "trace" workloads name (nullptr: such workloads are rejected).
[[nodiscard]] inline scenario parse_scenario(std::string_view text, const std::string& source,
                                             const trace_loader& traces = nullptr) {
  using detail::field;
  using detail::unbounded;
  const json_value root_json = parse_json(text, source);
  const field root{root_json, "", source};
  root.object({"name", "seed", "duration_s", "tick_s", "control_period_s", "host", "pvm", "model", "guests", "flipping"});
  scenario s;
  auto top = [&](std::string_view k) { return field{*root_json.find(k), std::string{k}, source}; };
  if (root.has("name")) s.name = top("name").string();
  if (root.has("seed")) s.seed = top("seed").integer(0, std::uint64_t{1} << 53);
  if (root.has("duration_s")) s.duration_s = top("duration_s").number(0, 1e7, true);
  if (root.has("tick_s")) s.tick_s = top("tick_s").number(0, 60, true);
  if (root.has("control_period_s")) {
    const auto f = top("control_period_s");
    s.control_period_s = f.number(s.tick_s, 3600);
    const double k = s.control_period_s / s.tick_s;
    if (std::abs(k - std::round(k)) > 1e-9 * k) f.fail("must be a whole number of ticks (tick_s = " + std::to_string(s.tick_s) + ")");
  }
  if (s.duration_s < s.tick_s) top("duration_s").fail("shorter than one tick");

  if (!root.has("host")) root.fail("missing required field 'host'");
  {
    const field h = top("host");
    h.object({"nodes", "cpus_per_node", "memory_per_node_gib", "distances", "devices"});
    s.host.nodes = static_cast<std::size_t>(h.at("nodes").integer(1, 1024));
    s.host.cpus_per_node = static_cast<std::size_t>(h.at("cpus_per_node").integer(1, 4096));
    detail::optional_field(h, "memory_per_node_gib", [&](const field& f) { s.host.memory_per_node_gib = f.number(0, 1 << 20, true); });
    const std::size_t n = s.host.nodes;
    if (h.has("distances")) {
      const auto rows = h.at("distances").items();
      if (rows.size() != n) h.at("distances").fail("expected " + std::to_string(n) + " rows (one per node), found " + std::to_string(rows.size()));
      for (std::size_t i = 0; i < n; ++i) {
        const auto cols = rows[i].items();
        if (cols.size() != n) rows[i].fail("expected " + std::to_string(n) + " entries, found " + std::to_string(cols.size()));
        for (std::size_t j = 0; j < n; ++j) {
          const auto d = static_cast<std::uint32_t>(cols[j].integer(10, 255));
          if (i == j && d != 10) cols[j].fail("a node's distance to itself must be 10");
          if (i != j && d <= 10) cols[j].fail("a remote node must be farther than 10");
          s.host.distances.push_back(d);
        }
      }
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < i; ++j)
          if (s.host.distances[i * n + j] != s.host.distances[j * n + i])
            rows[i].items()[j].fail("the matrix must be symmetric (distances[" + std::to_string(j) + "][" + std::to_string(i) + "] = " +
                                    std::to_string(s.host.distances[j * n + i]) + ")");
    }
    if (h.has("devices")) {
      std::set<std::string> names;
      for (const auto& d : h.at("devices").items()) {
        d.object({"name", "kind", "node"});
        device dev;
        dev.name = d.at("name").string();
        if (dev.name.empty()) d.at("name").fail("must not be empty");
        if (!names.insert(dev.name).second) d.at("name").fail("device '" + dev.name + "' is defined twice");
        const auto kf = d.at("kind");
        const std::string& k = kf.string();
        if (k == "network") dev.kind = device_kind::network;
        else if (k == "block") dev.kind = device_kind::block;
        else if (k == "other") dev.kind = device_kind::other;
        else kf.fail("unknown kind '" + k + "' (expected one of network, block, other)");
        const auto nf = d.at("node");
        const auto node = nf.integer(0, 1u << 20);
        if (node >= n) nf.fail("node " + std::to_string(node) + " does not exist (the host has " + std::to_string(n) + " nodes)");
        dev.node = node_id{static_cast<node_id::rep>(node)};
        s.host.devices.push_back(std::move(dev));
      }
    } else {
      s.host.devices.push_back({"eth0", device_kind::network, node_id{0}});
    }
  }

  // Page flipping (docs/flipping.md): its own guests, on this file's host.
  if (root.has("flipping")) s.flipping = read_flip_scenario(top("flipping"), make_topology(s.host), s.name);

  if (root.has("pvm")) {
    const field p = top("pvm");
    p.object({"boot_vcpus", "boot_memory_mib"});
    detail::optional_field(p, "boot_vcpus", [&](const field& f) {
      s.pvm.vcpus = static_cast<std::size_t>(f.integer(0, s.host.nodes * s.host.cpus_per_node));
    });
    detail::optional_field(p, "boot_memory_mib", [&](const field& f) { s.pvm.memory_mib = f.number(1, unbounded); });
  }

  if (root.has("model")) {
    const field m = top("model");
    m.object({"net_packet_us", "block_request_us", "guest_memory_share", "buffer_share", "net_ring_slots", "block_ring_slots"});
    detail::optional_field(m, "net_packet_us", [&](const field& f) { s.model.net_packet_us = f.number(0, 1e6, true); });
    detail::optional_field(m, "block_request_us", [&](const field& f) { s.model.block_request_us = f.number(0, 1e6, true); });
    detail::optional_field(m, "guest_memory_share", [&](const field& f) { s.model.guest_memory_share = f.number(0, 1); });
    detail::optional_field(m, "buffer_share", [&](const field& f) { s.model.buffer_share = f.number(0, 1); });
    if (s.model.guest_memory_share + s.model.buffer_share > 1)
      m.fail("guest_memory_share + buffer_share must be at most 1 (they are shares of one request's cost)");
    detail::optional_field(m, "net_ring_slots", [&](const field& f) { s.model.net_ring_slots = static_cast<std::size_t>(f.integer(0, 1u << 30)); });
    detail::optional_field(m, "block_ring_slots", [&](const field& f) { s.model.block_ring_slots = static_cast<std::size_t>(f.integer(0, 1u << 30)); });
  }

  if (!root.has("guests")) root.fail("missing required field 'guests'");
  const auto guests = top("guests").items();
  if (guests.empty()) top("guests").fail("needs at least one guest");
  std::set<std::string> names;
  std::vector<double> memory_on(s.host.nodes, s.pvm.memory_mib / 1024.0 / static_cast<double>(s.host.nodes));
  for (std::size_t i = 0; i < guests.size(); ++i) {
    const field& g = guests[i];
    g.object({"name", "home", "vcpus", "memory_gib", "net_device", "block_device", "workload"});
    guest_spec gs;
    gs.name = g.at("name").string();
    if (gs.name.empty()) g.at("name").fail("must not be empty");
    if (!names.insert(gs.name).second) g.at("name").fail("guest '" + gs.name + "' is defined twice");
    const auto hf = g.at("home");
    const auto home = hf.integer(0, 1u << 20);
    if (home >= s.host.nodes)
      hf.fail("node " + std::to_string(home) + " does not exist (the host has " + std::to_string(s.host.nodes) + " nodes: 0.." +
              std::to_string(s.host.nodes - 1) + ")");
    gs.home = node_id{static_cast<node_id::rep>(home)};
    detail::optional_field(g, "vcpus", [&](const field& f) { gs.vcpus = static_cast<std::size_t>(f.integer(1, 4096)); });
    detail::optional_field(g, "memory_gib", [&](const field& f) { gs.memory_gib = f.number(0, unbounded, true); });
    memory_on[home] += gs.memory_gib;
    if (memory_on[home] > s.host.memory_per_node_gib)
      g.fail("node " + std::to_string(home) + " runs out of memory (" + std::to_string(memory_on[home]) + " GiB asked of " +
             std::to_string(s.host.memory_per_node_gib) + ")");
    for (auto [key, dst] : {std::pair{"net_device", &gs.net_device}, std::pair{"block_device", &gs.block_device}})
      detail::optional_field(g, key, [&, dst = dst](const field& f) {
        *dst = f.string();
        if (!dst->empty()) {
          bool found = false;
          for (const auto& d : s.host.devices) found = found || d.name == *dst;
          if (!found) f.fail("device '" + *dst + "' is not in host.devices");
        }
      });
    gs.load = read_workload(g.at("workload"), gs.name, s.seed, i, traces);
    s.guests.push_back(std::move(gs));
  }
  return s;
}

[[nodiscard]] inline scenario read_scenario_file(const std::string& path) {
  const std::string text = detail::read_text_file(path, "scenario");
  const auto slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? std::string{} : path.substr(0, slash + 1);
  std::map<std::string, io_trace> cache;
  trace_loader loader = [&](const std::string& file) {
    const std::string full = !file.empty() && file.front() == '/' ? file : dir + file;
    auto it = cache.find(full);
    if (it == cache.end()) it = cache.emplace(full, read_trace_file(full)).first;
    return it->second;
  };
  return parse_scenario(text, path, loader);
}

}  // namespace pvmkit::sim
