// process_watch: a watcher (recovery/watcher.hpp) over components run as Linux processes by the
// process backend: its exits and heartbeats become the watcher's events, and /proc gives the
// resident memory that rejuvenation watches.
#pragma once

#include <pvmkit/core/clock.hpp>
#include <pvmkit/linux/process_backend.hpp>
#include <pvmkit/recovery/watcher.hpp>

#include <cstdio>
#include <string>

#include <unistd.h>

namespace pvmkit::recovery {

// Resident set size of a process in bytes (0 if it is gone).
[[nodiscard]] inline double resident_bytes(pid_t pid) {
  if (pid <= 0) return 0;
  const std::string path = "/proc/" + std::to_string(pid) + "/statm";
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return 0;
  unsigned long size = 0, resident = 0;
  const int n = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  return n == 2 ? static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE)) : 0;
}

// Hands the process events that arrive within `timeout` to the watcher (whose backend runs its
// components through `b`, itself or wrapped). Returns how many.
template <class B, class D>
std::size_t pump(watcher<B, D>& w, linux_process::process_backend& b, duration timeout) {
  const auto events = b.wait_events(timeout);
  for (const auto& e : events) {
    if (e.kind == linux_process::process_event_kind::exited) {
      if (e.spare) w.spare_exited(e.component, e.at);
      else w.exited(e.component, e.at, e.status);
    } else if (!e.spare) {
      w.heartbeat(e.component, e.at);
    }
  }
  return events.size();
}

// A resident-memory sample of every component whose spec watches it (health.rss).
template <class B, class D>
void sample_health(watcher<B, D>& w, const linux_process::process_backend& b, time_point now) {
  for (const auto& s : w.supervisor().components())
    if (s.health.rss) w.health(s.id, now, resident_bytes(b.pid(s.id)));
}

}  // namespace pvmkit::recovery
