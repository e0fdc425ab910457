#include "config_errors.hpp"

#include <pvmkit/sim/trace.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace pvmkit;
using namespace pvmkit::sim;

namespace {
std::string error_of(const std::string& text) {
  return pvmkit::test::error_of([&] { (void)parse_trace(text, "t.csv"); });
}
}  // namespace

TEST_CASE("trace reader: header, comments, blank lines, several guests") {
  const auto t = parse_trace("time_s,guest,net_pps,block_iops\n# a comment\n\n0,web,100,5\n1.5, db ,20,300\n2,web,250.5,0\r\n", "t.csv");
  REQUIRE(t.guests.size() == 2);
  const auto& web = *t.guests.at("web");
  REQUIRE(web.size() == 2);
  CHECK(web[0].time_s == 0);
  CHECK(web[0].rates == io_rates{100, 5});
  CHECK(web[1].time_s == 2);
  CHECK(web[1].rates == io_rates{250.5, 0});
  CHECK(t.guests.at("db")->front().rates == io_rates{20, 300});
  CHECK(t.first_line.at("web") == 4);
  CHECK(t.first_line.at("db") == 5);
  CHECK(t.load_for("web").points->size() == 2);
  CHECK(t.load_for("nobody").points == nullptr);
  // No header is fine too.
  CHECK(parse_trace("0,a,1,2\n").guests.size() == 1);
}

TEST_CASE("trace reader rejects malformed rows with the line and column") {
  CHECK(error_of("0,web,100\n") == "t.csv:1: expected 4 columns (time_s,guest,net_pps,block_iops), found 3");
  CHECK(error_of("time_s,guest,net_pps,block_iops\n0,web,1,2\n5,web,abc,2\n") == "t.csv:3: column 3 (net_pps): not a number: 'abc'");
  CHECK(error_of("0,web,1,-2\n") == "t.csv:1: column 4 (block_iops): must not be negative, found -2");
  CHECK(error_of("-1,web,1,2\n") == "t.csv:1: column 1 (time_s): must not be negative, found -1");
  CHECK(error_of("0,web,1,2\n\n5,web,1,2\n3,web,1,2\n") == "t.csv:4: column 1 (time_s): 3 goes back in time for guest 'web'");
  CHECK(error_of("time_s,guest,pps,block_iops\n") == "t.csv:1: column 3 of the header must be 'net_pps', found 'pps'");
  CHECK(error_of("0,,1,2\n") == "t.csv:1: column 2 (guest): empty guest name");
  CHECK(error_of("0,web,1,2x\n") == "t.csv:1: column 4 (block_iops): not a number: '2x'");
  CHECK(error_of("0,web,1,\n") == "t.csv:1: column 4 (block_iops): not a number: ''");
  CHECK(error_of("0,web,nan,1\n").find("t.csv:1: column 3 (net_pps): not a number") == 0);
  CHECK(error_of("0,web,1,2\n1,web,1,2,3\n") == "t.csv:2: expected 4 columns (time_s,guest,net_pps,block_iops), found 5");
}

TEST_CASE("a trace file that does not exist is an error naming it") {
  CHECK_THROWS_WITH_AS((void)read_trace_file("/nonexistent/x.csv"), "/nonexistent/x.csv: cannot open trace file (No such file or directory)",
                       config_error);
}

TEST_CASE("a trace file must be a regular file, its rates within the limits and its names UTF-8") {
  CHECK_THROWS_WITH_AS((void)read_trace_file("/dev/zero"), "/dev/zero: not a regular file (it is a character device); a trace file must be one",
                       config_error);
  CHECK(error_of("0,web,1e300,1\n") == "t.csv:1: column 3 (net_pps): 1e300 is over the limit of 1000000000 packets/s (docs/simulator.md, Input limits)");
  CHECK(error_of("0,web,1,100000001\n") ==
        "t.csv:1: column 4 (block_iops): 100000001 is over the limit of 100000000 requests/s (docs/simulator.md, Input limits)");
  CHECK(parse_trace("0,web,1000000000,100000000\n").guests.size() == 1);
  CHECK(error_of("0,w\xFF,1,1\n") == "t.csv:1: column 2 (guest): the name is not valid UTF-8");
}
