// libxl's errors as std::error_code: one error category per libxl call the Xen adapter makes, so an
// error names its call ("libxl_set_vcpuaffinity failed: libxl error -3 (...)"), and the value is
// libxl's own code. Component pvmkit::xen.
#pragma once

#include <cstddef>
#include <string>
#include <system_error>

// The Xen headers have no extern "C" guards of their own.
extern "C" {
#include <libxl.h>
}

namespace pvmkit {

// The libxl calls this adapter makes; each has its own error category so an error names its call.
enum class libxl_call {
  ctx_alloc,
  get_numainfo,
  get_cpu_topology,
  list_domain,
  list_vcpu,
  domain_info,
  get_memory_target,
  get_nodeaffinity,
  set_vcpuaffinity,
  set_vcpuonline,
  set_memory_target,
  set_nodeaffinity,
  bitmap_alloc,
  sched_params_set,
};

[[nodiscard]] constexpr const char* libxl_call_name(libxl_call c) noexcept {
  switch (c) {
    case libxl_call::ctx_alloc: return "libxl_ctx_alloc";
    case libxl_call::get_numainfo: return "libxl_get_numainfo";
    case libxl_call::get_cpu_topology: return "libxl_get_cpu_topology";
    case libxl_call::list_domain: return "libxl_list_domain";
    case libxl_call::list_vcpu: return "libxl_list_vcpu";
    case libxl_call::domain_info: return "libxl_domain_info";
    case libxl_call::get_memory_target: return "libxl_get_memory_target";
    case libxl_call::get_nodeaffinity: return "libxl_domain_get_nodeaffinity";
    case libxl_call::set_vcpuaffinity: return "libxl_set_vcpuaffinity";
    case libxl_call::set_vcpuonline: return "libxl_set_vcpuonline";
    case libxl_call::set_memory_target: return "libxl_set_memory_target";
    case libxl_call::set_nodeaffinity: return "libxl_domain_set_nodeaffinity";
    case libxl_call::bitmap_alloc: return "libxl_bitmap_alloc";
    case libxl_call::sched_params_set: return "libxl_domain_sched_params_set";
  }
  return "libxl";
}

namespace detail {
class libxl_category_impl final : public std::error_category {
 public:
  constexpr explicit libxl_category_impl(libxl_call c) noexcept : call_(c) {}
  [[nodiscard]] const char* name() const noexcept override { return libxl_call_name(call_); }
  [[nodiscard]] std::string message(int ev) const override {
    const char* code = libxl_error_to_string(static_cast<libxl_error>(ev));
    std::string m = call_ == libxl_call::ctx_alloc ? "no Xen hypervisor: " : "";
    m += libxl_call_name(call_);
    m += " failed: libxl error ";
    m += std::to_string(ev);
    if (code) {
      m += " (";
      m += code;
      m += ')';
    }
    return m;
  }
  [[nodiscard]] libxl_call call() const noexcept { return call_; }

 private:
  libxl_call call_;
};
}  // namespace detail

[[nodiscard]] inline const std::error_category& libxl_category(libxl_call c) noexcept {
  static const detail::libxl_category_impl cats[] = {
      detail::libxl_category_impl{libxl_call::ctx_alloc},        detail::libxl_category_impl{libxl_call::get_numainfo},
      detail::libxl_category_impl{libxl_call::get_cpu_topology}, detail::libxl_category_impl{libxl_call::list_domain},
      detail::libxl_category_impl{libxl_call::list_vcpu},        detail::libxl_category_impl{libxl_call::domain_info},
      detail::libxl_category_impl{libxl_call::get_memory_target}, detail::libxl_category_impl{libxl_call::get_nodeaffinity},
      detail::libxl_category_impl{libxl_call::set_vcpuaffinity}, detail::libxl_category_impl{libxl_call::set_vcpuonline},
      detail::libxl_category_impl{libxl_call::set_memory_target}, detail::libxl_category_impl{libxl_call::set_nodeaffinity},
      detail::libxl_category_impl{libxl_call::bitmap_alloc},     detail::libxl_category_impl{libxl_call::sched_params_set},
  };
  return cats[static_cast<std::size_t>(c)];
}

[[nodiscard]] inline std::error_code make_libxl_error(libxl_call c, int libxl_rc) noexcept {
  // Calls that return a list report failure as NULL without a code: ERROR_FAIL stands in.
  return {libxl_rc < 0 ? libxl_rc : ERROR_FAIL, libxl_category(c)};
}

// True when `ec` came from libxl (as opposed to pvmkit's own argument checks).
[[nodiscard]] inline bool is_libxl_error(const std::error_code& ec) noexcept {
  return dynamic_cast<const detail::libxl_category_impl*>(&ec.category()) != nullptr;
}

}  // namespace pvmkit
