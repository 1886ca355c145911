// RespClient: a blocking RESP2 client over one TCP connection, for the apiary CLI's commands
// that talk to a node's Redis port (import, backup, restore). Commands are appended to a buffer and
// sent together (pipelining); replies are read one at a time, in order. Every socket call has
// a timeout. Not thread-safe; one connection per object.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/base/status.hpp"

namespace apiary::cli {

struct RespReply {
  enum class Type : unsigned char { simple, error, integer, bulk, nil, array };
  Type type = Type::nil;
  std::string text;  // simple, error (without the '-'), bulk
  std::int64_t integer = 0;
  std::vector<RespReply> elements;
  bool is_error() const { return type == Type::error; }
};

// Appends one command, as a RESP array of bulk strings, to `out`.
void append_command(std::string& out, std::initializer_list<std::string_view> args);
void append_command(std::string& out, std::span<const std::string> args);

class RespClient {
 public:
  RespClient() = default;
  ~RespClient();
  RespClient(const RespClient&) = delete;
  RespClient& operator=(const RespClient&) = delete;

  // Connects to "host:port"; `timeout` bounds the connect and every later send and receive.
  Status connect(const std::string& addr, std::chrono::seconds timeout);
  bool connected() const { return fd_ >= 0; }
  void close();

  Status send(std::string_view bytes);
  // The next reply. An error reply is a reply (type error), not a failed Status; a Status
  // means the connection failed or the server sent something that is not RESP.
  Result<RespReply> read_reply();
  // send() then read_reply(): one command, one reply.
  Result<RespReply> call(std::initializer_list<std::string_view> args);

 private:
  Status fill();  // reads more bytes into buffer_
  Result<std::string> line();
  Result<RespReply> reply(int depth);

  int fd_ = -1;
  std::string buffer_;
  std::size_t read_at_ = 0;  // first unconsumed byte of buffer_
};

}  // namespace apiary::cli
