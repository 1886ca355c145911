// Mailbox: datagram-style messaging between nodes over ZeroMQ.
//
// Each node binds one PULL socket per Mailbox; for every peer it sends to it keeps a PUSH
// socket connected to that peer's address. Sends never block: each peer has a bounded queue
// (ZMQ_SNDHWM) and a message that does not fit is dropped and counted, so a slow or dead peer
// can never stall the event loop. ZeroMQ reconnects by itself when a peer comes back.
// Messages larger than `max_message_bytes` are refused on receive (ZMQ_MAXMSGSIZE drops the
// connection of a peer that sends one) and on send.
//
// A node uses one Mailbox for gossip and a separate one for bulk data, so that handoff
// traffic never queues in front of failure-detection probes.
//
// Not thread-safe: owned by one event-loop thread. `fd()` is ZeroMQ's notification
// descriptor: when it is readable call `receive()` until it returns false.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "apiary/base/status.hpp"
#include "apiary/base/time.hpp"

namespace zmq {
class context_t;
class socket_t;
class message_t;
}  // namespace zmq

namespace apiary::zmqx {

struct MailboxOptions {
  int send_queue_messages = 1000;                        // per-peer bound (ZMQ_SNDHWM)
  std::size_t max_message_bytes = 4 << 20;               // receive and send limit
  std::chrono::milliseconds reconnect_min{100};          // ZMQ_RECONNECT_IVL
  std::chrono::milliseconds reconnect_max{2000};         // ZMQ_RECONNECT_IVL_MAX
  Duration idle_peer_timeout = std::chrono::minutes(5);  // close PUSH sockets unused this long
  std::size_t max_peers = 16384;
};

struct MailboxStats {
  std::uint64_t sent = 0;
  std::uint64_t sent_bytes = 0;
  std::uint64_t received = 0;
  std::uint64_t received_bytes = 0;
  std::uint64_t dropped_queue_full = 0;  // peer's queue was full
  std::uint64_t dropped_too_large = 0;
  std::uint64_t dropped_bad_address = 0;
  std::uint64_t peers = 0;  // open PUSH sockets
};

class Mailbox {
 public:
  // Binds `bind_addr` ("host:port"; port 0 picks a free one, see `bound_addr()`).
  static Result<std::unique_ptr<Mailbox>> bind(zmq::context_t& context,
                                               const std::string& bind_addr,
                                               MailboxOptions options = {});
  ~Mailbox();
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  // "host:port" actually bound (the real port when 0 was asked for).
  const std::string& bound_addr() const { return bound_addr_; }
  int fd() const;

  // Queue `bytes` for `to` ("host:port"). False when dropped (queue full, too large, bad
  // address); never blocks.
  bool send(const std::string& to, std::span<const std::uint8_t> bytes, TimePoint now);

  // Receives one pending message into `out`; false when none is pending.
  bool receive(std::vector<std::uint8_t>& out);

  // Closes PUSH sockets idle for longer than the option says. Call now and then.
  void close_idle_peers(TimePoint now);

  // The IP address of the peer that sent the message receive() returned last, as ZeroMQ
  // reports it ("Peer-Address"); empty when unknown. For logs about rejected messages.
  std::string last_sender() const;

  const MailboxStats& stats() const { return stats_; }

 private:
  struct Peer;
  Mailbox(zmq::context_t& context, MailboxOptions options);
  Peer* peer_for(const std::string& to, TimePoint now);

  zmq::context_t& context_;
  MailboxOptions options_;
  std::unique_ptr<zmq::socket_t> pull_;
  std::unique_ptr<zmq::message_t> last_;  // the message receive() returned last
  std::string bound_addr_;
  std::map<std::string, std::unique_ptr<Peer>> peers_;
  MailboxStats stats_;
};

// "host:port" -> "tcp://host:port"; rejects what ZeroMQ could not connect to.
Result<std::string> to_endpoint(const std::string& host_port);

}  // namespace apiary::zmqx
