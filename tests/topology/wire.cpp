// The topology encoding a parser child process sends back: round trips, and every way a hostile
// child could lie is an error, with nothing large allocated.
#include "error_text.hpp"

#include <pvmkit/topology/wire.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

using namespace pvmkit;
using namespace pvmkit::literals;
using pvmkit::test::contains;
using pvmkit::test::topology_error_text;

namespace {

// KNL-like: two nodes with interleaved CPUs, one memory-only node, an asymmetric matrix, devices.
topology sample() {
  std::vector<numa_node> ns{
      {node_id{0}, cpuset{cpu_id{0}, cpu_id{2}, cpu_id{4}, cpu_id{5}, cpu_id{6}}, 8_GiB, 5_GiB},
      {node_id{1}, cpuset{cpu_id{1}, cpu_id{3}, cpu_id{1048576}}, 8_GiB, 8_GiB},
      {node_id{2}, {}, 16_GiB, 16_GiB},
  };
  return topology{std::move(ns),
                  {10, 21, 31, 22, 10, 41, 30, 40, 10},
                  {device{"eth0", device_kind::network, node_id{1}}, device{"nvme0n1", device_kind::block, node_id::invalid()},
                   device{"", device_kind::other, node_id{2}}}};
}

std::string u32(std::uint32_t v) {
  std::string s;
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xffU));
  return s;
}
std::string u64(std::uint64_t v) { return u32(static_cast<std::uint32_t>(v)) + u32(static_cast<std::uint32_t>(v >> 32)); }

// One node of 1 GiB with the given CPU ranges, local distance, no devices.
std::string one_node(const std::vector<std::pair<std::uint32_t, std::uint32_t>>& ranges) {
  std::string s = "PVMKTOP1" + u32(1) + u64(1ULL << 30) + u64(1ULL << 30) + u32(static_cast<std::uint32_t>(ranges.size()));
  for (const auto& [a, b] : ranges) s += u32(a) + u32(b);
  return s + u32(10) + u32(0);
}

std::string decode_error(const std::string& bytes) {
  return topology_error_text([&] { return decode_topology(bytes); });
}

}  // namespace

TEST_CASE("a topology survives encoding: nodes, free memory, memory-only nodes, asymmetric distances, devices") {
  const auto t = sample();
  const auto back = decode_topology(encode_topology(t));
  CHECK(back == t);
  for (std::size_t i = 0; i < 3; ++i) CHECK(back.nodes()[i].free_memory == t.nodes()[i].free_memory);
  REQUIRE(back.devices().size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(back.devices()[i].name == t.devices()[i].name);
    CHECK(back.devices()[i].kind == t.devices()[i].kind);
    CHECK(back.devices()[i].node == t.devices()[i].node);
  }
  CHECK(decode_topology(one_node({{0, 3}, {8, 8}})).node(node_id{0}).cpus.to_string() == "0-3,8");
}

TEST_CASE("every truncation of an encoding is an error, never a crash or a partial topology") {
  const auto bytes = encode_topology(sample());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    CAPTURE(n);
    CHECK(contains(decode_error(bytes.substr(0, n)), "malformed topology encoding at byte"));
  }
  CHECK(contains(decode_error(bytes + "x"), "1 bytes after the end"));
}

TEST_CASE("a lying encoding is refused before anything large is allocated") {
  const std::string head = "PVMKTOP1";
  CHECK(contains(decode_error("PVMKTOP2" + u32(1)), "not a pvmkit topology encoding"));
  CHECK(contains(decode_error(head + u32(0)), "0 nodes (1 to 1024 allowed)"));
  CHECK(contains(decode_error(head + u32(0xffffffff)), "4294967295 nodes (1 to 1024 allowed)"));
  // A range count far beyond the bytes left.
  CHECK(contains(decode_error(head + u32(1) + u64(0) + u64(0) + u32(0xffffffff)), "CPU ranges do not fit in what is left"));
  CHECK(contains(decode_error(one_node({{0, 4294967294U}})), "CPU 4294967294 is above 1048576"));
  CHECK(contains(decode_error(one_node({{5, 3}})), "CPU ranges must increase and not touch"));
  CHECK(contains(decode_error(one_node({{0, 3}, {2, 8}})), "CPU ranges must increase and not touch"));
  CHECK(contains(decode_error(one_node({{0, 3}, {4, 8}})), "CPU ranges must increase and not touch"));
  // A device count and a name length beyond the bytes left.
  const std::string node = head + u32(1) + u64(1) + u64(1) + u32(1) + u32(0) + u32(0) + u32(10);
  CHECK(contains(decode_error(node + u32(0xffffffff)), "devices do not fit in what is left"));
  CHECK(contains(decode_error(node + u32(1) + std::string(1, '\0') + u32(0) + u32(0xffffff) + std::string(8, 'x')),
                 "a device name of 16777215 bytes"));
  CHECK(contains(decode_error(node + u32(1) + std::string(1, '\7') + u32(0) + u32(0) + std::string(8, 'x')), "device kind 7"));
}

TEST_CASE("CPUs claimed by many nodes are bounded in total, so decoding stays cheap") {
  // 1024 nodes each claiming every CPU number would be a billion inserts.
  std::string s = "PVMKTOP1" + u32(2);
  for (int i = 0; i < 2; ++i) s += u64(1) + u64(1) + u32(1) + u32(0) + u32(1048576);
  CHECK(contains(decode_error(s), "more CPUs than CPU numbers"));
}

TEST_CASE("what decodes is still validated as a topology") {
  std::string s = "PVMKTOP1" + u32(2);
  for (int i = 0; i < 2; ++i) s += u64(1) + u64(1) + u32(1) + u32(0) + u32(3);  // both nodes on CPUs 0-3
  s += u32(10) + u32(20) + u32(20) + u32(10) + u32(0);
  CHECK(contains(decode_error(s), "invalid topology: node 1 shares CPUs 0-3 with another node"));
  CHECK(contains(decode_error("PVMKTOP1" + u32(1) + u64(1) + u64(2) + u32(1) + u32(0) + u32(0) + u32(10) + u32(0)),
                 "node 0 has more free memory than memory"));
}
