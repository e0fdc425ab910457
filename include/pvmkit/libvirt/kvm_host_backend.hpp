// kvm_host_backend: Closer on a KVM host. The libvirt backend (guests, vCPU pinning, the pVM's CPU
// reservation, emulator and I/O-thread pinning) plus the host's Linux layer, which finds each
// guest's vhost threads and passed-through devices' IRQs and pins them with sched_setaffinity and
// smp_affinity_list on the guest's node (docs/kvm.md).
#pragma once

#include <pvmkit/backend/concepts.hpp>
#include <pvmkit/libvirt/libvirt_backend.hpp>
#include <pvmkit/linux/linux_pvm_backend.hpp>

#include <filesystem>
#include <utility>

namespace pvmkit {

using kvm_host_backend = linux_pvm_backend<libvirt_backend>;

// Throws libvirt_unavailable when the URI cannot be opened (see libvirt_backend).
[[nodiscard]] inline kvm_host_backend make_kvm_host_backend(libvirt_options opts = {}, std::filesystem::path proc_root = "/proc") {
  return kvm_host_backend{libvirt_backend{std::move(opts)}, std::move(proc_root)};
}

static_assert(Backend<kvm_host_backend>);
static_assert(TaskPlacement<kvm_host_backend>);

}  // namespace pvmkit
