// Hostile and broken input: every kind of bad datagram is dropped, counted in the right
// stats() bucket, and changes nothing else. Never a throw, never a crash.
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "apiary/base/rng.hpp"
#include "apiary/wire/envelope.hpp"
#include "apiary/wire/msgpack_codec.hpp"
#include "support/swim_harness.hpp"

using namespace apiary;
using namespace apiary::gossip;
using apiary::test::SwimCluster;

namespace {

using Bytes = std::vector<std::uint8_t>;

// A real message: the push-pull a fresh node sends to its seed when it joins.
Bytes captured_push_pull(const std::string& cluster) {
  SwimConfig config;
  config.cluster_name = cluster;
  Swim other(config, LocalNode{"other", "other:7946", {}}, Rng(7), TimePoint{});
  other.join(TimePoint{}, {"victim:7946"});
  auto out = other.poll_send();
  REQUIRE(out.has_value());
  return out->bytes;
}

Bytes envelope(wire::MessageType type, const Bytes& payload, std::string_view cluster = "apiary") {
  return wire::encode_envelope({cluster, type, "mallory", "mallory:1"}, payload);
}

Bytes payload(const std::function<void(wire::Packer&)>& write) {
  Bytes out;
  wire::VectorSink sink(out);
  wire::Packer p(sink);
  write(p);
  return out;
}

struct Victim {
  Swim swim{SwimConfig{}, LocalNode{"victim", "victim:7946", {}}, Rng(1), TimePoint{}};
  Victim() {
    swim.join(TimePoint{}, {});
    while (swim.poll_event()) {
    }
  }
  void feed(const Bytes& bytes) { swim.handle_message(TimePoint{}, bytes); }
  // Nothing but counters changed: no member learned, nothing sent, no event.
  void check_untouched() {
    CHECK(swim.member_count() == 1);
    CHECK_FALSE(swim.poll_send().has_value());
    CHECK_FALSE(swim.poll_event().has_value());
  }
};

}  // namespace

TEST_CASE("a valid push-pull is accepted (baseline for the cases below)", "[swim][malformed]") {
  Victim v;
  v.feed(captured_push_pull("apiary"));
  CHECK(v.swim.member_count() == 2);
  CHECK(v.swim.poll_send().has_value());  // the reply
  CHECK(v.swim.stats().malformed_dropped == 0);
}

TEST_CASE("random bytes are dropped as malformed", "[swim][malformed]") {
  Victim v;
  Rng rng(99);
  for (int i = 0; i < 2000; ++i) {
    Bytes junk(rng.uniform(200));
    for (auto& b : junk) b = static_cast<std::uint8_t>(rng.next());
    v.feed(junk);
  }
  const auto& s = v.swim.stats();
  CHECK(s.messages_received == 2000);
  // Almost all junk fails to decode; the rare accident that looks like an envelope of an
  // unknown version/type or cluster lands in those buckets instead.
  CHECK(s.malformed_dropped + s.unsupported_dropped + s.foreign_cluster_dropped == 2000);
  CHECK(s.malformed_dropped > 1900);
  v.check_untouched();
}

TEST_CASE("every truncation of a valid message is dropped as malformed", "[swim][malformed]") {
  Victim v;
  const Bytes good = captured_push_pull("apiary");
  for (std::size_t len = 0; len < good.size(); ++len) {
    v.feed(Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(len)));
  }
  CHECK(v.swim.stats().malformed_dropped == good.size());
  v.check_untouched();
}

TEST_CASE("flipped bytes in a valid message never crash", "[swim][malformed]") {
  Victim v;
  const Bytes good = captured_push_pull("apiary");
  Rng rng(5);
  for (int i = 0; i < 3000; ++i) {
    Bytes bad = good;
    for (int k = 0; k < 3; ++k)
      bad[rng.uniform(bad.size())] = static_cast<std::uint8_t>(rng.next());
    v.feed(bad);
  }
  const auto& s = v.swim.stats();
  CHECK(s.messages_received == 3000);
  CHECK(s.malformed_dropped > 0);
}

TEST_CASE("a message for another cluster is dropped and counted", "[swim][malformed]") {
  Victim v;
  v.feed(captured_push_pull("someone-else"));
  CHECK(v.swim.stats().foreign_cluster_dropped == 1);
  CHECK(v.swim.stats().malformed_dropped == 0);
  v.check_untouched();
}

TEST_CASE("unknown versions, unknown types and data-layer types are unsupported",
          "[swim][malformed]") {
  Victim v;
  // Version 2.
  v.feed(payload([](wire::Packer& p) {
    p.pack_array(6);
    p.pack_uint8(wire::kProtocolVersion + 1);
    wire::pack_str(p, "apiary");
    p.pack_uint16(1);
    wire::pack_str(p, "mallory");
    wire::pack_str(p, "mallory:1");
    wire::pack_bin(p, {});
  }));
  v.feed(envelope(static_cast<wire::MessageType>(31), {}));   // unassigned number
  v.feed(envelope(wire::MessageType::data_request, {0x90}));  // not membership traffic
  v.feed(envelope(wire::MessageType::handoff_batch, {0x90}));
  CHECK(v.swim.stats().unsupported_dropped == 4);
  CHECK(v.swim.stats().malformed_dropped == 0);
  v.check_untouched();
}

// A gossip message carrying one 4-field update [kind, name, incarnation, str].
Bytes gossip_with(std::uint8_t kind, const std::string& name, const std::string& str) {
  return envelope(wire::MessageType::gossip, payload([&](wire::Packer& p) {
                    p.pack_array(1);
                    p.pack_array(1);
                    p.pack_array(4);
                    p.pack_uint8(kind);
                    wire::pack_str(p, name);
                    p.pack_uint64(1);
                    wire::pack_str(p, str);
                  }));
}

// A push-pull listing one alive member with the given incarnation and tags (in this order).
Bytes push_pull_with(std::uint64_t incarnation,
                     const std::vector<std::pair<std::string, std::string>>& tags) {
  return envelope(wire::MessageType::push_pull, payload([&](wire::Packer& p) {
                    p.pack_array(2);
                    p.pack_false();
                    p.pack_array(1);
                    p.pack_array(5);
                    p.pack_uint8(0);
                    wire::pack_str(p, "x");
                    p.pack_uint64(incarnation);
                    wire::pack_str(p, "x:1");
                    p.pack_array(4);
                    for (int k = 0; k < 3; ++k) wire::pack_str(p, "");
                    p.pack_map(static_cast<std::uint32_t>(tags.size()));
                    for (const auto& [key, value] : tags) {
                      wire::pack_str(p, key);
                      wire::pack_str(p, value);
                    }
                  }));
}

TEST_CASE("well-formed envelopes with invalid payloads are malformed", "[swim][malformed]") {
  Victim v;
  // The baseline shapes are accepted: a valid alive-less update and a valid push-pull.
  v.feed(gossip_with(1, "x", "y"));
  v.feed(push_pull_with(1, {{"a", "2"}, {"b", "1"}}));
  REQUIRE(v.swim.stats().malformed_dropped == 0);
  REQUIRE(v.swim.member_count() == 2);
  while (v.swim.poll_send()) {
  }
  while (v.swim.poll_event()) {
  }

  Victim fresh;
  const std::vector<Bytes> bad = {
      envelope(wire::MessageType::ping, {}),                             // empty payload
      envelope(wire::MessageType::ping, {0xc1}),                         // reserved byte
      envelope(wire::MessageType::gossip, payload([](wire::Packer& p) {  // updates not a list
                 p.pack_array(1);
                 p.pack_uint8(3);
               })),
      gossip_with(9, "x", "y"),                                       // unknown kind
      gossip_with(0, "x", "x:1"),                                     // alive without meta
      gossip_with(1, "", "y"),                                        // empty member name
      gossip_with(1, std::string(300, 'n'), "y"),                     // name too long
      envelope(wire::MessageType::ack, payload([](wire::Packer& p) {  // seq beyond 32 bits
                 p.pack_array(2);
                 p.pack_uint64(std::uint64_t{1} << 40);
                 p.pack_array(0);
               })),
      envelope(wire::MessageType::ack, payload([](wire::Packer& p) {  // extra field
                 p.pack_array(3);
                 p.pack_uint32(1);
                 p.pack_array(0);
                 p.pack_nil();
               })),
      push_pull_with(1, {{"b", "1"}, {"a", "2"}}),  // unsorted tags
      push_pull_with(~std::uint64_t{0}, {}),        // incarnation beyond 2^62
  };
  for (const auto& b : bad) fresh.feed(b);
  CHECK(fresh.swim.stats().malformed_dropped == bad.size());
  fresh.check_untouched();
}

TEST_CASE("a push-pull longer than max_members_per_message is rejected", "[swim][malformed]") {
  SwimConfig small;
  small.max_members_per_message = 3;
  Swim swim(small, LocalNode{"victim", "victim:7946", {}}, Rng(1), TimePoint{});
  SwimCluster c(3);
  c.add_cluster(5);
  c.run_for(10s);
  swim.handle_message(c.now(), captured_push_pull("apiary"));  // 1 member: fine
  CHECK(swim.member_count() == 2);
  // A 5-member list from a real node.
  c.swim(0).handle_message(c.now(),
                           envelope(wire::MessageType::push_pull, payload([](wire::Packer& p) {
                                      p.pack_array(2);
                                      p.pack_false();
                                      p.pack_array(0);
                                    })));
  auto reply = c.swim(0).poll_send();
  REQUIRE(reply.has_value());
  swim.handle_message(c.now(), reply->bytes);
  CHECK(swim.stats().malformed_dropped == 1);
  CHECK(swim.member_count() == 2);
}
