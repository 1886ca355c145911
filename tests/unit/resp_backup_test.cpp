// APIARY.EXPORT and APIARY.MERGE, the commands behind `apiary backup` and `apiary restore`:
// a store exported page by page and merged into another one holds the same entries (values,
// counters, siblings, tombstones, expiries); an older entry never replaces a newer one; bad
// arguments and damaged entries are refused with an error, never a crash.
#include <catch2/catch.hpp>
#include <map>

#include "apiary/data/partition.hpp"
#include "apiary/store/entry_codec.hpp"
#include "resp_test_support.hpp"
#include "support/routing_harness.hpp"

using namespace apiary;
using resp_test::cmd;
using resp_test::Harness;

namespace {

// Reads `$len\r\n<bytes>\r\n` at `at`.
std::string read_bulk(const std::string& reply, std::size_t& at) {
  REQUIRE(reply.at(at) == '$');
  const std::size_t eol = reply.find("\r\n", at);
  const std::size_t len = std::stoul(reply.substr(at + 1, eol - at - 1));
  std::string out = reply.substr(eol + 2, len);
  at = eol + 2 + len + 2;
  return out;
}

struct Page {
  std::string cursor;
  std::vector<std::string> entries;
};

// An APIARY.EXPORT reply: [cursor, [entry, ...]].
Page parse_page(const std::string& reply) {
  INFO(reply);
  REQUIRE(reply.rfind("*2\r\n", 0) == 0);
  std::size_t at = 4;
  Page page;
  page.cursor = read_bulk(reply, at);
  REQUIRE(reply.at(at) == '*');
  const std::size_t eol = reply.find("\r\n", at);
  const std::size_t n = std::stoul(reply.substr(at + 1, eol - at - 1));
  at = eol + 2;
  for (std::size_t i = 0; i < n; ++i) page.entries.push_back(read_bulk(reply, at));
  REQUIRE(at == reply.size());
  return page;
}

// Every packed entry of every partition, paging `count` at a time.
std::vector<std::string> export_all(Harness& h, int count) {
  std::vector<std::string> out;
  const auto partitions = h.store.config().partition_count;
  for (std::uint32_t p = 0; p < partitions; ++p) {
    std::string cursor = "0";
    int pages = 0;
    do {
      const Page page =
          parse_page(h.send({"APIARY.EXPORT", std::to_string(p), cursor, std::to_string(count)}));
      CHECK(page.entries.size() <= static_cast<std::size_t>(count));
      out.insert(out.end(), page.entries.begin(), page.entries.end());
      cursor = page.cursor;
      REQUIRE(++pages < 10000);
    } while (cursor != "0");
  }
  return out;
}

store::VersionedEntry decode(const std::string& packed) {
  auto e =
      store::decode_entry({reinterpret_cast<const std::uint8_t*>(packed.data()), packed.size()});
  REQUIRE(e.ok());
  return *e;
}

std::string key_of(const std::string& packed) { return decode(packed).key; }

// A store whose local writes carry actor `id` (stores of different nodes never share one).
store::StoreConfig actor(std::uint64_t id) {
  store::StoreConfig config;
  config.self = NodeId{id};
  return config;
}

// The source's data: strings with and without TTLs, counters (integer and float), siblings,
// deletes.
void fill(Harness& h) {
  for (int i = 0; i < 40; ++i) {
    const std::string k = "key" + std::to_string(i);
    CHECK(h.send({"SET", k, "value" + std::to_string(i)}) == "+OK\r\n");
    if (i % 3 == 0) CHECK(h.send({"PEXPIRE", k, std::to_string(60'000 + i)}) == ":1\r\n");
  }
  CHECK(h.send({"INCRBY", "counter", "41"}) == ":41\r\n");
  CHECK(h.send({"INCR", "counter"}) == ":42\r\n");
  CHECK(h.send({"INCRBYFLOAT", "float", "1.5"}) == "$3\r\n1.5\r\n");
  CHECK(h.send({"APIARY.VPUT", "siblings", "a", ""}) == "+OK\r\n");
  CHECK(h.send({"APIARY.VPUT", "siblings", "b", ""}) == "+OK\r\n");  // concurrent: 2 siblings
  CHECK(h.send({"DEL", "key1", "key2"}) == ":2\r\n");                // tombstones
}

}  // namespace

TEST_CASE("APIARY.EXPORT then APIARY.MERGE rebuilds the same entries in another store",
          "[resp][backup]") {
  Harness source(actor(1));
  fill(source);
  const auto packed = export_all(source, 3);
  // 40 keys + counter + float + siblings; key1 and key2 as tombstones.
  REQUIRE(packed.size() == 43);

  Harness target(actor(2));
  target.wall = source.wall + std::chrono::milliseconds(5);
  for (const auto& p : packed) {
    CHECK(target.send({"APIARY.MERGE", key_of(p), p}) == ":1\r\n");
  }
  // Every entry is the same, version vector, siblings and absolute expiry included.
  for (const auto& p : packed) {
    const auto original = decode(p);
    const auto restored = target.store.export_entry(original.key, target.wall);
    REQUIRE(restored.has_value());
    CHECK(restored->version == original.version);
    CHECK(restored->expiry == original.expiry);
  }
  CHECK(target.send({"GET", "key0"}) == "$6\r\nvalue0\r\n");
  CHECK(target.send({"PTTL", "key0"}) == ":59995\r\n");  // the same absolute expiry, 5 ms later
  CHECK(target.send({"PTTL", "key4"}) == ":-1\r\n");
  CHECK(target.send({"GET", "key1"}) == "$-1\r\n");  // the delete came along
  CHECK(target.send({"GET", "counter"}) == "$2\r\n42\r\n");
  CHECK(target.send({"INCR", "counter"}) == ":43\r\n");  // still a counter
  CHECK(target.send({"GET", "float"}) == "$3\r\n1.5\r\n");
  CHECK(target.send({"GET", "siblings"}) == source.send({"GET", "siblings"}));
  CHECK(target.send({"APIARY.VGET", "siblings"}).find("*2\r\n*3\r\n$1\r\na") != std::string::npos);
  CHECK(target.send({"DBSIZE"}) == ":41\r\n");

  // Merging the same backup again changes nothing.
  for (const auto& p : packed) CHECK(target.send({"APIARY.MERGE", key_of(p), p}) == ":0\r\n");
  // A page size of 10000 (the cap) and above exports the same.
  CHECK(export_all(source, 10000).size() == packed.size());
  CHECK(export_all(source, 1'000'000).size() == packed.size());
}

TEST_CASE("APIARY.MERGE of an older entry never replaces a newer write", "[resp][backup]") {
  Harness h(actor(1));
  CHECK(h.send({"SET", "k", "old"}) == "+OK\r\n");
  CHECK(h.send({"SET", "gone", "old"}) == "+OK\r\n");
  CHECK(h.send({"SET", "ttl", "old", "PX", "100000"}) == "+OK\r\n");
  std::map<std::string, std::string> backup;
  for (const auto& p : export_all(h, 100)) backup[key_of(p)] = p;
  REQUIRE(backup.size() == 3);

  h.advance(std::chrono::milliseconds(10));
  CHECK(h.send({"SET", "k", "new"}) == "+OK\r\n");
  CHECK(h.send({"DEL", "gone"}) == ":1\r\n");
  CHECK(h.send({"PERSIST", "ttl"}) == ":1\r\n");
  for (const auto& [key, p] : backup) CHECK(h.send({"APIARY.MERGE", key, p}) == ":0\r\n");
  CHECK(h.send({"GET", "k"}) == "$3\r\nnew\r\n");
  CHECK(h.send({"GET", "gone"}) == "$-1\r\n");
  CHECK(h.send({"PTTL", "ttl"}) == ":-1\r\n");

  // Into a store that wrote the key on its own later (a concurrent version): both are kept as
  // siblings and the later write is still the one GET answers.
  Harness other(actor(2));
  other.wall = h.wall + std::chrono::milliseconds(10);
  CHECK(other.send({"SET", "k", "newer"}) == "+OK\r\n");
  CHECK(other.send({"APIARY.MERGE", "k", backup["k"]}) == ":1\r\n");
  CHECK(other.send({"GET", "k"}) == "$5\r\nnewer\r\n");

  // An entry whose expiry passed before the restore adds nothing.
  Harness late;
  late.wall = h.wall + std::chrono::milliseconds(200'000);
  CHECK(late.send({"APIARY.MERGE", "ttl", backup["ttl"]}) == ":0\r\n");
  CHECK(late.send({"EXISTS", "ttl"}) == ":0\r\n");
}

TEST_CASE("APIARY.EXPORT refuses a bad partition, cursor or count", "[resp][backup]") {
  Harness h;
  CHECK(h.send({"SET", "k", "v"}) == "+OK\r\n");
  const std::string bad_partition =
      "-ERR invalid partition: this node has 1024 partitions (0..1023)\r\n";
  CHECK(h.send({"APIARY.EXPORT", "1024", "0", "10"}) == bad_partition);
  CHECK(h.send({"APIARY.EXPORT", "-1", "0", "10"}) == bad_partition);
  CHECK(h.send({"APIARY.EXPORT", "x", "0", "10"}) == bad_partition);
  CHECK(h.send({"APIARY.EXPORT", "0", "x", "10"}) == "-ERR invalid cursor\r\n");
  CHECK(h.send({"APIARY.EXPORT", "0", "-1", "10"}) == "-ERR invalid cursor\r\n");
  CHECK(h.send({"APIARY.EXPORT", "0", "", "10"}) == "-ERR invalid cursor\r\n");
  CHECK(h.send({"APIARY.EXPORT", "0", "0", "ten"}) ==
        "-ERR value is not an integer or out of range\r\n");
  CHECK(h.send({"APIARY.EXPORT", "0", "0"}) ==
        "-ERR wrong number of arguments for 'apiary.export' command\r\n");
  // A cursor of another partition would end the scan early without a word: refused.
  const std::uint32_t p = data::partition_of("k", 1024).value;
  const std::uint64_t inside = (static_cast<std::uint64_t>(p) << 54) | 12345;
  const std::uint64_t other = (static_cast<std::uint64_t>((p + 1) % 1024) << 54) | 12345;
  CHECK(h.send({"APIARY.EXPORT", std::to_string(p), std::to_string(other), "10"}) ==
        "-ERR invalid cursor\r\n");
  CHECK(h.send({"APIARY.EXPORT", std::to_string(p), std::to_string(inside), "10"})
            .rfind("*2\r\n", 0) == 0);
  // A count below 1 is taken as 1.
  const Page one = parse_page(h.send({"APIARY.EXPORT", std::to_string(p), "0", "0"}));
  CHECK(one.entries.size() == 1);
  CHECK(one.cursor == "0");
}

TEST_CASE("APIARY.MERGE refuses damaged entries and keeps OOM as other writes do",
          "[resp][backup]") {
  Harness h;
  CHECK(h.send({"SET", "k", "v", "PX", "50000"}) == "+OK\r\n");
  CHECK(h.send({"INCR", "n"}) == ":1\r\n");
  std::vector<std::string> packed = export_all(h, 10);
  REQUIRE(packed.size() == 2);

  Harness target;
  CHECK(target.send({"APIARY.MERGE", "k", "garbage"}).rfind("-ERR invalid entry: ", 0) == 0);
  CHECK(target.send({"APIARY.MERGE", "k", ""}).rfind("-ERR invalid entry: ", 0) == 0);
  for (const auto& p : packed) {
    const std::string key = key_of(p);
    CHECK(target.send({"APIARY.MERGE", key == "k" ? "n" : "k", p}) ==
          "-ERR invalid entry: it holds another key than the command's\r\n");
    CHECK(target.send({"APIARY.MERGE", key, p + "x"}).rfind("-ERR invalid entry: ", 0) == 0);
    // Every cut and every flipped byte: an error or a merge, never a crash.
    for (std::size_t cut = 0; cut < p.size(); ++cut) {
      CHECK(target.send({"APIARY.MERGE", key, p.substr(0, cut)}).rfind("-ERR invalid entry", 0) ==
            0);
    }
    for (std::size_t i = 0; i < p.size(); ++i) {
      std::string damaged = p;
      damaged[i] = static_cast<char>(damaged[i] ^ 0x5a);
      const std::string reply = target.send({"APIARY.MERGE", key, damaged});
      CHECK((reply.rfind("-ERR ", 0) == 0 || reply == ":0\r\n" || reply == ":1\r\n"));
    }
  }
  CHECK(target.send({"APIARY.MERGE", "k"}) ==
        "-ERR wrong number of arguments for 'apiary.merge' command\r\n");

  store::StoreConfig tiny = actor(3);
  tiny.maxmemory = 1;
  tiny.policy = store::EvictionPolicy::noeviction;
  Harness full(tiny);
  CHECK(full.send({"APIARY.MERGE", key_of(packed[0]), packed[0]}) ==
        "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
}

TEST_CASE("APIARY.MERGE is a keyed write, APIARY.EXPORT a command without keys", "[resp][backup]") {
  Harness h;
  CHECK(h.send({"COMMAND", "GETKEYS", "APIARY.MERGE", "k", "e"}) == "*1\r\n$1\r\nk\r\n");
  CHECK(h.send({"COMMAND", "GETKEYS", "APIARY.EXPORT", "0", "0", "10"}) ==
        "-ERR The command has no key arguments\r\n");
  const std::string merge_info = h.send({"COMMAND", "INFO", "apiary.merge"});
  CHECK(merge_info.find("+write") != std::string::npos);
  CHECK(merge_info.find("+denyoom") != std::string::npos);
  const std::string export_info = h.send({"COMMAND", "INFO", "apiary.export"});
  CHECK(export_info.find("+admin") != std::string::npos);
  CHECK(export_info.find("+write") == std::string::npos);
}

TEST_CASE("APIARY.MERGE runs on the key's coordinator and reaches every owner, EXPORT is local",
          "[resp][backup][routing]") {
  using apiary::test::RouterCluster;
  // Four nodes, two owners per key: the client's node is not one of them.
  RouterCluster c(4, apiary::test::routing_config(2, 2, 1));
  c.settle_transitions();
  std::string key;
  std::vector<std::size_t> owners;
  for (int i = 0; key.empty(); ++i) {
    const std::string k = "restored" + std::to_string(i);
    if (c.owners(k).size() == 2 && c.owners(k)[0] != 3 && c.owners(k)[1] != 3) {
      key = k;
      owners = c.owners(k);
    }
  }
  Harness backup(actor(9));
  CHECK(backup.send({"SET", key, "from the backup"}) == "+OK\r\n");
  const auto entry = backup.store.export_entry(key, backup.wall);
  REQUIRE(entry.has_value());
  const auto bytes = store::encode_entry(*entry);
  const std::string packed(reinterpret_cast<const char*>(bytes.data()), bytes.size());

  const auto client = c.connect(3);
  CHECK(c.call(client, {"APIARY.MERGE", key, packed}) == ":1\r\n");
  for (std::size_t owner : owners) {
    CHECK(c.value(owner, key) == std::optional<std::string>("from the backup"));
  }
  CHECK(c.value(3, key) == std::nullopt);
  CHECK(c.call(client, {"GET", key}) == "$15\r\nfrom the backup\r\n");
  CHECK(c.call(client, {"APIARY.MERGE", key, packed}) == ":0\r\n");

  // APIARY.EXPORT has no keys: each node answers from its own store.
  const std::string partition = std::to_string(data::partition_of(key, 64).value);
  const std::string empty_page = "*2\r\n$1\r\n0\r\n*0\r\n";
  CHECK(c.call(client, {"APIARY.EXPORT", partition, "0", "100"}) == empty_page);
  const auto on_owner = c.connect(owners[1]);
  const Page page = parse_page(c.call(on_owner, {"APIARY.EXPORT", partition, "0", "100"}));
  REQUIRE(page.entries.size() == 1);
  CHECK(decode(page.entries[0]).key == key);
}
