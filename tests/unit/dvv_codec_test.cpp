// Encoded clocks and versions round-trip; hostile bytes are rejected with a Status.
#include <catch2/catch.hpp>
#include <vector>

#include "apiary/base/rng.hpp"
#include "apiary/data/codec.hpp"

using apiary::HlcTimestamp;
using apiary::NodeId;
using apiary::StatusCode;
using namespace apiary::data;

namespace {
std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
std::vector<std::uint8_t> pack(const std::function<void(apiary::wire::Packer&)>& fn) {
  std::vector<std::uint8_t> out;
  apiary::wire::VectorSink sink(out);
  apiary::wire::Packer p(sink);
  fn(p);
  return out;
}
}  // namespace

TEST_CASE("contexts and versions round-trip", "[dvv][codec]") {
  DvvSet x;
  x.update({}, NodeId{5}, HlcTimestamp{50}, std::string("bin\0ary", 7));
  DvvSet y;
  y.update({}, NodeId{3}, HlcTimestamp{40}, "");
  x.merge(y);
  const std::string ctx = encode_context(x.context());
  auto decoded = decode_context(bytes_of(ctx));
  REQUIRE(decoded.ok());
  CHECK(*decoded == x.context());
  const auto bytes = encode_dvv(x);
  auto back = decode_dvv(bytes);
  REQUIRE(back.ok());
  CHECK(*back == x);
  auto empty = decode_context(bytes_of(encode_context({})));
  INFO(empty.status().to_string());
  REQUIRE(empty.ok());
  CHECK(empty->empty());
}

TEST_CASE("hostile encoded clocks are rejected", "[dvv][codec]") {
  auto ctx = [](const std::vector<std::uint8_t>& b) { return decode_context(b).status().code(); };
  // Unsorted actors, duplicate actors, zero counters, odd length, wrong types.
  CHECK(ctx(pack([](auto& p) { p.pack_array(4), p.pack(2), p.pack(1), p.pack(1), p.pack(1); })) ==
        StatusCode::malformed);
  CHECK(ctx(pack([](auto& p) { p.pack_array(4), p.pack(1), p.pack(1), p.pack(1), p.pack(2); })) ==
        StatusCode::malformed);
  CHECK(ctx(pack([](auto& p) { p.pack_array(2), p.pack(1), p.pack(0); })) == StatusCode::malformed);
  CHECK(ctx(pack([](auto& p) { p.pack_array(3), p.pack(1), p.pack(1), p.pack(1); })) ==
        StatusCode::malformed);
  CHECK(ctx(pack([](auto& p) { p.pack_array(2), p.pack(-1), p.pack(1); })) ==
        StatusCode::malformed);
  CHECK(ctx(pack([](auto& p) { p.pack_map(0); })) == StatusCode::malformed);
  CHECK(ctx({}) == StatusCode::malformed);
  // Too many entries: refused before building anything.
  CHECK(ctx(pack([](auto& p) {
          p.pack_array(1000);
          for (int i = 0; i < 500; ++i) p.pack(i + 1), p.pack(1);
        })) == StatusCode::too_large);
  // An array header claiming 2^32-1 elements with nothing behind it.
  CHECK(ctx({0xdd, 0xff, 0xff, 0xff, 0xff}) != StatusCode::ok);
  // Trailing bytes.
  auto good = pack([](auto& p) { p.pack_array(2), p.pack(1), p.pack(1); });
  good.push_back(0xc0);
  CHECK(ctx(good) == StatusCode::malformed);

  auto dvv = [](const std::vector<std::uint8_t>& b) { return decode_dvv(b).status().code(); };
  // A sibling whose dot the clock does not cover.
  CHECK(dvv(pack([](auto& p) {
          p.pack_array(2);
          p.pack_array(3), p.pack(1), p.pack(1), p.pack(0);
          p.pack_array(5), p.pack(1), p.pack(2), p.pack(0), p.pack(0), p.pack_bin(0);
        })) == StatusCode::malformed);
  // A value kind this version does not know.
  CHECK(dvv(pack([](auto& p) {
          p.pack_array(2);
          p.pack_array(3), p.pack(1), p.pack(1), p.pack(0);
          p.pack_array(5), p.pack(1), p.pack(1), p.pack(0), p.pack(9), p.pack_bin(0);
        })) == StatusCode::malformed);
  // Value of the wrong type.
  CHECK(dvv(pack([](auto& p) {
          p.pack_array(2);
          p.pack_array(3), p.pack(1), p.pack(1), p.pack(0);
          p.pack_array(5), p.pack(1), p.pack(1), p.pack(0), p.pack(0), p.pack(7);
        })) == StatusCode::malformed);
  // Value larger than the limit.
  CodecLimits small;
  small.max_value_bytes = 4;
  auto big = pack([](auto& p) {
    p.pack_array(2);
    p.pack_array(3), p.pack(1), p.pack(1), p.pack(0);
    p.pack_array(5), p.pack(1), p.pack(1), p.pack(0), p.pack(0), p.pack_bin(8);
    p.pack_bin_body("12345678", 8);
  });
  CHECK(decode_dvv(big, small).status().code() == StatusCode::too_large);
  CHECK(decode_dvv(big).ok());
  // Random garbage never crashes.
  apiary::Rng rng(42);
  for (int i = 0; i < 5000; ++i) {
    std::vector<std::uint8_t> junk(rng.uniform(40));
    for (auto& b : junk) b = static_cast<std::uint8_t>(rng.next());
    (void)decode_dvv(junk);
    (void)decode_context(junk);
  }
  // Truncations of a valid encoding are all rejected.
  DvvSet x;
  x.update({}, NodeId{5}, HlcTimestamp{50}, "value");
  const auto bytes = encode_dvv(x);
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    CHECK_FALSE(decode_dvv(std::span(bytes.data(), n)).ok());
  }
}
