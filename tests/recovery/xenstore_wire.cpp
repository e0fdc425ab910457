// The client of XenStore's wire protocol, against a peer on a socket pair that plays xenstored.
#include <pvmkit/recovery/xenstore_wire.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <sys/socket.h>
#include <unistd.h>

using namespace pvmkit;
using namespace pvmkit::recovery::xenstore;
using namespace std::chrono_literals;

namespace {
// Answers one request on `fd` with (type, payload), after sending a watch event first.
void answer(int fd, message type, const std::string& payload) {
  wire_header h{};
  REQUIRE(::recv(fd, &h, sizeof h, MSG_WAITALL) == sizeof h);
  std::string body(h.len, '\0');
  if (h.len) REQUIRE(::recv(fd, body.data(), body.size(), MSG_WAITALL) == static_cast<ssize_t>(h.len));
  const std::string ev = std::string("some/path\0tok\0", 14);
  wire_header e{static_cast<std::uint32_t>(message::watch_event), 0, 0, static_cast<std::uint32_t>(ev.size())};
  std::string out(reinterpret_cast<const char*>(&e), sizeof e);
  out += ev;
  wire_header rh{static_cast<std::uint32_t>(type), h.req_id, 0, static_cast<std::uint32_t>(payload.size())};
  out.append(reinterpret_cast<const char*>(&rh), sizeof rh);
  out += payload;
  REQUIRE(::send(fd, out.data(), out.size(), 0) == static_cast<ssize_t>(out.size()));
}
}  // namespace

TEST_CASE("the wire client: replies, errors by name, watch events skipped, a silent daemon times out") {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  wire_client c{sv[0]};
  std::thread server([&] {
    answer(sv[1], message::directory, std::string("local\0tool\0", 11));
    answer(sv[1], message::error, std::string("ENOENT\0", 7));
    answer(sv[1], message::get_perms, std::string("n0\0r5\0", 6));
    answer(sv[1], message::get_perms, std::string("x0\0", 3));
  });
  auto dir = c.directory("/", 5s);
  REQUIRE(dir);
  CHECK(*dir == std::vector<std::string>{"local", "tool"});
  auto missing = c.read("/nope", 5s);
  REQUIRE(!missing);
  CHECK(missing.error() == std::errc::no_such_file_or_directory);
  auto perms = c.get_perms("/local", 5s);
  REQUIRE(perms);
  CHECK(*perms == std::vector<permission>{{'n', false, 0}, {'r', false, 5}});
  CHECK(c.get_perms("/x", 5s).error() == make_error_code(errc::corrupt_data));
  server.join();
  // Nobody answers now: the call returns at its timeout, and the connection is dropped.
  const auto t0 = std::chrono::steady_clock::now();
  auto late = c.read("/local", 100ms);
  CHECK(late.error() == make_error_code(errc::timeout));
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
  CHECK(c.fd() == -1);
  ::close(sv[1]);
  CHECK(wire_client::connect("/nonexistent/socket").error() == std::errc::no_such_file_or_directory);
}
