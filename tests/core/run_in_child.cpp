// run_in_child: whatever the child does (write, crash, hang, allocate without end, throw, flood its
// output), the caller gets an outcome and carries on.
#include <pvmkit/core/run_in_child.hpp>

#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

using namespace pvmkit;
using namespace std::chrono_literals;
using end = child_outcome::end;

TEST_CASE("the child's output and exit code come back") {
  const auto out = run_in_child([](int fd) { write_all(fd, std::string(200'000, 'x') + "end"); });
  CHECK(out.how == end::exited);
  CHECK(out.code == 0);
  CHECK(out.clean());
  CHECK(out.output.size() == 200'003);
  CHECK(out.output.substr(200'000) == "end");
  const auto code = run_in_child([](int) { ::_exit(3); });
  CHECK(code.how == end::exited);
  CHECK(code.code == 3);
  CHECK_FALSE(code.clean());
}

TEST_CASE("a crash in the child is a signal in the outcome, with what it printed") {
  const auto out = run_in_child([](int) {
    const char msg[] = "about to crash\n";
    (void)::write(2, msg, sizeof msg - 1);
    ::raise(SIGSEGV);
  });
  CHECK(out.how == end::signalled);
  CHECK(out.code == SIGSEGV);
  CHECK(signal_name(out.code) == "SIGSEGV");
  CHECK(out.errors == "about to crash\n");
  const auto aborted = run_in_child([](int) { std::abort(); });
  CHECK(aborted.how == end::signalled);
  CHECK(signal_name(aborted.code) == "SIGABRT");
}

TEST_CASE("a child that hangs is killed at the timeout") {
  child_limits limits;
  limits.timeout = 200ms;
  const auto start = std::chrono::steady_clock::now();
  const auto out = run_in_child(
      [](int fd) {
        write_all(fd, "partial");
        while (true) ::pause();
      },
      limits);
  CHECK(out.how == end::timed_out);
  CHECK(std::chrono::steady_clock::now() - start < 5s);
  // A child that closes its output and then hangs is caught too.
  const auto quiet = run_in_child(
      [](int fd) {
        ::close(fd);
        ::close(1);
        ::close(2);
        while (true) ::pause();
      },
      limits);
  CHECK(quiet.how == end::timed_out);
}

TEST_CASE("a child that floods its output is stopped at the limit") {
  child_limits limits;
  limits.max_output = 1 << 20;
  const auto out = run_in_child(
      [](int fd) {
        const std::string chunk(1 << 16, 'y');
        while (write_all(fd, chunk)) {
        }
      },
      limits);
  CHECK(out.how == end::output_too_large);
  CHECK(out.output.size() <= limits.max_output);
  // stderr is kept up to its own limit and never stops the child.
  limits.max_errors = 10;
  const auto noisy = run_in_child(
      [](int fd) {
        for (int i = 0; i < 1000; ++i) (void)::write(2, "0123456789", 10);
        write_all(fd, "done");
      },
      limits);
  CHECK(noisy.clean());
  CHECK(noisy.output == "done");
  CHECK(noisy.errors == "0123456789");
}

TEST_CASE("the memory budget stops a child that allocates without end") {
  child_limits limits;
  limits.memory_budget = std::size_t{64} << 20;
  const auto out = run_in_child(
      [](int fd) {
        std::vector<std::vector<char>> hog;
        try {
          for (int i = 0; i < 64; ++i) hog.emplace_back(std::size_t{16} << 20, 'z');  // 1 GiB in all
        } catch (const std::bad_alloc&) {
          write_all(fd, "bad_alloc after " + std::to_string(hog.size()) + " blocks");
          return;
        }
        write_all(fd, "allocated everything");
      },
      limits);
  // Under a sanitizer the allocator may end the child instead of throwing: also not "everything".
  CHECK(out.output != "allocated everything");
  if (out.clean()) CHECK(out.output.rfind("bad_alloc after ", 0) == 0);
}

TEST_CASE("an exception out of the child's work is exit code 70") {
  const auto out = run_in_child([](int) { throw std::runtime_error("boom"); });
  CHECK(out.how == end::exited);
  CHECK(out.code == 70);
}
