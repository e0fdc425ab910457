// splitmix64 (Steele, Lea, Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014):
// a well-mixed 64-bit hash and the tiny generator built on it. Seeded and the same on every
// platform and standard library (unlike std's distributions), so a run, a back-off or a test
// replays exactly. Not for anything secret.
#pragma once

#include <cstdint>

namespace pvmkit {

// The splitmix64 finaliser of x + the golden-ratio increment: a hash good enough for reproducible
// coin flips keyed by (seed, slot).
[[nodiscard]] constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// The top 53 bits of h as a double in [0, 1).
[[nodiscard]] constexpr double unit_interval(std::uint64_t h) noexcept { return static_cast<double>(h >> 11) * 0x1.0p-53; }

// The generator: each call advances the state by the increment and returns its hash.
struct splitmix64 {
  std::uint64_t state = 0;
  constexpr std::uint64_t next() noexcept {
    const std::uint64_t z = mix64(state);
    state += 0x9e3779b97f4a7c15ULL;
    return z;
  }
  constexpr double uniform() noexcept { return unit_interval(next()); }
};

}  // namespace pvmkit
