// The message of the topology_error a call throws, so tests can check that it names the problem.
#pragma once

#include <pvmkit/topology/topology.hpp>

#include <doctest/doctest.h>

#include <string>

namespace pvmkit::test {

// "" (and a failed check) when the call does not throw a topology_error.
template <class F>
std::string topology_error_text(F&& f) {
  try {
    (void)f();
  } catch (const topology_error& e) {
    return e.what();
  }
  FAIL_CHECK("expected a topology_error");
  return {};
}

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace pvmkit::test
