// A cheap stand-in for a fuzzer in the unit tests: `count` variants of a valid text, each with one
// to three bytes flipped, inserted or deleted, from a fixed seed so a failure reproduces.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace pvmkit::test {

template <class F>
void for_each_mutation(const std::string& valid, int count, F&& f) {
  std::uint64_t rng = 42;
  auto next = [&] {
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;  // Knuth's MMIX LCG
    return static_cast<std::size_t>(rng >> 33);
  };
  for (int i = 0; i < count; ++i) {
    std::string t = valid;
    for (std::size_t edits = 1 + next() % 3; edits > 0 && !t.empty(); --edits) {
      const std::size_t at = next() % t.size();
      switch (next() % 3) {
        case 0: t[at] = static_cast<char>(next() % 256); break;
        case 1: t.insert(at, 1, static_cast<char>(next() % 256)); break;
        default: t.erase(at, 1); break;
      }
    }
    f(t);
  }
}

}  // namespace pvmkit::test
