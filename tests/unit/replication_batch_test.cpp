// Batching on the data channel: the messages one input produces for one peer travel in one
// data_batch envelope (within the configured bounds), the receiver handles each as if it had
// come alone, and hostile batches are dropped and counted.
#include <catch2/catch.hpp>
#include <msgpack.hpp>

#include "apiary/wire/envelope.hpp"
#include "apiary/wire/msgpack_codec.hpp"
#include "support/replication_harness.hpp"

using namespace apiary;
using namespace apiary::test;

namespace {

// A cluster of three with views set and the first view's handoff markers exchanged, so that
// the counters below see only the test's traffic.
ReplCluster settled(replication::ReplicationConfig config) {
  ReplCluster c(3, std::move(config));
  c.set_views(c.all());
  c.run_for(std::chrono::seconds(1));
  for (std::size_t i = 0; i < 3; ++i) REQUIRE(!c.rep(i).handoff_pending());
  return c;
}

replication::ReplicationStats since(const replication::ReplicationStats& now,
                                    const replication::ReplicationStats& before) {
  replication::ReplicationStats d = now;
  d.messages_sent -= before.messages_sent;
  d.envelopes_sent -= before.envelopes_sent;
  d.batches_sent -= before.batches_sent;
  d.batched_messages_received -= before.batched_messages_received;
  d.replica_merges -= before.replica_merges;
  return d;
}

// Writes `count` keys on node 0 of `c` in one input (no pump in between), like a pipelined
// client's batch; returns the completion ids.
std::vector<std::uint64_t> write_many(ReplCluster& c, int count) {
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < count; ++i) {
    const std::string key = "key" + std::to_string(i);
    REQUIRE(c.store(0).put_local(key, "v" + std::to_string(i), c.wall()).ok());
    const std::uint64_t id = 1000 + static_cast<std::uint64_t>(i);
    c.rep(0).replicate(c.now(), c.wall(), key, 0, id);
    ids.push_back(id);
  }
  return ids;
}

std::vector<std::uint8_t> envelope(wire::MessageType type, std::span<const std::uint8_t> payload) {
  return wire::encode_envelope({"apiary", type, "n9", "10.0.0.9:1"}, payload);
}

// A data_batch payload of the given [type, payload] elements.
std::vector<std::uint8_t> batch_payload(
    const std::vector<std::pair<std::uint16_t, std::vector<std::uint8_t>>>& elements) {
  std::vector<std::uint8_t> out;
  wire::VectorSink sink(out);
  wire::Packer p(sink);
  p.pack_array(static_cast<std::uint32_t>(elements.size()));
  for (const auto& [type, bytes] : elements) {
    p.pack_array(2);
    p.pack(type);
    wire::pack_bin(p, bytes);
  }
  return out;
}

}  // namespace

TEST_CASE("writes to the same replicas in one input travel in one envelope per replica",
          "[replication][batch]") {
  auto c = settled(small_config());
  std::vector<replication::ReplicationStats> before;
  for (std::size_t i = 0; i < 3; ++i) before.push_back(c.rep(i).stats());
  const auto ids = write_many(c, 50);
  c.run_for(std::chrono::milliseconds(50));

  const auto coordinator = since(c.rep(0).stats(), before[0]);
  CHECK(coordinator.messages_sent == 100);  // 50 replica writes to each of two replicas
  CHECK(coordinator.envelopes_sent == 2);
  CHECK(coordinator.batches_sent == 2);
  for (std::size_t replica : {1, 2}) {
    const auto st = since(c.rep(replica).stats(), before[replica]);
    CHECK(st.batched_messages_received == 50);
    CHECK(st.replica_merges == 50);
    CHECK(st.envelopes_sent == 1);  // the 50 acknowledgements, together
    CHECK(st.messages_sent == 1);   // in one acks message
  }
  for (const auto id : ids) {
    const auto done = c.wait(0, id);
    REQUIRE(done.has_value());
    CHECK(done->status.ok());
  }
  for (std::size_t i = 0; i < 3; ++i) CHECK(c.value(i, "key49") == "v49");
}

TEST_CASE("a batch holds at most max_batch_messages messages", "[replication][batch]") {
  auto config = small_config();
  config.max_batch_messages = 8;
  auto c = settled(config);
  const auto before = c.rep(0).stats();
  const auto ids = write_many(c, 50);
  c.run_for(std::chrono::milliseconds(50));
  CHECK(since(c.rep(0).stats(), before).envelopes_sent == 2 * 7);  // ceil(50 / 8) per replica
  for (const auto id : ids) CHECK(c.wait(0, id)->status.ok());
}

TEST_CASE("a batch holds at most batch_max_bytes bytes, a larger message goes alone",
          "[replication][batch]") {
  auto config = small_config();
  config.batch_max_bytes = 4096;
  auto c = settled(config);
  const auto before = c.rep(0).stats();
  const std::string big(10000, 'x');
  REQUIRE(c.store(0).put_local("big", big, c.wall()).ok());
  c.rep(0).replicate(c.now(), c.wall(), "big", 0, 1);
  const auto ids = write_many(c, 20);
  c.run_for(std::chrono::milliseconds(50));
  const auto st = since(c.rep(0).stats(), before);
  CHECK(st.messages_sent == 42);
  CHECK(st.envelopes_sent == 4);  // per replica: the big value alone, then 20 small together
  CHECK(st.batches_sent == 2);
  CHECK(c.wait(0, 1)->status.ok());
  for (const auto id : ids) CHECK(c.wait(0, id)->status.ok());
  CHECK(c.value(2, "big") == big);
}

TEST_CASE("a lone message travels in a plain envelope", "[replication][batch]") {
  auto c = settled(small_config());
  const auto b0 = c.rep(0).stats();
  const auto b1 = c.rep(1).stats();
  const auto id = c.put(0, "solo", "v");
  REQUIRE(c.wait(0, id)->status.ok());
  CHECK(since(c.rep(0).stats(), b0).batches_sent == 0);
  CHECK(since(c.rep(1).stats(), b1).batched_messages_received == 0);
}

TEST_CASE("hostile data batches are dropped and counted", "[replication][batch]") {
  ReplCluster c(3, small_config());
  c.set_views(c.all());
  const auto read = [](std::string_view key) {
    std::vector<std::uint8_t> out;
    wire::VectorSink sink(out);
    wire::Packer p(sink);
    p.pack_array(3);
    p.pack(2);  // RequestKind::read
    p.pack(7);
    wire::pack_bin(p, std::span<const std::uint8_t>(
                          reinterpret_cast<const std::uint8_t*>(key.data()), key.size()));
    return out;
  };
  const std::uint16_t data_request = 32;
  const std::uint16_t batch = 40;
  const auto& st = c.rep(1).stats();

  SECTION("one element only, not an array, garbage") {
    c.inject(1,
             envelope(wire::MessageType::data_batch, batch_payload({{data_request, read("k")}})));
    const std::vector<std::uint8_t> garbage{0xc1, 0x00, 0xff};
    c.inject(1, envelope(wire::MessageType::data_batch, garbage));
    const std::vector<std::uint8_t> number{0x05};
    c.inject(1, envelope(wire::MessageType::data_batch, number));
    CHECK(st.malformed_dropped == 3);
  }
  SECTION("a nested batch, a membership type or an unknown type") {
    const auto inner = batch_payload({{data_request, read("k")}, {data_request, read("j")}});
    c.inject(1, envelope(wire::MessageType::data_batch,
                         batch_payload({{data_request, read("k")}, {batch, inner}})));
    c.inject(1, envelope(wire::MessageType::data_batch,
                         batch_payload({{data_request, read("k")}, {1, read("k")}})));
    c.inject(1, envelope(wire::MessageType::data_batch,
                         batch_payload({{data_request, read("k")}, {127, read("k")}})));
    CHECK(st.unsupported_dropped == 3);
  }
  SECTION("more elements than max_batch_messages") {
    std::vector<std::pair<std::uint16_t, std::vector<std::uint8_t>>> many(
        small_config().max_batch_messages + 1, {data_request, read("k")});
    c.inject(1, envelope(wire::MessageType::data_batch, batch_payload(many)));
    CHECK(st.malformed_dropped == 1);
  }
  SECTION("a malformed element spoils only itself") {
    const std::vector<std::uint8_t> bad{0x93, 0x02};  // truncated read request
    c.inject(1, envelope(wire::MessageType::data_batch,
                         batch_payload({{data_request, bad}, {data_request, read("k")}})));
    CHECK(st.malformed_dropped == 1);
    CHECK(st.batched_messages_received == 2);
  }
  SECTION("acknowledgement lists nobody asked for, or in the wrong place") {
    const auto acks = [](std::uint64_t id, std::uint8_t code, std::vector<std::uint64_t> ids) {
      std::vector<std::uint8_t> out;
      wire::VectorSink sink(out);
      wire::Packer p(sink);
      p.pack_array(4);
      p.pack(6);  // RequestKind::acks
      p.pack(id);
      p.pack(code);
      p.pack(ids);
      return out;
    };
    const std::uint16_t data_response = 33;
    c.inject(1, envelope(wire::MessageType::data_response, acks(0, 0, {12345, 67890})));
    CHECK(st.unmatched_dropped == 2);
    c.inject(1, envelope(wire::MessageType::data_response, acks(5, 0, {1, 2})));  // id not 0
    c.inject(1, envelope(wire::MessageType::data_response, acks(0, 3, {1, 2})));  // not ok
    c.inject(1, envelope(wire::MessageType::data_request, acks(0, 0, {1, 2})));   // a request
    CHECK(st.malformed_dropped == 3);
    c.inject(1, envelope(wire::MessageType::data_batch,
                         batch_payload({{data_response, acks(0, 0, {7})},
                                        {data_response, acks(0, 0, {8})}})));
    CHECK(st.unmatched_dropped == 4);
  }
  // The node still serves.
  const auto id = c.put(1, "after", "v");
  CHECK(c.wait(1, id)->status.ok());
}

TEST_CASE("the keys of one command replicate together: one message and one ack per replica",
          "[replication][batch]") {
  auto c = settled(small_config());
  std::vector<std::string> keys;
  for (int i = 0; i < 10; ++i) {
    keys.push_back("multi" + std::to_string(i));
    REQUIRE(c.store(0).put_local(keys.back(), "v" + std::to_string(i), c.wall()).ok());
  }
  const std::vector<std::string_view> views(keys.begin(), keys.end());
  const auto before = c.rep(0).stats();
  REQUIRE(c.rep(0).replicate_together(c.now(), c.wall(), views, 0, 77));
  const auto done = c.wait(0, 77);
  REQUIRE(done.has_value());
  CHECK(done->status.ok());
  c.run_for(std::chrono::milliseconds(50));
  const auto st = since(c.rep(0).stats(), before);
  CHECK(st.messages_sent == 2);  // one per replica, for all ten keys
  CHECK(c.rep(0).stats().write_acks - before.write_acks == 2);
  for (std::size_t i = 0; i < 3; ++i) {
    for (int k = 0; k < 10; ++k) CHECK(c.value(i, keys[k]) == "v" + std::to_string(k));
  }
  CHECK(c.rep(0).pending_operations() == 0);
}

TEST_CASE("keys with different owners, or an owner down, do not replicate together",
          "[replication][batch]") {
  ReplCluster c(5, small_config());
  c.set_views(c.all());
  c.run_for(std::chrono::seconds(1));
  const auto& view = c.rep(0).view();
  const auto a = find_key(view, [](const auto& o) { return o[0] == "n0" && o[1] == "n1"; });
  const auto b = find_key(view, [](const auto& o) { return o[0] == "n0" && o[1] == "n3"; });
  for (const auto& k : {a, b}) REQUIRE(c.store(0).put_local(k, "v", c.wall()).ok());
  const std::vector<std::string_view> mixed{a, b};
  CHECK_FALSE(c.rep(0).replicate_together(c.now(), c.wall(), mixed, 0, 1));
  const std::vector<std::string_view> same{a, a};
  CHECK(c.rep(0).replicate_together(c.now(), c.wall(), same, 0, 2));
  c.set_views(c.all(), {1});
  CHECK_FALSE(c.rep(0).replicate_together(c.now(), c.wall(), same, 0, 3));
  CHECK(c.wait(0, 2)->status.ok());
}
