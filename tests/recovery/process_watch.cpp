// process_watch's pure part: a process's resident memory as /proc says. pump() and sample_health()
// drive a watcher over real component processes in fault_injection.cpp (test recovery_faults).
#include <pvmkit/recovery/process_watch.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

using namespace pvmkit::recovery;

TEST_CASE("resident_bytes: this process's memory grows when it touches pages; a gone process has none") {
  const double before = resident_bytes(::getpid());
  CHECK(before > 0);
  std::vector<char> touched(64 << 20, 'x');  // 64 MiB written: resident
  const double after = resident_bytes(::getpid());
  CHECK(after >= before + 32.0 * (1 << 20));
  CHECK(touched.back() == 'x');
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) ::_exit(0);
  REQUIRE(::waitpid(child, nullptr, 0) == child);  // reaped: its pid names nobody now
  CHECK(resident_bytes(child) == 0);
}
