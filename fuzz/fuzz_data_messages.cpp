// Every data-layer message (libnode/replication/messages.hpp: replication, reads, forwards,
// entries, handoff, digests, keyspace requests and responses, batches). The first input byte
// picks a data message type; the rest is its payload, decoded by decode_message directly and
// then, wrapped in a valid envelope from a peer, handed to a single node's core, whose
// handlers act on whatever decodes (merges into the store, forwarded commands, handoff).
#include <cstddef>
#include <cstdint>
#include <span>

#include "../libnode/replication/messages.hpp"
#include "apiary/wire/envelope.hpp"
#include "single_node.hpp"

using namespace apiary;

namespace {
constexpr std::uint16_t kFirstData = 32;
constexpr std::uint16_t kDataTypes = 9;  // data_request (32) .. data_batch (40)
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto type = static_cast<wire::MessageType>(kFirstData + data[0] % kDataTypes);
  const std::span<const std::uint8_t> payload(data + 1, size - 1);
  (void)replication::decode_message(type, payload, replication::ReplicationConfig{});

  fuzz::SingleNode node;
  const auto bytes = wire::encode_envelope({"apiary", type, "peer", "127.0.0.1:9999"}, payload);
  node.handle_data(bytes);
  node.advance(std::chrono::milliseconds(200));
  return 0;
}
