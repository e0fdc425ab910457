// plan: what the policies decided, as an ordered list of actions, each with its reason.
// Pure data: it can be printed, projected onto a snapshot, inverted, and applied by a controller.
#pragma once

#include <pvmkit/model/host_view.hpp>
#include <pvmkit/core/id_set.hpp>
#include <pvmkit/core/ids.hpp>
#include <pvmkit/core/json_writer.hpp>
#include <pvmkit/core/units.hpp>

#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace pvmkit {

struct set_vcpu_affinity {
  domain_id domain;
  vcpu_id vcpu;
  cpuset cpus;
  friend bool operator==(const set_vcpu_affinity&, const set_vcpu_affinity&) = default;
};
struct set_vcpu_online {
  domain_id domain;
  vcpu_id vcpu;
  bool online = true;
  friend bool operator==(const set_vcpu_online&, const set_vcpu_online&) = default;
};
struct set_memory_target {
  domain_id domain;
  bytes target;
  friend bool operator==(const set_memory_target&, const set_memory_target&) = default;
};
struct set_node_affinity {
  domain_id domain;
  nodeset nodes;
  friend bool operator==(const set_node_affinity&, const set_node_affinity&) = default;
};
// A cap on the CPU time a domain may use in all, in percent of one pCPU (0 = no cap): Xen's
// scheduler cap (credit and credit2). It bounds the pVM's cores in fractions of a core, which
// whole vCPUs cannot.
struct set_cpu_cap {
  domain_id domain;
  unsigned percent = 0;
  friend bool operator==(const set_cpu_cap&, const set_cpu_cap&) = default;
};
struct set_task_affinity {
  task_id task;
  cpuset cpus;
  friend bool operator==(const set_task_affinity&, const set_task_affinity&) = default;
};
struct set_task_memory_node {
  task_id task;
  node_id node;
  friend bool operator==(const set_task_memory_node&, const set_task_memory_node&) = default;
};

using action = std::variant<set_vcpu_affinity, set_vcpu_online, set_memory_target, set_node_affinity,
                            set_task_affinity, set_task_memory_node, set_cpu_cap>;

[[nodiscard]] inline std::string_view action_name(const action& a) noexcept {
  constexpr std::string_view names[] = {"set_vcpu_affinity", "set_vcpu_online",   "set_memory_target",
                                        "set_node_affinity", "set_task_affinity", "set_task_memory_node",
                                        "set_cpu_cap"};
  return names[a.index()];
}

// Task actions need the TaskPlacement capability, caps the CpuCapControl one; the rest every
// Backend has.
[[nodiscard]] inline bool is_task_action(const action& a) noexcept {
  return std::holds_alternative<set_task_affinity>(a) || std::holds_alternative<set_task_memory_node>(a);
}
[[nodiscard]] inline bool is_cap_action(const action& a) noexcept { return std::holds_alternative<set_cpu_cap>(a); }

struct plan_step {
  plan_step() = default;
  // From the action's own type and any string-like reason, built in place (plan::add).
  template <class A, class R>
    requires std::is_constructible_v<action, A&&> && std::is_constructible_v<std::string, R&&>
  plan_step(A&& a, R&& r) : what(std::forward<A>(a)), reason(std::forward<R>(r)) {}

  action what;
  std::string reason;
  friend bool operator==(const plan_step&, const plan_step&) = default;
};

class plan {
 public:
  // The step is built in place: a first plan adds thousands, and temporaries (a variant, a string)
  // would each be moved and destroyed.
  template <class A, class R>
    requires std::is_constructible_v<plan_step, A&&, R&&>
  [[gnu::noinline]] void add(A&& a, R&& reason) {
    steps_.emplace_back(std::forward<A>(a), std::forward<R>(reason));
  }
  // Room for `steps` steps in all: a policy that knows it will emit many (a first plan: two per
  // task) saves the moves of every step each time the list would have grown.
  void reserve(std::size_t steps) { steps_.reserve(steps); }
  void append(const plan& other) { steps_.insert(steps_.end(), other.steps_.begin(), other.steps_.end()); }
  [[nodiscard]] const std::vector<plan_step>& steps() const noexcept { return steps_; }
  [[nodiscard]] std::size_t size() const noexcept { return steps_.size(); }
  [[nodiscard]] bool empty() const noexcept { return steps_.empty(); }
  friend bool operator==(const plan&, const plan&) = default;

 private:
  std::vector<plan_step> steps_;
};

inline void write_action(json_writer& w, const action& a) {
  w.begin_object().field("action", action_name(a));
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, set_task_affinity> || std::is_same_v<T, set_task_memory_node>)
          w.field("task", std::uint64_t{x.task.value()});
        else
          w.field("domain", std::uint64_t{x.domain.value()});
        if constexpr (std::is_same_v<T, set_vcpu_affinity>) w.field("vcpu", std::uint64_t{x.vcpu.value()}).field("cpus", x.cpus.to_string());
        if constexpr (std::is_same_v<T, set_vcpu_online>) w.field("vcpu", std::uint64_t{x.vcpu.value()}).field("online", x.online);
        if constexpr (std::is_same_v<T, set_memory_target>) w.field("bytes", x.target.count());
        if constexpr (std::is_same_v<T, set_node_affinity>) w.field("nodes", x.nodes.to_string());
        if constexpr (std::is_same_v<T, set_cpu_cap>) w.field("percent", std::uint64_t{x.percent});
        if constexpr (std::is_same_v<T, set_task_affinity>) w.field("cpus", x.cpus.to_string());
        if constexpr (std::is_same_v<T, set_task_memory_node>) w.field("node", std::uint64_t{x.node.value()});
      },
      a);
  w.end_object();
}

[[nodiscard]] inline std::string to_json(const plan& p) {
  json_writer w;
  w.begin_array();
  for (const auto& s : p.steps()) {
    w.begin_object().key("do");
    write_action(w, s.what);
    w.field("reason", s.reason).end_object();
  }
  w.end_array();
  return w.take();
}

// The action that undoes `a` on a host that looked like `before`; nullopt when `before` does not
// know the object (the caller treats that as an invalid plan).
[[nodiscard]] inline std::optional<action> inverse(const host_view& before, const action& a) {
  return std::visit(
      [&](const auto& x) -> std::optional<action> {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, set_task_affinity> || std::is_same_v<T, set_task_memory_node>) {
          const pvm_task* t = before.find_task(x.task);
          if (!t) return std::nullopt;
          if constexpr (std::is_same_v<T, set_task_affinity>) return set_task_affinity{x.task, t->affinity};
          else return set_task_memory_node{x.task, t->memory_node};
        } else {
          const domain_state* d = before.find_domain(x.domain);
          if (!d) return std::nullopt;
          if constexpr (std::is_same_v<T, set_memory_target>) return set_memory_target{x.domain, d->memory_target};
          if constexpr (std::is_same_v<T, set_node_affinity>) return set_node_affinity{x.domain, d->node_affinity};
          if constexpr (std::is_same_v<T, set_cpu_cap>) {
            if (!d->cpu_cap) return std::nullopt;  // the backend reports no cap: nothing to return to
            return set_cpu_cap{x.domain, *d->cpu_cap};
          }
          if constexpr (std::is_same_v<T, set_vcpu_affinity> || std::is_same_v<T, set_vcpu_online>) {
            const vcpu_state* v = d->find_vcpu(x.vcpu);
            if (!v) return std::nullopt;
            if constexpr (std::is_same_v<T, set_vcpu_affinity>) return set_vcpu_affinity{x.domain, x.vcpu, v->hard_affinity};
            else return set_vcpu_online{x.domain, x.vcpu, v->online};
          }
        }
      },
      a);
}

// Applies an action to a snapshot: the view the next policy sees, or what a dry run shows.
// Returns false (view unchanged) when the action names an object the view does not have.
inline bool project(host_view& view, const action& a) {
  return std::visit(
      [&](const auto& x) -> bool {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, set_task_affinity> || std::is_same_v<T, set_task_memory_node>) {
          pvm_task* t = view.find_task(x.task);
          if (!t) return false;
          if constexpr (std::is_same_v<T, set_task_affinity>) t->affinity = x.cpus;
          else t->memory_node = x.node;
          return true;
        } else {
          domain_state* d = view.find_domain(x.domain);
          if (!d) return false;
          if constexpr (std::is_same_v<T, set_memory_target>) d->memory_target = x.target;
          if constexpr (std::is_same_v<T, set_node_affinity>) d->node_affinity = x.nodes;
          if constexpr (std::is_same_v<T, set_cpu_cap>) d->cpu_cap = x.percent;
          if constexpr (std::is_same_v<T, set_vcpu_affinity> || std::is_same_v<T, set_vcpu_online>) {
            if (x.vcpu.index() >= d->vcpus.size()) return false;
            auto& v = d->vcpus[x.vcpu.index()];
            if constexpr (std::is_same_v<T, set_vcpu_affinity>) v.hard_affinity = x.cpus;
            else v.online = x.online;
          }
          return true;
        }
      },
      a);
}

[[nodiscard]] inline host_view project(host_view view, const plan& p) {
  for (const auto& s : p.steps()) project(view, s.what);
  return view;
}

}  // namespace pvmkit
