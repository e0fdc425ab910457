// xen_pvm_backend: Closer on stock Xen. The libxl backend (domains, vCPU pinning, sizing) plus
// placement of the backend threads, device models and event-channel IRQs inside dom0's Linux.
#pragma once

#include <pvmkit/backend/concepts.hpp>
#include <pvmkit/linux/linux_pvm_backend.hpp>
#include <pvmkit/xen/xen_backend.hpp>

#include <filesystem>
#include <utility>

namespace pvmkit {

using xen_pvm_backend = linux_pvm_backend<xen_backend>;

// Throws xen_unavailable off Xen (see xen_backend).
[[nodiscard]] inline xen_pvm_backend make_xen_pvm_backend(std::filesystem::path proc_root = "/proc", xen_options opts = {}) {
  return xen_pvm_backend{xen_backend{opts}, std::move(proc_root)};
}

static_assert(Backend<xen_pvm_backend>);
static_assert(TaskPlacement<xen_pvm_backend>);
static_assert(CpuCapControl<xen_pvm_backend>);

}  // namespace pvmkit
