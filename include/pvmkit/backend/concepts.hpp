// What a hypervisor backend must provide (Backend) and what it may provide (the refining
// capability concepts). Each capability is a named concept so that a compile error names the
// missing one, not a wall of expressions.
#pragma once

#include <pvmkit/model/host_view.hpp>
#include <pvmkit/core/id_set.hpp>
#include <pvmkit/core/ids.hpp>
#include <pvmkit/core/result.hpp>
#include <pvmkit/core/units.hpp>
#include <pvmkit/topology/topology.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace pvmkit {

// ---- required capabilities ------------------------------------------------------------------

template <class B>
concept TopologySource = requires(B& b) {
  { b.topology() } -> std::same_as<result<std::shared_ptr<const topology>>>;
};

template <class B>
concept SnapshotSource = requires(B& b) {
  { b.snapshot() } -> std::same_as<result<host_view>>;
};

template <class B>
concept VcpuControl = requires(B& b, domain_id d, vcpu_id v, const cpuset& cpus, bool on) {
  { b.set_vcpu_affinity(d, v, cpus) } -> std::same_as<result<void>>;
  { b.set_vcpu_online(d, v, on) } -> std::same_as<result<void>>;
};

template <class B>
concept MemoryControl = requires(B& b, domain_id d, bytes target, const nodeset& nodes) {
  { b.set_memory_target(d, target) } -> std::same_as<result<void>>;
  { b.set_node_affinity(d, nodes) } -> std::same_as<result<void>>;
};

template <class B>
concept Backend = TopologySource<B> && SnapshotSource<B> && VcpuControl<B> && MemoryControl<B>;

// ---- optional capabilities ------------------------------------------------------------------

// Placing pVM work (backend threads, device models, IRQs) on pCPUs and its buffers on a node.
template <class B>
concept TaskPlacement = Backend<B> && requires(B& b, task_id t, const cpuset& cpus, node_id n) {
  { b.set_task_affinity(t, cpus) } -> std::same_as<result<void>>;
  { b.set_task_memory_node(t, n) } -> std::same_as<result<void>>;
};

// A cap on a domain's total CPU time, in percent of one pCPU (0 = none), reported back in
// domain_state::cpu_cap by snapshot().
template <class B>
concept CpuCapControl = Backend<B> && requires(B& b, domain_id d, unsigned percent) {
  { b.set_cpu_cap(d, percent) } -> std::same_as<result<void>>;
};

// The pVM's own state alone (its vCPUs, cap and CPU use), cheaper than a whole snapshot: what a
// guard between control rounds reads (controller::guard).
template <class B>
concept PvmProbe = Backend<B> && requires(B& b) {
  { b.pvm_snapshot() } -> std::same_as<result<domain_state>>;
};

// A machine page frame and the node it lives on.
struct page_frame {
  std::uint64_t frame = 0;
  node_id node;
  friend constexpr bool operator==(const page_frame&, const page_frame&) = default;
};

// Page flipping: node-exact allocation of pVM pages, and the exchange of pVM pages for guest
// pages (GNTTABOP_transfer on Xen).
template <class B>
concept FlipPoolControl = Backend<B> && requires(B& b, node_id n, domain_id d, std::span<page_frame> out,
                                                 std::span<const page_frame> in) {
  // Fills up to out.size() pages from node n only; returns how many it could.
  { b.allocate_node_pages(n, out) } -> std::same_as<result<std::size_t>>;
  { b.free_pages(in) } -> std::same_as<result<void>>;
  // in[i] (pVM pages) go to guest d; out[i] receives the guest page given up in exchange.
  { b.exchange_pages(d, in, out) } -> std::same_as<result<void>>;
  { b.guest_pages_per_node(d) } -> std::same_as<result<std::vector<pages>>>;
  // Peeks at the receive buffers guest d has posted, in the order an exchange takes them: the
  // page each flip replaces, whose node a node-aware policy matches. Returns how many it filled.
  { b.posted_rx_pages(d, out) } -> std::same_as<result<std::size_t>>;
  // Whether guest d advertised recycling of flipped pages as receive buffers (informed flipping).
  { b.guest_recycles_rx_pages(d) } -> std::same_as<result<bool>>;
};

enum class component_status { stopped, starting, running, failed };

// Starting and stopping disaggregated pVM components (xenstored, a backend domain, a QEMU).
template <class B>
concept ComponentControl = requires(B& b, component_id c) {
  { b.start_component(c) } -> std::same_as<result<void>>;
  { b.stop_component(c) } -> std::same_as<result<void>>;
  { b.status(c) } -> std::same_as<result<component_status>>;
};

// ---- fixed facts ----------------------------------------------------------------------------

// Specialise for an adapter; the primary template states the conservative defaults.
template <class B>
struct backend_traits {
  static constexpr std::string_view name = "unnamed";
  // The snapshot fills domain_state::memory_per_node.
  static constexpr bool reports_memory_per_node = false;
  // set_task_memory_node chooses the node a pVM task's buffers come from (a TaskPlacement backend
  // may only be able to pin tasks). The controller drops the steps a backend cannot carry out.
  static constexpr bool places_task_memory = false;
};

}  // namespace pvmkit
