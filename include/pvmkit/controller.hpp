// The controller: snapshot, ask the policies, apply the plan as a transaction, report.
#pragma once

#include <pvmkit/backend/concepts.hpp>
#include <pvmkit/model/host_view.hpp>
#include <pvmkit/core/result.hpp>
#include <pvmkit/model/decision.hpp>
#include <pvmkit/model/plan.hpp>
#include <pvmkit/model/policy.hpp>

#include <algorithm>
#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

namespace pvmkit {

struct apply_report {
  std::size_t applied = 0;           // steps in effect when apply_plan returned
  std::optional<std::size_t> failed_step;
  std::error_code error;             // why failed_step failed
  bool rolled_back = false;          // every step applied before the failure was undone
  // Steps whose undo failed: still in effect, recorded so the next round can complete them.
  std::vector<std::size_t> stuck_steps;

  [[nodiscard]] bool ok() const noexcept { return !failed_step && !error; }
};

// Whether backend B can carry out `a`: its concepts say which calls it has, backend_traits what
// they can do. The one place that decides; apply_plan and the controller both ask it.
template <class B>
[[nodiscard]] bool can_carry_out(const action& a) noexcept {
  if (is_cap_action(a)) return CpuCapControl<B>;
  if (std::holds_alternative<set_task_memory_node>(a)) return TaskPlacement<B> && backend_traits<B>::places_task_memory;
  if (is_task_action(a)) return TaskPlacement<B>;
  return true;
}

// Every action is carried out: the controller then checks no step.
template <class B>
inline constexpr bool carries_out_everything = CpuCapControl<B> && TaskPlacement<B> && backend_traits<B>::places_task_memory;

namespace detail {
template <class B>
result<void> dispatch(B& backend, const action& a) {
  return std::visit(
      [&](const auto& x) -> result<void> {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, set_vcpu_affinity>) return backend.set_vcpu_affinity(x.domain, x.vcpu, x.cpus);
        else if constexpr (std::is_same_v<T, set_vcpu_online>) return backend.set_vcpu_online(x.domain, x.vcpu, x.online);
        else if constexpr (std::is_same_v<T, set_memory_target>) return backend.set_memory_target(x.domain, x.target);
        else if constexpr (std::is_same_v<T, set_node_affinity>) return backend.set_node_affinity(x.domain, x.nodes);
        else if constexpr (std::is_same_v<T, set_cpu_cap>) {
          if constexpr (CpuCapControl<B>) return backend.set_cpu_cap(x.domain, x.percent);
          else return unexpected{errc::not_supported};
        } else if constexpr (TaskPlacement<B>) {
          if constexpr (std::is_same_v<T, set_task_affinity>) return backend.set_task_affinity(x.task, x.cpus);
          else return backend.set_task_memory_node(x.task, x.node);
        } else {
          return unexpected{errc::not_supported};
        }
      },
      a);
}
}  // namespace detail

// Applies `p` to a host that looked like `before`. Nothing is half-applied: on a failure the steps
// already applied are undone in reverse order; an undo that fails too is reported in stuck_steps
// (the host then matches `before` except for those steps, which are recorded, not silent).
template <Backend B>
apply_report apply_plan(B& backend, const host_view& before, const plan& p) {
  apply_report report;
  const auto& steps = p.steps();
  // Undo actions are computed up front against the view as each step will find it, so a plan that
  // touches the same object twice unwinds to the original value.
  std::vector<action> undo;
  undo.reserve(steps.size());
  host_view view = before;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    auto inv = inverse(view, steps[i].what);
    const bool unsupported = !can_carry_out<B>(steps[i].what);
    if (!inv || unsupported) {
      report.failed_step = i;
      report.error = make_error_code(unsupported ? errc::not_supported : errc::invalid_argument);
      report.rolled_back = true;  // nothing was applied
      return report;
    }
    undo.push_back(std::move(*inv));
    project(view, steps[i].what);
  }
  for (std::size_t i = 0; i < steps.size(); ++i) {
    auto r = detail::dispatch(backend, steps[i].what);
    if (r) {
      ++report.applied;
      continue;
    }
    report.failed_step = i;
    report.error = r.error();
    for (std::size_t k = i; k-- > 0;) {
      if (detail::dispatch(backend, undo[k])) {
        --report.applied;
      } else {
        report.stuck_steps.push_back(k);
      }
    }
    report.rolled_back = report.stuck_steps.empty();
    return report;
  }
  return report;
}

struct round_report {
  host_view before;
  plan planned;
  apply_report applied;
  std::vector<decision_record> decisions;
};

namespace detail {
// A snapshot with plans projected onto it in place, put back as it was when this goes out of scope
// (a policy throwing included). Only what a plan touches is saved first: the pVM's vCPUs for a
// sizing plan that moves them, its memory target, node affinity and cap for the others, the guests
// or the tasks only when a plan acts on them; a copy of the whole snapshot (thousands of records
// and allocations on a large host) would cost more than the decisions taken on it.
class projected_in_place {
 public:
  explicit projected_in_place(host_view& view) noexcept : view_(&view) {}
  projected_in_place(const projected_in_place&) = delete;
  projected_in_place& operator=(const projected_in_place&) = delete;
  ~projected_in_place() {
    domain_state& pvm = view_->pvm;
    if (vcpus_) pvm.vcpus = std::move(*vcpus_);
    if (pvm_settings_) std::tie(pvm.memory_target, pvm.node_affinity, pvm.cpu_cap) = std::move(*pvm_settings_);
    if (guests_) view_->guests = std::move(*guests_);
    if (tasks_) view_->tasks = std::move(*tasks_);
  }

  const host_view& project(std::span<const plan_step> steps) {
    static_assert(std::variant_size_v<action> == 7, "a new action: save what it changes before projecting it");
    domain_state& pvm = view_->pvm;
    for (const auto& s : steps) {
      if (is_task_action(s.what)) {
        if (!tasks_) tasks_ = view_->tasks;
      } else if (std::visit([](const auto& x) { return domain_of(x); }, s.what) != pvm.id) {
        if (!guests_) guests_ = view_->guests;
      } else if (std::holds_alternative<set_vcpu_affinity>(s.what) || std::holds_alternative<set_vcpu_online>(s.what)) {
        if (!vcpus_) vcpus_ = pvm.vcpus;
      } else if (!pvm_settings_) {
        pvm_settings_.emplace(pvm.memory_target, pvm.node_affinity, pvm.cpu_cap);
      }
      pvmkit::project(*view_, s.what);
    }
    return *view_;
  }

 private:
  template <class A>
  static domain_id domain_of(const A& a) noexcept {
    if constexpr (requires { a.domain; }) return a.domain;
    else return domain_id::invalid();
  }

  host_view* view_;
  std::optional<std::vector<vcpu_state>> vcpus_;
  std::optional<std::tuple<bytes, nodeset, std::optional<unsigned>>> pvm_settings_;
  std::optional<std::vector<domain_state>> guests_;
  std::optional<std::vector<pvm_task>> tasks_;
};
}  // namespace detail

// Runs the policies in order; each sees the snapshot as the plans before it would leave it
// (sizing first, then placement, sees the vCPUs sizing will bring online). Steps the backend
// cannot carry out (can_carry_out) are dropped from each policy's plan, with a decision record,
// so one unsupported kind of step does not roll back a whole round.
template <Backend B, Policy... Ps>
class controller {
 public:
  explicit controller(B& backend, Ps... policies) : backend_(&backend), policies_(std::move(policies)...) {}

  // Records are streamed to `sink` as they are taken (e.g. JSON lines to a file).
  void on_decision(std::function<void(const decision_record&)> sink) { log_.on_record(std::move(sink)); }
  void record_decisions(bool on) { log_ = decision_log{on}; }

  // A dry run: what the policies would do now. The snapshot is copied only when a plan has to be
  // shown to a later policy.
  [[nodiscard]] plan decide(const host_view& view) {
    std::optional<host_view> projected;
    return decide_with(view, [&](std::span<const plan_step> part) -> const host_view& {
      if (!projected) projected.emplace(view);
      for (const auto& s : part) project(*projected, s.what);
      return *projected;
    });
  }
  // The same on a snapshot the caller owns: the plans are projected onto it in place for the
  // policies after them, and it is left as it was.
  [[nodiscard]] plan decide(host_view& view) {
    detail::projected_in_place projected{view};
    return decide_with(view, [&](std::span<const plan_step> part) -> const host_view& { return projected.project(part); });
  }

  // One control round. The snapshot failing is an error; a failed apply is reported in the round.
  result<round_report> step() {
    auto snap = backend_->snapshot();
    if (!snap) return unexpected{snap.error()};
    round_report round;
    round.before = std::move(*snap);
    log_.clear();
    round.planned = decide(round.before);  // in place: round.before is the snapshot again after
    round.applied = apply_plan(*backend_, round.before, round.planned);
    round.decisions = log_.records();
    return round;
  }

  // A guard between rounds: the policies that have a guard() (GuardedPolicy) look at a fresh view
  // and may act at once; the others are not asked, and nothing is read when none has a guard. On a
  // backend with a PvmProbe the view holds only the topology and the pVM (guards read no more).
  result<round_report> guard() {
    round_report round;
    if constexpr ((GuardedPolicy<Ps> || ...)) {
      if constexpr (PvmProbe<B>) {
        auto topo = backend_->topology();
        if (!topo) return unexpected{topo.error()};
        auto pvm = backend_->pvm_snapshot();
        if (!pvm) return unexpected{pvm.error()};
        round.before.topo = std::move(*topo);
        round.before.pvm = std::move(*pvm);
      } else {
        auto snap = backend_->snapshot();
        if (!snap) return unexpected{snap.error()};
        round.before = std::move(*snap);
      }
      log_.clear();
      std::apply(
          [&](auto&... pol) {
            (([&] {
               if constexpr (GuardedPolicy<std::remove_cvref_t<decltype(pol)>>) {
                 const std::size_t first = round.planned.size();
                 round.planned.append(pol.guard(round.before, log_));
                 drop_unsupported(round.planned, first);
               }
             }()),
             ...);
          },
          policies_);
      if (!round.planned.empty()) round.applied = apply_plan(*backend_, round.before, round.planned);
      round.decisions = log_.records();
    }
    return round;
  }

  [[nodiscard]] B& backend() noexcept { return *backend_; }
  template <std::size_t I>
  [[nodiscard]] auto& policy() noexcept { return std::get<I>(policies_); }

 private:
  // Drops from `total` the steps from `first` on that the backend cannot carry out, with one
  // decision record per kind of action dropped. Free on a backend that carries out every action.
  void drop_unsupported(plan& total, std::size_t first) {
    if constexpr (!carries_out_everything<B>) {
      const auto& steps = total.steps();
      if (std::all_of(steps.begin() + static_cast<std::ptrdiff_t>(first), steps.end(),
                      [](const plan_step& s) { return can_carry_out<B>(s.what); }))
        return;
      plan kept;
      std::vector<std::pair<std::string_view, std::size_t>> dropped;  // per kind of action, in order met
      for (std::size_t i = 0; i < steps.size(); ++i) {
        if (i < first || can_carry_out<B>(steps[i].what)) {
          kept.add(steps[i].what, steps[i].reason);
          continue;
        }
        const std::string_view kind = action_name(steps[i].what);
        auto it = std::find_if(dropped.begin(), dropped.end(), [&](const auto& d) { return d.first == kind; });
        if (it == dropped.end()) dropped.emplace_back(kind, 1);
        else ++it->second;
      }
      if (log_.enabled())
        for (const auto& [kind, n] : dropped)
          log_.add({"controller", std::string{kind} + " steps",
                    {{"backend", std::string{backend_traits<B>::name}}, {"dropped", std::to_string(n)}}, {}, "dropped",
                    "the backend cannot carry them out (see its backend_traits and capabilities)"});
      total = std::move(kept);
    }
  }

  // Each policy decides on `view` as the plans before it leave it (`project_part` shows a plan's
  // steps to the policies after it); the last plan is shown to none. A policy that can append its
  // steps to the round's plan (AppendingPolicy) does, instead of having them copied there.
  template <class Project>
  plan decide_with(const host_view& view, Project project_part) {
    plan total;
    const host_view* seen = &view;
    std::size_t at = 0;
    std::apply(
        [&](auto&... pol) {
          (([&] {
             const std::size_t first = total.size();
             if constexpr (AppendingPolicy<std::remove_cvref_t<decltype(pol)>>) {
               pol.decide(*seen, log_, total);
             } else {
               plan part = pol.decide(*seen, log_);
               if (total.empty()) total = std::move(part);
               else total.append(part);
             }
             drop_unsupported(total, first);
             if (++at < sizeof...(Ps) && total.size() > first)
               seen = &project_part(std::span<const plan_step>{total.steps()}.subspan(first));
           }()),
           ...);
        },
        policies_);
    return total;
  }

  B* backend_;
  std::tuple<Ps...> policies_;
  decision_log log_;
};

}  // namespace pvmkit
