// Guest I/O demand over time: the built-in generators (steady, bursty, diurnal, flash crowd) and
// step-wise replay of a recorded trace. Every generator is a pure function of time (bursty hashes
// its seed with the slot number), so a run is reproducible without carrying RNG state.
#pragma once

#include <pvmkit/core/random.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <numbers>
#include <string_view>
#include <variant>
#include <vector>

namespace pvmkit::sim {

// Requests a guest offers its pVM backends per second.
struct io_rates {
  double net_pps = 0;     // packets (both directions) through the net backend
  double block_iops = 0;  // requests through the block backend
  friend bool operator==(const io_rates&, const io_rates&) = default;
};

[[nodiscard]] constexpr io_rates scaled(io_rates r, double k) noexcept { return {r.net_pps * k, r.block_iops * k}; }

// Constant demand.
struct steady_load {
  io_rates base;
};

// On/off bursts: time is cut into slots of slot_s seconds; a slot is "on" (demand base x peak)
// with probability on_probability, independently of the others, else demand is base.
struct bursty_load {
  io_rates base;
  double peak = 4;
  double on_probability = 0.25;
  double slot_s = 5;
  std::uint64_t seed = 0;  // mixed with the scenario seed and the guest's index by the loader
};

// A day compressed into period_s: base x (1 + amplitude sin(2 pi (t - phase_s) / period_s)).
struct diurnal_load {
  io_rates mean;
  double amplitude = 0.5;  // in [0, 1], so demand never goes negative
  double period_s = 86400;
  double phase_s = 0;
};

// A flash crowd: base until start_s, a linear ramp to base x multiple over ramp_s (the peak is at
// start_s + ramp_s), then an exponential decay back towards base with time constant decay_s.
struct flash_crowd_load {
  io_rates base;
  double start_s = 60;
  double ramp_s = 10;
  double multiple = 10;
  double decay_s = 60;
};

struct trace_point {
  double time_s = 0;
  io_rates rates;
};

// Replays recorded rates: each row holds from its time until the guest's next row; zero before
// the first row.
struct trace_load {
  std::shared_ptr<const std::vector<trace_point>> points;  // sorted by time
};

using workload = std::variant<steady_load, bursty_load, diurnal_load, flash_crowd_load, trace_load>;

[[nodiscard]] constexpr std::string_view kind_name(const workload& w) noexcept {
  constexpr std::string_view names[] = {"steady", "bursty", "diurnal", "flash_crowd", "trace"};
  return names[w.index()];
}

[[nodiscard]] inline double flash_crowd_factor(const flash_crowd_load& f, double t) noexcept {
  if (t < f.start_s) return 1;
  const double since = t - f.start_s;
  if (since < f.ramp_s) return 1 + (f.multiple - 1) * since / f.ramp_s;
  return 1 + (f.multiple - 1) * std::exp(-(since - f.ramp_s) / f.decay_s);
}

[[nodiscard]] inline bool bursty_on(const bursty_load& b, double t) noexcept {
  const auto slot = static_cast<std::uint64_t>(std::max(0.0, std::floor(t / b.slot_s)));
  return unit_interval(mix64(b.seed ^ mix64(slot))) < b.on_probability;
}

[[nodiscard]] inline io_rates rate_at(const workload& w, double t) {
  struct visitor {
    double t;
    io_rates operator()(const steady_load& s) const { return s.base; }
    io_rates operator()(const bursty_load& b) const { return bursty_on(b, t) ? scaled(b.base, b.peak) : b.base; }
    io_rates operator()(const diurnal_load& d) const {
      return scaled(d.mean, 1 + d.amplitude * std::sin(2 * std::numbers::pi * (t - d.phase_s) / d.period_s));
    }
    io_rates operator()(const flash_crowd_load& f) const { return scaled(f.base, flash_crowd_factor(f, t)); }
    io_rates operator()(const trace_load& tr) const {
      if (!tr.points || tr.points->empty()) return {};
      const auto& p = *tr.points;
      auto it = std::upper_bound(p.begin(), p.end(), t, [](double x, const trace_point& q) { return x < q.time_s; });
      return it == p.begin() ? io_rates{} : std::prev(it)->rates;
    }
  };
  return std::visit(visitor{t}, w);
}

}  // namespace pvmkit::sim
