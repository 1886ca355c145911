// The simulated clients' side of the Redis protocol: commands encoded as RESP arrays of bulk
// strings, and a small parser for the RESP2 replies a node writes back (+simple, -error,
// :integer, $bulk / $-1 nil, *array / *-1 nil).
//
// The simulator needs it because its clients talk to the real resp::Connection of each node,
// exactly as a TCP client would; it is not a general client library (no RESP3, no inline
// commands, no streaming of large values). Parsing is bounded: nesting depth, element counts
// and bulk lengths have limits, and anything over them, or not RESP2, is `malformed`, never
// an exception. Pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace apiary::sim {

// "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n" for {"SET", "k", "v"}.
std::string encode_command(std::span<const std::string_view> argv);
std::string encode_command(std::initializer_list<std::string_view> argv);

struct RespReply {
  enum class Kind : unsigned char { simple, error, integer, bulk, nil, array };
  Kind kind = Kind::nil;
  std::string text;                 // simple, error (without the '-'), bulk
  std::int64_t integer = 0;         // integer
  std::vector<RespReply> elements;  // array

  bool is_error() const { return kind == Kind::error; }
  bool is_ok() const { return kind == Kind::simple && text == "OK"; }
  // "+OK", "-ERR x", ":3", "\"v\"", "(nil)", "[a, b]": for reports and test messages.
  std::string describe() const;
};

struct RespLimits {
  std::size_t max_depth = 8;
  std::size_t max_elements = 4096;
  std::size_t max_bulk_bytes = 1 << 20;
  std::size_t max_line_bytes = 64 << 10;  // a simple string, error or length line
};

struct ParsedReply {
  enum class Status : unsigned char { complete, incomplete, malformed };
  Status status = Status::incomplete;
  std::size_t used = 0;  // bytes of the reply (complete only)
  RespReply reply;
};

// Parses the reply at the front of `bytes`.
ParsedReply parse_reply(std::string_view bytes, const RespLimits& limits = {});

}  // namespace apiary::sim
