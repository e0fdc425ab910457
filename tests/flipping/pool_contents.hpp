// Test helper: what each node's pool holds, for comparing pools before and after a call.
#pragma once

#include <pvmkit/flipping/page_pool.hpp>

#include <vector>

namespace pvmkit::test {

inline std::vector<std::vector<page_frame>> contents(const flipping::page_pools& pools) {
  std::vector<std::vector<page_frame>> out;
  for (std::size_t i = 0; i < pools.node_count(); ++i) {
    auto c = pools[node_id{static_cast<node_id::rep>(i)}].contents();
    out.emplace_back(c.begin(), c.end());
  }
  return out;
}

}  // namespace pvmkit::test
