// The simulator's cost model on its own: the latency curve, the multiplier of one request, the
// parameter table and its consistency check. engine.cpp checks the same equation through runs.
#include <pvmkit/sim/model.hpp>

#include <doctest/doctest.h>

#include <cstring>
#include <vector>

using namespace pvmkit;
using namespace pvmkit::literals;
using namespace pvmkit::sim;

TEST_CASE("relative_latency: 1 at distance 10, remote_latency at 21, linear beyond") {
  const cost_model m;
  CHECK(relative_latency(m, 10) == doctest::Approx(1.0));
  CHECK(relative_latency(m, 21) == doctest::Approx(1.75));
  CHECK(relative_latency(m, 32) == doctest::Approx(2.5));
}

TEST_CASE("cost_multiplier: each share stretches by the latency of its own access") {
  const cost_model m;
  const topology t = make_uniform_topology(2, 4, 4_GiB);  // distance 21 between the nodes
  const node_id n0{0}, n1{1};
  const std::vector<double> local{1.0, 0.0}, remote{0.0, 1.0};
  CHECK(cost_multiplier(m, t, n0, n0, local) == doctest::Approx(1.0));
  CHECK(cost_multiplier(m, t, n0, n1, local) == doctest::Approx(1 + 0.3 * 0.75));          // guest remote
  CHECK(cost_multiplier(m, t, n0, n0, remote) == doctest::Approx(1 + 0.2 * 0.75));         // buffers remote
  CHECK(cost_multiplier(m, t, n0, n0, local, n1) == doctest::Approx(1 + 0.1 * 0.75));      // device remote
  CHECK(cost_multiplier(m, t, n0, n1, remote, n1) == doctest::Approx(1 + 0.6 * 0.75));     // all remote
  CHECK(cost_multiplier(m, t, n0, n0, local, node_id{7}) == doctest::Approx(1.0));         // no such device node
}

TEST_CASE("the model's parameter table names each real-valued member once, with a range that holds its default") {
  const cost_model m;
  std::vector<const char*> names;
  for (const auto& f : cost_model_fields) {
    CHECK(f.min <= m.*f.member);
    CHECK(m.*f.member <= f.max);
    for (const char* n : names) CHECK(std::strcmp(n, f.name) != 0);
    names.push_back(f.name);
  }
  CHECK(names.size() == 6);
}

TEST_CASE("cost_model_problem: shares that add up past one request are inconsistent") {
  cost_model m;
  CHECK(std::strlen(cost_model_problem(m)) == 0);
  m.guest_memory_share = 0.5;
  m.buffer_share = 0.4;
  m.device_share = 0.1;
  CHECK(std::strlen(cost_model_problem(m)) == 0);  // exactly 1 is allowed
  m.device_share = 0.2;
  CHECK(std::string(cost_model_problem(m)).find("must be at most 1") != std::string::npos);
}
