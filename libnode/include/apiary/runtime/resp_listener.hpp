// RespListener: the TCP side of the Redis protocol. Accepts clients on one listening socket,
// reads their bytes into resp::Connection objects, writes the replies back and closes
// connections when the protocol layer says so. All of it runs on the node's event loop.
//
// I/O policy: one read of up to 64 KiB per readiness event and client, then one write
// attempt right away; only a client whose reply did not fit in the socket buffer is watched
// for writability, and it is not read from until its output drains (back-pressure, as
// redis-server does).
//
// TLS (tls.hpp): a second listening socket whose connections run OpenSSL non-blocking on the
// same loop: the handshake first (driven by readiness in both directions), then SSL_read and
// SSL_write in place of read and send, with OpenSSL's WANT_READ/WANT_WRITE turned into the
// socket interest, and what OpenSSL already holds (it reads ahead) used up without waiting
// for the socket. Plaintext
// clients take the same code path as before, apart from one branch per event.
//
// Thread safety: loop thread only (create it there or before the loop runs).
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "apiary/base/status.hpp"
#include "apiary/runtime/event_loop.hpp"
#include "apiary/runtime/tls.hpp"

namespace apiary::resp {
class Server;
class Connection;
}  // namespace apiary::resp

namespace apiary::runtime {

class RespListener {
 public:
  // Binds "host:port" (port 0 picks a free port, see bound_addr()); an empty `bind_addr`
  // opens no plaintext port (a TLS-only node: see listen_tls()).
  static Result<std::unique_ptr<RespListener>> start(EventLoop& loop, resp::Server& server,
                                                     const std::string& bind_addr);
  ~RespListener();
  RespListener(const RespListener&) = delete;
  RespListener& operator=(const RespListener&) = delete;

  const std::string& bound_addr() const { return bound_addr_; }
  // The TLS port: listens on `addr` ("host:port", port 0 picks a free one) with `context`,
  // in place of an earlier TLS socket (its open connections stay); an empty `addr` closes the
  // TLS socket. On failure the earlier socket stays.
  Status listen_tls(const std::string& addr, std::shared_ptr<const TlsContext> context);
  // New TLS connections use `context` from now on; open ones keep theirs.
  void set_tls_context(std::shared_ptr<const TlsContext> context) { tls_ = std::move(context); }
  const std::string& tls_bound_addr() const { return tls_bound_addr_; }
  std::size_t client_count() const { return clients_.size(); }

  // Delivers a reply that a command promised (Outcome::pending) to client `id`. The bytes
  // are written by the next flush_completed(), so many replies leave in one send.
  void complete(std::uint64_t client_id, std::uint64_t token, std::string_view reply);
  // Sends what clients have: the replies of commands fed since the last call (held until
  // then, so the driver can sync the AOF first) and those complete() delivered. The driver
  // calls it after every batch of the event loop.
  void flush_completed();
  // While a script runs past busy-reply-threshold (resp::Server::BusyWatch): reads what the
  // other clients sent and answers it at once (BUSY, or SCRIPT KILL's reply). Skips client
  // `running` (inside the command that runs the script); accepts new clients, closes none.
  void serve_busy(std::uint64_t running);
  // Closes every client and the listening socket.
  void shutdown();

 private:
  struct Client;
  RespListener(EventLoop& loop, resp::Server& server);
  void on_accept(int listen_fd, bool tls);
  void on_client_event(int fd, std::uint32_t ready);
  void flush(Client& c);
  // TLS clients.
  void on_tls_event(Client& c);
  bool continue_handshake(Client& c);  // true once done; false: waiting, or closed
  void read_tls(Client& c);
  void flush_tls(Client& c);
  void serve_busy_tls(Client& c);
  void set_interest(Client& c, std::uint32_t interest);
  void close_client(int fd);
  void after_server_changes();
  void arm_timer();

  EventLoop& loop_;
  resp::Server& server_;
  int listen_fd_ = -1;
  std::string bound_addr_;
  int tls_listen_fd_ = -1;
  std::string tls_bound_addr_;
  std::shared_ptr<const TlsContext> tls_;
  std::unordered_map<int, std::unique_ptr<Client>> clients_;
  std::unordered_map<std::uint64_t, int> fd_by_id_;
  EventLoop::TimerId timer_ = 0;
  TimePoint timer_at_ = kNever;
  std::string read_buffer_;
  std::vector<int> completed_;  // fds of clients with new output (fed or completed) to flush
};

}  // namespace apiary::runtime
