// Helpers of the tests of bad input: break a valid text, and catch the error it must raise.
#pragma once

#include <pvmkit/core/error.hpp>

#include <doctest/doctest.h>

#include <string>

namespace pvmkit::test {

// The message of the config_error `f` throws (fails the test when it does not throw one).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const config_error& e) {
    return e.what();
  }
  FAIL("no config_error thrown");
  return {};
}

// `s` with the first `from` replaced by `to`; fails the test if `from` is not there (an edit that
// silently did nothing would test the valid text).
inline std::string replace(std::string s, const std::string& from, const std::string& to) {
  const auto at = s.find(from);
  REQUIRE_MESSAGE(at != std::string::npos, from);
  return s.replace(at, from.size(), to);
}

}  // namespace pvmkit::test
