// The component vocabulary: the names the configuration files and records use, and the default
// technique each kind of state gets.
#include <pvmkit/recovery/component.hpp>

#include <doctest/doctest.h>

#include <set>
#include <string_view>

using namespace pvmkit::recovery;

TEST_CASE("every component kind, state kind and technique has its own name") {
  std::set<std::string_view> kinds;
  for (auto k : {component_kind::xenstore, component_kind::netback, component_kind::blkback, component_kind::toolstack,
                 component_kind::device_model, component_kind::custom})
    CHECK(kinds.insert(to_string(k)).second);
  CHECK(to_string(component_kind::device_model) == "device_model");
  CHECK(to_string(state_kind::checkpointed) == "checkpointed");
  CHECK(to_string(state_kind::stateless) != to_string(state_kind::replicated));
  std::set<std::string_view> techniques;
  for (auto t : {technique::restart, technique::warm_spare, technique::snapshot_log_replay, technique::reconnect_frontends})
    CHECK(techniques.insert(to_string(t)).second);
  CHECK(to_string(technique::snapshot_log_replay) == "snapshot_log_replay");
  CHECK(to_string(static_cast<technique>(99)) == "?");  // a value no enumerator has
}

TEST_CASE("the default technique brings back what the state kind loses") {
  CHECK(default_technique(state_kind::stateless) == technique::restart);
  CHECK(default_technique(state_kind::replicated) == technique::warm_spare);
  CHECK(default_technique(state_kind::checkpointed) == technique::snapshot_log_replay);
}

TEST_CASE("a component spec left to its defaults is a stateless custom component restarted, heartbeating") {
  const component_spec s;
  CHECK(s.kind == component_kind::custom);
  CHECK(s.state == state_kind::stateless);
  CHECK(s.recover_by == default_technique(s.state));
  CHECK(s.health.heartbeat);
  CHECK_FALSE(s.health.rss);
  CHECK(s.depends_on.empty());
}
