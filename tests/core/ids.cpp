#include <pvmkit/core/ids.hpp>

#include <doctest/doctest.h>

#include <type_traits>
#include <unordered_set>

using namespace pvmkit;

TEST_CASE("strong ids do not mix and compare by value") {
  static_assert(!std::is_convertible_v<cpu_id, node_id>);
  static_assert(!std::is_convertible_v<unsigned, cpu_id>);
  CHECK(cpu_id{3} == cpu_id{3});
  CHECK(cpu_id{2} < cpu_id{3});
  CHECK(cpu_id{7}.index() == 7);
  CHECK_FALSE(node_id{}.valid());
  CHECK(node_id{0}.valid());
  CHECK(node_id::invalid() == node_id{});
  std::unordered_set<domain_id> seen{domain_id{1}, domain_id{1}, domain_id{2}};
  CHECK(seen.size() == 2);
}
