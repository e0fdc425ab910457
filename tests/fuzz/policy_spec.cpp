// runtime/registry.hpp and the flipping policy names (sim/flipping_model.hpp): a policy spec
// ("name" or "name:key=value,...") either makes the named policy or throws config_error; the
// policy made is the one named. run_flipping refuses a name that is not a flipping policy with
// config_error before it runs anything (a known name would run the model: not a parser, skipped).
#include "fuzz_support.hpp"

#include <pvmkit/core/error.hpp>
#include <pvmkit/runtime/registry.hpp>
#include <pvmkit/sim/flipping_model.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

using pvmkit::fuzz::accepted;
using pvmkit::fuzz::expect;

std::string_view name_of(std::string_view spec) { return spec.substr(0, spec.find(':')); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto spec = pvmkit::fuzz::as_text(data, size);
  (void)accepted<pvmkit::config_error>([&] {
    const auto p = pvmkit::runtime::make_placement(spec);
    expect(p.name() == name_of(spec), "make_placement makes the policy named");
  });
  (void)accepted<pvmkit::config_error>([&] {
    const auto s = pvmkit::runtime::make_sizing(spec);
    expect(s.name() == name_of(spec), "make_sizing makes the policy named");
  });
  const auto names = pvmkit::sim::flipping_policy_names();
  if (std::find(names.begin(), names.end(), spec) == names.end()) {
    static const auto scenario = pvmkit::sim::default_flip_scenario();
    expect(!accepted<pvmkit::config_error>([&] { (void)pvmkit::sim::run_flipping(scenario, spec); }),
           "run_flipping refuses an unknown policy name");
  }
  return 0;
}
