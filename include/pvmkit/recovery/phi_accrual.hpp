// phi_accrual: the accrual failure detector of Hayashibara, Defago, Yared and Katayama, "The phi
// accrual failure detector" (SRDS 2004). It learns the distribution of heartbeat inter-arrival
// times over a sliding window and reports phi = -log10(P(a heartbeat arrives later than now)),
// with the inter-arrival time modelled as a normal distribution. phi = 1 means a 10 % chance
// that suspecting is a mistake, phi = 8 means 1e-8. It adapts to a loaded host: when heartbeats
// get irregular the variance grows and the same silence yields a lower phi.
#pragma once

#include <pvmkit/core/clock.hpp>
#include <pvmkit/recovery/detector.hpp>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

namespace pvmkit::recovery {

struct phi_accrual_config {
  double threshold = 8.0;        // suspect when phi >= threshold
  std::size_t window = 100;      // inter-arrival samples kept
  std::size_t min_samples = 5;   // below this the bootstrap estimate is used
  // Floor on the standard deviation: a perfectly regular sender would otherwise make any tiny
  // delay look infinitely unlikely.
  duration min_std_dev{std::chrono::milliseconds{2}};
  // Added to the mean: a pause the caller accepts without suspicion (GC, scheduling on a busy host).
  duration acceptable_pause{std::chrono::milliseconds{0}};
  // Expected interval before enough samples exist (mean = this, std dev = this / 4).
  duration bootstrap_interval{std::chrono::milliseconds{100}};
  duration startup_grace{std::chrono::seconds{1}};  // before the first heartbeat, from start()
  duration watcher_max_gap{};                       // see watcher_pause_guard; zero = off
};

class phi_accrual {
 public:
  phi_accrual() : phi_accrual(phi_accrual_config{}) {}
  explicit phi_accrual(phi_accrual_config cfg) : cfg_(cfg), guard_(cfg.watcher_max_gap), samples_(std::max<std::size_t>(cfg.window, 1)) {
    assert(cfg.threshold > 0 && cfg.min_samples >= 1);
  }

  // A new incarnation started at t: its predecessor's heartbeats say nothing about it, but the
  // learnt interval distribution is kept (the same program sends at the same rate).
  void start(time_point t) noexcept {
    started_ = true;
    heard_ = false;
    start_ = t;
  }

  void heartbeat(time_point t) noexcept {
    const bool watcher_paused = guard_.observe(t) > duration::zero() || skip_next_;
    skip_next_ = false;
    // The first heartbeat has no interval; one that spans a watcher pause measures the watcher;
    // one earlier than the last (clock jumped back) has no meaningful interval: none is sampled,
    // the arrival time is simply re-based.
    if (heard_ && !watcher_paused && t >= last_) add_sample(static_cast<double>((t - last_).count()));
    heard_ = true;
    last_ = t;
  }

  [[nodiscard]] double phi(time_point now) noexcept {
    excuse(guard_.observe(now), now);
    return phi_at(now);
  }

  bool suspect(time_point now) noexcept {
    excuse(guard_.observe(now), now);
    if (!heard_) return started_ && now > start_ && now - start_ > cfg_.startup_grace;
    return phi_at(now) >= cfg_.threshold;
  }

  // Statistics of the learnt distribution (nanoseconds), for reports and tests.
  [[nodiscard]] std::size_t samples() const noexcept { return count_; }
  [[nodiscard]] double mean_ns() const noexcept {
    if (count_ < cfg_.min_samples) return static_cast<double>(cfg_.bootstrap_interval.count());
    return sum_ / static_cast<double>(count_);
  }
  [[nodiscard]] double std_dev_ns() const noexcept {
    double sd = 0;
    if (count_ < cfg_.min_samples) {
      sd = static_cast<double>(cfg_.bootstrap_interval.count()) / 4.0;
    } else {
      const double m = sum_ / static_cast<double>(count_);
      sd = std::sqrt(std::max(0.0, sum_sq_ / static_cast<double>(count_) - m * m));
    }
    return std::max(sd, static_cast<double>(cfg_.min_std_dev.count()));
  }
  [[nodiscard]] const phi_accrual_config& config() const noexcept { return cfg_; }

 private:
  [[nodiscard]] double phi_at(time_point now) const noexcept {
    if (!heard_ || now <= last_) return 0.0;  // nothing to judge yet, or the clock went back
    const double elapsed = static_cast<double>((now - last_).count());
    const double mean = mean_ns() + static_cast<double>(cfg_.acceptable_pause.count());
    const double z = (elapsed - mean) / std_dev_ns();
    const double p_later = 0.5 * std::erfc(z / std::sqrt(2.0));
    if (p_later <= std::numeric_limits<double>::min()) return std::numeric_limits<double>::infinity();
    return -std::log10(p_later);
  }

  void add_sample(double v) noexcept {
    if (count_ == samples_.size()) {
      const double old = samples_[next_];
      sum_ -= old;
      sum_sq_ -= old * old;
    } else {
      ++count_;
    }
    samples_[next_] = v;
    sum_ += v;
    sum_sq_ += v * v;
    next_ = (next_ + 1) % samples_.size();
    if (next_ == 0) {  // once per window: drop the rounding error the running sums accumulate
      sum_ = 0;
      sum_sq_ = 0;
      for (double x : samples_) {
        sum_ += x;
        sum_sq_ += x * x;
      }
    }
  }

  void excuse(duration d, time_point now) noexcept {
    if (d == duration::zero()) return;
    last_ = std::min(last_ + d, now);
    start_ = std::min(start_ + d, now);
    skip_next_ = true;  // the next interval starts from an excused instant, not a real arrival
  }

  phi_accrual_config cfg_;
  watcher_pause_guard guard_;
  std::vector<double> samples_;  // ring buffer of inter-arrival times (ns)
  std::size_t next_ = 0;
  std::size_t count_ = 0;
  double sum_ = 0;
  double sum_sq_ = 0;
  time_point start_{};
  time_point last_{};
  bool started_ = false;
  bool heard_ = false;
  bool skip_next_ = false;
};

static_assert(AccrualDetector<phi_accrual>);

}  // namespace pvmkit::recovery
