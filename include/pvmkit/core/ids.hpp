// Strong identifiers: a cpu_id cannot be passed where a node_id is expected.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>

namespace pvmkit {

template <class Tag, class Rep = std::uint32_t>
class strong_id {
 public:
  using rep = Rep;

  constexpr strong_id() noexcept = default;
  constexpr explicit strong_id(Rep v) noexcept : value_(v) {}

  [[nodiscard]] constexpr Rep value() const noexcept { return value_; }
  // For indexing dense tables; ids are dense from 0 within one topology or host.
  [[nodiscard]] constexpr std::size_t index() const noexcept { return static_cast<std::size_t>(value_); }
  [[nodiscard]] constexpr bool valid() const noexcept { return value_ != invalid_rep; }
  [[nodiscard]] static constexpr strong_id invalid() noexcept { return strong_id{}; }

  friend constexpr auto operator<=>(strong_id, strong_id) noexcept = default;

 private:
  static constexpr Rep invalid_rep = std::numeric_limits<Rep>::max();
  Rep value_ = invalid_rep;
};

using node_id = strong_id<struct node_tag>;
using cpu_id = strong_id<struct cpu_tag>;
using domain_id = strong_id<struct domain_tag>;
using vcpu_id = strong_id<struct vcpu_tag>;
// 64 bits: backends put several kinds of work (threads, processes, IRQs) in one id space, each
// with its 32-bit number under a tag (linux_pvm::irq_task_bit).
using task_id = strong_id<struct task_tag, std::uint64_t>;
using component_id = strong_id<struct component_tag>;

// The pVM is domain 0 on Xen; a KVM host uses the same id for "the host itself".
inline constexpr domain_id pvm_domain{0};

}  // namespace pvmkit

template <class Tag, class Rep>
struct std::hash<pvmkit::strong_id<Tag, Rep>> {
  std::size_t operator()(pvmkit::strong_id<Tag, Rep> id) const noexcept { return std::hash<Rep>{}(id.value()); }
};
