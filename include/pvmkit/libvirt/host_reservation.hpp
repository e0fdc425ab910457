// The pVM of a KVM host: the host CPUs reserved for pVM work (guests' emulator, I/O and vhost
// threads, device IRQs), and the memory target and node affinity the sizing policy gave it. The
// host has no such object of its own, so the libvirt backend keeps it in a small text file that
// outlives one agent run (docs/kvm.md):
//
//   # pvmkit: the KVM host's pVM (pvmkit's libvirt backend writes this file)
//   cpus 0,8
//   memory_target 1073741824
//   nodes 0-1
//
// The file is replaced atomically (write a temporary, rename), so a crash leaves the old or the
// new reservation, never half of one.
#pragma once

#include <pvmkit/core/error.hpp>
#include <pvmkit/core/id_set.hpp>
#include <pvmkit/core/result.hpp>
#include <pvmkit/core/units.hpp>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>

namespace pvmkit {

struct host_reservation {
  cpuset cpus;           // host CPUs reserved for pVM work: the pVM's online vCPUs
  bytes memory_target;   // what the sizing policy last asked for
  nodeset nodes;         // the pVM's node affinity, as the sizing policy last set it
  friend bool operator==(const host_reservation&, const host_reservation&) = default;
};

[[nodiscard]] inline std::string to_text(const host_reservation& r) {
  return "# pvmkit: the KVM host's pVM (pvmkit's libvirt backend writes this file)\ncpus " + r.cpus.to_string() +
         "\nmemory_target " + std::to_string(r.memory_target.count()) + "\nnodes " + r.nodes.to_string() + "\n";
}

// nullopt for a text that is not a whole reservation (a key missing, repeated or unknown, a bad
// value): the caller reports corrupt_data rather than guessing.
[[nodiscard]] inline std::optional<host_reservation> parse_host_reservation(const std::string& text) {
  host_reservation r;
  bool have_cpus = false, have_memory = false, have_nodes = false;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.find(' ');
    if (space == std::string::npos) return std::nullopt;
    const std::string key = line.substr(0, space), value = line.substr(space + 1);
    if (key == "cpus" && !have_cpus) {
      auto s = cpuset::parse(value);
      if (!s || s->empty()) return std::nullopt;
      r.cpus = *s;
      have_cpus = true;
    } else if (key == "memory_target" && !have_memory) {
      if (value.empty() || value.size() > 19 || value.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
      r.memory_target = bytes{std::stoull(value)};
      have_memory = true;
    } else if (key == "nodes" && !have_nodes) {
      auto s = nodeset::parse(value);
      if (!s || s->empty()) return std::nullopt;
      r.nodes = *s;
      have_nodes = true;
    } else {
      return std::nullopt;
    }
  }
  if (!have_cpus || !have_memory || !have_nodes) return std::nullopt;
  return r;
}

// nullopt when the file does not exist (a host pvmkit has not sized yet).
[[nodiscard]] inline result<std::optional<host_reservation>> load_host_reservation(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!std::filesystem::exists(file, ec) && !ec) return std::optional<host_reservation>{};
    return unexpected{std::error_code{errno ? errno : EACCES, std::system_category()}};
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  auto r = parse_host_reservation(ss.str());
  if (!r) return unexpected{errc::corrupt_data};
  return std::optional<host_reservation>{*r};
}

[[nodiscard]] inline result<void> save_host_reservation(const std::filesystem::path& file, const host_reservation& r) {
  std::error_code ec;
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path(), ec);
  if (ec) return unexpected{ec};
  const std::filesystem::path tmp = file.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return unexpected{std::error_code{errno ? errno : EACCES, std::system_category()}};
    out << to_text(r);
    out.flush();
    if (!out) return unexpected{std::error_code{errno ? errno : EIO, std::system_category()}};
  }
  std::filesystem::rename(tmp, file, ec);
  if (ec) {
    const std::error_code failed = ec;
    std::filesystem::remove(tmp, ec);
    return unexpected{failed};
  }
  return {};
}

}  // namespace pvmkit
