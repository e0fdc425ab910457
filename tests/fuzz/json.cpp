// core/json_reader.hpp: parse_json either builds a document or throws config_error. A document's
// strings are valid UTF-8, and json_writer's text of it reads back as the same document (numbers
// to the bit), which writes the same text again.
#include "fuzz_support.hpp"

#include <pvmkit/core/error.hpp>
#include <pvmkit/core/json_reader.hpp>
#include <pvmkit/core/json_writer.hpp>
#include <pvmkit/core/utf8.hpp>

#include <bit>
#include <cstdint>
#include <optional>
#include <string>

namespace {

using pvmkit::json_type;
using pvmkit::json_value;
using pvmkit::fuzz::expect;

void write(pvmkit::json_writer& w, json_value v) {
  switch (v.type()) {
    case json_type::null: w.null(); break;
    case json_type::boolean: w.value(v.boolean()); break;
    case json_type::number: w.value(v.number()); break;
    case json_type::string:
      expect(pvmkit::utf8::is_valid(v.string()), "a parsed string is valid UTF-8");
      w.value(v.string());
      break;
    case json_type::array:
      w.begin_array();
      for (std::size_t i = 0; i < v.size(); ++i) write(w, v.item(i));
      w.end_array();
      break;
    case json_type::object:
      w.begin_object();
      for (std::size_t i = 0; i < v.size(); ++i) {
        expect(pvmkit::utf8::is_valid(v.key(i)), "a parsed key is valid UTF-8");
        w.key(v.key(i));
        write(w, v.member(i));
      }
      w.end_object();
      break;
  }
}

bool same(json_value a, json_value b) {
  if (a.type() != b.type() || a.size() != b.size()) return false;
  switch (a.type()) {
    case json_type::null: return true;
    case json_type::boolean: return a.boolean() == b.boolean();
    case json_type::number: return std::bit_cast<std::uint64_t>(a.number()) == std::bit_cast<std::uint64_t>(b.number());
    case json_type::string: return a.string() == b.string();
    case json_type::array:
      for (std::size_t i = 0; i < a.size(); ++i)
        if (!same(a.item(i), b.item(i))) return false;
      return true;
    case json_type::object:
      for (std::size_t i = 0; i < a.size(); ++i)
        if (a.key(i) != b.key(i) || !same(a.member(i), b.member(i))) return false;
      return true;
  }
  return false;
}

std::string text_of(const pvmkit::json_document& doc) {
  pvmkit::json_writer w;
  write(w, doc.root());
  return w.take();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::optional<pvmkit::json_document> doc;
  if (!pvmkit::fuzz::accepted<pvmkit::config_error>([&] { doc.emplace(pvmkit::parse_json(pvmkit::fuzz::as_text(data, size), "fuzz.json")); }))
    return 0;
  const std::string written = text_of(*doc);
  std::optional<pvmkit::json_document> again;
  if (!pvmkit::fuzz::accepted<pvmkit::config_error>([&] { again.emplace(pvmkit::parse_json(written, "written.json")); }))
    pvmkit::fuzz::bug("json_writer's text of a parsed document does not parse: " + written);
  expect(same(doc->root(), again->root()), "the written document reads back as the same document");
  expect(text_of(*again) == written, "writing the read-back document gives the same text");
  return 0;
}
