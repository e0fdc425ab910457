// The state journal's recovery (recovery/journal_format.hpp): recover_journal_bytes answers a
// state or a journal error for any snapshot and log bytes, never throws, and agrees with what
// state_journal::open makes of the same files. Two ways to read the input (its first byte says):
//   even: raw bytes, a snapshot and a log cut from the input (flags, u16 snapshot length, bytes);
//   odd:  a script (setup byte, operation count, operations, damage). A journal on power_cut_io
//         (in memory) runs the script's puts, erases and compactions; its files recover to exactly the final state. Then the script damages them
//         (bytes flipped, the log cut short): recovery must refuse, or give exactly the state after
//         some record (the state at its last_seq), and a log only cut short (a torn write) must
//         recover. Checksums make raw bytes unlikely to reach past a record header: scripts do.
#include "fuzz_support.hpp"

#include <pvmkit/recovery/journal_format.hpp>
#include <pvmkit/recovery/power_cut_io.hpp>
#include <pvmkit/recovery/state_journal.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace rec = pvmkit::recovery;
using pvmkit::fuzz::expect;
using sim_journal = rec::basic_state_journal<rec::power_cut_io>;

using maybe_file = std::optional<std::string>;

rec::corruption_policy policy_of(std::uint8_t b) {
  return (b & 1U) != 0 ? rec::corruption_policy::salvage : rec::corruption_policy::refuse;
}

// recover_journal_bytes, with the report's own consistency and open()'s agreement checked.
pvmkit::result<rec::recovered_journal> recover(const maybe_file& snapshot, const maybe_file& log, rec::corruption_policy policy) {
  std::optional<pvmkit::result<rec::recovered_journal>> r;
  (void)pvmkit::fuzz::accepted<pvmkit::fuzz::no_exception>([&] {
    std::string why;
    r.emplace(rec::recover_journal_bytes(snapshot ? std::optional<std::string_view>{*snapshot} : std::nullopt,
                                         log ? std::optional<std::string_view>{*log} : std::nullopt, policy, &why));
    expect(r->has_value() || !why.empty(), "a refusal says why");
  });
  if (*r) {
    const auto& rep = (*r)->report;
    expect(rep.last_seq >= rep.snapshot_seq && rep.last_seq >= rep.log_last_seq, "last_seq is the newest of snapshot and log");
    if (log) expect(rep.good_bytes + rep.discarded_bytes == log->size(), "the log is kept or cut off, byte for byte");
    expect(rep.tail_damaged == (rep.discarded_bytes > 0 || rep.log_header_damaged), "a cut is reported as damage");
  }

  // open() on a disk holding these files: the same answer and the same state.
  auto disk = std::make_shared<rec::power_cut_fs>();
  if (snapshot) disk->set_file("j/snapshot", *snapshot);
  if (log) disk->set_file("j/wal", *log);
  auto opened = sim_journal::open("j", {.sync = rec::fsync_policy::none(), .on_corruption = policy}, rec::power_cut_io{disk});
  expect(opened.has_value() == r->has_value(), "open() succeeds exactly when recovery does");
  if (opened) {
    expect(opened->state() == (*r)->state, "open() has the state recovery gives");
    expect(opened->last_seq() == (*r)->report.last_seq, "open() continues from recovery's last_seq");
  }
  return std::move(*r);
}

void raw(pvmkit::fuzz::choices& in) {
  const std::uint8_t flags = in.byte();
  const std::size_t snapshot_bytes = in.u16();
  const std::string_view rest = in.rest();
  const std::string_view snap = rest.substr(0, snapshot_bytes);
  const std::string_view log = rest.substr(snap.size());
  (void)recover((flags & 2U) != 0 ? maybe_file{snap} : std::nullopt, (flags & 4U) != 0 ? maybe_file{log} : std::nullopt,
                policy_of(flags));
}

// The writes of a script, to rebuild the state after any of them.
struct write_op {
  std::string key;
  std::optional<std::string> value;  // nullopt: an erase
};

rec::journal_map state_after(const std::vector<write_op>& writes, std::uint64_t seq) {
  rec::journal_map m;
  for (std::size_t i = 0; i < seq; ++i) {
    if (writes[i].value) m[writes[i].key] = *writes[i].value;
    else m.erase(writes[i].key);
  }
  return m;
}

void scripted(pvmkit::fuzz::choices& in) {
  const std::uint8_t setup = in.byte();
  auto disk = std::make_shared<rec::power_cut_fs>();
  std::vector<write_op> writes;  // writes[seq - 1] is record seq
  rec::journal_map model;
  {
    const rec::journal_options opts{.sync = (setup & 1U) != 0 ? rec::fsync_policy::none() : rec::fsync_policy::every_record(),
                                    .compact_after_bytes = std::size_t{setup} / 2 * 64};
    auto j = sim_journal::open("j", opts, rec::power_cut_io{disk});
    expect(j.has_value(), "a new journal opens");
    const int ops = in.byte() % 65;
    for (int op = 0; op < ops; ++op) {
      const std::uint8_t what = in.byte();
      std::string key = "k" + std::to_string(in.byte() % 16);
      if (what % 8 == 7) {
        expect(j->compact().has_value(), "compaction succeeds");
        continue;
      }
      pvmkit::result<std::uint64_t> seq = std::uint64_t{0};
      if (what % 8 >= 5) {
        model.erase(key);
        seq = j->erase(key);
        writes.push_back({std::move(key), std::nullopt});
      } else {
        // Mostly short values; now and then one of a few KiB (a record longer than the read buffer's rest).
        std::string value(std::size_t{in.byte()} * (what % 8 == 4 ? 37 : 1), static_cast<char>('a' + what % 26));
        model[key] = value;
        seq = j->put(key, value);
        writes.push_back({std::move(key), std::move(value)});
      }
      expect(seq.has_value() && *seq == writes.size(), "each write gets the next seq");
      expect(j->state() == model, "state() shows the acknowledged write");
    }
  }
  maybe_file snapshot = disk->file("j/snapshot"), log = disk->file("j/wal");
  expect(log.has_value(), "a journal has a log");
  const auto intact = recover(snapshot, log, rec::corruption_policy::refuse);
  expect(intact.has_value() && intact->state == model && intact->report.last_seq == writes.size() && !intact->report.tail_damaged,
         "intact files recover to the final state");

  // Damage: up to 4 bytes flipped in either file, then perhaps the log cut short.
  const int flips = in.byte() % 5;
  for (int k = 0; k < flips; ++k) {
    const std::uint8_t where = in.byte();
    maybe_file& f = (where & 1U) != 0 && snapshot && !snapshot->empty() ? snapshot : log;
    if (f->empty()) continue;
    const std::size_t at = (std::size_t{where} / 2 << 16 | in.u16()) % f->size();
    (*f)[at] = static_cast<char>(static_cast<unsigned char>((*f)[at]) ^ (in.byte() | 1U));
  }
  std::optional<std::size_t> cut;
  if (const std::uint32_t c = in.u16(); (c & 1U) != 0) {
    cut = (c >> 1) % (log->size() + 1);
    log->resize(*cut);
  }
  const auto policy = policy_of(in.byte());
  const auto damaged = recover(snapshot, log, policy);
  if (damaged) {
    expect(damaged->report.last_seq <= writes.size(), "recovery invents no record");
    expect(damaged->state == state_after(writes, damaged->report.last_seq), "recovery gives exactly the state after its last record");
  }
  if (flips == 0 && cut && *cut >= rec::journal_format::log_header_bytes)
    expect(damaged.has_value(), "a log cut short after its header (a torn write) recovers");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  pvmkit::fuzz::choices in(data, size);
  if ((in.byte() & 1U) == 0) raw(in);
  else scripted(in);
  return 0;
}
