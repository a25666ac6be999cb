// sg/error.hpp — sg's error codes: sg::errc and its std::error_category.
//
// Every failure sg reports carries a std::error_code. Codes of sg's own are values of
// sg::errc in the category named "sg", so `ec == sg::errc::timeout` reads as it should;
// a shard's own codes (std::errc, boost::system, an SQLite or libpq code the adapter maps)
// pass through unchanged. Example: examples/quickstart.cpp.
#pragma once

#include <string>
#include <system_error>

namespace sg {

// What went wrong, in sg's words. The values are stable (they may be logged or sent over
// the wire); new ones are only ever appended.
enum class errc : int {
  shard_failed = 1,  // a shard threw, or returned an error that has no code of its own
  timeout,           // an attempt or the whole query ran out of time
  cancelled,         // the operation was cancelled before it completed
  circuit_open,      // the shard's circuit breaker is open: no call was made
  no_shards,         // the request targeted zero shards
  bad_input,         // input violates a documented precondition (unsorted run, bad boundary…)
  overflow,          // an arithmetic aggregate left the range of its type
  partial_result,    // fewer shards answered than the completion rule requires
};

// A failure in words: its code and a description (what a shard_failure records, and what
// an attempt layer completes an attempt with when it fails it itself).
struct attempt_error {
  std::error_code error;
  std::string what;
};

namespace detail {

class error_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "sg"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::shard_failed: return "a shard failed";
      case errc::timeout: return "timed out";
      case errc::cancelled: return "operation cancelled";
      case errc::circuit_open: return "circuit breaker open: shard not called";
      case errc::no_shards: return "the request targets no shard";
      case errc::bad_input: return "bad input";
      case errc::overflow: return "arithmetic overflow";
      case errc::partial_result: return "fewer shards answered than required";
    }
    return "unknown sg error " + std::to_string(value);
  }

  // Lets portable code test sg's codes against the standard conditions:
  // `ec == std::errc::timed_out` holds for sg::errc::timeout, and so on.
  std::error_condition default_error_condition(int value) const noexcept override {
    switch (static_cast<errc>(value)) {
      case errc::timeout: return std::errc::timed_out;
      case errc::cancelled: return std::errc::operation_canceled;
      case errc::bad_input: return std::errc::invalid_argument;
      case errc::overflow: return std::errc::value_too_large;
      default: return {value, *this};
    }
  }
};

}  // namespace detail

// The category of sg::errc: one object for the whole program (a static local of an inline
// function), so codes compare equal across translation units.
inline const std::error_category& error_category() noexcept {
  static const detail::error_category_impl category;
  return category;
}

// Found by ADL: makes `std::error_code ec = sg::errc::timeout;` work.
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace sg

template <>
struct std::is_error_code_enum<sg::errc> : std::true_type {};
