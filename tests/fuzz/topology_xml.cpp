// topology/hwloc.hpp: load_xml_string, which checks the text (hwloc version, CPU and node
// indexes) in this process and has libhwloc parse it in a child process. Any input gives a
// topology or a topology_error naming its source ("XML text: ..."), also when libhwloc crashes
// (the child dies, this process does not). A topology it gives survives the wire encoding. The
// child runs pvmkit's code too: a UBSan report in what it printed ("runtime error:") is a bug of
// ours (libhwloc is not instrumented). Each input costs a fork: run this one with a short -max_len.
#include "fuzz_support.hpp"

#include <pvmkit/topology/hwloc.hpp>
#include <pvmkit/topology/topology.hpp>
#include <pvmkit/topology/wire.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#ifdef PVMKIT_LIBFUZZER
#include <pthread.h>
#include <sanitizer/common_interface_defs.h>

namespace {
// libFuzzer's death callback writes the input as a crash artifact when a sanitizer ends the
// process: in the parser's child, where libhwloc's own crashes end it, that would be a false one.
// The child of a fork drops the callback; the parent still gets the outcome as a topology_error.
[[maybe_unused]] const int child_keeps_no_death_callback = pthread_atfork(nullptr, nullptr, [] { __sanitizer_set_death_callback(nullptr); });
}  // namespace
#endif

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using pvmkit::fuzz::expect;
  pvmkit::hwloc::xml_options opt;
  opt.limits.timeout = std::chrono::milliseconds{5000};
  std::optional<pvmkit::topology> t;
  std::string error;
  if (!pvmkit::fuzz::accepted<pvmkit::topology_error>([&] {
        try {
          t.emplace(pvmkit::hwloc::load_xml_string(pvmkit::fuzz::as_text(data, size), opt));
        } catch (const pvmkit::topology_error& e) {
          error = e.what();
          throw;
        }
      })) {
    expect(error.starts_with("XML text: "), "an error names its source: " + error);
    expect(error.find("runtime error:") == std::string::npos, "no UBSan report from pvmkit's code in the child: " + error);
    return 0;
  }
  expect(pvmkit::decode_topology(pvmkit::encode_topology(*t)) == *t, "the topology survives the wire encoding");
  return 0;
}
