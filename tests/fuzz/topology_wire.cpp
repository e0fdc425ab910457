// topology/wire.hpp: decode_topology (what a parent reads from the XML parser's child process)
// either builds a valid topology or throws topology_error, and never allocates more than the input
// can describe. The encoding is canonical: encoding what it decoded gives back the input.
#include "fuzz_support.hpp"

#include <pvmkit/topology/topology.hpp>
#include <pvmkit/topology/wire.hpp>

#include <cstdint>
#include <optional>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto input = pvmkit::fuzz::as_text(data, size);
  std::optional<pvmkit::topology> t;
  if (!pvmkit::fuzz::accepted<pvmkit::topology_error>([&] { t.emplace(pvmkit::decode_topology(input)); })) return 0;
  pvmkit::fuzz::expect(pvmkit::encode_topology(*t) == input, "encoding a decoded topology gives back its bytes");
  return 0;
}
