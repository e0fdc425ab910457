// Pinning pVM work inside the pVM's Linux and reading it back: threads through
// sched_setaffinity / sched_getaffinity, IRQs through <root>/irq/N/smp_affinity_list. CPU numbers
// here are the pVM's own (dom0 vCPUs on Xen), not pCPUs; linux_pvm_backend translates.
//
// OS failures come back in std::system_category with the errno (EPERM without CAP_SYS_NICE,
// EINVAL for a CPU set the kernel cannot honour); a thread or IRQ that is gone is errc::unknown_task.
#pragma once

#include <pvmkit/core/error.hpp>
#include <pvmkit/core/id_set.hpp>
#include <pvmkit/core/result.hpp>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <sched.h>
#include <sys/types.h>
#include <unistd.h>

namespace pvmkit::linux_pvm {

namespace detail {
// A CPU mask as the kernel's affinity calls take it: an array of unsigned long.
inline std::vector<unsigned long> to_mask(const cpuset& cpus) {
  constexpr std::size_t word_bits = sizeof(unsigned long) * CHAR_BIT;
  // At least a cpu_set_t's worth, as glibc's CPU_SETSIZE callers expect.
  std::vector<unsigned long> mask(std::max<std::size_t>((cpus.extent() + word_bits - 1) / word_bits, sizeof(cpu_set_t) / sizeof(unsigned long)), 0UL);
  for (cpu_id c : cpus) mask[c.index() / word_bits] |= 1UL << (c.index() % word_bits);
  return mask;
}

inline std::error_code os_error(int err) {
  if (err == ESRCH || err == ENOENT) return make_error_code(errc::unknown_task);
  return {err, std::system_category()};
}
}  // namespace detail

[[nodiscard]] inline result<void> set_thread_affinity(std::uint32_t tid, const cpuset& cpus) {
  if (cpus.empty()) return unexpected{errc::invalid_argument};
  auto mask = detail::to_mask(cpus);
  if (sched_setaffinity(static_cast<pid_t>(tid), mask.size() * sizeof(unsigned long), reinterpret_cast<cpu_set_t*>(mask.data())) != 0)
    return unexpected{detail::os_error(errno)};
  return {};
}

[[nodiscard]] inline result<cpuset> thread_affinity(std::uint32_t tid) {
  constexpr std::size_t word_bits = sizeof(unsigned long) * CHAR_BIT;
  std::vector<unsigned long> mask(64, 0UL);  // 4096 CPUs
  const long n = sched_getaffinity(static_cast<pid_t>(tid), mask.size() * sizeof(unsigned long), reinterpret_cast<cpu_set_t*>(mask.data()));
  if (n < 0) return unexpected{detail::os_error(errno)};
  cpuset out;
  for (std::size_t w = 0; w < mask.size(); ++w)
    for (std::size_t b = 0; b < word_bits; ++b)
      if ((mask[w] >> b) & 1UL) out.insert(cpu_id{static_cast<cpu_id::rep>(w * word_bits + b)});
  return out;
}

// "Cpus_allowed_list:" of <root>/<tid>/status: what a tree that is not the live /proc says.
[[nodiscard]] inline result<cpuset> status_affinity(const std::filesystem::path& root, std::uint32_t tid) {
  std::ifstream in(root / std::to_string(tid) / "status");
  if (!in) return unexpected{errc::unknown_task};
  std::string line;
  constexpr std::string_view key = "Cpus_allowed_list:";
  while (std::getline(in, line))
    if (line.compare(0, key.size(), key) == 0) {
      std::string v = line.substr(key.size());
      v.erase(0, v.find_first_not_of(" \t"));
      while (!v.empty() && (v.back() == ' ' || v.back() == '\r')) v.pop_back();
      if (auto s = cpuset::parse(v)) return *s;
      return unexpected{errc::corrupt_data};
    }
  return unexpected{errc::corrupt_data};
}

// The live kernel's answer for a real thread; the tree's status file for one the kernel does not
// know (a fake tree in tests, or a thread that exited since discovery).
[[nodiscard]] inline result<cpuset> read_thread_affinity(const std::filesystem::path& root, std::uint32_t tid) {
  if (auto live = thread_affinity(tid)) return live;
  return status_affinity(root, tid);
}

[[nodiscard]] inline result<void> set_irq_affinity(const std::filesystem::path& root, std::uint32_t irq, const cpuset& cpus) {
  if (cpus.empty()) return unexpected{errc::invalid_argument};
  const auto path = root / "irq" / std::to_string(irq) / "smp_affinity_list";
  // O_TRUNC so a fake tree's regular file holds only the new value; procfs ignores it.
  const int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) return unexpected{detail::os_error(errno)};
  const std::string text = cpus.to_string() + "\n";
  const ssize_t n = ::write(fd, text.data(), text.size());
  const int err = errno;
  ::close(fd);
  if (n < 0) return unexpected{detail::os_error(err)};
  if (static_cast<std::size_t>(n) != text.size()) return unexpected{make_error_code(errc::backend_failure)};
  return {};
}

[[nodiscard]] inline result<cpuset> irq_affinity(const std::filesystem::path& root, std::uint32_t irq) {
  std::ifstream in(root / "irq" / std::to_string(irq) / "smp_affinity_list");
  if (!in) return unexpected{errc::unknown_task};
  std::string v;
  std::getline(in, v);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\r')) v.pop_back();
  if (auto s = cpuset::parse(v)) return *s;
  return unexpected{errc::corrupt_data};
}

// utime + stime of a task, in clock ticks; 0 when the tree has no stat for it.
[[nodiscard]] inline std::uint64_t task_cpu_ticks(const std::filesystem::path& root, std::uint32_t tid) {
  std::ifstream in(root / std::to_string(tid) / "stat");
  std::string s;
  std::getline(in, s);
  // comm (field 2) may hold spaces and parentheses: count fields from the last ')'.
  const auto close = s.rfind(')');
  if (close == std::string::npos) return 0;
  std::string rest = s.substr(close + 1);
  std::size_t field = 2, pos = 0;
  std::uint64_t utime = 0, stime = 0;
  while (pos < rest.size()) {
    while (pos < rest.size() && rest[pos] == ' ') ++pos;
    const std::size_t start = pos;
    while (pos < rest.size() && rest[pos] != ' ') ++pos;
    if (pos == start) break;
    ++field;
    if (field == 14 || field == 15) {
      std::uint64_t v = 0;
      for (std::size_t k = start; k < pos; ++k) {
        if (rest[k] < '0' || rest[k] > '9') return 0;
        v = v * 10 + static_cast<std::uint64_t>(rest[k] - '0');
      }
      (field == 14 ? utime : stime) = v;
    }
    if (field == 15) break;
  }
  return utime + stime;
}

}  // namespace pvmkit::linux_pvm
