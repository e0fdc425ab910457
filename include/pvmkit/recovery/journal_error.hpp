// The state journal's own error codes (std::error_code, category "pvmkit.journal"). I/O failures
// keep the system's code (EIO, ENOSPC); these name what only the journal can tell.
#pragma once

#include <string>
#include <system_error>
#include <type_traits>

namespace pvmkit::recovery {

enum class journal_errc {
  locked = 1,          // another journal object (in this process or another) has the directory open
  corrupt_log,         // damage to records that were acknowledged (intact records written later prove it)
  corrupt_snapshot,    // the snapshot fails its checksum or framing
  inconsistent,        // snapshot and log do not fit together: acknowledged records would be missing
  unsupported_format,  // a file of another format or version
  record_too_large,    // a key or value beyond journal_limits (append refuses what recovery would)
  sequence_exhausted,  // sequence number 2^64-1 has been used
  stopped,             // an earlier I/O failure stopped the journal (fail-stop)
};

namespace detail {
class journal_category_impl final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "pvmkit.journal"; }
  [[nodiscard]] std::string message(int ev) const override {
    switch (static_cast<journal_errc>(ev)) {
      case journal_errc::locked: return "journal is in use: another journal object or process holds its lock";
      case journal_errc::corrupt_log:
        return "journal log damaged before records acknowledged after it; refusing to open, files left untouched";
      case journal_errc::corrupt_snapshot: return "journal snapshot damaged; refusing to open, files left untouched";
      case journal_errc::inconsistent:
        return "journal snapshot and log do not fit together (acknowledged records missing); refusing to open";
      case journal_errc::unsupported_format: return "journal file of an unsupported format or version";
      case journal_errc::record_too_large: return "key or value larger than the journal's limits";
      case journal_errc::sequence_exhausted: return "journal sequence numbers exhausted (2^64-1 used)";
      case journal_errc::stopped: return "journal stopped after an I/O failure; reopen it to recover";
    }
    return "unknown journal error";
  }
};
}  // namespace detail

[[nodiscard]] inline const std::error_category& journal_category() noexcept {
  static const detail::journal_category_impl cat;
  return cat;
}

[[nodiscard]] inline std::error_code make_error_code(journal_errc e) noexcept {
  return {static_cast<int>(e), journal_category()};
}

}  // namespace pvmkit::recovery

template <>
struct std::is_error_code_enum<pvmkit::recovery::journal_errc> : std::true_type {};
