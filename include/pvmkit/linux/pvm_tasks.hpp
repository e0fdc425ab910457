// Finding the pVM work that serves each guest inside the pVM's own Linux (Xen dom0): netback and
// blkback kernel threads, QEMU device models and the event-channel IRQs of the guests' devices.
// Everything is read from a /proc-style root directory, so tests run on fake trees.
//
// Names recognised (Linux 6.1, Debian 12's dom0 kernel; others noted):
//   netback threads   vif<domid>.<devid>-q<N>-guest-rx, vif<domid>.<devid>-q<N>-dealloc
//                     (comm is cut to 15 characters, so a name of exactly 15 may be any prefix)
//   blkback threads   <domid>.<vdev>-<ring>   (6.1)   blkback.<domid>.<vdev>   (older kernels)
//   device models     a process whose command line has "-xen-domid <domid>"
//   IRQs              vif<domid>.<devid>-q<N>-tx / -rx (split event channels), vif<domid>.<devid>-q<N>
//                     and blkif-backend (see infer_block_irq_guests) in /proc/interrupts
#pragma once

#include <pvmkit/backend/host_view.hpp>
#include <pvmkit/core/id_set.hpp>
#include <pvmkit/core/ids.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace pvmkit::linux_pvm {

// Linux's TASK_COMM_LEN - 1.
inline constexpr std::size_t comm_length = 15;

// pvm_task ids (64 bits): a thread or process keeps its TID; an IRQ gets this bit above its 32-bit
// number. Every 32-bit TID and IRQ number thus has its own id, and none is the invalid one
// (2^64 - 1).
inline constexpr std::uint64_t irq_task_bit = std::uint64_t{1} << 32;

enum class task_source { thread, process, irq };

// What a name says about a piece of backend work.
struct name_match {
  task_kind kind = task_kind::other;
  domain_id guest;
  std::string device;  // "vif3.0", "xvda"
};

struct found_task {
  task_source source = task_source::thread;
  std::uint32_t number = 0;  // TID, PID or IRQ number
  std::string name;          // comm, or the IRQ's action name
  name_match what;
  bool guest_inferred = false;  // guest attributed by order, not by name (blkif-backend IRQs)

  [[nodiscard]] task_id id() const noexcept {
    return task_id{source == task_source::irq ? (irq_task_bit | number) : std::uint64_t{number}};
  }
};

namespace detail {
// Reads decimal digits at s[i...]; false when there are none or the value overflows 32 bits.
inline bool read_number(std::string_view s, std::size_t& i, std::uint32_t& out) {
  const std::size_t start = i;
  std::uint64_t v = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    v = v * 10 + static_cast<std::uint64_t>(s[i] - '0');
    if (v > 0xffffffffULL) return false;
    ++i;
  }
  out = static_cast<std::uint32_t>(v);
  return i > start;
}

inline bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// The arguments of a NUL-separated command line (/proc/PID/cmdline), empty ones dropped.
inline std::vector<std::string_view> split_cmdline(std::string_view cmdline) {
  std::vector<std::string_view> args;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= cmdline.size(); ++i)
    if (i == cmdline.size() || cmdline[i] == '\0') {
      if (i > start) args.push_back(cmdline.substr(start, i - start));
      start = i + 1;
    }
  return args;
}

// A /proc entry named by a TID or PID (digits only, 32 bits: below irq_task_bit); nullopt for "self", ...
inline std::optional<std::uint32_t> entry_number(const std::filesystem::path& entry) {
  const std::string name = entry.filename().string();
  std::size_t i = 0;
  std::uint32_t n = 0;
  if (!read_number(name, i, n) || i != name.size()) return std::nullopt;
  return n;
}

// Calls f(number, entry) for each entry of a /proc-style directory named by a PID or TID.
template <class F>
void for_each_numbered(const std::filesystem::path& dir, F f) {
  std::error_code ec;
  for (std::filesystem::directory_iterator it{dir, ec}, end; !ec && it != end; it.increment(ec))
    if (const auto n = entry_number(it->path())) f(*n, it->path());
}

// "vif<domid>.<devid>" at the start of s; i is left after it.
inline bool read_vif(std::string_view s, std::size_t& i, std::uint32_t& dom, std::uint32_t& dev) {
  if (!starts_with(s, "vif")) return false;
  i = 3;
  if (!read_number(s, i, dom) || i >= s.size() || s[i] != '.') return false;
  ++i;
  return read_number(s, i, dev);
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return {};
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}
}  // namespace detail

// A netback or blkback kernel thread's comm; nullopt for anything else.
[[nodiscard]] inline std::optional<name_match> parse_backend_thread(std::string_view comm) {
  const bool cut = comm.size() >= comm_length;  // may be a prefix of the real name
  std::size_t i = 0;
  std::uint32_t dom = 0, dev = 0;
  if (detail::read_vif(comm, i, dom, dev)) {
    const std::string device = "vif" + std::to_string(dom) + "." + std::to_string(dev);
    std::string_view rest = comm.substr(i);
    if (rest.empty()) {
      if (!cut) return std::nullopt;  // the bare interface name is not a thread
      return name_match{task_kind::net_backend, domain_id{dom}, device};
    }
    if (!detail::starts_with(rest, "-q")) return std::nullopt;
    std::size_t j = 2;
    std::uint32_t queue = 0;
    if (!detail::read_number(rest, j, queue)) return cut && j == rest.size() ? std::optional{name_match{task_kind::net_backend, domain_id{dom}, device}} : std::nullopt;
    const std::string_view suffix = rest.substr(j);
    for (std::string_view full : {std::string_view{"-guest-rx"}, std::string_view{"-dealloc"}})
      if (suffix == full || (cut && detail::starts_with(full, suffix)))
        return name_match{task_kind::net_backend, domain_id{dom}, device};
    return std::nullopt;
  }
  // blkback.<domid>.<vdev> or <domid>.<vdev>[-<ring>]
  std::string_view s = comm;
  const bool old_style = detail::starts_with(s, "blkback.");
  if (old_style) s.remove_prefix(8);
  i = 0;
  if (!detail::read_number(s, i, dom) || i >= s.size() || s[i] != '.') return std::nullopt;
  ++i;
  const std::size_t vstart = i;
  if (i >= s.size() || s[i] < 'a' || s[i] > 'z') return std::nullopt;
  while (i < s.size() && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9'))) ++i;
  const std::string device{s.substr(vstart, i - vstart)};
  std::string_view rest = s.substr(i);
  if (!rest.empty()) {
    if (old_style || rest[0] != '-') return std::nullopt;
    std::size_t j = 1;
    std::uint32_t ring = 0;
    const bool numbered = detail::read_number(rest, j, ring);
    if (j != rest.size() || (!numbered && !cut)) return std::nullopt;
  } else if (!old_style && !cut) {
    return std::nullopt;  // 6.1 always appends the ring: "3.xvda" alone is not blkback's
  }
  return name_match{task_kind::block_backend, domain_id{dom}, device};
}

// A process command line (NUL-separated, as in /proc/PID/cmdline) naming a Xen device model.
[[nodiscard]] inline std::optional<domain_id> parse_device_model_cmdline(std::string_view cmdline) {
  const auto args = detail::split_cmdline(cmdline);
  for (std::size_t k = 0; k + 1 < args.size(); ++k)
    if (args[k] == "-xen-domid") {
      std::size_t i = 0;
      std::uint32_t d = 0;
      if (detail::read_number(args[k + 1], i, d) && i == args[k + 1].size()) return domain_id{d};
      return std::nullopt;
    }
  return std::nullopt;
}

// An IRQ action name from /proc/interrupts.
[[nodiscard]] inline std::optional<name_match> parse_irq_action(std::string_view action) {
  if (action == "blkif-backend") return name_match{task_kind::block_backend, domain_id::invalid(), {}};
  std::size_t i = 0;
  std::uint32_t dom = 0, dev = 0;
  if (!detail::read_vif(action, i, dom, dev)) return std::nullopt;
  std::string_view rest = action.substr(i);
  if (detail::starts_with(rest, "-q")) {
    std::size_t j = 2;
    std::uint32_t q = 0;
    if (!detail::read_number(rest, j, q)) return std::nullopt;
    rest = rest.substr(j);
  }
  if (!(rest.empty() || rest == "-tx" || rest == "-rx")) return std::nullopt;
  return name_match{task_kind::net_backend, domain_id{dom}, "vif" + std::to_string(dom) + "." + std::to_string(dev)};
}

struct interrupt_line {
  std::uint32_t irq = 0;
  std::vector<std::string> tokens;  // everything after the per-CPU counts, commas stripped
};

// One line of /proc/interrupts; nullopt for the header, named interrupts (NMI, LOC) and garbage.
[[nodiscard]] inline std::optional<interrupt_line> parse_interrupts_line(std::string_view line) {
  std::size_t i = 0;
  while (i < line.size() && line[i] == ' ') ++i;
  interrupt_line out;
  if (!detail::read_number(line, i, out.irq) || i >= line.size() || line[i] != ':') return std::nullopt;
  std::istringstream in{std::string{line.substr(i + 1)}};
  std::string tok;
  bool counts = true;
  while (in >> tok) {
    if (counts && std::all_of(tok.begin(), tok.end(), [](char c) { return c >= '0' && c <= '9'; })) continue;
    counts = false;
    while (!tok.empty() && tok.back() == ',') tok.pop_back();
    if (!tok.empty()) out.tokens.push_back(tok);
  }
  return out;
}

// Xen's blkback names every ring's IRQ "blkif-backend", so the name does not say whose it is. On
// a pVM where each ring's IRQ is bound just before its thread is started, IRQ numbers and TIDs
// rise together: when there are as many blkif-backend IRQs as blkback threads, the k-th IRQ
// serves the k-th thread's guest. Reused IRQ numbers (after a guest is destroyed) can break the
// order, so such attributions are flagged (found_task::guest_inferred) and skipped when counts differ.
inline void infer_block_irq_guests(std::vector<found_task>& tasks) {
  std::vector<found_task*> irqs, threads;
  for (auto& t : tasks) {
    if (t.what.kind != task_kind::block_backend) continue;
    if (t.source == task_source::irq && !t.what.guest.valid()) irqs.push_back(&t);
    if (t.source == task_source::thread) threads.push_back(&t);
  }
  if (irqs.empty() || irqs.size() != threads.size()) return;
  auto by_number = [](const found_task* a, const found_task* b) { return a->number < b->number; };
  std::sort(irqs.begin(), irqs.end(), by_number);
  std::sort(threads.begin(), threads.end(), by_number);
  for (std::size_t k = 0; k < irqs.size(); ++k) {
    irqs[k]->what.guest = threads[k]->what.guest;
    irqs[k]->what.device = threads[k]->what.device;
    irqs[k]->guest_inferred = true;
  }
}

// Calls take(irq, action) for the actions of each line of <root>/interrupts in order, until it
// returns true: a shared IRQ line counts once, by its first recognised action.
template <class F>
void for_each_irq_action(const std::filesystem::path& root, F take) {
  std::ifstream irqs(root / "interrupts");
  std::string line;
  while (std::getline(irqs, line)) {
    auto parsed = parse_interrupts_line(line);
    if (!parsed) continue;
    for (const auto& tok : parsed->tokens)
      if (take(parsed->irq, tok)) break;
  }
}

// Scans a /proc-style tree: <root>/<pid>/{comm,cmdline} and <root>/interrupts.
[[nodiscard]] inline std::vector<found_task> discover_pvm_tasks(const std::filesystem::path& root) {
  std::vector<found_task> out;
  detail::for_each_numbered(root, [&](std::uint32_t number, const std::filesystem::path& entry) {
    const std::string cmdline = detail::read_file(entry / "cmdline");
    if (!cmdline.empty()) {
      if (auto dom = parse_device_model_cmdline(cmdline)) {
        // A device model for dom0 itself (qdisk provider) serves every guest: pVM-wide work.
        name_match m{task_kind::device_model, *dom == pvm_domain ? domain_id::invalid() : *dom, "qemu"};
        out.push_back({task_source::process, number, detail::trim(detail::read_file(entry / "comm")), m, false});
      }
      return;  // backend threads are kernel threads, which have an empty command line
    }
    const std::string comm = detail::trim(detail::read_file(entry / "comm"));
    if (auto m = parse_backend_thread(comm)) out.push_back({task_source::thread, number, comm, *m, false});
  });
  for_each_irq_action(root, [&](std::uint32_t irq, const std::string& action) {
    auto m = parse_irq_action(action);
    if (m) out.push_back({task_source::irq, irq, action, *m, false});
    return m.has_value();
  });
  infer_block_irq_guests(out);
  std::sort(out.begin(), out.end(), [](const found_task& a, const found_task& b) { return a.id() < b.id(); });
  return out;
}

}  // namespace pvmkit::linux_pvm
