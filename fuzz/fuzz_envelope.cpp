// The wire envelope (gossip/wire): decode_envelope on arbitrary bytes must return a Status,
// never crash, read past the input or throw; what decodes must encode back to bytes that
// decode to the same envelope.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "apiary/wire/envelope.hpp"

using namespace apiary;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  auto decoded = wire::decode_envelope(bytes, "apiary");
  if (!decoded.ok()) return 0;
  const wire::Envelope& e = decoded.value();
  const auto again = wire::encode_envelope(e.header, e.payload);
  auto round = wire::decode_envelope(again, "apiary");
  if (!round.ok()) std::abort();
  const wire::Envelope& r = round.value();
  if (r.header.type != e.header.type || r.header.sender_name != e.header.sender_name ||
      r.header.sender_addr != e.header.sender_addr || r.header.cluster != e.header.cluster ||
      !std::equal(r.payload.begin(), r.payload.end(), e.payload.begin(), e.payload.end())) {
    std::abort();
  }
  return 0;
}
