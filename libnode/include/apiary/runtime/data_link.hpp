// DataLink: the data channel between nodes -- length-prefixed messages over plain TCP,
// driven by the node's own EventLoop (no I/O thread).
//
// The data channel carries replication, forwards and handoff: many small messages per client
// command. Over ZeroMQ every message crossed two extra threads (each side's I/O thread) and
// their wake-ups; here a message is one write on the loop thread, and the receiving loop reads
// it in the same batch as its clients' commands (docs/benchmarks.md, "Data channel").
//
// Datagram-style like zmqx::Mailbox, which gossip still uses: `send(to, bytes)` queues one
// message for the peer at `to` ("host:port"); messages from every peer come out of
// `receive()` whole, in order per sender. Connections are one-way: a node sends on the
// connection it opened to the peer's listener and receives on the ones peers opened to it
// (a reply goes to the sender's advertised address, as before).
//
// Wire: a connection starts with the 8-byte preamble "APIARYD1"; then each message is a
// 4-byte big-endian length and that many bytes. A connection with another preamble, or a
// message above `max_message_bytes`, is closed and counted; a peer's buffered bytes grow only
// with what it actually sent.
//
// Sends never block: each peer has a bounded send buffer, and what does not fit is dropped
// and counted (replication copes with lost messages: timeouts, hints, anti-entropy). A failed
// connection is retried with backoff (reconnect_min doubling to reconnect_max) while messages
// wait for it; messages queued behind a partly written one are dropped with the connection.
// Addresses are IPv4 literals or names resolved once (getaddrinfo, blocking) and cached.
//
// Not thread-safe: owned by the loop thread; construct and destroy it there (or before the
// loop runs / after it stopped).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "apiary/base/status.hpp"
#include "apiary/base/time.hpp"
#include "apiary/runtime/event_loop.hpp"

namespace apiary::runtime {

struct DataLinkOptions {
  std::size_t max_message_bytes = 8u << 20;   // receive and send limit
  std::size_t send_buffer_bytes = 64u << 20;  // per peer; a message that does not fit is dropped
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{2000};
  Duration idle_peer_timeout = std::chrono::minutes(5);  // close connections unused this long
  std::size_t max_peers = 16384;                         // outgoing connections
  std::size_t max_inbound = 16384;                       // accepted connections
};

struct DataLinkStats {
  std::uint64_t sent = 0;
  std::uint64_t sent_bytes = 0;
  std::uint64_t received = 0;
  std::uint64_t received_bytes = 0;
  std::uint64_t dropped_queue_full = 0;    // the peer's send buffer was full
  std::uint64_t dropped_too_large = 0;     // above max_message_bytes (send)
  std::uint64_t dropped_bad_address = 0;   // not host:port, or unresolvable
  std::uint64_t dropped_disconnected = 0;  // lost with a broken connection
  std::uint64_t connects = 0;              // outgoing connections established
  std::uint64_t connect_failures = 0;
  std::uint64_t inbound_refused = 0;  // bad preamble, oversized message, too many connections
  std::uint64_t peers = 0;            // open outgoing connections
};

class DataLink {
 public:
  // Listens on `bind_addr` ("host:port"; port 0 picks a free one, see bound_addr()).
  static Result<std::unique_ptr<DataLink>> bind(EventLoop& loop, const std::string& bind_addr,
                                                DataLinkOptions options = {});
  ~DataLink();
  DataLink(const DataLink&) = delete;
  DataLink& operator=(const DataLink&) = delete;

  const std::string& bound_addr() const { return bound_addr_; }

  // Queues `bytes` for the peer at `to` and writes what the socket takes now. False when the
  // message was dropped (too large, bad address, send buffer full); never blocks.
  bool send(const std::string& to, std::span<const std::uint8_t> bytes, TimePoint now);
  // One received message into `out`; false when none is waiting.
  bool receive(std::vector<std::uint8_t>& out);
  // Closes outgoing connections idle for longer than the option says. Call now and then.
  void close_idle_peers(TimePoint now);
  // The IP address of the connection the message receive() returned last came on; empty when
  // it closed since. For logs about rejected messages.
  std::string last_sender() const;

  const DataLinkStats& stats() const { return stats_; }

 private:
  struct Peer;
  struct Inbound;
  DataLink(EventLoop& loop, DataLinkOptions options);
  Peer* peer_for(const std::string& to, TimePoint now);
  void connect(Peer& peer);
  void on_peer_event(Peer& peer, std::uint32_t ready);
  void flush(Peer& peer);
  void drop_connection(Peer& peer, bool failed);
  void on_accept();
  void on_inbound(int fd);
  void close_inbound(int fd, bool refused);

  EventLoop& loop_;
  DataLinkOptions options_;
  int listen_fd_ = -1;
  std::string bound_addr_;
  std::map<std::string, std::unique_ptr<Peer>, std::less<>> peers_;
  std::map<int, std::unique_ptr<Inbound>> inbound_;
  std::deque<std::vector<std::uint8_t>> received_;
  std::deque<int> received_on_;  // the inbound fd of each message in received_
  int last_received_on_ = -1;
  DataLinkStats stats_;
};

}  // namespace apiary::runtime
