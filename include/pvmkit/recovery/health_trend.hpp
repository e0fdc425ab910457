// health_trend: the least-squares slope of a health signal (resident memory, request latency)
// over its last samples. Rejuvenation acts on the trend, not on a single reading, so one spike
// does not restart a component, and a steady leak is caught long before memory runs out.
#pragma once

#include <pvmkit/core/clock.hpp>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <vector>

namespace pvmkit::recovery {

class health_trend {
 public:
  explicit health_trend(std::size_t window = 16) : xs_(std::max<std::size_t>(window, 2)), ys_(xs_.size()) {}

  void add(time_point t, double value) {
    if (count_ > 0 && t <= last_t_) {  // out of order or clock went back: start a fresh series
      clear();
    }
    xs_[next_] = std::chrono::duration<double>(t.time_since_epoch()).count();
    ys_[next_] = value;
    next_ = (next_ + 1) % xs_.size();
    count_ = std::min(count_ + 1, xs_.size());
    last_t_ = t;
    last_value_ = value;
  }

  void clear() noexcept {
    count_ = 0;
    next_ = 0;
  }

  [[nodiscard]] std::size_t size() const noexcept { return count_; }
  [[nodiscard]] double last() const noexcept { return last_value_; }

  // Units of the signal per second; nothing until two samples exist.
  [[nodiscard]] std::optional<double> slope_per_second() const noexcept {
    if (count_ < 2) return std::nullopt;
    // Centre on the mean time: absolute epoch seconds squared would lose the precision we need.
    double mx = 0, my = 0;
    for (std::size_t i = 0; i < count_; ++i) {
      mx += xs_[i];
      my += ys_[i];
    }
    mx /= static_cast<double>(count_);
    my /= static_cast<double>(count_);
    double sxy = 0, sxx = 0;
    for (std::size_t i = 0; i < count_; ++i) {
      sxy += (xs_[i] - mx) * (ys_[i] - my);
      sxx += (xs_[i] - mx) * (xs_[i] - mx);
    }
    if (sxx <= 0) return std::nullopt;
    return sxy / sxx;
  }

 private:
  std::vector<double> xs_, ys_;  // ring buffers; order does not matter for a regression
  std::size_t next_ = 0;
  std::size_t count_ = 0;
  time_point last_t_{};
  double last_value_ = 0;
};

}  // namespace pvmkit::recovery
