// Reading a policy spec ("name:key=value,...") and its values, on a registry of this test's own:
// every malformed spec or value is a config_error that names it.
#include <pvmkit/core/error.hpp>
#include <pvmkit/runtime/policy_spec.hpp>

#include <doctest/doctest.h>

#include <cstddef>
#include <string>


using namespace pvmkit;
using namespace pvmkit::literals;
namespace rd = pvmkit::runtime::detail;
using pvmkit::runtime::registry_row;

namespace {

struct made {
  std::string name;
  double weight = 1.0;
  std::size_t count = 0;
  bytes size{};
};

const rd::key_def<made> keys[] = {
    {"weight", &made::weight},
    {"count", &made::count},
    {"size", &made::size},
};

const registry_row<made> rows[] = {
    {"tunable", [](rd::parsed_spec& s) { made m = rd::read_options(s, keys); m.name = "tunable"; return m; }},
    {"plain", [](rd::parsed_spec& s) { rd::no_options(s); return made{"plain"}; }},
};

made make(const std::string& spec) { return rd::make_from(rows, spec, "test"); }

}  // namespace

TEST_CASE("policy_spec: a name alone, or with key=value options in any order") {
  CHECK(make("plain").name == "plain");
  const made m = make("tunable:size=1.5GiB,weight=0.25,count=3");
  CHECK(m.name == "tunable");
  CHECK(m.weight == 0.25);
  CHECK(m.count == 3);
  CHECK(m.size == bytes{3ULL << 29});
  CHECK(make("tunable").weight == 1.0);  // an option not given keeps its default
}

TEST_CASE("policy_spec: sizes take B, KiB, MiB, GiB, TiB or a plain number of bytes") {
  CHECK(make("tunable:size=4096").size == bytes{4096});
  CHECK(make("tunable:size=4096B").size == bytes{4096});
  CHECK(make("tunable:size=64KiB").size == 64_KiB);
  CHECK(make("tunable:size=512MiB").size == 512_MiB);
  CHECK(make("tunable:size=2TiB").size == bytes{2ULL << 40});
}

TEST_CASE("policy_spec: malformed specs are refused, naming what is wrong") {
  CHECK_THROWS_WITH_AS(make(""), "test policy: empty name in ''", config_error);
  CHECK_THROWS_WITH_AS(make(":count=1"), "test policy: empty name in ':count=1'", config_error);
  CHECK_THROWS_WITH_AS(make("tunable:"), "test policy 'tunable': nothing after ':' (expected key=value[,key=value...])",
                       config_error);
  CHECK_THROWS_WITH_AS(make("tunable:count"), "test policy 'tunable': 'count' is not key=value", config_error);
  CHECK_THROWS_WITH_AS(make("tunable:=3"), "test policy 'tunable': '=3' is not key=value", config_error);
  CHECK_THROWS_WITH_AS(make("tunable:count=1,count=2"), "test policy 'tunable': key 'count' given twice", config_error);
  CHECK_THROWS_WITH_AS(make("tunable:count=1,"), "test policy 'tunable': '' is not key=value", config_error);
}

TEST_CASE("policy_spec: unknown names and keys list the valid ones") {
  CHECK_THROWS_WITH_AS(make("nosuch"), "unknown test policy 'nosuch' (valid: tunable, plain)", config_error);
  CHECK_THROWS_WITH_AS(make("tunable:colour=red"),
                       "test policy 'tunable': unknown key 'colour' (valid keys: weight, count, size)", config_error);
  CHECK_THROWS_WITH_AS(make("plain:count=1"), "test policy 'plain': unknown key 'count' (valid keys: none)", config_error);
}

TEST_CASE("policy_spec: values that do not parse or are out of range are refused") {
  CHECK_THROWS_WITH_AS(make("tunable:weight=abc"), "test policy 'tunable': bad value 'abc' for 'weight': expected a number",
                       config_error);
  CHECK_THROWS_AS(make("tunable:weight="), config_error);
  CHECK_THROWS_AS(make("tunable:weight=1.5x"), config_error);
  CHECK_THROWS_AS(make("tunable:weight=inf"), config_error);
  CHECK_THROWS_AS(make("tunable:weight=nan"), config_error);
  CHECK_THROWS_WITH_AS(make("tunable:count=-1"),
                       "test policy 'tunable': bad value '-1' for 'count': expected a whole number >= 0", config_error);
  CHECK_THROWS_AS(make("tunable:count=2.5"), config_error);
  CHECK_THROWS_AS(make("tunable:count=99999999999999999999999"), config_error);
  CHECK_THROWS_AS(make("tunable:size=-1GiB"), config_error);
  CHECK_THROWS_AS(make("tunable:size=GiB"), config_error);
  CHECK_THROWS_AS(make("tunable:size=4GB"), config_error);
  CHECK_THROWS_AS(make("tunable:size=16TiB0"), config_error);
  CHECK_THROWS_WITH_AS(make("tunable:size=17000000TiB"),
                       "test policy 'tunable': bad value '17000000TiB' for 'size': expected a size such as 4GiB, 512MiB, "
                       "64KiB or a number of bytes",
                       config_error);
}
