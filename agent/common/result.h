// SPDX-License-Identifier: Apache-2.0
// Result<T>: a value or an Error, for failures that are expected (bad input, Redis down, a
// peer that does not answer). The subset of std::expected the agent uses; no exceptions cross
// module boundaries. Depends on nothing but the standard library.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace agent {

// What kind of failure, so callers can react without parsing messages.
enum class Errc {
  Invalid,    // bad input: configuration, file contents, arguments
  NotFound,   // a file, name or node that does not exist
  Io,         // filesystem or socket error
  Timeout,    // a bounded wait ran out
  Transport,  // Redis connection lost or refused
  Protocol,   // Redis answered something of an unexpected shape
  Server,     // Redis answered with an error reply (-ERR, -LOADING, ...)
  Refused,    // the agent refuses to act because it would risk data
};

const char* errcName(Errc code);

struct Error {
  Errc code;
  std::string message;
};

inline Error fail(Errc code, std::string message) {
  return Error{code, std::move(message)};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : data_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool has_value() const { return data_.index() == 0; }  // NOLINT(readability-identifier-naming)
  explicit operator bool() const { return has_value(); }

  T& value() & {
    assert(has_value());
    return std::get<0>(data_);
  }
  const T& value() const& {
    assert(has_value());
    return std::get<0>(data_);
  }
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(data_));
  }
  const Error& error() const {
    assert(!has_value());
    return std::get<1>(data_);
  }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  template <typename U>
  T value_or(U&& fallback) const& {  // NOLINT(readability-identifier-naming)
    return has_value() ? value() : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  std::variant<T, Error> data_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error)
      : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)

  bool has_value() const { return ok_; }  // NOLINT(readability-identifier-naming)
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    assert(!ok_);
    return error_;
  }

 private:
  Error error_{Errc::Invalid, {}};
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace agent
