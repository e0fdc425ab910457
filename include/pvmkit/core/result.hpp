// result<T>: a value or a std::error_code. Member names are a subset of std::expected's so that
// result can become an alias of std::expected<T, std::error_code> once C++23 is the floor.
#pragma once

#include <pvmkit/core/error.hpp>

#include <cassert>
#include <concepts>
#include <stdexcept>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace pvmkit {

class bad_result_access : public std::runtime_error {
 public:
  explicit bad_result_access(std::error_code ec)
      : std::runtime_error("pvmkit::result has no value: " + ec.message()), code_(ec) {}
  [[nodiscard]] std::error_code error() const noexcept { return code_; }

 private:
  std::error_code code_;
};

// Mirrors std::unexpected: the way to construct a failed result.
class unexpected {
 public:
  explicit unexpected(std::error_code ec) noexcept : ec_(ec) {}
  explicit unexpected(errc e) noexcept : ec_(make_error_code(e)) {}
  [[nodiscard]] std::error_code error() const noexcept { return ec_; }

 private:
  std::error_code ec_;
};

template <class T>
class [[nodiscard]] result {
  static_assert(!std::is_reference_v<T>, "result<T&> is not supported");

 public:
  using value_type = T;
  using error_type = std::error_code;

  result() requires std::default_initializable<T> : v_(std::in_place_index<0>) {}
  template <class U = T>
    requires std::constructible_from<T, U&&> && (!std::same_as<std::remove_cvref_t<U>, result>) &&
             (!std::same_as<std::remove_cvref_t<U>, unexpected>)
  result(U&& v) : v_(std::in_place_index<0>, std::forward<U>(v)) {}  // NOLINT: implicit like expected
  result(unexpected u) : v_(std::in_place_index<1>, u.error()) {
    assert(u.error() && "a failed result needs a non-zero error code");
  }

  [[nodiscard]] bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & { check(); return std::get<0>(v_); }
  const T& value() const& { check(); return std::get<0>(v_); }
  T&& value() && { check(); return std::get<0>(std::move(v_)); }
  T& operator*() & noexcept { assert(has_value()); return *std::get_if<0>(&v_); }
  const T& operator*() const& noexcept { assert(has_value()); return *std::get_if<0>(&v_); }
  T* operator->() noexcept { assert(has_value()); return std::get_if<0>(&v_); }
  const T* operator->() const noexcept { assert(has_value()); return std::get_if<0>(&v_); }
  [[nodiscard]] std::error_code error() const noexcept {
    assert(!has_value());
    const auto* e = std::get_if<1>(&v_);
    return e ? *e : std::error_code{};
  }
  template <class U>
  [[nodiscard]] T value_or(U&& fallback) const& {
    return has_value() ? std::get<0>(v_) : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  void check() const {
    if (!has_value()) throw bad_result_access(std::get<1>(v_));
  }
  std::variant<T, std::error_code> v_;
};

template <>
class [[nodiscard]] result<void> {
 public:
  using value_type = void;
  using error_type = std::error_code;

  result() noexcept = default;
  result(unexpected u) noexcept : ec_(u.error()) { assert(ec_ && "a failed result needs a non-zero error code"); }

  [[nodiscard]] bool has_value() const noexcept { return !ec_; }
  explicit operator bool() const noexcept { return has_value(); }
  void value() const {
    if (ec_) throw bad_result_access(ec_);
  }
  [[nodiscard]] std::error_code error() const noexcept { return ec_; }

 private:
  std::error_code ec_;
};

}  // namespace pvmkit
