// Policies by name: the spec a user writes ("name" or "name:key=value,key=value", e.g.
// "closer:hysteresis=0.2" or "static_fixed:vcpus=4,memory=4GiB"), how it is read, and the rows a
// registry is made of. An unknown name or key, or a value that does not parse or is out of range,
// throws config_error naming it and the valid ones. The rows of placement and sizing policies are
// in registry.hpp; the flipping policies' in sim/flipping_model.hpp.
#pragma once

#include <pvmkit/core/error.hpp>
#include <pvmkit/core/units.hpp>

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

namespace pvmkit::runtime {

namespace detail {

struct spec_param {
  std::string key;
  std::string value;
};

struct parsed_spec {
  std::string family;  // "placement" / "sizing", for messages
  std::string name;
  std::vector<spec_param> params;

  [[nodiscard]] std::string where() const { return family + " policy '" + name + "'"; }
};

[[nodiscard]] inline std::string join(const std::vector<std::string>& xs) {
  std::string out;
  for (const auto& x : xs) out += (out.empty() ? "" : ", ") + x;
  return out.empty() ? std::string{"none"} : out;
}

[[nodiscard]] inline parsed_spec parse_spec(std::string_view text, std::string_view family) {
  parsed_spec s;
  s.family = std::string{family};
  const auto colon = text.find(':');
  s.name = std::string{text.substr(0, colon)};
  if (s.name.empty()) throw config_error(s.family + " policy: empty name in '" + std::string{text} + "'");
  if (colon == std::string_view::npos) return s;
  std::string_view rest = text.substr(colon + 1);
  if (rest.empty()) throw config_error(s.where() + ": nothing after ':' (expected key=value[,key=value...])");
  while (true) {
    const auto comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    const auto eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0)
      throw config_error(s.where() + ": '" + std::string{item} + "' is not key=value");
    std::string key{item.substr(0, eq)};
    for (const auto& p : s.params)
      if (p.key == key) throw config_error(s.where() + ": key '" + key + "' given twice");
    s.params.push_back({std::move(key), std::string{item.substr(eq + 1)}});
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return s;
}

[[noreturn]] inline void bad_value(const parsed_spec& s, const spec_param& p, std::string_view expected) {
  throw config_error(s.where() + ": bad value '" + p.value + "' for '" + p.key + "': expected " + std::string{expected});
}

[[nodiscard]] inline double parse_number(const parsed_spec& s, const spec_param& p) {
  double v = 0;
  const char* b = p.value.data();
  const char* e = b + p.value.size();
  const auto r = std::from_chars(b, e, v);
  if (p.value.empty() || r.ec != std::errc{} || r.ptr != e || !std::isfinite(v)) bad_value(s, p, "a number");
  return v;
}

[[nodiscard]] inline std::size_t parse_count(const parsed_spec& s, const spec_param& p) {
  std::size_t v = 0;
  const char* b = p.value.data();
  const char* e = b + p.value.size();
  const auto r = std::from_chars(b, e, v);
  if (p.value.empty() || r.ec != std::errc{} || r.ptr != e) bad_value(s, p, "a whole number >= 0");
  return v;
}

// "4GiB", "512MiB", "64KiB", "4096B" or a plain number of bytes; fractions allowed ("1.5GiB").
[[nodiscard]] inline bytes parse_size(const parsed_spec& s, const spec_param& p) {
  static constexpr std::pair<std::string_view, std::uint64_t> units[] = {
      {"TiB", 1ULL << 40}, {"GiB", 1ULL << 30}, {"MiB", 1ULL << 20}, {"KiB", 1ULL << 10}, {"B", 1}};
  std::string_view text = p.value;
  std::uint64_t scale = 1;
  for (const auto& [suffix, k] : units)
    if (text.size() > suffix.size() && text.substr(text.size() - suffix.size()) == suffix) {
      text.remove_suffix(suffix.size());
      scale = k;
      break;
    }
  double v = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  constexpr std::string_view expected = "a size such as 4GiB, 512MiB, 64KiB or a number of bytes";
  if (text.empty() || r.ec != std::errc{} || r.ptr != text.data() + text.size() || !std::isfinite(v) || v < 0)
    bad_value(s, p, expected);
  const double b = v * static_cast<double>(scale);
  if (b >= 1.8e19) bad_value(s, p, expected);
  return bytes{static_cast<std::uint64_t>(b)};
}

// A value read into an option of its type: a number, a count or a size.
inline void parse_into(double& to, const parsed_spec& s, const spec_param& p) { to = parse_number(s, p); }
inline void parse_into(std::size_t& to, const parsed_spec& s, const spec_param& p) { to = parse_count(s, p); }
inline void parse_into(bytes& to, const parsed_spec& s, const spec_param& p) { to = parse_size(s, p); }

// A key of a policy's options: its name and the member it sets, whose type says how it is read.
template <class Options>
struct key_def {
  std::string_view key;
  std::variant<double Options::*, std::size_t Options::*, bytes Options::*> member;

  void read(Options& o, const parsed_spec& s, const spec_param& p) const {
    std::visit([&](auto m) { parse_into(o.*m, s, p); }, member);
  }
};

template <class Options, std::size_t N>
Options read_options(parsed_spec& s, const key_def<Options> (&keys)[N]) {
  Options o{};
  for (auto& p : s.params) {
    bool known = false;
    for (const auto& k : keys)
      if (k.key == p.key) {
        k.read(o, s, p);
        known = true;
      }
    if (!known) {
      std::vector<std::string> valid;
      for (const auto& k : keys) valid.emplace_back(k.key);
      throw config_error(s.where() + ": unknown key '" + p.key + "' (valid keys: " + join(valid) + ")");
    }
  }
  return o;
}

inline void no_options(const parsed_spec& s) {
  if (!s.params.empty())
    throw config_error(s.where() + ": unknown key '" + s.params.front().key + "' (valid keys: none)");
}

// Range checks live in each policy's options::validate(); its message is prefixed with the spec.
template <class Policy, class Options>
Policy build(const parsed_spec& s, const Options& o) {
  try {
    return Policy{o};
  } catch (const config_error& e) {
    throw config_error(s.where() + ": " + e.what());
  }
}

}  // namespace detail

// ---- registries: one row per policy ------------------------------------------------------------
// Adding a policy is its header and its row. A row names the policy and makes it from a parsed
// spec (options read and checked, or none allowed).

template <class Made>
struct registry_row {
  std::string_view name;
  Made (*make)(detail::parsed_spec&);
};

namespace detail {

// A policy without options.
template <class Made, class P>
Made plain(parsed_spec& s) {
  no_options(s);
  return P{};
}

template <class Made, std::size_t N>
std::vector<std::string> names_of(const registry_row<Made> (&rows)[N]) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.emplace_back(r.name);
  return out;
}

// The row named by the spec, which it then makes; an unknown name lists the known ones.
template <class Made, std::size_t N>
Made make_from(const registry_row<Made> (&rows)[N], std::string_view spec, std::string_view family) {
  parsed_spec s = parse_spec(spec, family);
  for (const auto& r : rows)
    if (r.name == s.name) return r.make(s);
  throw config_error("unknown " + std::string{family} + " policy '" + s.name + "' (valid: " + join(names_of(rows)) + ")");
}

}  // namespace detail

}  // namespace pvmkit::runtime
