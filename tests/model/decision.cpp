#include <pvmkit/model/decision.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace pvmkit;

TEST_CASE("decision records are one JSON line each") {
  decision_record r{"closer", "task 3 (vif1.0-q0-guest-rx)", {{"guest", "1"}, {"home", "node 1"}},
                    {{"node 1", 0.0, "home"}, {"node 0", 11.0, ""}}, "node 1", "home node has spare capacity"};
  const auto line = to_json_line(r);
  CHECK(line.find('\n') == std::string::npos);
  CHECK(line ==
        R"J({"policy":"closer","subject":"task 3 (vif1.0-q0-guest-rx)","inputs":{"guest":"1","home":"node 1"},)J"
        R"J("candidates":[{"name":"node 1","score":0,"note":"home"},{"name":"node 0","score":11}],)J"
        R"J("choice":"node 1","reason":"home node has spare capacity"})J");
}

TEST_CASE("a disabled log keeps nothing; a sink sees every record") {
  decision_log off;
  CHECK_FALSE(off.enabled());
  off.add({"p", "s", {}, {}, "c", "r"});
  CHECK(off.records().empty());

  decision_log on;
  std::vector<std::string> streamed;
  on.on_record([&](const decision_record& rec) { streamed.push_back(to_json_line(rec)); });
  CHECK(on.enabled());
  on.add({"p", "s1", {}, {}, "c", "r"});
  on.add({"p", "s2", {}, {}, "c", "r"});
  CHECK(on.records().size() == 2);
  REQUIRE(streamed.size() == 2);
  CHECK(streamed[1].find("\"s2\"") != std::string::npos);
}
