// The unit-test side of a harness: runs every file under the folders (or the files) named on the
// command line through LLVMFuzzerTestOneInput once, as libFuzzer would, without libFuzzer. A crash
// or a broken contract aborts with the input's name printed just before; a folder with no file in
// it fails, so that a misplaced corpus cannot make the test pass by running nothing.
#include "fuzz_support.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

namespace fs = std::filesystem;

namespace {

std::vector<fs::path> inputs_under(const fs::path& p) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (fs::is_regular_file(p, ec)) return {p};
  for (fs::recursive_directory_iterator it{p, ec}, end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec)) out.push_back(it->path());
  if (ec) std::fprintf(stderr, "%s: %s\n", p.c_str(), ec.message().c_str());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <corpus folder or input file>...\n", argv[0]);
    return 2;
  }
  std::size_t total = 0;
  for (int a = 1; a < argc; ++a) {
    const auto files = inputs_under(argv[a]);
    if (files.empty()) {
      std::fprintf(stderr, "%s: no input found\n", argv[a]);
      return 1;
    }
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      const std::string bytes{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
      if (!in.good() && !in.eof()) {
        std::fprintf(stderr, "%s: cannot read\n", f.c_str());
        return 1;
      }
      std::fprintf(stderr, "input %s (%zu bytes)\n", f.c_str(), bytes.size());
      (void)LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
      ++total;
    }
  }
  std::printf("replayed %zu inputs: no contract broken\n", total);
  return 0;
}
