// The envelope around every node-to-node message:
//
//   msgpack array [ version:uint8, cluster:str, type:uint16, sender_name:str,
//                   sender_addr:str, payload:bin ]
//
// `decode_envelope` is bounded in every dimension and returns a Status on any malformed,
// oversized, foreign-cluster or unknown-version input; it never throws and never reads past
// the buffer. The decoded Envelope is a view: its string_views and payload span point into
// the input bytes, which must outlive it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "apiary/base/status.hpp"
#include "apiary/wire/message_type.hpp"

namespace apiary::wire {

struct EnvelopeLimits {
  std::size_t max_message_bytes = 1 << 20;  // whole encoded envelope
  std::size_t max_cluster_name = 64;
  std::size_t max_sender_name = 255;
  std::size_t max_sender_addr = 255;
};

struct EnvelopeHeader {
  std::string_view cluster;
  MessageType type{};
  std::string_view sender_name;
  std::string_view sender_addr;  // where replies go (host:port)
};

struct Envelope {
  std::uint8_t version = 0;
  EnvelopeHeader header;
  std::span<const std::uint8_t> payload;
};

std::vector<std::uint8_t> encode_envelope(const EnvelopeHeader& header,
                                          std::span<const std::uint8_t> payload);
// An envelope written in place, for a payload that is built straight into `out` (the data
// channel's batches, which would otherwise be copied once more): begin_envelope appends the
// header and a 32-bit bin length placeholder and returns where the payload starts;
// finish_envelope fills the length in once the payload has been appended.
std::size_t begin_envelope(const EnvelopeHeader& header, std::vector<std::uint8_t>& out);
void finish_envelope(std::vector<std::uint8_t>& out, std::size_t payload_start);

// Decodes and checks version, type and cluster name. `expected_cluster` must match exactly.
Result<Envelope> decode_envelope(std::span<const std::uint8_t> bytes,
                                 std::string_view expected_cluster,
                                 const EnvelopeLimits& limits = {});

}  // namespace apiary::wire
