// Status and Result<T>: how errors cross module boundaries in Apiary.
//
// A Status is a code plus a human-readable message. Codes exist only where a caller can react
// differently to them; everything else is `internal`. Result<T> holds either a value or a
// non-ok Status. Both are plain values: cheap to move, safe to copy between threads.
// Exceptions from third-party code are caught in the adapter that calls it and turned into a
// Status; none crosses a module boundary.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace apiary {

enum class StatusCode : unsigned char {
  ok = 0,
  invalid_argument,  // the caller passed something that can never work (bad flag, bad key)
  malformed,         // bytes from the outside could not be decoded
  too_large,         // a size limit was hit (message, value, buffer)
  unsupported,       // a newer protocol version or an unknown message type
  wrong_cluster,     // a message for another cluster name
  not_found,
  already_exists,
  out_of_memory,  // maxmemory reached under the noeviction policy
  timeout,        // a quorum or peer did not answer in time
  unavailable,    // not enough live replicas, node shutting down, peer unreachable
  io_error,       // a socket or file operation failed
  internal,
  wrong_type,  // the key holds a value of another type (a hash where a string was expected)
  moved,       // the key's coordinator changed while a command waited: route it again
};

std::string_view to_string(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }

  bool ok() const { return code_ == StatusCode::ok; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "malformed: truncated envelope" -- for logs and error replies.
  std::string to_string() const;

  friend bool operator==(const Status& a, const Status& b) { return a.code_ == b.code_; }

 private:
  StatusCode code_ = StatusCode::ok;
  std::string message_;
};

inline Status make_error(StatusCode code, std::string message) {
  return Status(code, std::move(message));
}

// A value or an error. Access to the value of an error Result is a programming error.
template <typename T>
class [[nodiscard]] Result {
  static_assert(!std::is_same_v<std::remove_cvref_t<T>, Status>, "Result<Status> is ambiguous");

 public:
  Result(T value) : data_(std::in_place_index<0>, std::move(value)) {}        // NOLINT implicit
  Result(Status status) : data_(std::in_place_index<1>, std::move(status)) {  // NOLINT implicit
    assert(!std::get<1>(data_).ok() && "a Result built from a Status must be an error");
  }

  bool ok() const { return data_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(data_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(data_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(data_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // The error; Status::Ok() when this holds a value.
  Status status() const { return ok() ? Status::Ok() : std::get<1>(data_); }

 private:
  std::variant<T, Status> data_;
};

}  // namespace apiary
