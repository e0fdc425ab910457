// The journal's error codes: their own category, a message for each, and a clear answer for a
// code it does not know.
#include <pvmkit/recovery/journal_error.hpp>

#include <doctest/doctest.h>

#include <string>
#include <system_error>

using namespace pvmkit::recovery;

TEST_CASE("journal_errc converts to std::error_code in the pvmkit.journal category") {
  const std::error_code ec = journal_errc::locked;
  CHECK(ec.value() == 1);
  CHECK(std::string{ec.category().name()} == "pvmkit.journal");
  CHECK(&ec.category() == &journal_category());
  CHECK(ec == journal_errc::locked);
  CHECK(ec != journal_errc::stopped);
  CHECK(ec != std::make_error_code(std::errc::io_error));  // a system errno of the same value is another error
  CHECK(std::error_code{1, std::generic_category()} != journal_errc::locked);
}

TEST_CASE("every journal error has its own message; an unknown value says so") {
  const journal_errc all[] = {journal_errc::locked, journal_errc::corrupt_log, journal_errc::corrupt_snapshot,
                              journal_errc::inconsistent, journal_errc::unsupported_format, journal_errc::record_too_large,
                              journal_errc::sequence_exhausted, journal_errc::stopped};
  for (const auto a : all)
    for (const auto b : all)
      if (a != b) CHECK(make_error_code(a).message() != make_error_code(b).message());
  CHECK(make_error_code(journal_errc::stopped).message() == "journal stopped after an I/O failure; reopen it to recover");
  CHECK(std::error_code{0, journal_category()}.message() == "unknown journal error");
  CHECK(std::error_code{99, journal_category()}.message() == "unknown journal error");
}
