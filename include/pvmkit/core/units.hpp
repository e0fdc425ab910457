// Byte and page quantities. Pages are 4 KiB everywhere pvmkit runs (x86-64 Xen and KVM).
#pragma once

#include <compare>
#include <cstdint>

namespace pvmkit {

inline constexpr std::uint64_t page_size_bytes = 4096;

class bytes {
 public:
  constexpr bytes() noexcept = default;
  constexpr explicit bytes(std::uint64_t n) noexcept : n_(n) {}
  [[nodiscard]] constexpr std::uint64_t count() const noexcept { return n_; }
  [[nodiscard]] constexpr double mib() const noexcept { return static_cast<double>(n_) / (1024.0 * 1024.0); }
  [[nodiscard]] constexpr double gib() const noexcept { return static_cast<double>(n_) / (1024.0 * 1024.0 * 1024.0); }

  friend constexpr auto operator<=>(bytes, bytes) noexcept = default;
  friend constexpr bytes operator+(bytes a, bytes b) noexcept { return bytes{a.n_ + b.n_}; }
  // Saturates at zero: a memory quantity is never negative.
  friend constexpr bytes operator-(bytes a, bytes b) noexcept { return bytes{a.n_ > b.n_ ? a.n_ - b.n_ : 0}; }
  friend constexpr bytes operator*(bytes a, std::uint64_t k) noexcept { return bytes{a.n_ * k}; }
  friend constexpr bytes operator/(bytes a, std::uint64_t k) noexcept { return bytes{a.n_ / k}; }
  constexpr bytes& operator+=(bytes o) noexcept { n_ += o.n_; return *this; }
  constexpr bytes& operator-=(bytes o) noexcept { *this = *this - o; return *this; }

 private:
  std::uint64_t n_ = 0;
};

class pages {
 public:
  constexpr pages() noexcept = default;
  constexpr explicit pages(std::uint64_t n) noexcept : n_(n) {}
  [[nodiscard]] constexpr std::uint64_t count() const noexcept { return n_; }
  [[nodiscard]] constexpr bytes to_bytes() const noexcept { return bytes{n_ * page_size_bytes}; }

  friend constexpr auto operator<=>(pages, pages) noexcept = default;
  friend constexpr pages operator+(pages a, pages b) noexcept { return pages{a.n_ + b.n_}; }
  friend constexpr pages operator-(pages a, pages b) noexcept { return pages{a.n_ > b.n_ ? a.n_ - b.n_ : 0}; }
  constexpr pages& operator+=(pages o) noexcept { n_ += o.n_; return *this; }
  constexpr pages& operator-=(pages o) noexcept { *this = *this - o; return *this; }

 private:
  std::uint64_t n_ = 0;
};

// Whole pages only: a partial page cannot be allocated.
[[nodiscard]] constexpr pages to_pages(bytes b) noexcept { return pages{b.count() / page_size_bytes}; }

namespace literals {
constexpr bytes operator""_B(unsigned long long n) noexcept { return bytes{n}; }
constexpr bytes operator""_KiB(unsigned long long n) noexcept { return bytes{n << 10}; }
constexpr bytes operator""_MiB(unsigned long long n) noexcept { return bytes{n << 20}; }
constexpr bytes operator""_GiB(unsigned long long n) noexcept { return bytes{n << 30}; }
}  // namespace literals

}  // namespace pvmkit
