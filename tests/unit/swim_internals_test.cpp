// The gossip core's compact containers: the broadcast queue (order, retransmit limit, cap,
// pinned updates, replacement), interned values (one copy per distinct value, freed with the
// last handle, safe across threads) and the member table (find, erase, slot reuse).
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "../../gossip/swim/broadcast_queue.hpp"
#include "../../gossip/swim/codec.hpp"
#include "../../gossip/swim/interned.hpp"
#include "../../gossip/swim/member_table.hpp"
#include "apiary/gossip/swim.hpp"
#include "apiary/wire/envelope.hpp"
#include "apiary/wire/msgpack_codec.hpp"

using namespace apiary;
using namespace apiary::gossip;
using namespace apiary::gossip::detail;
using namespace std::chrono_literals;

namespace {

std::vector<std::uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

// Everything one take() with a large budget returns, as a string.
std::string take_all(BroadcastQueue& q, std::uint32_t limit) {
  std::vector<std::uint8_t> out;
  q.take(1 << 20, limit, out);
  return {out.begin(), out.end()};
}

}  // namespace

TEST_CASE("broadcast queue: fewest transmits first, newest first, each sent `limit` times",
          "[swim][internals]") {
  BroadcastQueue q(16);
  q.push("a", bytes("AAAAAAAA"));
  q.push("b", bytes("BBBBBBBB"));
  CHECK(take_all(q, 3) == "BBBBBBBBAAAAAAAA");
  q.push("c", bytes("CCCCCCCC"));  // never sent: ahead of the others
  CHECK(take_all(q, 3) == "CCCCCCCCBBBBBBBBAAAAAAAA");
  CHECK(take_all(q, 3) == "CCCCCCCCBBBBBBBBAAAAAAAA");  // a and b reach 3 sends here
  CHECK(take_all(q, 3) == "CCCCCCCC");
  CHECK(q.empty());
  // A small budget takes what fits, in order.
  q.push("d", bytes("DDDDDDDD"));
  q.push("e", bytes("EEEEEEEEEEEE"));
  std::vector<std::uint8_t> out;
  CHECK(q.take(10, 5, out) == 1);  // the newer "E..." (12) does not fit; "D..." (8) does
  CHECK(std::string(out.begin(), out.end()) == "DDDDDDDD");
  out.clear();
  CHECK(q.take(12, 5, out) == 1);  // "E..." is now the least sent
  CHECK(std::string(out.begin(), out.end()) == "EEEEEEEEEEEE");
}

TEST_CASE("broadcast queue: a newer update replaces the queued one for the same member",
          "[swim][internals]") {
  BroadcastQueue q(16);
  q.push("a", bytes("old-aaaa"));
  q.push("b", bytes("BBBBBBBB"));
  q.push("a", bytes("new-aaaa"));
  CHECK(q.size() == 2);
  CHECK(q.contains("a"));
  CHECK(take_all(q, 1) == "new-aaaaBBBBBBBB");
  CHECK_FALSE(q.contains("a"));
}

TEST_CASE("broadcast queue: past the cap the most-sent update goes, pinned ones stay",
          "[swim][internals]") {
  BroadcastQueue q(3);
  q.push("self", bytes("SSSSSSSS"), /*pinned=*/true);
  q.push("a", bytes("AAAAAAAA"));
  take_all(q, 10);  // self and a sent once
  q.push("b", bytes("BBBBBBBB"));
  q.push("c", bytes("CCCCCCCC"));  // over the cap: the oldest most-sent one that is not pinned
  CHECK(q.size() == 3);
  CHECK(q.contains("self"));
  CHECK_FALSE(q.contains("a"));
  CHECK(q.contains("b"));
  CHECK(q.contains("c"));
}

TEST_CASE("broadcast queue: thousands of members, drained, then reused", "[swim][internals]") {
  BroadcastQueue q(5000);
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 4000; ++i) q.push("n" + std::to_string(i), bytes("XXXXXXXX"));
    CHECK(q.size() == 4000);
    for (int i = 0; i < 4000; i += 2) q.push("n" + std::to_string(i), bytes("YYYYYYYY"));
    CHECK(q.size() == 4000);
    std::size_t sent = 0;
    while (!q.empty()) {
      std::vector<std::uint8_t> out;
      sent += q.take(1400, 2, out);
    }
    CHECK(sent == 8000);
  }
}

TEST_CASE("interned strings: one copy per value, freed with the last handle", "[swim][internals]") {
  auto a = InternedString::of("member-1");
  auto b = InternedString::of(std::string("member-") + "1");
  auto c = InternedString::of("member-2");
  CHECK(a == b);
  CHECK(a.get() == b.get());
  CHECK_FALSE(a == c);
  CHECK(*a == "member-1");
  CHECK(a.hash() == std::hash<std::string_view>{}("member-1"));
  const void* first = a.get();
  a = {};
  b = {};
  CHECK_FALSE(static_cast<bool>(a));
  auto again = InternedString::of("member-1");
  CHECK(*again == "member-1");
  (void)first;  // may or may not be the same address; only the value is promised
}

TEST_CASE("interned strings: interning and releasing from several threads", "[swim][internals]") {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t] {
      std::vector<InternedString> held;
      for (int i = 0; i < 20000; ++i) {
        held.push_back(InternedString::of("shared-" + std::to_string(i % 50)));
        if (held.size() > 16) held.erase(held.begin() + (i + t) % 16);
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(*InternedString::of("shared-7") == "shared-7");
}

TEST_CASE("member table: find, erase and reuse of slots after recycling", "[swim][internals]") {
  MemberTable t;
  std::vector<Slot> slots;
  for (int i = 0; i < 1000; ++i) {
    MemberRecord r;
    r.set_name("n" + std::to_string(i));
    r.set_addr("n" + std::to_string(i) + ":7946");
    slots.push_back(t.insert(std::move(r)));
  }
  CHECK(t.size() == 1000);
  CHECK(t.find("n500") == slots[500]);
  CHECK(t.at(slots[500]).addr() == "n500:7946");
  for (int i = 0; i < 1000; i += 3) t.erase(slots[static_cast<std::size_t>(i)]);
  CHECK(t.find("n0") == kNoSlot);
  CHECK(t.find("n1") == slots[1]);
  CHECK(t.find("n999") == kNoSlot);
  // Erased slots are not reused before recycle_released().
  MemberRecord fresh;
  fresh.set_name("fresh");
  const Slot s = t.insert(std::move(fresh));
  CHECK(s == 1000);
  t.recycle_released();
  MemberRecord reused;
  reused.set_name("reused");
  CHECK(t.insert(std::move(reused)) < 1000);
  CHECK(t.find("fresh") == s);
  CHECK(sizeof(MemberRecord) <= 40);
}

namespace {

// A gossip message from "feeder" announcing member `name` alive.
std::vector<std::uint8_t> alive_message(const std::string& name) {
  std::vector<std::uint8_t> payload;
  wire::VectorSink sink(payload);
  wire::Packer p(sink);
  p.pack_array(1);
  p.pack_array(1);
  p.pack_array(5);
  p.pack(std::uint8_t{0});
  p.pack(name);
  p.pack(std::uint64_t{1});
  p.pack(name + ":7946");
  p.pack_array(4);
  p.pack(std::string());
  p.pack(std::string());
  p.pack(std::string());
  p.pack_map(0);
  return wire::encode_envelope({"apiary", wire::MessageType::gossip, "feeder", "feeder:1"},
                               payload);
}

// The number of entries in the push-pull a node knowing 40 members sends when it joins.
std::size_t push_pull_entries(const SwimConfig& config, std::size_t* bytes) {
  Swim swim(config, LocalNode{"self", "self:7946", {}}, Rng(5), TimePoint{});
  for (int i = 0; i < 40; ++i)
    swim.handle_message(TimePoint{}, alive_message("m" + std::to_string(i)));
  REQUIRE(swim.member_count() == 41);
  while (swim.poll_send()) {
  }
  swim.join(TimePoint{}, {"seed:1"});
  auto out = swim.poll_send();
  REQUIRE(out.has_value());
  *bytes = out->bytes.size();
  auto env = wire::decode_envelope(out->bytes, "apiary");
  REQUIRE(env.ok());
  Message msg;
  REQUIRE(decode_message(env->header.type, env->payload, 1000, msg).ok());
  return msg.updates.size();
}

}  // namespace

TEST_CASE("a push-pull is cut to the message size and member count limits and still decodes",
          "[swim][internals][push_pull]") {
  std::size_t bytes = 0;
  CHECK(push_pull_entries(SwimConfig{}, &bytes) == 41);
  SwimConfig by_count;
  by_count.max_members_per_message = 7;
  CHECK(push_pull_entries(by_count, &bytes) == 7);
  SwimConfig by_size;
  by_size.max_message_bytes = 500;
  const std::size_t cut = push_pull_entries(by_size, &bytes);
  CHECK(cut > 5);
  CHECK(cut < 41);
  CHECK(bytes <= 500);
}
