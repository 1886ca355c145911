#include "apiary/runtime/resp_listener.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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
};

Result<std::unique_ptr<RespListener>> RespListener::start(EventLoop& loop, resp::Server& server,
                                                          const std::string& bind_addr) {
  auto listening = listen_tcp(bind_addr, "client address");
  if (!listening.ok()) return listening.status();
  std::unique_ptr<RespListener> self(new RespListener(loop, server));
  self->listen_fd_ = listening->fd;
  self->bound_addr_ = listening->host + ":" + std::to_string(listening->port);
  RespListener* raw = self.get();
  auto status = loop.watch(self->listen_fd_, EventLoop::kReadable,
                           [raw](std::uint32_t) { raw->on_accept(); });
  if (!status.ok()) return status;
  self->read_buffer_.resize(kReadChunk);
  return self;
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
  if (timer_ != 0) loop_.cancel(timer_);
  timer_ = 0;
}

void RespListener::on_accept() {
  for (;;) {
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &len,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or a transient error (EMFILE...): try at the next event
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in local{};
    socklen_t local_len = sizeof local;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len);

    auto client = std::make_unique<Client>();
    client->fd = fd;
    client->conn = server_.connect(core_now(), {sockaddr_text(peer), sockaddr_text(local), fd});
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
    flush(*raw);  // a rejected client (maxclients) gets its error right away
  }
}

void RespListener::on_client_event(int fd, std::uint32_t ready) {
  auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  Client& c = *it->second;
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
  on_accept();  // new clients too: they can send SCRIPT KILL
  for (auto& [fd, c] : clients_) {
    if (c->conn->id() == running || c->want_write || c->conn->waiting()) continue;
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

}  // namespace apiary::runtime
