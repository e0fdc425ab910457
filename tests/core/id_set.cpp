#include <pvmkit/core/id_set.hpp>

#include <doctest/doctest.h>

#include <vector>

using namespace pvmkit;

TEST_CASE("cpuset membership, size and iteration in order") {
  cpuset s{cpu_id{65}, cpu_id{0}, cpu_id{3}};
  CHECK(s.size() == 3);
  CHECK(s.contains(cpu_id{65}));
  CHECK_FALSE(s.contains(cpu_id{64}));
  CHECK_FALSE(s.contains(cpu_id{100000}));
  std::vector<unsigned> got;
  for (cpu_id c : s) got.push_back(c.value());
  CHECK(got == std::vector<unsigned>{0, 3, 65});
  CHECK(s.extent() == 66);
  CHECK(s.first() == cpu_id{0});
  s.erase(cpu_id{65});
  CHECK(s.extent() == 4);
  CHECK(s == cpuset{cpu_id{0}, cpu_id{3}});  // equality ignores storage that was grown then emptied
  CHECK_FALSE(cpuset{}.first().has_value());
}

TEST_CASE("set algebra") {
  const auto a = cpuset::range(0, 8);
  const auto b = cpuset::range(4, 12);
  CHECK((a & b) == cpuset::range(4, 8));
  CHECK((a | b) == cpuset::range(0, 12));
  CHECK((a - b) == cpuset::range(0, 4));
  CHECK(a.intersects(b));
  CHECK_FALSE(cpuset::range(0, 4).intersects(cpuset::range(4, 8)));
  CHECK(cpuset::range(2, 4).is_subset_of(a));
  CHECK_FALSE(b.is_subset_of(a));
  CHECK((cpuset::range(0, 64) - cpuset::range(0, 64)).empty());
}

TEST_CASE("list syntax round-trips and rejects garbage") {
  CHECK(cpuset::range(0, 4).to_string() == "0-3");
  CHECK((cpuset::range(0, 2) | cpuset{cpu_id{5}} | cpuset::range(8, 11)).to_string() == "0-1,5,8-10");
  CHECK(cpuset{}.to_string().empty());
  for (const char* text : {"0-3", "0-1,5,8-10", "7", "0,2,4,6", "63-65"}) {
    auto parsed = cpuset::parse(text);
    REQUIRE(parsed.has_value());
    CHECK(parsed->to_string() == text);
  }
  CHECK(cpuset::parse("")->empty());
  for (const char* bad : {"a", "3-1", "1,", ",1", "1--3", "1-", "0-99999999", "1 2"}) {
    INFO(bad);
    CHECK_FALSE(cpuset::parse(bad).has_value());
  }
}
