// apply_actions: the supervisor's orders carried out on a backend, a refusal fed back as a failure.
#include "supervision.hpp"

#include <pvmkit/backend/mock.hpp>
#include <pvmkit/recovery/driver.hpp>
#include <pvmkit/recovery/supervisor.hpp>
#include <pvmkit/topology/topology.hpp>

#include <doctest/doctest.h>

using namespace pvmkit;
using namespace pvmkit::recovery;
using namespace pvmkit::literals;
using namespace pvmkit::test;

TEST_CASE("driver: a start the backend refuses is a failure the supervisor handles") {
  mock_host host(make_uniform_topology(1, 2, 1_GiB));
  const auto a = host.add_component("xenstored");
  const auto b = host.add_component("netback");
  supervisor s({spec(a.value(), "xenstored"), spec(b.value(), "netback", {a.value()})}, no_backoff(2));
  int refusals = 0;
  host.fail_when([&](const mock_call& c) { return c.name == "start_component" && c.args == "component=1" && refusals++ < 1; });
  auto log = apply_actions(host, s, s.start_all(t0), t0);
  REQUIRE(log.size() == 3);  // xenstored, netback (refused), netback again
  CHECK(!log[1].error.default_error_condition().message().empty());
  CHECK(log[1].error == make_error_code(errc::injected_failure));
  CHECK(!log[2].error);
  CHECK(host.status(b).value() == component_status::running);
  CHECK(s.restarts(b) == 1);
}
