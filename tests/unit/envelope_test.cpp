#include "apiary/wire/envelope.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "apiary/base/rng.hpp"
#include "apiary/wire/msgpack_codec.hpp"

using namespace apiary;
using namespace apiary::wire;

namespace {
std::vector<std::uint8_t> bytes_of(std::string_view s) {
  return std::vector<std::uint8_t>(s.begin(), s.end());
}

std::vector<std::uint8_t> sample_envelope(std::string_view cluster = "prod") {
  EnvelopeHeader h{cluster, MessageType::ping, "node-a", "10.0.0.1:7946"};
  return encode_envelope(h, bytes_of("payload-bytes"));
}
}  // namespace

TEST_CASE("envelope round-trips every header field", "[wire]") {
  auto encoded = sample_envelope();
  auto decoded = decode_envelope(encoded, "prod");
  REQUIRE(decoded.ok());
  CHECK(decoded->version == kProtocolVersion);
  CHECK(decoded->header.cluster == "prod");
  CHECK(decoded->header.type == MessageType::ping);
  CHECK(decoded->header.sender_name == "node-a");
  CHECK(decoded->header.sender_addr == "10.0.0.1:7946");
  std::string payload(decoded->payload.begin(), decoded->payload.end());
  CHECK(payload == "payload-bytes");
}

TEST_CASE("envelope for another cluster is rejected as wrong_cluster", "[wire]") {
  auto encoded = sample_envelope("staging");
  auto decoded = decode_envelope(encoded, "prod");
  REQUIRE_FALSE(decoded.ok());
  CHECK(decoded.status().code() == StatusCode::wrong_cluster);
}

TEST_CASE("unknown version and unknown type are unsupported", "[wire]") {
  std::vector<std::uint8_t> out;
  VectorSink sink(out);
  Packer p(sink);
  p.pack_array(6);
  p.pack_uint8(kProtocolVersion + 1);
  pack_str(p, "prod");
  p.pack_uint16(1);
  pack_str(p, "a");
  pack_str(p, "b");
  pack_bin(p, {});
  auto v = decode_envelope(out, "prod");
  REQUIRE_FALSE(v.ok());
  CHECK(v.status().code() == StatusCode::unsupported);

  out.clear();
  Packer p2(sink);
  p2.pack_array(6);
  p2.pack_uint8(kProtocolVersion);
  pack_str(p2, "prod");
  p2.pack_uint16(9999);
  pack_str(p2, "a");
  pack_str(p2, "b");
  pack_bin(p2, {});
  auto t = decode_envelope(out, "prod");
  REQUIRE_FALSE(t.ok());
  CHECK(t.status().code() == StatusCode::unsupported);
}

TEST_CASE("every truncation of a valid envelope is a clean error", "[wire]") {
  auto encoded = sample_envelope();
  for (std::size_t len = 0; len < encoded.size(); ++len) {
    std::span<const std::uint8_t> prefix(encoded.data(), len);
    auto decoded = decode_envelope(prefix, "prod");
    CHECK_FALSE(decoded.ok());
  }
}

TEST_CASE("wrong-typed fields are malformed", "[wire]") {
  std::vector<std::uint8_t> out;
  VectorSink sink(out);
  Packer p(sink);
  p.pack_array(6);
  p.pack_uint8(kProtocolVersion);
  p.pack_uint32(12);  // cluster should be a string
  p.pack_uint16(1);
  pack_str(p, "a");
  pack_str(p, "b");
  pack_bin(p, {});
  auto d = decode_envelope(out, "prod");
  REQUIRE_FALSE(d.ok());
  CHECK(d.status().code() == StatusCode::malformed);

  // A map where an array is expected, and trailing garbage.
  std::vector<std::uint8_t> map_bytes = {0x81, 0xa1, 'a', 0x01};
  CHECK_FALSE(decode_envelope(map_bytes, "prod").ok());
  auto good = sample_envelope();
  good.push_back(0xc0);
  CHECK_FALSE(decode_envelope(good, "prod").ok());
}

TEST_CASE("oversized input and hostile length prefixes are rejected without allocation", "[wire]") {
  EnvelopeLimits limits;
  limits.max_message_bytes = 64;
  std::vector<std::uint8_t> big(100, 0x90);
  auto d = decode_envelope(big, "prod", limits);
  REQUIRE_FALSE(d.ok());
  CHECK(d.status().code() == StatusCode::too_large);

  // array32 claiming 4 billion elements; bin32 claiming 4 GiB.
  std::vector<std::uint8_t> huge_array = {0xdd, 0xff, 0xff, 0xff, 0xff};
  CHECK_FALSE(decode_envelope(huge_array, "prod").ok());
  std::vector<std::uint8_t> huge_bin = {0x96, 0x01, 0xa4, 'p',  'r',  'o',  'd',  0x01, 0xa1,
                                        'a',  0xa1, 'b',  0xc6, 0xff, 0xff, 0xff, 0xff};
  CHECK_FALSE(decode_envelope(huge_bin, "prod").ok());
  // Deep nesting.
  std::vector<std::uint8_t> deep(1000, 0x91);
  CHECK_FALSE(decode_envelope(deep, "prod").ok());
}

TEST_CASE("random bytes and random mutations never crash the decoder", "[wire][fuzz]") {
  Rng rng(2024);
  auto valid = sample_envelope();
  for (int i = 0; i < 20000; ++i) {
    std::vector<std::uint8_t> input;
    if (i % 2 == 0) {
      input.resize(rng.uniform(64));
      for (auto& b : input) b = static_cast<std::uint8_t>(rng.next());
    } else {
      input = valid;
      const auto flips = 1 + rng.uniform(4);
      for (std::uint64_t f = 0; f < flips; ++f) {
        input[rng.uniform(input.size())] = static_cast<std::uint8_t>(rng.next());
      }
    }
    auto decoded = decode_envelope(input, "prod");
    if (decoded.ok()) {
      // Whatever decodes must be self-consistent views into the input.
      CHECK(decoded->header.cluster == "prod");
      CHECK(decoded->payload.size() <= input.size());
    }
  }
}

TEST_CASE("ObjectReader reports type mismatches instead of throwing", "[wire]") {
  std::vector<std::uint8_t> out;
  VectorSink sink(out);
  Packer p(sink);
  p.pack_array(3);
  p.pack_uint64(5);
  pack_str(p, "hello");
  p.pack_int64(-3);
  auto handle = unpack_bounded(out);
  REQUIRE(handle.ok());
  ObjectReader r(handle->get(), 3);
  std::uint64_t a = 0;
  std::string_view b;
  std::int64_t c = 0;
  REQUIRE(r.u64(a));
  REQUIRE(r.str(b, 16));
  REQUIRE(r.i64(c));
  CHECK(a == 5);
  CHECK(b == "hello");
  CHECK(c == -3);
  CHECK_FALSE(r.skip());  // exhausted
  CHECK_FALSE(r.ok());

  ObjectReader r2(handle->get(), 3);
  std::string_view s;
  CHECK_FALSE(r2.str(s, 16));  // first field is an int
  ObjectReader r3(handle->get(), 3);
  std::uint8_t small = 0;
  CHECK(r3.u(small));
  ObjectReader r4(handle->get(), 4);  // too few elements
  CHECK_FALSE(r4.ok());
}

TEST_CASE("Reader decodes from the bytes and reports mismatches instead of throwing", "[wire]") {
  std::vector<std::uint8_t> out;
  VectorSink sink(out);
  Packer p(sink);
  p.pack_array(5);
  p.pack_uint64(5);
  pack_str(p, "hello");
  p.pack_int64(-3);
  p.pack_array(2);  // nested: [uint64 max, bin]
  p.pack_uint64(~std::uint64_t{0});
  pack_bin(p, std::span<const std::uint8_t>(out.data(), 0));
  p.pack(true);
  Reader r(out, 5);
  REQUIRE(r.ok());
  std::uint64_t a = 0;
  std::string_view b;
  std::int64_t c = 0;
  Reader nested;
  bool flag = false;
  REQUIRE(r.u64(a));
  REQUIRE(r.str(b, 16));
  REQUIRE(r.i64(c));
  REQUIRE(r.array(nested, 2));
  std::uint64_t big = 0;
  std::span<const std::uint8_t> empty;
  CHECK(nested.u64(big));
  CHECK(big == ~std::uint64_t{0});
  CHECK(nested.bin(empty, 0));
  CHECK(nested.remaining() == 0);
  REQUIRE(r.boolean(flag));
  CHECK(a == 5);
  CHECK(b == "hello");
  CHECK(c == -3);
  CHECK(flag);
  CHECK_FALSE(r.skip());  // exhausted
  CHECK_FALSE(r.ok());

  Reader r2(out, 5);
  std::string_view s;
  CHECK_FALSE(r2.str(s, 16));  // first field is an int
  Reader r3(out, 5);
  std::uint8_t small = 0;
  CHECK(r3.u(small));
  CHECK(r3.skip());
  std::uint64_t negative = 0;
  CHECK_FALSE(r3.u64(negative));  // -3 is not unsigned
  Reader r4(out, 6);  // too few elements
  CHECK_FALSE(r4.ok());
  Reader r5(out, 5);
  std::string_view too_long;
  CHECK(r5.skip());
  CHECK_FALSE(r5.str(too_long, 4));  // longer than allowed

  // Every truncation and a trailing byte are refused (at the latest by at_end()).
  auto whole = [](std::span<const std::uint8_t> bytes) {
    Reader all(bytes, 0);
    return all.ok() && all.at_end();
  };
  CHECK(whole(out));
  for (std::size_t n = 0; n < out.size(); ++n) CHECK_FALSE(whole(std::span(out.data(), n)));
  auto trailing = out;
  trailing.push_back(0xc0);
  CHECK_FALSE(whole(trailing));
  // A nested array read out of order: closed once its parent moves on.
  Reader r6(out, 5);
  Reader early;
  CHECK(r6.skip());
  CHECK(r6.skip());
  CHECK(r6.skip());
  CHECK(r6.array(early, 2));
  bool last = false;
  CHECK(r6.boolean(last));
  std::uint64_t late = 0;
  CHECK_FALSE(early.u64(late));
  // Nesting deeper than the limit, and the reserved byte 0xc1.
  std::vector<std::uint8_t> deep(Reader::kMaxDepth + 1, 0x91);
  deep.push_back(0x01);
  CHECK_FALSE(whole(deep));
  std::vector<std::uint8_t> reserved = {0x91, 0xc1};
  CHECK_FALSE(whole(reserved));
  // An array32 header claiming 4 billion elements with one behind it.
  std::vector<std::uint8_t> huge = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01};
  CHECK_FALSE(Reader(huge, 0).ok());
  // Random bytes never crash.
  apiary::Rng rng(7);
  for (int i = 0; i < 20000; ++i) {
    std::vector<std::uint8_t> junk(rng.uniform(24));
    for (auto& x : junk) x = static_cast<std::uint8_t>(rng.next());
    Reader j(junk, 0);
    while (j.remaining() > 0) {
      Reader inner;
      if (!j.array(inner)) break;
      std::uint64_t v = 0;
      (void)inner.u64(v);
    }
    (void)j.at_end();
  }
}
