// topology/hwloc.hpp: parse_distance_matrix ("10,21;21,10", the CLI's --distances) either returns
// a square matrix or throws topology_error. Written back in the same syntax, it reads back equal.
#include "fuzz_support.hpp"

#include <pvmkit/topology/hwloc.hpp>
#include <pvmkit/topology/topology.hpp>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using pvmkit::fuzz::expect;
  std::vector<std::uint32_t> m;
  if (!pvmkit::fuzz::accepted<pvmkit::topology_error>(
          [&] { m = pvmkit::hwloc::parse_distance_matrix(pvmkit::fuzz::as_text(data, size)); }))
    return 0;
  const auto n = static_cast<std::size_t>(std::llround(std::sqrt(static_cast<double>(m.size()))));
  expect(n > 0 && n * n == m.size(), "a square matrix, not empty");
  std::string written;
  for (std::size_t i = 0; i < m.size(); ++i) written += (i == 0 ? "" : i % n == 0 ? ";" : ",") + std::to_string(m[i]);
  std::vector<std::uint32_t> again;
  if (!pvmkit::fuzz::accepted<pvmkit::topology_error>([&] { again = pvmkit::hwloc::parse_distance_matrix(written); }))
    pvmkit::fuzz::bug("a matrix written back does not parse: " + written);
  expect(again == m, "a matrix written back reads back equal");
  return 0;
}
