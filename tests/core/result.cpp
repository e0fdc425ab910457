#include <pvmkit/core/result.hpp>

#include <doctest/doctest.h>

#include <string>
#include <system_error>

using namespace pvmkit;

namespace {
result<int> half(int x) {
  if (x % 2 != 0) return unexpected{errc::invalid_argument};
  return x / 2;
}
}  // namespace

TEST_CASE("result holds a value or an error code") {
  auto ok = half(8);
  REQUIRE(ok.has_value());
  CHECK(*ok == 4);
  CHECK(ok.value() == 4);
  auto bad = half(3);
  CHECK_FALSE(bad);
  CHECK(bad.error() == errc::invalid_argument);
  CHECK(bad.error().category().name() == std::string{"pvmkit"});
  CHECK(bad.value_or(-1) == -1);
  CHECK_THROWS_AS(bad.value(), bad_result_access);
  try {
    (void)bad.value();
  } catch (const bad_result_access& e) {
    CHECK(std::string{e.what()}.find("invalid argument") != std::string::npos);
  }
}

TEST_CASE("result<void> and move-only values") {
  result<void> fine;
  CHECK(fine.has_value());
  CHECK_NOTHROW(fine.value());
  result<void> failed = unexpected{make_error_code(errc::unknown_domain)};
  CHECK(failed.error() == errc::unknown_domain);
  CHECK_THROWS_AS(failed.value(), bad_result_access);
  result<std::string> s = std::string(100, 'x');
  CHECK(s->size() == 100);
  std::string moved = std::move(s).value();
  CHECK(moved.size() == 100);
}
