// A /proc-style tree under a fresh temporary directory, removed when the test ends.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>

class fake_proc {
 public:
  fake_proc() {
    std::random_device rd;
    root_ = std::filesystem::temp_directory_path() / ("pvmkit-fake-proc-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(root_);
  }
  ~fake_proc() {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  fake_proc(const fake_proc&) = delete;
  fake_proc& operator=(const fake_proc&) = delete;

  [[nodiscard]] const std::filesystem::path& root() const noexcept { return root_; }

  // A kernel thread: comm, an empty cmdline, a status with its allowed CPUs and a stat line.
  void thread(std::uint32_t tid, std::string_view comm, std::string_view allowed = "0-3", std::uint64_t ticks = 0) {
    const auto dir = root_ / std::to_string(tid);
    write(dir / "comm", std::string{comm} + "\n");
    write(dir / "cmdline", "");
    write(dir / "status", "Name:\t" + std::string{comm} + "\nCpus_allowed_list:\t" + std::string{allowed} + "\n");
    write(dir / "stat", stat_line(tid, comm, ticks));
  }
  void process(std::uint32_t pid, std::string_view comm, const std::string& cmdline) {
    const auto dir = root_ / std::to_string(pid);
    write(dir / "comm", std::string{comm} + "\n");
    write(dir / "cmdline", cmdline);
    write(dir / "status", "Name:\t" + std::string{comm} + "\nCpus_allowed_list:\t0-3\n");
  }
  // A thread of process pid (listed under <pid>/task/ only, as Linux lists a process's threads),
  // with the <tid>/status and <tid>/stat that /proc answers for any TID.
  void task(std::uint32_t pid, std::uint32_t tid, std::string_view comm, std::string_view allowed = "0-3", std::uint64_t ticks = 0) {
    write(root_ / std::to_string(pid) / "task" / std::to_string(tid) / "comm", std::string{comm} + "\n");
    write(root_ / std::to_string(tid) / "status", "Name:\t" + std::string{comm} + "\nCpus_allowed_list:\t" + std::string{allowed} + "\n");
    write(root_ / std::to_string(tid) / "stat", stat_line(tid, comm, ticks));
  }
  void interrupts(std::string_view text) { write(root_ / "interrupts", std::string{text}); }
  void irq(std::uint32_t n, std::string_view affinity) {
    write(root_ / "irq" / std::to_string(n) / "smp_affinity_list", std::string{affinity} + "\n");
  }
  [[nodiscard]] std::string read(const std::filesystem::path& rel) const {
    std::ifstream in(root_ / rel);
    std::string s;
    std::getline(in, s);
    return s;
  }

 private:
  // utime = ticks (field 14), stime = 0.
  static std::string stat_line(std::uint32_t tid, std::string_view comm, std::uint64_t ticks) {
    return std::to_string(tid) + " (" + std::string{comm} + ") S 2 0 0 0 -1 69238880 0 0 0 0 " + std::to_string(ticks) +
           " 0 0 0 20 0 1 0 100 0 0\n";
  }
  static void write(const std::filesystem::path& p, const std::string& text) {
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
  }
  std::filesystem::path root_;
};
