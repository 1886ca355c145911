#include "apiary/runtime/resp_listener.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "apiary/base/host_port.hpp"
#include "apiary/resp/connection.hpp"
#include "apiary/resp/server.hpp"
#include "apiary/runtime/tcp_listen.hpp"

namespace apiary::runtime {

namespace {
constexpr std::size_t kReadChunk = 64 * 1024;

std::string sockaddr_text(const sockaddr_in& sin) {
  char buf[INET_ADDRSTRLEN] = "?";
  ::inet_ntop(AF_INET, &sin.sin_addr, buf, sizeof buf);
  return std::string(buf) + ":" + std::to_string(ntohs(sin.sin_port));
}
}  // namespace

struct RespListener::Client {
  int fd = -1;
  std::unique_ptr<resp::Connection> conn;
  bool want_write = false;
  // TLS clients only.
  SSL* ssl = nullptr;
  bool handshaking = false;
  bool write_wants_read = false;  // SSL_write answered WANT_READ
  bool read_wants_write = false;  // SSL_read answered WANT_WRITE
  std::uint32_t interest = EventLoop::kReadable;
};

Result<std::unique_ptr<RespListener>> RespListener::start(EventLoop& loop, resp::Server& server,
                                                          const std::string& bind_addr) {
  std::unique_ptr<RespListener> self(new RespListener(loop, server));
  self->read_buffer_.resize(kReadChunk);
  if (bind_addr.empty()) return self;
  auto listening = listen_tcp(bind_addr, "client address");
  if (!listening.ok()) return listening.status();
  self->listen_fd_ = listening->fd;
  self->bound_addr_ = listening->host + ":" + std::to_string(listening->port);
  RespListener* raw = self.get();
  auto status = loop.watch(self->listen_fd_, EventLoop::kReadable,
                           [raw](std::uint32_t) { raw->on_accept(raw->listen_fd_, false); });
  if (!status.ok()) return status;
  return self;
}

Status RespListener::listen_tls(const std::string& addr,
                                std::shared_ptr<const TlsContext> context) {
  int fd = -1;
  std::string bound;
  if (!addr.empty()) {
    auto listening = listen_tcp(addr, "TLS client address");
    if (!listening.ok()) return listening.status();
    fd = listening->fd;
    bound = listening->host + ":" + std::to_string(listening->port);
    auto status = loop_.watch(fd, EventLoop::kReadable,
                              [this](std::uint32_t) { on_accept(tls_listen_fd_, true); });
    if (!status.ok()) {
      ::close(fd);
      return status;
    }
  }
  if (tls_listen_fd_ >= 0) {
    loop_.unwatch(tls_listen_fd_);
    ::close(tls_listen_fd_);
  }
  tls_listen_fd_ = fd;
  tls_bound_addr_ = bound;
  if (context) tls_ = std::move(context);
  return Status::Ok();
}

RespListener::RespListener(EventLoop& loop, resp::Server& server) : loop_(loop), server_(server) {}

RespListener::~RespListener() { shutdown(); }

void RespListener::shutdown() {
  while (!clients_.empty()) close_client(clients_.begin()->first);
  if (listen_fd_ >= 0) {
    loop_.unwatch(listen_fd_);
    ::close(listen_fd_);
    listen_fd_ = -1;
  }
  if (tls_listen_fd_ >= 0) {
    loop_.unwatch(tls_listen_fd_);
    ::close(tls_listen_fd_);
    tls_listen_fd_ = -1;
  }
  if (timer_ != 0) loop_.cancel(timer_);
  timer_ = 0;
}

void RespListener::on_accept(int listen_fd, bool tls) {
  if (listen_fd < 0 || (tls && !tls_)) return;
  for (;;) {
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    const int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&peer), &len,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or a transient error (EMFILE...): try at the next event
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in local{};
    socklen_t local_len = sizeof local;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len);

    auto client = std::make_unique<Client>();
    client->fd = fd;
    if (tls) {
      client->ssl = tls_->accept(fd);
      if (client->ssl == nullptr) {
        spdlog::warn("TLS: cannot set up a client connection: {}", take_ssl_errors("no memory"));
        ::close(fd);
        continue;
      }
      client->handshaking = true;
    }
    // Redis's connIsLocal: 127.0.0.0/8 (the listener is IPv4 only).
    const bool loopback = (ntohl(peer.sin_addr.s_addr) >> 24) == 127;
    client->conn =
        server_.connect(core_now(), {sockaddr_text(peer), sockaddr_text(local), fd, loopback});
    fd_by_id_[client->conn->id()] = fd;
    Client* raw = client.get();
    clients_.emplace(fd, std::move(client));
    if (!loop_
             .watch(fd, EventLoop::kReadable,
                    [this, fd](std::uint32_t ready) { on_client_event(fd, ready); })
             .ok()) {
      close_client(fd);
      continue;
    }
    // A rejected client (maxclients) gets its error right away (a TLS one after its
    // handshake, which the client starts).
    if (!tls) flush(*raw);
  }
}

void RespListener::on_client_event(int fd, std::uint32_t ready) {
  auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  Client& c = *it->second;
  if (c.ssl != nullptr) {
    on_tls_event(c);
    return;
  }
  if ((ready & EventLoop::kWritable) != 0) {
    flush(c);
    if (clients_.find(fd) == clients_.end()) return;
  }
  if ((ready & EventLoop::kReadable) != 0 && !c.want_write) {
    const ssize_t n = ::read(fd, read_buffer_.data(), read_buffer_.size());
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      close_client(fd);
      return;
    }
    if (n > 0) {
      c.conn->feed(core_now(), wall_now(),
                   std::string_view(read_buffer_.data(), static_cast<std::size_t>(n)));
      // Sent after the batch (flush_completed), once the node has synced what these commands
      // wrote under appendfsync always, as Redis writes replies in beforeSleep.
      completed_.push_back(fd);
    }
  }
  after_server_changes();
}

void RespListener::flush(Client& c) {
  if (c.ssl != nullptr) {
    flush_tls(c);
    return;
  }
  const int fd = c.fd;
  while (!c.conn->output().empty()) {
    const auto out = c.conn->output();
    const ssize_t n = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
    if (n > 0) {
      c.conn->consume_output(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0 && errno == EINTR) continue;
    close_client(fd);
    return;
  }
  const bool pending_output = !c.conn->output().empty();
  if (!pending_output && c.conn->should_close()) {
    close_client(fd);
    return;
  }
  if (pending_output != c.want_write) {
    c.want_write = pending_output;
    // While output is stuck, stop reading: the client must drain its replies first.
    (void)loop_.modify(fd, pending_output ? EventLoop::kWritable : EventLoop::kReadable);
  }
}

void RespListener::serve_busy(std::uint64_t running) {
  // New clients too: they can send SCRIPT KILL.
  on_accept(listen_fd_, false);
  on_accept(tls_listen_fd_, true);
  for (auto& [fd, c] : clients_) {
    if (c->conn->id() == running || c->want_write || c->conn->waiting()) continue;
    if (c->ssl != nullptr) {
      serve_busy_tls(*c);
      continue;
    }
    const ssize_t n = ::recv(fd, read_buffer_.data(), read_buffer_.size(), MSG_DONTWAIT);
    if (n <= 0) continue;  // nothing, or closed: seen again once the script is over
    c->conn->feed(core_now(), wall_now(),
                  std::string_view(read_buffer_.data(), static_cast<std::size_t>(n)));
    while (!c->conn->output().empty()) {
      const auto out = c->conn->output();
      const ssize_t sent = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (sent <= 0) break;  // the rest leaves with the next flush
      c->conn->consume_output(static_cast<std::size_t>(sent));
    }
    completed_.push_back(fd);
  }
}

void RespListener::close_client(int fd) {
  auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  loop_.unwatch(fd);
  if (SSL* ssl = it->second->ssl) {
    // A clean close (close_notify) when the session is up; nothing waits for the peer's.
    if (!it->second->handshaking) (void)SSL_shutdown(ssl);
    SSL_free(ssl);
    ERR_clear_error();
  }
  fd_by_id_.erase(it->second->conn->id());
  clients_.erase(it);  // destroys the Connection, which unregisters from the Server
  ::close(fd);
}

void RespListener::complete(std::uint64_t client_id, std::uint64_t token, std::string_view reply) {
  auto id = fd_by_id_.find(client_id);
  if (id == fd_by_id_.end()) return;
  auto it = clients_.find(id->second);
  if (it == clients_.end()) return;
  it->second->conn->complete(resp::PendingToken{token}, reply, core_now(), wall_now());
  completed_.push_back(id->second);
}

void RespListener::flush_completed() {
  if (completed_.empty()) {
    if (server_.has_pushed()) after_server_changes();  // messages from other members
    return;
  }
  std::sort(completed_.begin(), completed_.end());
  completed_.erase(std::unique(completed_.begin(), completed_.end()), completed_.end());
  for (int fd : completed_) {
    auto it = clients_.find(fd);
    if (it != clients_.end()) flush(*it->second);
  }
  completed_.clear();
  after_server_changes();
}

void RespListener::after_server_changes() {
  for (resp::ClientId id : server_.take_pushed()) {  // pub/sub messages, invalidations
    auto fd = fd_by_id_.find(id);
    if (fd == fd_by_id_.end()) continue;
    auto it = clients_.find(fd->second);
    if (it != clients_.end() && !it->second->want_write) flush(*it->second);
  }
  for (resp::ClientId id : server_.take_closing()) {
    auto fd = fd_by_id_.find(id);
    if (fd == fd_by_id_.end()) continue;
    auto it = clients_.find(fd->second);
    if (it != clients_.end()) flush(*it->second);
  }
  arm_timer();
}

void RespListener::arm_timer() {
  const TimePoint deadline = server_.next_deadline();
  if (deadline == timer_at_) return;
  if (timer_ != 0) loop_.cancel(timer_);
  timer_ = 0;
  timer_at_ = deadline;
  if (deadline == kNever) return;
  timer_ = loop_.schedule(deadline, [this] {
    timer_ = 0;
    timer_at_ = kNever;
    for (resp::ClientId id : server_.on_timer(core_now(), wall_now())) {
      auto fd = fd_by_id_.find(id);
      if (fd == fd_by_id_.end()) continue;
      auto it = clients_.find(fd->second);
      if (it != clients_.end()) flush(*it->second);
    }
    after_server_changes();
  });
}

// ---- TLS clients ---------------------------------------------------------------------------

void RespListener::set_interest(Client& c, std::uint32_t interest) {
  if (c.interest == interest) return;
  c.interest = interest;
  (void)loop_.modify(c.fd, interest);
}

void RespListener::on_tls_event(Client& c) {
  const int fd = c.fd;
  // OpenSSL tells what it waits for; retrying an operation that is not ready is harmless, so
  // the readiness bits are not needed here.
  if (c.handshaking && !continue_handshake(c)) return;
  if (c.want_write) {
    flush_tls(c);
    if (clients_.find(fd) == clients_.end()) return;
  }
  if (!c.want_write) read_tls(c);
  after_server_changes();
}

bool RespListener::continue_handshake(Client& c) {
  ERR_clear_error();
  const int r = SSL_do_handshake(c.ssl);
  if (r == 1) {
    c.handshaking = false;
    set_interest(c, EventLoop::kReadable);
    // A reply waiting since the accept (maxclients) leaves now.
    if (!c.conn->output().empty() || c.conn->should_close()) completed_.push_back(c.fd);
    return true;
  }
  const int err = SSL_get_error(c.ssl, r);
  if (err == SSL_ERROR_WANT_READ) {
    set_interest(c, EventLoop::kReadable);
    return false;
  }
  if (err == SSL_ERROR_WANT_WRITE) {
    set_interest(c, EventLoop::kWritable);
    return false;
  }
  // A plaintext client, a client without a valid certificate, or one that hung up: as Redis,
  // the reason is logged and the connection closed (a bare hang-up is not worth a line).
  const std::string why = take_ssl_errors("");
  if (!why.empty()) {
    spdlog::warn("Error accepting a client connection: {} (conn: fd={}, {})", why, c.fd,
                 c.conn->address().peer);
  }
  close_client(c.fd);
  return false;
}

void RespListener::read_tls(Client& c) {
  const int fd = c.fd;
  std::size_t total = 0;
  bool fed = false;
  for (;;) {
    ERR_clear_error();
    const int n = SSL_read(c.ssl, read_buffer_.data(), static_cast<int>(read_buffer_.size()));
    if (n > 0) {
      c.read_wants_write = false;
      c.conn->feed(core_now(), wall_now(),
                   std::string_view(read_buffer_.data(), static_cast<std::size_t>(n)));
      fed = true;
      total += static_cast<std::size_t>(n);
      // Like the plaintext path, one read of the socket per event (OpenSSL reads ahead):
      // what OpenSSL already holds is used up here, what is still in the socket wakes the
      // loop again. Past the chunk, what OpenSSL holds gets another turn of the loop.
      if (!SSL_has_pending(c.ssl)) break;
      if (total < kReadChunk) continue;
      loop_.post([this, fd] { on_client_event(fd, EventLoop::kReadable); });
      break;
    }
    const int err = SSL_get_error(c.ssl, n);
    if (err == SSL_ERROR_WANT_READ) {
      c.read_wants_write = false;
      break;
    }
    if (err == SSL_ERROR_WANT_WRITE) {
      c.read_wants_write = true;
      break;
    }
    close_client(fd);  // close_notify, a reset, or a protocol error
    return;
  }
  set_interest(c, c.read_wants_write ? EventLoop::kWritable : EventLoop::kReadable);
  if (fed) completed_.push_back(fd);
}

void RespListener::flush_tls(Client& c) {
  const int fd = c.fd;
  if (c.handshaking) return;  // the output leaves once the session is up
  c.write_wants_read = false;
  while (!c.conn->output().empty()) {
    const auto out = c.conn->output();
    ERR_clear_error();
    const int n =
        SSL_write(c.ssl, out.data(), static_cast<int>(std::min<std::size_t>(out.size(), 1u << 30)));
    if (n > 0) {
      c.conn->consume_output(static_cast<std::size_t>(n));
      continue;
    }
    const int err = SSL_get_error(c.ssl, n);
    if (err == SSL_ERROR_WANT_WRITE) break;
    if (err == SSL_ERROR_WANT_READ) {
      c.write_wants_read = true;
      break;
    }
    close_client(fd);
    return;
  }
  const bool pending_output = !c.conn->output().empty();
  if (!pending_output && c.conn->should_close()) {
    close_client(fd);
    return;
  }
  const bool was_blocked = c.want_write;
  c.want_write = pending_output;
  if (pending_output) {
    set_interest(c, c.write_wants_read ? EventLoop::kReadable : EventLoop::kWritable);
    return;
  }
  set_interest(c, c.read_wants_write ? EventLoop::kWritable : EventLoop::kReadable);
  // Reading stopped while the output was stuck: what OpenSSL holds needs a turn.
  if (was_blocked && SSL_has_pending(c.ssl)) {
    loop_.post([this, fd] { on_client_event(fd, EventLoop::kReadable); });
  }
}

void RespListener::serve_busy_tls(Client& c) {
  // Inside a running script: one read and what fits of the answer; never closes (the caller
  // iterates over the clients). Errors are seen again once the script is over.
  if (c.handshaking) return;
  ERR_clear_error();
  const int n = SSL_read(c.ssl, read_buffer_.data(), static_cast<int>(read_buffer_.size()));
  if (n <= 0) {
    ERR_clear_error();
    return;
  }
  c.conn->feed(core_now(), wall_now(),
               std::string_view(read_buffer_.data(), static_cast<std::size_t>(n)));
  while (!c.conn->output().empty()) {
    const auto out = c.conn->output();
    const int sent =
        SSL_write(c.ssl, out.data(), static_cast<int>(std::min<std::size_t>(out.size(), 1u << 30)));
    if (sent <= 0)
      break;  // the rest leaves with the next flush (the same bytes, as OpenSSL
              // requires of a retried write)
    c.conn->consume_output(static_cast<std::size_t>(sent));
  }
  ERR_clear_error();
  completed_.push_back(c.fd);
}

}  // namespace apiary::runtime
