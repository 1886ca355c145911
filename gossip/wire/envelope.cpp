#include "apiary/wire/envelope.hpp"

#include <string>

#include "apiary/wire/msgpack_codec.hpp"

namespace apiary::wire {

namespace {
constexpr std::size_t kEnvelopeFields = 6;
}

std::vector<std::uint8_t> encode_envelope(const EnvelopeHeader& header,
                                          std::span<const std::uint8_t> payload) {
  std::vector<std::uint8_t> out;
  out.reserve(payload.size() + header.cluster.size() + header.sender_name.size() +
              header.sender_addr.size() + 24);
  VectorSink sink(out);
  Packer p(sink);
  p.pack_array(kEnvelopeFields);
  p.pack_uint8(kProtocolVersion);
  pack_str(p, header.cluster);
  p.pack_uint16(static_cast<std::uint16_t>(header.type));
  pack_str(p, header.sender_name);
  pack_str(p, header.sender_addr);
  pack_bin(p, payload);
  return out;
}

static Result<Envelope> decode_envelope_unguarded(std::span<const std::uint8_t> bytes,
                                                  std::string_view expected_cluster,
                                                  const EnvelopeLimits& limits) {
  if (bytes.size() > limits.max_message_bytes) {
    return make_error(StatusCode::too_large,
                      "envelope of " + std::to_string(bytes.size()) + " bytes exceeds limit");
  }
  UnpackLimits unpack_limits;
  unpack_limits.array = kEnvelopeFields;
  unpack_limits.map = 0;
  unpack_limits.str =
      std::max({limits.max_cluster_name, limits.max_sender_name, limits.max_sender_addr});
  unpack_limits.bin = limits.max_message_bytes;
  unpack_limits.depth = 1;
  auto handle = unpack_bounded(bytes, unpack_limits);
  if (!handle.ok()) return handle.status();

  Reader r(handle->get(), kEnvelopeFields);
  Envelope env;
  std::uint16_t type = 0;
  if (!r.u(env.version)) return r.error("envelope: bad header");
  // Check the version before the rest: a future version may change the layout.
  if (env.version != kProtocolVersion) {
    return make_error(StatusCode::unsupported,
                      "protocol version " + std::to_string(env.version) + " not supported");
  }
  if (!r.str(env.header.cluster, limits.max_cluster_name) || !r.u(type) ||
      !r.str(env.header.sender_name, limits.max_sender_name) ||
      !r.str(env.header.sender_addr, limits.max_sender_addr) ||
      !r.bin(env.payload, limits.max_message_bytes) || r.remaining() != 0) {
    return r.error("envelope: bad field");
  }
  env.header.type = static_cast<MessageType>(type);
  if (!is_known(env.header.type)) {
    return make_error(StatusCode::unsupported, "unknown message type " + std::to_string(type));
  }
  if (env.header.cluster != expected_cluster) {
    return make_error(StatusCode::wrong_cluster,
                      "message for cluster '" + std::string(env.header.cluster) + "'");
  }
  return env;
}

Result<Envelope> decode_envelope(std::span<const std::uint8_t> bytes,
                                 std::string_view expected_cluster, const EnvelopeLimits& limits) {
  return guard_decode("envelope",
                      [&] { return decode_envelope_unguarded(bytes, expected_cluster, limits); });
}

}  // namespace apiary::wire
