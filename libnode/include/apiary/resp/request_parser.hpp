// Incremental parser for client requests: RESP2 multibulk ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
// and inline commands ("GET k\r\n"), byte-compatible with redis-server 7.0 including its
// limits and the exact text of its protocol errors.
//
// The parser never copies request bytes it does not have to: argv entries are views into the
// caller's buffer (inline arguments with quotes or escapes are unescaped into a scratch
// buffer the parser owns). The views stay valid until the next parse()/reset() call or until
// the caller changes the bytes they point into, whichever is first.
//
// Resumable: when parse() answers `incomplete`, call it again later with the same buffer
// extended by more bytes (the buffer may have moved; its content from the command's first
// byte must be unchanged). Progress is remembered as offsets, so a command split into many
// reads is scanned once, not once per read.
//
// Hostile input never crashes it or makes it reserve memory the peer has not sent.
// Not thread-safe: one per connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace apiary::resp {

struct ParserLimits {
  // Largest bulk string a client may send (Redis `proto-max-bulk-len`, default 512 MB).
  std::int64_t max_bulk_len = 512LL * 1024 * 1024;
  // Longest inline command line, and longest "*N"/"$N" header line (Redis
  // PROTO_INLINE_MAX_SIZE, not configurable there either).
  std::size_t max_inline_len = 64 * 1024;
};

enum class ParseStatus {
  complete,    // one command parsed: argv() (possibly empty: skip it), consumed()
  incomplete,  // need more bytes
  error,       // protocol error: reply error(), then close the connection
};

class RequestParser {
 public:
  explicit RequestParser(ParserLimits limits = {}) : limits_(limits) {}

  void set_limits(ParserLimits limits) { limits_ = limits; }
  const ParserLimits& limits() const { return limits_; }

  // Parses the command that starts at buf[0]. After `complete`, argv() and consumed() describe
  // it; call reset() before parsing the next command (at buf[consumed()]).
  ParseStatus parse(std::string_view buf);

  std::span<const std::string_view> argv() const { return argv_; }
  // Bytes of the buffer that the complete command occupied.
  std::size_t consumed() const { return pos_; }
  // Error text for the reply, without the "-ERR " prefix, e.g.
  // "Protocol error: invalid bulk length".
  const std::string& error() const { return error_; }
  // True between the first byte of a command and its completion: the caller uses it to tell
  // "idle" from "in the middle of a request".
  bool in_progress() const { return kind_ != Kind::unknown; }
  // Bytes a bulk argument still needs, so a caller can grow its buffer once (0 if unknown).
  std::size_t bytes_wanted() const;

  void reset();

 private:
  enum class Kind : unsigned char { unknown, inline_cmd, multibulk };
  struct Span {
    std::size_t offset;
    std::size_t length;
  };

  ParseStatus parse_inline(std::string_view buf);
  ParseStatus parse_multibulk(std::string_view buf);
  ParseStatus fail(std::string message);
  void materialize(std::string_view buf);

  ParserLimits limits_;
  Kind kind_ = Kind::unknown;
  std::size_t pos_ = 0;         // next byte to look at, relative to the command start
  std::int64_t remaining_ = 0;  // multibulk: arguments still to read
  std::int64_t bulk_len_ = -1;  // multibulk: length of the bulk being read, -1 = header next
  std::vector<Span> spans_;     // multibulk arguments as offsets (the buffer may move)
  std::vector<std::string_view> argv_;
  std::string scratch_;  // unescaped inline arguments
  std::string error_;
};

// Splits an inline command line the way Redis's sdssplitargs does: whitespace-separated
// tokens, "double quotes" with \n \r \t \b \a \\ \" and \xHH escapes, 'single quotes' with \'.
// Unescaped tokens are appended to `scratch` (which must have capacity for line.size() more
// bytes so earlier views stay valid); plain tokens are views into `line`.
// Returns false on unbalanced quotes.
bool split_inline_args(std::string_view line, std::string& scratch,
                       std::vector<std::string_view>& out);

// Redis's string2ll: strict decimal, optional '-', no leading zeros, no spaces, no overflow.
bool parse_int64(std::string_view s, std::int64_t& out);

}  // namespace apiary::resp
