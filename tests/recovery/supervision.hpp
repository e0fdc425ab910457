// What the supervisor and watcher tests share: components specified in one line, a configuration
// without back-off (restarts at once, so a test's clock needs no waiting), and event counts.
#pragma once

#include "t0.hpp"

#include <pvmkit/core/clock.hpp>
#include <pvmkit/core/ids.hpp>
#include <pvmkit/recovery/component.hpp>
#include <pvmkit/recovery/supervisor.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pvmkit::test {

// A component; its recovery technique is the default for its kind of state unless given.
inline recovery::component_spec spec(component_id id, std::string name, std::vector<component_id> deps = {},
                                     recovery::state_kind st = recovery::state_kind::stateless,
                                     std::optional<recovery::technique> tq = std::nullopt) {
  recovery::component_spec s;
  s.id = id;
  s.name = std::move(name);
  s.depends_on = std::move(deps);
  s.state = st;
  s.recover_by = tq.value_or(recovery::default_technique(st));
  return s;
}
inline recovery::component_spec spec(unsigned id, std::string name, const std::vector<unsigned>& deps = {},
                                     recovery::state_kind st = recovery::state_kind::stateless,
                                     std::optional<recovery::technique> tq = std::nullopt) {
  std::vector<component_id> ids;
  for (auto d : deps) ids.emplace_back(d);
  return spec(component_id{id}, std::move(name), std::move(ids), st, tq);
}

// max_restarts per component within `period`; one restart of the dependents and of the pVM.
inline recovery::supervisor_config no_backoff(std::size_t max_restarts = 3, duration period = std::chrono::seconds{10}) {
  recovery::supervisor_config c;
  c.component = {max_restarts, period};
  c.dependents = {1, period};
  c.pvm = {1, period};
  c.backoff.first = duration::zero();
  c.backoff.base = duration::zero();
  return c;
}

inline std::size_t count_events(const recovery::supervisor& s, recovery::event_kind k) {
  return static_cast<std::size_t>(
      std::count_if(s.events().begin(), s.events().end(), [&](const auto& e) { return e.kind == k; }));
}

}  // namespace pvmkit::test
