// Helpers of the file-format tests: edit a valid text into a broken one, and catch the error.
#pragma once

#include <pvmkit/core/error.hpp>

#include <doctest/doctest.h>

#include <string>

namespace pvmkit::sim::test {

// `s` with the first `from` replaced by `to`; the test fails if `from` is not there (an edit that
// silently did nothing would test the valid text).
inline std::string replace(std::string s, const std::string& from, const std::string& to) {
  const auto at = s.find(from);
  REQUIRE_MESSAGE(at != std::string::npos, from);
  return s.replace(at, from.size(), to);
}

// The message of the config_error `parse` throws, or "(accepted)".
template <class Parse>
std::string error_of(Parse&& parse) {
  try {
    parse();
  } catch (const config_error& e) {
    return e.what();
  }
  return "(accepted)";
}

}  // namespace pvmkit::sim::test
