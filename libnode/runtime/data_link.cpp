#include "apiary/runtime/data_link.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "apiary/base/host_port.hpp"
#include "apiary/runtime/tcp_listen.hpp"

namespace apiary::runtime {

namespace {

constexpr std::array<std::uint8_t, 8> kPreamble{'A', 'P', 'I', 'A', 'R', 'Y', 'D', '1'};
constexpr std::size_t kHeader = 4;
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kReadBudget = 1u << 20;  // per readiness event, so no peer starves others

void put_length(std::uint8_t* out, std::size_t n) {
  out[0] = static_cast<std::uint8_t>(n >> 24);
  out[1] = static_cast<std::uint8_t>(n >> 16);
  out[2] = static_cast<std::uint8_t>(n >> 8);
  out[3] = static_cast<std::uint8_t>(n);
}

std::size_t get_length(const std::uint8_t* in) {
  return (static_cast<std::size_t>(in[0]) << 24) | (static_cast<std::size_t>(in[1]) << 16) |
         (static_cast<std::size_t>(in[2]) << 8) | static_cast<std::size_t>(in[3]);
}

// "host:port" -> IPv4 socket address; names go through getaddrinfo (blocking).
bool resolve(const std::string& host_port, sockaddr_in& out) {
  auto parsed = parse_host_port(host_port);
  if (!parsed.ok() || parsed->port == 0) return false;
  out = sockaddr_in{};
  out.sin_family = AF_INET;
  out.sin_port = htons(parsed->port);
  if (::inet_pton(AF_INET, parsed->host.c_str(), &out.sin_addr) == 1) return true;
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(parsed->host.c_str(), nullptr, &hints, &found) != 0 || found == nullptr) {
    return false;
  }
  out.sin_addr = reinterpret_cast<const sockaddr_in*>(found->ai_addr)->sin_addr;
  ::freeaddrinfo(found);
  return true;
}

}  // namespace

struct DataLink::Peer {
  std::string addr;
  sockaddr_in sa{};
  int fd = -1;
  bool connected = false;
  bool want_write = false;
  std::vector<std::uint8_t> out;  // preamble and messages not yet written
  std::size_t out_off = 0;        // bytes of `out` already written
  std::size_t queued = 0;         // messages in `out`
  bool partial = false;           // the first message in `out` was partly written already
  bool preamble = false;          // `out` starts with the preamble of the current connection
  std::chrono::milliseconds backoff{0};
  EventLoop::TimerId retry = 0;
  TimePoint last_used{};
};

struct DataLink::Inbound {
  std::string host;  // the peer's IP address
  std::vector<std::uint8_t> buf;
  std::size_t used = 0;
  bool greeted = false;  // the preamble arrived
};

DataLink::DataLink(EventLoop& loop, DataLinkOptions options) : loop_(loop), options_(options) {}

Result<std::unique_ptr<DataLink>> DataLink::bind(EventLoop& loop, const std::string& bind_addr,
                                                 DataLinkOptions options) {
  auto listening = listen_tcp(bind_addr, "data address");
  if (!listening.ok()) return listening.status();
  std::unique_ptr<DataLink> self(new DataLink(loop, options));
  self->listen_fd_ = listening->fd;
  self->bound_addr_ = (listening->host == "*" ? std::string("0.0.0.0") : listening->host) + ":" +
                      std::to_string(listening->port);
  DataLink* raw = self.get();
  auto watched = loop.watch(self->listen_fd_, EventLoop::kReadable,
                            [raw](std::uint32_t) { raw->on_accept(); });
  if (!watched.ok()) return watched;
  return self;
}

DataLink::~DataLink() {
  for (auto& [addr, peer] : peers_) {
    if (peer->retry != 0) loop_.cancel(peer->retry);
    if (peer->fd >= 0) {
      loop_.unwatch(peer->fd);
      ::close(peer->fd);
    }
  }
  for (auto& [fd, in] : inbound_) {
    loop_.unwatch(fd);
    ::close(fd);
  }
  if (listen_fd_ >= 0) {
    loop_.unwatch(listen_fd_);
    ::close(listen_fd_);
  }
}

// ---- Sending -------------------------------------------------------------------------------

DataLink::Peer* DataLink::peer_for(const std::string& to, TimePoint now) {
  auto it = peers_.find(to);
  if (it == peers_.end()) {
    if (peers_.size() >= options_.max_peers) return nullptr;
    auto peer = std::make_unique<Peer>();
    if (!resolve(to, peer->sa)) return nullptr;
    peer->addr = to;
    peer->backoff = options_.reconnect_min;
    it = peers_.emplace(to, std::move(peer)).first;
  }
  it->second->last_used = now;
  return it->second.get();
}

bool DataLink::send(const std::string& to, std::span<const std::uint8_t> bytes, TimePoint now) {
  if (bytes.size() > options_.max_message_bytes) {
    ++stats_.dropped_too_large;
    return false;
  }
  Peer* peer = peer_for(to, now);
  if (peer == nullptr) {
    ++stats_.dropped_bad_address;
    return false;
  }
  if (peer->out.size() - peer->out_off + kHeader + bytes.size() > options_.send_buffer_bytes) {
    ++stats_.dropped_queue_full;
    return false;
  }
  std::uint8_t header[kHeader];
  put_length(header, bytes.size());
  ++stats_.sent;
  stats_.sent_bytes += bytes.size();
  if (peer->connected && peer->out_off == peer->out.size()) {
    // Nothing waiting: straight to the socket, without copying into the buffer.
    iovec iov[2] = {{header, kHeader}, {const_cast<std::uint8_t*>(bytes.data()), bytes.size()}};
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = 2;
    const ssize_t n = ::sendmsg(peer->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    const std::size_t written = n > 0 ? static_cast<std::size_t>(n) : 0;
    if (written == kHeader + bytes.size()) return true;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      // Nothing of it was written: it waits for the next connection.
      peer->out.insert(peer->out.end(), header, header + kHeader);
      peer->out.insert(peer->out.end(), bytes.begin(), bytes.end());
      ++peer->queued;
      drop_connection(*peer, false);
      return true;
    }
    // The rest waits for the socket; part of the message is on the wire already.
    peer->out.clear();
    peer->out_off = 0;
    if (written < kHeader) peer->out.insert(peer->out.end(), header + written, header + kHeader);
    const std::size_t body_done = written > kHeader ? written - kHeader : 0;
    peer->out.insert(peer->out.end(), bytes.begin() + static_cast<std::ptrdiff_t>(body_done),
                     bytes.end());
    peer->queued = 1;
    peer->partial = written > 0;
    flush(*peer);
    return true;
  }
  peer->out.insert(peer->out.end(), header, header + kHeader);
  peer->out.insert(peer->out.end(), bytes.begin(), bytes.end());
  ++peer->queued;
  if (peer->fd < 0 && peer->retry == 0) {
    connect(*peer);
  } else if (peer->connected) {
    flush(*peer);
  }
  return true;
}

void DataLink::connect(Peer& peer) {
  peer.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (peer.fd < 0) {
    drop_connection(peer, true);
    return;
  }
  const int one = 1;
  ::setsockopt(peer.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // The preamble goes before whatever waits (nothing of the buffer was written: see
  // drop_connection), unless an attempt that failed before writing anything put it there.
  if (!peer.preamble) {
    peer.out.insert(peer.out.begin(), kPreamble.begin(), kPreamble.end());
    peer.preamble = true;
  }
  const int rc = ::connect(peer.fd, reinterpret_cast<const sockaddr*>(&peer.sa), sizeof peer.sa);
  if (rc != 0 && errno != EINPROGRESS) {
    drop_connection(peer, true);
    return;
  }
  peer.want_write = true;
  Peer* p = &peer;
  auto watched = loop_.watch(peer.fd, EventLoop::kReadable | EventLoop::kWritable,
                             [this, p](std::uint32_t ready) { on_peer_event(*p, ready); });
  if (!watched.ok()) drop_connection(peer, true);
}

void DataLink::on_peer_event(Peer& peer, std::uint32_t ready) {
  if (!peer.connected) {
    if ((ready & (EventLoop::kWritable | EventLoop::kReadable)) == 0) return;
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(peer.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      drop_connection(peer, true);
      return;
    }
    peer.connected = true;
    peer.backoff = options_.reconnect_min;
    ++stats_.connects;
    ++stats_.peers;
  }
  if (ready & EventLoop::kReadable) {
    // A peer never sends on this connection: readable means it closed (or misbehaves).
    std::uint8_t sink[256];
    const ssize_t n = ::recv(peer.fd, sink, sizeof sink, MSG_DONTWAIT);
    if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      drop_connection(peer, false);
      return;
    }
  }
  if (ready & EventLoop::kWritable) flush(peer);
}

void DataLink::flush(Peer& peer) {
  while (peer.out_off < peer.out.size()) {
    const ssize_t n = ::send(peer.fd, peer.out.data() + peer.out_off,
                             peer.out.size() - peer.out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      peer.out_off += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      if (!peer.want_write) {
        peer.want_write = true;
        (void)loop_.modify(peer.fd, EventLoop::kReadable | EventLoop::kWritable);
      }
      return;
    }
    drop_connection(peer, false);
    return;
  }
  peer.out.clear();
  peer.out_off = 0;
  peer.queued = 0;
  peer.partial = false;
  peer.preamble = false;
  if (peer.want_write) {
    peer.want_write = false;
    (void)loop_.modify(peer.fd, EventLoop::kReadable);
  }
}

void DataLink::drop_connection(Peer& peer, bool failed) {
  if (peer.fd >= 0) {
    loop_.unwatch(peer.fd);
    ::close(peer.fd);
    peer.fd = -1;
  }
  if (peer.connected) --stats_.peers;
  peer.connected = false;
  peer.want_write = false;
  if (failed) ++stats_.connect_failures;
  if (peer.out_off > 0 || peer.partial) {
    // Some of the buffer was written: the message it ended in is cut (the receiver drops a
    // connection's partial message with it), and what follows cannot be told apart from what
    // the peer already has. Drop it all; the next connection starts clean.
    stats_.dropped_disconnected += peer.queued;
    peer.out.clear();
    peer.out_off = 0;
    peer.queued = 0;
    peer.partial = false;
    peer.preamble = false;
  }
  if (peer.out.empty() || peer.retry != 0) return;
  const auto delay = peer.backoff;
  peer.backoff = std::min(peer.backoff * 2, options_.reconnect_max);
  const std::string addr = peer.addr;
  peer.retry = loop_.schedule(core_now() + delay, [this, addr] {
    auto it = peers_.find(addr);
    if (it == peers_.end()) return;
    it->second->retry = 0;
    if (it->second->fd < 0 && !it->second->out.empty()) connect(*it->second);
  });
}

void DataLink::close_idle_peers(TimePoint now) {
  for (auto it = peers_.begin(); it != peers_.end();) {
    Peer& peer = *it->second;
    if (now - peer.last_used < options_.idle_peer_timeout || peer.out_off < peer.out.size()) {
      ++it;
      continue;
    }
    if (peer.retry != 0) loop_.cancel(peer.retry);
    if (peer.fd >= 0) {
      loop_.unwatch(peer.fd);
      ::close(peer.fd);
    }
    if (peer.connected) --stats_.peers;
    it = peers_.erase(it);
  }
}

// ---- Receiving -----------------------------------------------------------------------------

void DataLink::on_accept() {
  for (;;) {
    sockaddr_in from{};
    socklen_t from_len = sizeof from;
    const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&from), &from_len,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or a transient error: the listener stays readable if not
    if (inbound_.size() >= options_.max_inbound) {
      ++stats_.inbound_refused;
      ::close(fd);
      continue;
    }
    auto watched =
        loop_.watch(fd, EventLoop::kReadable, [this, fd](std::uint32_t) { on_inbound(fd); });
    if (!watched.ok()) {
      ::close(fd);
      continue;
    }
    auto in = std::make_unique<Inbound>();
    char host[INET_ADDRSTRLEN] = {0};
    if (from.sin_family == AF_INET && ::inet_ntop(AF_INET, &from.sin_addr, host, sizeof host)) {
      in->host = host;
    }
    inbound_.emplace(fd, std::move(in));
  }
}

void DataLink::on_inbound(int fd) {
  auto it = inbound_.find(fd);
  if (it == inbound_.end()) return;
  Inbound& in = *it->second;
  std::size_t budget = kReadBudget;
  while (budget > 0) {
    if (in.buf.size() - in.used < kReadChunk) {
      in.buf.resize(std::max(in.used + kReadChunk, in.buf.size() * 2));
    }
    const ssize_t n = ::recv(fd, in.buf.data() + in.used, in.buf.size() - in.used, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      close_inbound(fd, false);
      return;
    }
    if (n < 0) break;
    in.used += static_cast<std::size_t>(n);
    budget -= std::min(budget, static_cast<std::size_t>(n));
    std::size_t pos = 0;
    if (!in.greeted) {
      if (in.used < kPreamble.size()) continue;
      if (!std::equal(kPreamble.begin(), kPreamble.end(), in.buf.begin())) {
        close_inbound(fd, true);
        return;
      }
      in.greeted = true;
      pos = kPreamble.size();
    }
    while (in.used - pos >= kHeader) {
      const std::size_t len = get_length(in.buf.data() + pos);
      if (len > options_.max_message_bytes) {
        close_inbound(fd, true);
        return;
      }
      if (in.used - pos - kHeader < len) break;
      const auto* body = in.buf.data() + pos + kHeader;
      received_.emplace_back(body, body + len);
      received_on_.push_back(fd);
      ++stats_.received;
      stats_.received_bytes += len;
      pos += kHeader + len;
    }
    if (pos > 0) {
      std::memmove(in.buf.data(), in.buf.data() + pos, in.used - pos);
      in.used -= pos;
    }
  }
  if (in.used == 0 && in.buf.size() > 4 * kReadChunk) {
    in.buf.clear();
    in.buf.shrink_to_fit();
  }
}

void DataLink::close_inbound(int fd, bool refused) {
  if (refused) ++stats_.inbound_refused;
  loop_.unwatch(fd);
  ::close(fd);
  inbound_.erase(fd);
}

bool DataLink::receive(std::vector<std::uint8_t>& out) {
  if (received_.empty()) return false;
  out = std::move(received_.front());
  received_.pop_front();
  last_received_on_ = received_on_.front();
  received_on_.pop_front();
  return true;
}

std::string DataLink::last_sender() const {
  auto it = inbound_.find(last_received_on_);
  return it == inbound_.end() ? std::string() : it->second->host;
}

}  // namespace apiary::runtime
