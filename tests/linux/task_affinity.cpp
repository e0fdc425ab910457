// Pinning and reading back: IRQ files in a fake tree, sched_setaffinity on a real thread.
#include "fake_proc.hpp"

#include <pvmkit/linux/task_affinity.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <sys/syscall.h>
#include <unistd.h>

using namespace pvmkit;
using namespace pvmkit::linux_pvm;

namespace {
// A thread of this process that waits until released; tid() is its kernel TID.
class parked_thread {
 public:
  parked_thread() : t_([this] {
    tid_ = static_cast<std::uint32_t>(::syscall(SYS_gettid));
    std::unique_lock lock(m_);
    started_ = true;
    cv_.notify_all();
    cv_.wait(lock, [this] { return release_; });
  }) {
    std::unique_lock lock(m_);
    cv_.wait(lock, [this] { return started_; });
  }
  ~parked_thread() {
    {
      std::lock_guard lock(m_);
      release_ = true;
    }
    cv_.notify_all();
    t_.join();
  }
  parked_thread(const parked_thread&) = delete;
  parked_thread& operator=(const parked_thread&) = delete;
  [[nodiscard]] std::uint32_t tid() const { return tid_; }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  bool started_ = false, release_ = false;
  std::uint32_t tid_ = 0;
  std::thread t_;
};

// Beyond PID_MAX_LIMIT (2^22): no kernel has such a thread.
constexpr std::uint32_t no_such_tid = 4'999'999;
}  // namespace

TEST_CASE("IRQ affinity: write the list, read it back") {
  fake_proc proc;
  proc.irq(57, "0-3");
  REQUIRE(irq_affinity(proc.root(), 57).value() == cpuset{cpu_id{0}, cpu_id{1}, cpu_id{2}, cpu_id{3}});
  REQUIRE(set_irq_affinity(proc.root(), 57, cpuset{cpu_id{2}, cpu_id{3}}).has_value());
  CHECK(proc.read("irq/57/smp_affinity_list") == "2-3");
  CHECK(irq_affinity(proc.root(), 57).value() == cpuset{cpu_id{2}, cpu_id{3}});
  REQUIRE(set_irq_affinity(proc.root(), 57, cpuset{cpu_id{1}}).has_value());
  CHECK(proc.read("irq/57/smp_affinity_list") == "1");  // the shorter value replaced the longer

  SUBCASE("an IRQ that does not exist") {
    CHECK(set_irq_affinity(proc.root(), 58, cpuset{cpu_id{1}}).error() == errc::unknown_task);
    CHECK(irq_affinity(proc.root(), 58).error() == errc::unknown_task);
  }
  SUBCASE("an empty set is refused before anything is written") {
    CHECK(set_irq_affinity(proc.root(), 57, cpuset{}).error() == errc::invalid_argument);
    CHECK(proc.read("irq/57/smp_affinity_list") == "1");
  }
  SUBCASE("a file that is not a CPU list") {
    proc.irq(59, "zz");
    CHECK(irq_affinity(proc.root(), 59).error() == errc::corrupt_data);
  }
}

TEST_CASE("thread affinity through sched_setaffinity on a real thread") {
  auto mine = thread_affinity(static_cast<std::uint32_t>(::syscall(SYS_gettid)));
  REQUIRE(mine.has_value());
  REQUIRE(!mine->empty());
  const cpu_id first = *mine->first();
  parked_thread t;
  REQUIRE(set_thread_affinity(t.tid(), cpuset{first}).has_value());
  CHECK(thread_affinity(t.tid()).value() == cpuset{first});
  REQUIRE(set_thread_affinity(t.tid(), *mine).has_value());
  CHECK(thread_affinity(t.tid()).value() == *mine);

  SUBCASE("a thread that does not exist") {
    CHECK(set_thread_affinity(no_such_tid, *mine).error() == errc::unknown_task);
    CHECK(thread_affinity(no_such_tid).error() == errc::unknown_task);
  }
  SUBCASE("only CPUs the machine does not have: the kernel's EINVAL, named") {
    const auto r = set_thread_affinity(t.tid(), cpuset{cpu_id{4000}});
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == std::errc::invalid_argument);
    CHECK(thread_affinity(t.tid()).value() == *mine);  // unchanged
  }
  SUBCASE("an empty set") { CHECK(set_thread_affinity(t.tid(), cpuset{}).error() == errc::invalid_argument); }
}

TEST_CASE("a tree that is not the live /proc answers from its status files") {
  fake_proc proc;
  proc.thread(no_such_tid, "vif1.0-q0-guest", "1,3");
  CHECK(read_thread_affinity(proc.root(), no_such_tid).value() == cpuset{cpu_id{1}, cpu_id{3}});
  CHECK(status_affinity(proc.root(), no_such_tid + 1).error() == errc::unknown_task);
}

TEST_CASE("CPU ticks from stat, whatever the comm holds") {
  fake_proc proc;
  proc.thread(42, "a (b) c", "0", 25);
  // utime is field 14: fake_proc puts the ticks there and 0 in stime
  CHECK(task_cpu_ticks(proc.root(), 42) == 25);
  CHECK(task_cpu_ticks(proc.root(), 43) == 0);
}
