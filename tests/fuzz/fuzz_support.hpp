// What the harnesses share. A harness feeds its input to one parser and checks the parser's
// contract: the input is accepted, or rejected with the parser's documented error; any other
// exception, and any broken property (a round trip that changes the value), is a bug, which the
// harness reports on stderr and aborts on, so that libFuzzer keeps the input as a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>
#include <string>
#include <string_view>
#include <typeinfo>

// The entry point libFuzzer calls, and replay_main.cpp in the unit tests.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace pvmkit::fuzz {

[[nodiscard]] inline std::string_view as_text(const std::uint8_t* data, std::size_t size) noexcept {
  return {reinterpret_cast<const char*>(data), size};
}

[[noreturn]] inline void bug(std::string_view what) {
  std::fprintf(stderr, "fuzz: contract broken: %.*s\n", static_cast<int>(what.size()), what.data());
  std::fflush(stderr);
  std::abort();
}

// A property of the parser's answer; `what` says which.
inline void expect(bool ok, std::string_view what) {
  if (!ok) bug(what);
}

// The Error of accepted() for a parser that documents no exception (it answers nullopt or a
// result error): nothing throws it, so any exception is a bug.
struct no_exception {};

// Runs f(): true when it returned, false when it threw Error (the documented rejection). Any other
// exception aborts, std::bad_alloc included: inputs are small, and a parser that asks for more
// memory than the machine has on one is ballooning.
template <class Error, class F>
bool accepted(F&& f) {
  try {
    f();
    return true;
  } catch (const Error&) {
    return false;
  } catch (const std::bad_alloc&) {
    bug("std::bad_alloc escaped the parser");
  } catch (const std::exception& e) {
    bug(std::string{"undocumented exception "} + typeid(e).name() + ": " + e.what());
  } catch (...) {
    bug("an exception that is not a std::exception");
  }
}

// Reads the input as a sequence of small choices, for harnesses that build their input (the
// journal's) rather than parse it as it is: the fuzzer's mutations then change the choices.
class choices {
 public:
  choices(const std::uint8_t* data, std::size_t size) noexcept : data_(data), size_(size) {}
  [[nodiscard]] bool empty() const noexcept { return at_ >= size_; }
  // A byte; 0 once the input is used up.
  std::uint8_t byte() noexcept { return at_ < size_ ? data_[at_++] : std::uint8_t{0}; }
  std::uint32_t u16() noexcept { return byte() | (std::uint32_t{byte()} << 8); }
  // What is left, as text.
  std::string_view rest() noexcept {
    const std::string_view r = at_ < size_ ? as_text(data_ + at_, size_ - at_) : std::string_view{};
    at_ = size_;
    return r;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t at_ = 0;
};

}  // namespace pvmkit::fuzz
