// The instant the detector tests start at: well after the clock's epoch, so a jump backwards stays
// a valid time.
#pragma once

#include <pvmkit/core/clock.hpp>

#include <chrono>

namespace pvmkit::test {

inline const time_point t0 = time_point{} + std::chrono::seconds{1000};

}  // namespace pvmkit::test
