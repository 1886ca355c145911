// ReplyWriter: serializes replies in RESP2 or RESP3 into a connection's output buffer.
//
// Callers write the logical type (map, set, null, double, boolean, ...) and the writer picks
// the encoding of the client's protocol version, falling back the way redis-server does for
// RESP2 clients (maps become flat arrays, doubles bulk strings, booleans integers, nulls
// "$-1"/"*-1"). Appending to a std::string that is reused between commands keeps the hot
// path free of allocations once the buffer has grown to its working size.
// Not thread-safe: one per connection.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace apiary::resp {

class ReplyWriter {
 public:
  ReplyWriter(std::string& out, int protocol) : out_(&out), protocol_(protocol) {}

  int protocol() const { return protocol_; }
  void set_protocol(int protocol) { protocol_ = protocol; }
  std::string& buffer() { return *out_; }

  void simple(std::string_view s);  // +OK
  void ok() { out_->append("+OK\r\n", 5); }
  // Like Redis's addReplyError: "syntax error" is sent as "-ERR syntax error"; a message that
  // carries its own code starts with '-' ("-WRONGTYPE Operation ..."). CR and LF become
  // spaces so a reply can never break the protocol.
  void error(std::string_view message);
  void integer(std::int64_t v);
  void bulk(std::string_view s);
  void null();        // missing value: RESP2 "$-1", RESP3 "_"
  void null_array();  // missing aggregate: RESP2 "*-1", RESP3 "_"
  void array(std::size_t n);
  void map(std::size_t pairs);                                    // RESP2: array of 2n
  void set(std::size_t n);                                        // RESP2: array
  void push(std::size_t n);                                       // RESP2: array
  void double_value(double d);                                    // RESP2: bulk string
  void boolean(bool b);                                           // RESP2: integer 1/0
  void big_number(std::string_view digits);                       // RESP2: bulk string
  void verbatim(std::string_view format, std::string_view text);  // RESP2: bulk string
  // Pre-encoded RESP, e.g. a reply relayed from another node.
  void raw(std::string_view bytes) { out_->append(bytes); }

 private:
  void header(char type, std::int64_t n);

  std::string* out_;
  int protocol_;
};

// Redis's `%.17g` rendering of a double as used in replies ("inf", "-inf", "nan" spelled
// like Redis), into buf; returns the length.
std::size_t format_double(double d, char* buf, std::size_t size);

}  // namespace apiary::resp
