// Bitmap commands run in-process (no sockets), for what a differential test against
// redis-server cannot show: bitmaps written at two coordinators at once, which resolve as
// docs/datatypes.md ("Bitmaps") says -- by last writer, not bitwise. Byte-for-byte agreement
// with Redis is tests/integration/bitmap_differential_test.cpp.
#include <catch2/catch.hpp>
#include <string>

#include "apiary/data/codec.hpp"
#include "apiary/store/store.hpp"
#include "resp_test_support.hpp"

namespace {

using namespace apiary;
using resp_test::Harness;

store::StoreConfig config_for(std::uint64_t node) {
  store::StoreConfig c;
  c.self = NodeId{node};
  return c;
}

// Ships `key` from one node's store to another's as replication does (encoded and decoded).
void ship(Harness& from, Harness& to, std::string_view key) {
  auto v = from.store.export_entry(key, from.wall);
  REQUIRE(v);
  auto decoded = data::decode_dvv(data::encode_dvv(v->version));
  REQUIRE(decoded.ok());
  REQUIRE(to.store.merge(key, decoded.value(), v->expiry, to.wall).ok());
}

std::size_t siblings(Harness& h, std::string_view key) {
  auto v = h.store.export_entry(key, h.wall);
  REQUIRE(v);
  return v->version.siblings().size();
}

std::string bulk(std::string_view s) {
  return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}

}  // namespace

TEST_CASE("Concurrent SETBITs at two coordinators resolve by last writer, not bitwise",
          "[resp][bitmap]") {
  Harness a(config_for(1));
  Harness b(config_for(2));
  b.wall = a.wall + std::chrono::milliseconds(10);  // b's writes are the later ones
  REQUIRE(a.send({"SETBIT", "k", "0", "1"}) == ":0\r\n");
  ship(a, b, "k");
  // Each coordinator sets another bit of the string both saw ("\x80").
  REQUIRE(a.send({"SETBIT", "k", "1", "1"}) == ":0\r\n");
  REQUIRE(b.send({"SETBIT", "k", "2", "1"}) == ":0\r\n");
  ship(a, b, "k");
  ship(b, a, "k");
  for (Harness* h : {&a, &b}) {
    CHECK(siblings(*h, "k") == 2);
    CHECK(h->send({"GET", "k"}) == bulk("\xa0"));  // b's string: bits 0 and 2
    CHECK(h->send({"GETBIT", "k", "1"}) == ":0\r\n");
    CHECK(h->send({"BITCOUNT", "k"}) == ":2\r\n");
    CHECK(h->send({"BITFIELD_RO", "k", "GET", "u8", "0"}) == "*1\r\n:160\r\n");
  }
  // The next bit write builds on the string reads see and replaces both versions: a's bit 1
  // is gone.
  REQUIRE(a.send({"SETBIT", "k", "7", "1"}) == ":0\r\n");
  CHECK(siblings(a, "k") == 1);
  CHECK(a.send({"GET", "k"}) == bulk("\xa1"));
  ship(a, b, "k");
  CHECK(siblings(b, "k") == 1);
  CHECK(b.send({"GET", "k"}) == bulk("\xa1"));
}

TEST_CASE("A SETBIT concurrent with a DEL or an INCR survives the merge", "[resp][bitmap]") {
  Harness a(config_for(1));
  Harness b(config_for(2));
  SECTION("DEL") {
    REQUIRE(a.send({"SET", "k", "x"}) == "+OK\r\n");
    ship(a, b, "k");
    a.wall = a.wall + std::chrono::milliseconds(10);  // the delete is the later write, and still loses
    REQUIRE(a.send({"DEL", "k"}) == ":1\r\n");
    REQUIRE(b.send({"SETBIT", "k", "15", "1"}) == ":0\r\n");
    ship(a, b, "k");
    ship(b, a, "k");
    for (Harness* h : {&a, &b}) CHECK(h->send({"GET", "k"}) == bulk(std::string("x\x01", 2)));
  }
  SECTION("INCR") {
    REQUIRE(a.send({"INCR", "k"}) == ":1\r\n");
    ship(a, b, "k");
    REQUIRE(a.send({"INCRBY", "k", "5"}) == ":6\r\n");
    REQUIRE(b.send({"SETBIT", "k", "6", "1"}) == ":0\r\n");  // "1" (0x31) becomes "3"
    ship(a, b, "k");
    ship(b, a, "k");
    for (Harness* h : {&a, &b}) {
      CHECK(h->send({"GET", "k"}) == bulk("3"));
      CHECK(h->send({"TYPE", "k"}) == "+string\r\n");
    }
  }
}

TEST_CASE("BITFIELD and BITOP write one new version at the coordinator", "[resp][bitmap]") {
  Harness h(config_for(1));
  REQUIRE(h.send({"SET", "{b}k", "ab", "PX", "100000"}) == "+OK\r\n");
  REQUIRE(h.send({"BITFIELD", "{b}k", "INCRBY", "u8", "#0", "1", "SET", "u8", "#1", "0"}) ==
          "*2\r\n:98\r\n:98\r\n");
  CHECK(siblings(h, "{b}k") == 1);
  CHECK(h.send({"GET", "{b}k"}) == bulk(std::string("b\0", 2)));
  CHECK(h.send({"PTTL", "{b}k"}) == ":100000\r\n");  // kept, as in Redis
  REQUIRE(h.send({"BITOP", "NOT", "{b}k", "{b}k"}) == ":2\r\n");
  CHECK(h.send({"GET", "{b}k"}) == bulk("\x9d\xff"));
  CHECK(h.send({"PTTL", "{b}k"}) == ":-1\r\n");  // BITOP replaces its destination like SET
  CHECK(siblings(h, "{b}k") == 1);
}
