// core/id_set.hpp: id_set::parse reads the list syntax ("0-3,8") or answers nullopt; it never
// throws. A parsed set stays within max_index, iterates in order over size() members, and its
// to_string reads back as the same set and is canonical (the same text again).
#include "fuzz_support.hpp"

#include <pvmkit/core/id_set.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace {

using pvmkit::fuzz::expect;

template <class Set>
void check(std::string_view text) {
  std::optional<Set> s;
  (void)pvmkit::fuzz::accepted<pvmkit::fuzz::no_exception>([&] { s = Set::parse(text); });
  if (!s) return;
  expect(s->extent() <= Set::max_index + 1, "no id above max_index");
  std::size_t n = 0;
  std::optional<std::size_t> previous;
  for (auto id : *s) {
    expect(!previous || *previous < id.index(), "members in increasing order");
    expect(s->contains(id), "a member is contained");
    previous = id.index();
    ++n;
  }
  expect(n == s->size(), "size() counts the members");
  expect(s->empty() == (n == 0), "empty() when there are no members");
  const std::string written = s->to_string();
  const auto again = Set::parse(written);
  expect(again && *again == *s, "to_string reads back as the same set: " + written);
  expect(again->to_string() == written, "to_string is canonical");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = pvmkit::fuzz::as_text(data, size);
  check<pvmkit::cpuset>(text);
  check<pvmkit::nodeset>(text);
  return 0;
}
