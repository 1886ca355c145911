// Outbox: the replication core's outgoing data messages, batched per peer (internal to
// libnode/replication).
//
// Messages queue per peer address in the order they were sent. poll() takes the peer that
// queued first and packs its consecutive messages into one envelope -- a plain envelope for a
// single message, a `data_batch` envelope otherwise -- bounded by Limits. The driver drains
// the outbox after every input (after every loop batch in the runtime), so messages that one
// batch of client commands and peer messages produced for the same peer travel together, and
// a lone message at low load is sent at once, never held for a timer.
//
// data_batch payload: msgpack array [[type:uint16, payload:bin]...], at least two elements.
// The receiver handles the messages in order, each as if it had come in its own envelope with
// the batch's header (decode_batch).
//
// Messages the caller already enveloped (handoff batches, resent unchanged) keep their place
// in their peer's order but always travel alone.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/base/status.hpp"
#include "apiary/replication/replicator.hpp"
#include "apiary/wire/message_type.hpp"

namespace apiary::replication {

class Outbox {
 public:
  struct Limits {
    std::size_t max_bytes = 1u << 20;  // payload bytes per batch (a larger message goes alone)
    std::size_t max_messages = 1024;   // messages per batch
  };
  // Appends this node's envelope header for a message of `type` to the buffer (see
  // wire::begin_envelope) and returns where the payload starts; poll() writes the payload
  // behind it, so a batch is copied once, not once into a payload and again into an envelope.
  using EnvelopeFn = std::function<std::size_t(wire::MessageType, std::vector<std::uint8_t>&)>;

  struct Counters {
    std::uint64_t envelopes = 0;         // envelopes handed out by poll()
    std::uint64_t batches = 0;           // of which data_batch envelopes
    std::uint64_t bytes = 0;             // envelope bytes handed out
  };

  explicit Outbox(Limits limits) : limits_(limits) {}

  void add(std::string_view to, wire::MessageType type, std::vector<std::uint8_t> payload);
  void add_envelope(std::string_view to, std::vector<std::uint8_t> envelope);
  std::optional<Outgoing> poll(const EnvelopeFn& envelope);
  bool empty() const { return order_.empty(); }
  const Counters& counters() const { return counters_; }

 private:
  struct Item {
    wire::MessageType type{};
    bool enveloped = false;
    std::vector<std::uint8_t> bytes;
  };
  std::deque<Item>& queue_for(std::string_view to);

  Limits limits_;
  std::map<std::string, std::deque<Item>, std::less<>> queues_;
  std::deque<std::string> order_;  // peers with queued messages, the first to queue first
  Counters counters_;
};

// One message of a data_batch: its type and payload (pointing into the batch's bytes).
struct BatchedMessage {
  wire::MessageType type{};
  std::span<const std::uint8_t> payload;
};
// Splits a data_batch payload; bounded by `max_messages`, never throws. A nested data_batch
// is malformed.
Result<std::vector<BatchedMessage>> decode_batch(std::span<const std::uint8_t> payload,
                                                 std::size_t max_messages);

}  // namespace apiary::replication
