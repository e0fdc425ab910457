// pvmkit-store: a small XenStore-like component (keys, values, watches) that keeps its state in a
// state_journal, so a restart brings back exactly the acknowledged writes. Line protocol over a
// Unix socket (the one the process backend passes, or --socket PATH):
//   put KEY VALUE -> "ok SEQ" once the write is durable   get KEY -> "val VALUE" | "none"
//   del KEY -> "ok SEQ"    dir PREFIX -> "keys K1 K2 ..."  watch PREFIX -> "ok", then "event KEY"
//   ping -> "pong PID"     count -> "count N"
// Watches belong to a connection and die with it: clients re-register after a restart (that is
// what "reconnect the frontends" means for a store).
// The journal is fail-stop: after an I/O error the store answers "error journal: ..." and exits 1,
// so that its supervisor restarts it and recovery reads what is really on disk. A journal damaged
// before acknowledged records makes the store exit 1 without changing a file; --salvage keeps the
// records before the damage and a copy of the whole log (docs/recovery.md).
#include <pvmkit/linux/process_component.hpp>
#include <pvmkit/recovery/state_journal.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace {
using namespace pvmkit::recovery;

struct client {
  int fd = -1;
  std::string in;
  std::vector<std::string> watches;
};

std::string arg(int argc, char** argv, const char* name, const char* fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  return fallback;
}

int listen_on(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  ::unlink(path.c_str());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 128) != 0) {
    std::perror("pvmkit-store: listen");
    std::exit(2);
  }
  return fd;
}

void send_line(int fd, const std::string& s) {
  const std::string line = s + "\n";
  (void)!::write(fd, line.data(), line.size());
}

bool has_flag(int argc, char** argv, const char* name) {
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return true;
  return false;
}

// A promoted spare or a quick restart may find the previous instance still exiting: its lock goes
// with it, so a held lock is waited for a while.
pvmkit::result<state_journal> open_journal(const std::string& dir, journal_options opts, std::string& why) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    why.clear();
    auto j = state_journal::open(dir, opts, {}, &why);
    if (j || j.error() != journal_errc::locked || std::chrono::steady_clock::now() >= give_up) return j;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// The answer to a failed put or del; a stopped journal ends the process (fail-stop).
std::string journal_error(const state_journal& j, std::error_code ec) {
  if (j.stopped()) {
    std::fprintf(stderr, "pvmkit-store: %s\n", j.failure().c_str());
    return "error journal: " + (j.failure().empty() ? ec.message() : j.failure());
  }
  return "error " + ec.message();
}
}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a client that went away must not kill the component
  const std::string dir = arg(argc, argv, "--dir", "");
  if (dir.empty()) {
    std::fprintf(stderr, "pvmkit-store: --dir DIR is required\n");
    return 2;
  }
  const std::string sync = arg(argc, argv, "--fsync", "every");
  fsync_policy policy = fsync_policy::every_record();
  if (sync == "none") policy = fsync_policy::none();
  else if (sync != "every") policy = fsync_policy::every(static_cast<std::size_t>(std::atol(sync.c_str())));
  const long heartbeat_ms = std::atol(arg(argc, argv, "--heartbeat-ms", "10").c_str());

  pvmkit::linux_process::component_channel ch;
  if (ch.is_spare() && !ch.wait_for_promotion()) return 0;
  journal_options opts{.sync = policy};
  if (has_flag(argc, argv, "--salvage")) opts.on_corruption = corruption_policy::salvage;
  std::string why;
  auto opened = open_journal(dir, opts, why);
  if (!opened) {
    std::fprintf(stderr, "pvmkit-store: cannot open journal in %s: %s\n  %s\n", dir.c_str(), opened.error().message().c_str(),
                 why.c_str());
    if (opened.error() == journal_errc::corrupt_log)
      std::fprintf(stderr, "pvmkit-store: --salvage keeps the records before the damage and a copy of the whole log\n");
    return 1;
  }
  state_journal journal = std::move(*opened);
  if (const auto& r = journal.recovery(); r.tail_damaged) {
    std::fprintf(stderr, "pvmkit-store: log tail discarded (%s, %llu bytes)\n", r.tail_problem.c_str(),
                 static_cast<unsigned long long>(r.discarded_bytes));
    if (!r.quarantine.empty()) std::fprintf(stderr, "pvmkit-store: the whole log was copied to %s first\n", r.quarantine.c_str());
  }
  int lfd = ch.listening_socket();
  if (lfd < 0) lfd = listen_on(arg(argc, argv, "--socket", "/tmp/pvmkit-store.sock"));
  ::fcntl(lfd, F_SETFL, O_NONBLOCK);
  ch.ready();

  std::vector<client> clients;
  auto next_beat = std::chrono::steady_clock::now();
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_beat) {
      ch.heartbeat();
      next_beat = now + std::chrono::milliseconds(heartbeat_ms);
    }
    std::vector<pollfd> fds{{lfd, POLLIN, 0}};
    for (const auto& c : clients) fds.push_back({c.fd, POLLIN, 0});
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_beat - now).count();
    if (::poll(fds.data(), fds.size(), static_cast<int>(wait < 1 ? 1 : wait)) <= 0) continue;
    if (fds[0].revents & POLLIN)
      for (int c; (c = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC)) >= 0;) clients.push_back({c, {}, {}});
    std::vector<std::pair<std::string, int>> fired;  // key, originating fd
    for (std::size_t i = 1; i < fds.size(); ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP))) continue;
      auto& c = clients[i - 1];
      char buf[4096];
      const ssize_t n = ::read(c.fd, buf, sizeof buf);
      if (n <= 0) {
        ::close(c.fd);
        c.fd = -1;
        continue;
      }
      c.in.append(buf, static_cast<std::size_t>(n));
      for (std::size_t nl; (nl = c.in.find('\n')) != std::string::npos;) {
        const std::string line = c.in.substr(0, nl);
        c.in.erase(0, nl + 1);
        const auto sp1 = line.find(' ');
        const std::string cmd = line.substr(0, sp1);
        const std::string rest = sp1 == std::string::npos ? "" : line.substr(sp1 + 1);
        if (cmd == "put") {
          const auto sp = rest.find(' ');
          const std::string key = rest.substr(0, sp), value = sp == std::string::npos ? "" : rest.substr(sp + 1);
          auto seq = journal.put(key, value);
          auto synced = seq ? journal.sync() : pvmkit::result<void>{};
          if (seq && synced) {  // acknowledge only what is durable
            send_line(c.fd, "ok " + std::to_string(*seq));
            fired.emplace_back(key, c.fd);
          } else {
            send_line(c.fd, journal_error(journal, seq ? synced.error() : seq.error()));
          }
        } else if (cmd == "del") {
          auto seq = journal.erase(rest);
          auto synced = seq ? journal.sync() : pvmkit::result<void>{};
          if (seq && synced) {
            send_line(c.fd, "ok " + std::to_string(*seq));
            fired.emplace_back(rest, c.fd);
          } else {
            send_line(c.fd, journal_error(journal, seq ? synced.error() : seq.error()));
          }
        } else if (cmd == "get") {
          auto it = journal.state().find(rest);
          send_line(c.fd, it == journal.state().end() ? "none" : "val " + it->second);
        } else if (cmd == "dir") {
          std::string out = "keys";
          for (auto it = journal.state().lower_bound(rest); it != journal.state().end() && it->first.starts_with(rest); ++it)
            out += " " + it->first;
          send_line(c.fd, out);
        } else if (cmd == "watch") {
          c.watches.push_back(rest);
          send_line(c.fd, "ok");
        } else if (cmd == "ping") {
          send_line(c.fd, "pong " + std::to_string(::getpid()));
        } else if (cmd == "count") {
          send_line(c.fd, "count " + std::to_string(journal.state().size()));
        } else {
          send_line(c.fd, "error unknown command");
        }
      }
    }
    for (const auto& [key, origin] : fired)
      for (const auto& c : clients)
        if (c.fd >= 0)
          for (const auto& w : c.watches)
            if (key.starts_with(w)) {
              send_line(c.fd, "event " + key);
              break;
            }
    std::erase_if(clients, [](const client& c) { return c.fd < 0; });
    if (journal.stopped()) return 1;  // answered above; a restart recovers from the disk
  }
}
