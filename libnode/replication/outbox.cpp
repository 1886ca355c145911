#include "outbox.hpp"

#include "apiary/wire/envelope.hpp"
#include "apiary/wire/msgpack_codec.hpp"

namespace apiary::replication {

namespace {

// Encoded size of one batch element [type, bin] around a payload of `n` bytes, at most.
constexpr std::size_t kElementOverhead = 1 + 3 + 5;
// Room for the envelope header (names and addresses are at most a few hundred bytes).
constexpr std::size_t kHeaderReserve = 128;

}  // namespace

std::deque<Outbox::Item>& Outbox::queue_for(std::string_view to) {
  auto it = queues_.find(to);
  if (it == queues_.end()) it = queues_.emplace(std::string(to), std::deque<Item>{}).first;
  if (it->second.empty()) order_.push_back(it->first);
  return it->second;
}

void Outbox::add(std::string_view to, wire::MessageType type, std::vector<std::uint8_t> payload) {
  queue_for(to).push_back(Item{type, false, std::move(payload)});
}

void Outbox::add_envelope(std::string_view to, std::vector<std::uint8_t> envelope) {
  queue_for(to).push_back(Item{{}, true, std::move(envelope)});
}

std::optional<Outgoing> Outbox::poll(const EnvelopeFn& envelope) {
  if (order_.empty()) return std::nullopt;
  auto it = queues_.find(order_.front());
  auto& queue = it->second;
  Outgoing out;
  out.to = it->first;
  if (queue.front().enveloped) {
    out.bytes = std::move(queue.front().bytes);
    queue.pop_front();
  } else {
    // The run of plain messages at the head of the queue, within the limits.
    std::size_t count = 0;
    std::size_t bytes = 0;
    for (const Item& item : queue) {
      if (item.enveloped || count == limits_.max_messages) break;
      const std::size_t size = item.bytes.size() + kElementOverhead;
      if (count > 0 && bytes + size > limits_.max_bytes) break;
      bytes += size;
      ++count;
    }
    out.bytes.reserve(bytes + kHeaderReserve);
    if (count == 1) {
      const std::size_t start = envelope(queue.front().type, out.bytes);
      out.bytes.insert(out.bytes.end(), queue.front().bytes.begin(), queue.front().bytes.end());
      wire::finish_envelope(out.bytes, start);
    } else {
      const std::size_t start = envelope(wire::MessageType::data_batch, out.bytes);
      wire::VectorSink sink(out.bytes);
      wire::Packer p(sink);
      p.pack_array(static_cast<std::uint32_t>(count));
      for (std::size_t i = 0; i < count; ++i) {
        const Item& item = queue[i];
        p.pack_array(2);
        p.pack(static_cast<std::uint16_t>(item.type));
        wire::pack_bin(p, item.bytes);
      }
      wire::finish_envelope(out.bytes, start);
      ++counters_.batches;
    }
    queue.erase(queue.begin(), queue.begin() + static_cast<std::ptrdiff_t>(count));
  }
  if (queue.empty()) {
    // The empty queue stays for the peer's next message: a deque allocates its map and
    // first block when it is made, and peers are few.
    order_.pop_front();
  }
  ++counters_.envelopes;
  counters_.bytes += out.bytes.size();
  return out;
}

static Result<std::vector<BatchedMessage>> decode_batch_unguarded(
    std::span<const std::uint8_t> payload, std::size_t max_messages) {
  wire::Reader root(payload, 2);
  if (!root.ok() || root.size() > max_messages) {
    return make_error(StatusCode::malformed, "data batch: not an array of messages");
  }
  std::vector<BatchedMessage> out;
  out.reserve(root.size());
  while (root.remaining() > 0) {
    wire::Reader r;
    BatchedMessage m;
    std::uint16_t type = 0;
    if (!root.array(r, 2) || !r.u(type) || !r.bin(m.payload, payload.size()) ||
        r.remaining() != 0) {
      return make_error(StatusCode::malformed, "data batch element");
    }
    m.type = static_cast<wire::MessageType>(type);
    if (type < 32 || m.type == wire::MessageType::data_batch || !wire::is_known(m.type)) {
      return make_error(StatusCode::unsupported,
                        "data batch: message type " + std::to_string(type) + " not allowed");
    }
    out.push_back(m);
  }
  if (!root.at_end()) return make_error(StatusCode::malformed, "data batch: trailing bytes");
  return out;
}

Result<std::vector<BatchedMessage>> decode_batch(std::span<const std::uint8_t> payload,
                                                 std::size_t max_messages) {
  return wire::guard_decode("data batch",
                            [&] { return decode_batch_unguarded(payload, max_messages); });
}

}  // namespace apiary::replication
