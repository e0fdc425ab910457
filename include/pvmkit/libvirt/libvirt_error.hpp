// libvirt's errors as std::error_code. An error_code holds an int and a category pointer, and a
// libvirt error has three parts (its code, the domain that raised it, a message naming the object),
// so each distinct (call, code, domain, message) gets its own category object, interned for the
// life of the process: the code's value is libvirt's virErrorNumber, the category's name() is the
// call ("virDomainPinVcpuFlags"), and message() carries all of it. The table is bounded: past
// libvirt_max_distinct_errors, a new error keeps its call, code and domain but not libvirt's text.
#pragma once

#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

extern "C" {
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
}

namespace pvmkit {

// What libvirt said about a failed call.
struct libvirt_error_info {
  std::string call;     // "virDomainPinEmulator"
  int code = 0;         // virErrorNumber: VIR_ERR_NO_DOMAIN = 42, VIR_ERR_INVALID_ARG = 8, ...
  int domain = 0;       // virErrorDomain: VIR_FROM_QEMU = 10, VIR_FROM_TEST = 12, ...
  std::string message;  // libvirt's own text, e.g. "invalid argument: iothreadid 9 not found"
};

namespace detail {
class libvirt_category_impl final : public std::error_category {
 public:
  explicit libvirt_category_impl(libvirt_error_info info) : info_(std::move(info)) {}
  [[nodiscard]] const char* name() const noexcept override { return info_.call.c_str(); }
  [[nodiscard]] std::string message(int ev) const override {
    std::string m = info_.call + " failed: libvirt error " + std::to_string(ev) + " (domain " + std::to_string(info_.domain) + ")";
    if (!info_.message.empty()) m += ": " + info_.message;
    return m;
  }
  [[nodiscard]] const libvirt_error_info& info() const noexcept { return info_; }

 private:
  libvirt_error_info info_;
};

struct libvirt_category_table {
  std::mutex m;
  std::deque<libvirt_category_impl> cats;  // a deque never moves its elements
};
inline libvirt_category_table& libvirt_categories() {
  static libvirt_category_table t;
  return t;
}
}  // namespace detail

// Distinct libvirt errors kept with their text; a long-running agent meets few.
inline constexpr std::size_t libvirt_max_distinct_errors = 4096;

[[nodiscard]] inline std::error_code make_libvirt_error(libvirt_error_info info) {
  // 0 is success in std::error_code; libvirt uses it for "no error recorded" (VIR_ERR_OK).
  const int code = info.code != VIR_ERR_OK ? info.code : VIR_ERR_INTERNAL_ERROR;
  info.code = code;
  auto& t = detail::libvirt_categories();
  const std::lock_guard lock(t.m);
  auto find = [&]() -> const detail::libvirt_category_impl* {
    for (const auto& c : t.cats) {
      const auto& i = c.info();
      if (i.code == code && i.domain == info.domain && i.call == info.call && i.message == info.message) return &c;
    }
    return nullptr;
  };
  if (const auto* c = find()) return {code, *c};
  if (t.cats.size() >= libvirt_max_distinct_errors) {
    info.message = "(libvirt's text dropped: too many distinct errors)";
    if (const auto* c = find()) return {code, *c};
  }
  t.cats.emplace_back(std::move(info));
  return {code, t.cats.back()};
}

// The error libvirt recorded for this thread's last failed call (virGetLastError), attributed to
// `call`. A call that failed without recording one is VIR_ERR_INTERNAL_ERROR with no text.
[[nodiscard]] inline std::error_code last_libvirt_error(std::string_view call) {
  libvirt_error_info info;
  info.call = std::string{call};
  if (virErrorPtr e = virGetLastError()) {
    info.code = e->code;
    info.domain = e->domain;
    if (e->message) info.message = e->message;
  }
  virResetLastError();
  return make_libvirt_error(std::move(info));
}

// libvirt's code, domain and text when `ec` came from libvirt; nullopt for pvmkit's own errors.
[[nodiscard]] inline std::optional<libvirt_error_info> libvirt_error_of(const std::error_code& ec) {
  if (const auto* c = dynamic_cast<const detail::libvirt_category_impl*>(&ec.category())) return c->info();
  return std::nullopt;
}

[[nodiscard]] inline bool is_libvirt_error(const std::error_code& ec) noexcept {
  return dynamic_cast<const detail::libvirt_category_impl*>(&ec.category()) != nullptr;
}

}  // namespace pvmkit
