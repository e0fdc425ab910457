// A real thread of this process that waits until the test lets it go: something the kernel can
// pin, named in a fake /proc tree as whatever backend thread the test needs.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include <sys/syscall.h>
#include <unistd.h>

class parked_thread {
 public:
  parked_thread()
      : worker_([this] {
          std::unique_lock lock(m_);
          tid_ = static_cast<std::uint32_t>(::syscall(SYS_gettid));
          cv_.notify_all();
          cv_.wait(lock, [this] { return release_; });
        }) {
    std::unique_lock lock(m_);
    cv_.wait(lock, [this] { return tid_ != 0; });
  }
  ~parked_thread() {
    {
      std::lock_guard lock(m_);
      release_ = true;
    }
    cv_.notify_all();
    worker_.join();
  }
  parked_thread(const parked_thread&) = delete;
  parked_thread& operator=(const parked_thread&) = delete;

  [[nodiscard]] std::uint32_t tid() const noexcept { return tid_; }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  bool release_ = false;
  std::uint32_t tid_ = 0;
  std::thread worker_;  // last: started once the members it uses exist
};
