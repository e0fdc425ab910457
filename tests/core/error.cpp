#include <pvmkit/core/error.hpp>

#include <doctest/doctest.h>

#include <set>
#include <stdexcept>
#include <string>
#include <system_error>

using namespace pvmkit;

TEST_CASE("every pvmkit error code has its own message") {
  for (int e = 1; e <= static_cast<int>(errc::timeout); ++e) {
    const auto msg = make_error_code(static_cast<errc>(e)).message();
    CHECK(msg != "unknown pvmkit error");
  }
  CHECK(make_error_code(static_cast<errc>(999)).message() == "unknown pvmkit error");
}

TEST_CASE("no two pvmkit error codes share a message, and success is not an error") {
  std::set<std::string> seen;
  for (int e = 0; e <= static_cast<int>(errc::timeout); ++e) CHECK(seen.insert(make_error_code(static_cast<errc>(e)).message()).second);
  CHECK_FALSE(make_error_code(errc::ok));
  CHECK(make_error_code(errc::timeout));
  CHECK(make_error_code(errc::unknown_node).message() == "unknown NUMA node");
}

TEST_CASE("an errc converts to a std::error_code of the pvmkit category, never equal to a std::errc of the same number") {
  const std::error_code ec = errc::invalid_argument;  // implicit: errc is an error code enum
  CHECK(ec.category() == pvmkit_category());
  CHECK(std::string(ec.category().name()) == "pvmkit");
  CHECK(ec == errc::invalid_argument);
  CHECK(ec != errc::invalid_state);
  CHECK(ec.value() == static_cast<int>(errc::invalid_argument));
  CHECK(ec != std::make_error_code(static_cast<std::errc>(ec.value())));
  CHECK(&pvmkit_category() == &make_error_code(errc::timeout).category());  // one category object
}

TEST_CASE("config_error is a std::runtime_error that carries its message") {
  try {
    throw config_error("scenario.json:3: tick_s: must be positive");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()) == "scenario.json:3: tick_s: must be positive");
    CHECK(dynamic_cast<const config_error*>(&e) != nullptr);
  }
}
