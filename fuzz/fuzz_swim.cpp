// The SWIM codec and state machine (gossip/swim). The first input byte picks a membership
// message type; the rest is its payload, decoded by the codec directly, then wrapped in a
// valid envelope and handed to a live Swim (with one known peer) as a datagram, so that what
// decodes is also applied. The raw input is also handed over as a datagram as it is.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "../gossip/swim/codec.hpp"
#include "apiary/base/rng.hpp"
#include "apiary/gossip/swim.hpp"
#include "apiary/wire/envelope.hpp"

using namespace apiary;

namespace {
constexpr wire::MessageType kTypes[] = {
    wire::MessageType::ping,   wire::MessageType::ping_req,  wire::MessageType::ack,
    wire::MessageType::nack,   wire::MessageType::push_pull, wire::MessageType::push_pull_reply,
    wire::MessageType::gossip,
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const wire::MessageType type = kTypes[data[0] % std::size(kTypes)];
  const std::span<const std::uint8_t> payload(data + 1, size - 1);
  gossip::detail::Message message;
  (void)gossip::detail::decode_message(type, payload, 64, message);

  TimePoint now = from_nanos(1'000'000'000);
  gossip::Swim swim(gossip::SwimConfig{}, gossip::LocalNode{"a", "10.0.0.1:7946", {}}, Rng(7), now);
  swim.join(now, {});
  const auto hello = wire::encode_envelope({"apiary", type, "b", "10.0.0.2:7946"}, payload);
  swim.handle_message(now, hello);
  swim.handle_message(now, std::span<const std::uint8_t>(data, size));
  for (int i = 0; i < 3; ++i) {
    now += std::chrono::seconds(1);
    swim.handle_timeout(now);
    while (swim.poll_send()) {
    }
    while (swim.poll_event()) {
    }
  }
  return 0;
}
