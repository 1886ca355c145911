#include "apiary/wire/envelope.hpp"

#include <string>

#include "apiary/wire/msgpack_codec.hpp"

namespace apiary::wire {

namespace {

constexpr std::size_t kEnvelopeFields = 6;

// Everything before the payload's bin header.
void pack_header(Packer& p, const EnvelopeHeader& header) {
  p.pack_array(kEnvelopeFields);
  p.pack_uint8(kProtocolVersion);
  pack_str(p, header.cluster);
  p.pack_uint16(static_cast<std::uint16_t>(header.type));
  pack_str(p, header.sender_name);
  pack_str(p, header.sender_addr);
}

}  // namespace

std::vector<std::uint8_t> encode_envelope(const EnvelopeHeader& header,
                                          std::span<const std::uint8_t> payload) {
  std::vector<std::uint8_t> out;
  out.reserve(payload.size() + header.cluster.size() + header.sender_name.size() +
              header.sender_addr.size() + 24);
  VectorSink sink(out);
  Packer p(sink);
  pack_header(p, header);
  pack_bin(p, payload);
  return out;
}

std::size_t begin_envelope(const EnvelopeHeader& header, std::vector<std::uint8_t>& out) {
  VectorSink sink(out);
  Packer p(sink);
  pack_header(p, header);
  const std::uint8_t bin32[5] = {0xc6, 0, 0, 0, 0};  // bin 32: valid for every length
  out.insert(out.end(), bin32, bin32 + 5);
  return out.size();
}

void finish_envelope(std::vector<std::uint8_t>& out, std::size_t payload_start) {
  const auto n = static_cast<std::uint32_t>(out.size() - payload_start);
  std::uint8_t* len = out.data() + payload_start - 4;
  len[0] = static_cast<std::uint8_t>(n >> 24);
  len[1] = static_cast<std::uint8_t>(n >> 16);
  len[2] = static_cast<std::uint8_t>(n >> 8);
  len[3] = static_cast<std::uint8_t>(n);
}

static Result<Envelope> decode_envelope_unguarded(std::span<const std::uint8_t> bytes,
                                                  std::string_view expected_cluster,
                                                  const EnvelopeLimits& limits) {
  if (bytes.size() > limits.max_message_bytes) {
    return make_error(StatusCode::too_large,
                      "envelope of " + std::to_string(bytes.size()) + " bytes exceeds limit");
  }
  Reader r(bytes, kEnvelopeFields);
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
      !r.bin(env.payload, limits.max_message_bytes) || r.remaining() != 0 || !r.at_end()) {
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
