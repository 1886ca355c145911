#include "resp_client.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "apiary/base/host_port.hpp"

namespace apiary::cli {

namespace {

// Bounds on what a server may announce, so a broken peer cannot make the CLI allocate
// without limit: a node's bulk strings are at most proto-max-bulk-len (512 MiB by default).
constexpr std::int64_t kMaxBulk = std::int64_t{1} << 30;
constexpr std::int64_t kMaxElements = std::int64_t{1} << 24;
constexpr int kMaxDepth = 8;

Status io_error(const std::string& what) {
  return make_error(StatusCode::io_error, what + ": " + std::strerror(errno));
}

Status protocol_error(const std::string& what) {
  return make_error(StatusCode::malformed, "not a RESP reply: " + what);
}

}  // namespace

namespace {
template <typename Args>
void append_args(std::string& out, const Args& args) {
  out += '*';
  out += std::to_string(args.size());
  out += "\r\n";
  for (const std::string_view a : args) {
    out += '$';
    out += std::to_string(a.size());
    out += "\r\n";
    out += a;
    out += "\r\n";
  }
}
}  // namespace

void append_command(std::string& out, std::initializer_list<std::string_view> args) {
  append_args(out, args);
}

void append_command(std::string& out, std::span<const std::string> args) {
  append_args(out, args);
}

RespClient::~RespClient() { close(); }

void RespClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buffer_.clear();
  read_at_ = 0;
}

Status RespClient::connect(const std::string& addr, std::chrono::seconds timeout) {
  close();
  auto hp = parse_host_port(addr);
  if (!hp.ok()) return hp.status();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(hp->host.c_str(), std::to_string(hp->port).c_str(), &hints, &found);
  if (rc != 0) {
    return make_error(StatusCode::unavailable, "cannot resolve " + addr + ": " + gai_strerror(rc));
  }
  Status last = make_error(StatusCode::unavailable, "no address for " + addr);
  const timeval tv{static_cast<time_t>(timeout.count()), 0};
  for (addrinfo* a = found; a != nullptr && fd_ < 0; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) continue;
    // SO_SNDTIMEO also bounds a blocking connect on Linux.
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      fd_ = fd;
    } else {
      last = io_error("cannot connect to " + addr);
      ::close(fd);
    }
  }
  ::freeaddrinfo(found);
  return fd_ >= 0 ? Status::Ok() : last;
}

Status RespClient::send(std::string_view bytes) {
  if (fd_ < 0) return make_error(StatusCode::unavailable, "not connected");
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return io_error("send");
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return Status::Ok();
}

Status RespClient::fill() {
  if (fd_ < 0) return make_error(StatusCode::unavailable, "not connected");
  if (read_at_ > 0 && read_at_ == buffer_.size()) {
    buffer_.clear();
    read_at_ = 0;
  } else if (read_at_ > (1u << 20)) {
    buffer_.erase(0, read_at_);
    read_at_ = 0;
  }
  char chunk[64 * 1024];
  while (true) {
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return make_error(StatusCode::io_error, "the server closed the connection");
    if (n < 0) {
      return errno == EAGAIN || errno == EWOULDBLOCK
                 ? make_error(StatusCode::timeout, "no reply in time")
                 : io_error("recv");
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return Status::Ok();
  }
}

Result<std::string> RespClient::line() {
  while (true) {
    const auto eol = buffer_.find("\r\n", read_at_);
    if (eol != std::string::npos) {
      std::string out = buffer_.substr(read_at_, eol - read_at_);
      read_at_ = eol + 2;
      return out;
    }
    if (buffer_.size() - read_at_ > 64 * 1024) return protocol_error("a line over 64 KiB");
    if (Status s = fill(); !s.ok()) return s;
  }
}

Result<RespReply> RespClient::reply(int depth) {
  auto head = line();
  if (!head.ok()) return head.status();
  const std::string& h = *head;
  if (h.empty()) return protocol_error("an empty line");
  RespReply out;
  const std::string_view rest = std::string_view(h).substr(1);
  std::int64_t n = 0;
  const bool numeric = h[0] == ':' || h[0] == '$' || h[0] == '*';
  if (numeric) {
    const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), n);
    if (ec != std::errc() || end != rest.data() + rest.size()) {
      return protocol_error("bad number in '" + h.substr(0, 32) + "'");
    }
  }
  switch (h[0]) {
    case '+':
      out.type = RespReply::Type::simple;
      out.text = rest;
      return out;
    case '-':
      out.type = RespReply::Type::error;
      out.text = rest;
      return out;
    case ':':
      out.type = RespReply::Type::integer;
      out.integer = n;
      return out;
    case '$': {
      if (n < 0) return out;  // nil
      if (n > kMaxBulk) return protocol_error("a bulk string of " + std::to_string(n) + " bytes");
      const auto len = static_cast<std::size_t>(n);
      while (buffer_.size() - read_at_ < len + 2) {
        if (Status s = fill(); !s.ok()) return s;
      }
      if (buffer_.compare(read_at_ + len, 2, "\r\n") != 0) {
        return protocol_error("a bulk string without its CRLF");
      }
      out.type = RespReply::Type::bulk;
      out.text = buffer_.substr(read_at_, len);
      read_at_ += len + 2;
      return out;
    }
    case '*': {
      if (n < 0) return out;  // nil array
      if (n > kMaxElements || depth >= kMaxDepth) return protocol_error("an array too large");
      out.type = RespReply::Type::array;
      out.elements.reserve(static_cast<std::size_t>(n));
      for (std::int64_t i = 0; i < n; ++i) {
        auto element = reply(depth + 1);
        if (!element.ok()) return element.status();
        out.elements.push_back(std::move(*element));
      }
      return out;
    }
    default:
      return protocol_error("unexpected '" + h.substr(0, 32) + "'");
  }
}

Result<RespReply> RespClient::read_reply() { return reply(0); }

Result<RespReply> RespClient::call(std::initializer_list<std::string_view> args) {
  std::string request;
  append_command(request, args);
  if (Status s = send(request); !s.ok()) return s;
  return read_reply();
}

}  // namespace apiary::cli
