#include <pvmkit/sim/faults.hpp>

#include <doctest/doctest.h>

using namespace pvmkit;
using namespace pvmkit::sim;

namespace {
const strategy_result& of(const fault_report& r, recovery_strategy s) {
  for (const auto& x : r.strategies)
    if (x.strategy == s) return x;
  FAIL("strategy missing");
  return r.strategies.front();
}
}  // namespace

TEST_CASE("fault model: the default scenario ranks specialised < plain restart < stock Xen") {
  const auto s = default_fault_scenario();
  const auto r = run_faults(s);
  REQUIRE(r.strategies.size() == 3);
  const auto& stock = of(r, recovery_strategy::stock_xen);
  const auto& plain = of(r, recovery_strategy::plain_restart);
  const auto& spec = of(r, recovery_strategy::specialised);
  CHECK(spec.data_path_down_s < plain.data_path_down_s);
  CHECK(plain.data_path_down_s < stock.data_path_down_s);
  CHECK(spec.control_plane_down_s < plain.control_plane_down_s);
  CHECK(spec.lost_state_entries == 0);
  CHECK(plain.lost_state_entries == 2 * 10000);  // xenstored crashes and hangs once each
  CHECK(spec.guest_restarts == 0);
  CHECK(stock.faults.front().host_rebooted);  // the store's crash ends in a host reboot
  CHECK(r.to_json().find("\"figures\":\"modelled\"") != std::string::npos);
}

TEST_CASE("fault model: each technique follows its equation") {
  fault_scenario s;
  s.name = "one of each";
  s.guests = 2;
  s.components = {{"store", recovery::component_kind::xenstore, recovery::technique::snapshot_log_replay, 1000, true, false},
                  {"net", recovery::component_kind::netback, recovery::technique::warm_spare, 0, false, true},
                  {"dm", recovery::component_kind::device_model, recovery::technique::restart, 0, false, true}};
  s.faults = {{"store", 1, fault_kind::crash}, {"net", 2, fault_kind::hang}, {"dm", 3, fault_kind::crash}};
  const auto& p = s.params;
  const auto r = run_faults(s);
  const auto& spec = of(r, recovery_strategy::specialised).faults;
  CHECK(spec[0].control_plane_down_s == doctest::Approx(p.crash_detection_s + p.restart_s + 1000 * p.replay_per_entry_s));
  CHECK(spec[0].data_path_down_s == 0);
  CHECK(spec[1].data_path_down_s == doctest::Approx(p.hang_detection_s + p.failover_s));
  CHECK(spec[2].data_path_down_s == doctest::Approx(p.crash_detection_s + p.restart_s));
  const auto& stock = of(r, recovery_strategy::stock_xen).faults;
  CHECK(stock[1].detection_s == p.operator_reaction_s);  // stock Xen does not detect a hang
  CHECK(stock[2].data_path_down_s == doctest::Approx(p.xl_restart_delay_s));
  CHECK(of(r, recovery_strategy::plain_restart).faults[0].lost_state_entries == 1000);
}

TEST_CASE("fault model: a bad scenario names what is wrong") {
  auto s = default_fault_scenario();
  s.faults.push_back({"nosuch", 1, fault_kind::crash});
  CHECK_THROWS_WITH_AS((void)run_faults(s), doctest::Contains("unknown component 'nosuch'"), config_error);
  s = default_fault_scenario();
  s.guests = 0;
  CHECK_THROWS_AS((void)run_faults(s), config_error);
}
