// pvmkit's error codes: backend calls report expected failures as std::error_code in this category.
#pragma once

#include <stdexcept>
#include <string>
#include <system_error>

namespace pvmkit {

enum class errc {
  ok = 0,
  unknown_domain,
  unknown_vcpu,
  unknown_cpu,
  unknown_node,
  unknown_task,
  unknown_component,
  unknown_page,
  invalid_argument,
  over_capacity,       // a request beyond what the host has (memory, CPUs, pages)
  pool_exhausted,      // no page left where one was asked for
  not_supported,       // the backend or the guest lacks the capability
  backend_failure,     // the hypervisor or OS refused; the detail is in the message of the layer above
  backend_unavailable, // no hypervisor to talk to (e.g. opening the Xen backend on bare Linux)
  injected_failure,    // a test double failed on purpose
  invalid_state,       // the call does not fit the object's current state
  corrupt_data,        // checksum or framing error in stored data
  timeout,
};

namespace detail {
class pvmkit_category_impl final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "pvmkit"; }
  [[nodiscard]] std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::ok: return "success";
      case errc::unknown_domain: return "unknown domain";
      case errc::unknown_vcpu: return "unknown vCPU";
      case errc::unknown_cpu: return "unknown CPU";
      case errc::unknown_node: return "unknown NUMA node";
      case errc::unknown_task: return "unknown pVM task";
      case errc::unknown_component: return "unknown component";
      case errc::unknown_page: return "unknown page";
      case errc::invalid_argument: return "invalid argument";
      case errc::over_capacity: return "request exceeds host capacity";
      case errc::pool_exhausted: return "page pool exhausted";
      case errc::not_supported: return "not supported";
      case errc::backend_failure: return "backend call failed";
      case errc::backend_unavailable: return "backend unavailable";
      case errc::injected_failure: return "injected failure";
      case errc::invalid_state: return "invalid state";
      case errc::corrupt_data: return "corrupt data";
      case errc::timeout: return "timed out";
    }
    return "unknown pvmkit error";
  }
};
}  // namespace detail

[[nodiscard]] inline const std::error_category& pvmkit_category() noexcept {
  static const detail::pvmkit_category_impl cat;
  return cat;
}

[[nodiscard]] inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), pvmkit_category()};
}

// Thrown only at the boundary (parsers, loaders, CLI): bad configuration or bad input.
class config_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace pvmkit

template <>
struct std::is_error_code_enum<pvmkit::errc> : std::true_type {};
